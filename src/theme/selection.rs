//! The selected row: the selection's background under every cell, each
//! cell keeping its own colour only where it still reads on that background.

use ratatui::style::{Color, Modifier, Style};

use super::color::{ColorDepth, contrast_ratio, fit, rgb_of};

/// WCAG 2 AA contrast for normal text.
pub const WCAG_AA: f64 = 4.5;

/// Whether `fg` on `bg` reaches `min` contrast. Unknown colours (the
/// terminal's own default) do not count as readable.
pub fn readable(fg: Option<Color>, bg: Option<Color>, min: f64) -> bool {
    match (fg.and_then(rgb_of), bg.and_then(rgb_of)) {
        (Some(f), Some(b)) => contrast_ratio(f, b) >= min,
        _ => false,
    }
}

/// How a cell drawn in `cell` looks on a row selected with `selection`:
/// the selection's background, the cell's colour if it reads there (else
/// the selection's), and the attributes of both.
pub fn paint_selected(cell: Style, selection: Style, min: f64) -> Style {
    let fg = match cell.fg {
        Some(c) if c != Color::Reset && readable(Some(c), selection.bg, min) => Some(c),
        _ => selection.fg,
    };
    Style {
        fg,
        bg: selection.bg,
        add_modifier: (cell.add_modifier | selection.add_modifier) - cell.sub_modifier,
        sub_modifier: Modifier::empty(),
        ..cell
    }
}

/// `fg` if it reads on `bg`, else black or white (whichever reads better),
/// fitted to `depth`.
pub(super) fn readable_fg(
    fg: Option<Color>,
    bg: Option<Color>,
    min: f64,
    depth: ColorDepth,
) -> Option<Color> {
    let Some(bg_rgb) = bg.and_then(rgb_of) else {
        return fg;
    };
    if readable(fg, bg, min) {
        return fg;
    }
    let (black, white) = (
        fit(Color::Rgb(0, 0, 0), depth),
        fit(Color::Rgb(255, 255, 255), depth),
    );
    let ratio = |c: Color| rgb_of(c).map_or(0.0, |rgb| contrast_ratio(rgb, bg_rgb));
    Some(if ratio(black) >= ratio(white) {
        black
    } else {
        white
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_that_reads_on_the_selection_is_kept_and_one_that_does_not_is_replaced() {
        let selection = Style::new()
            .fg(Color::Rgb(255, 255, 255))
            .bg(Color::Rgb(0, 0, 128));
        let yellow = Style::new()
            .fg(Color::Rgb(255, 255, 0))
            .add_modifier(Modifier::BOLD);
        let painted = paint_selected(yellow, selection, WCAG_AA);
        assert_eq!(painted.fg, Some(Color::Rgb(255, 255, 0)));
        assert_eq!(painted.bg, Some(Color::Rgb(0, 0, 128)));
        assert!(painted.add_modifier.contains(Modifier::BOLD));
        let navy = Style::new().fg(Color::Rgb(0, 0, 160));
        assert_eq!(
            paint_selected(navy, selection, WCAG_AA).fg,
            Some(Color::Rgb(255, 255, 255))
        );
    }

    #[test]
    fn an_unreadable_selection_pair_gets_black_or_white_at_the_same_depth() {
        let fg = readable_fg(
            Some(Color::White),
            Some(Color::Cyan),
            WCAG_AA,
            ColorDepth::Ansi16,
        );
        assert_eq!(fg, Some(Color::Black));
        let fg = readable_fg(
            Some(Color::Indexed(250)),
            Some(Color::Indexed(18)),
            WCAG_AA,
            ColorDepth::Ansi256,
        );
        assert_eq!(fg, Some(Color::Indexed(250)), "already readable: kept");
    }
}
