//! The `?` overlay: every action and its keys, drawn from the key map, in
//! two columns when one does not fit; then the `:` commands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::popup::{centered, frame_block, show};
use super::theme::Look;
use crate::app::{COMMANDS, KeyMap};
use crate::text::sanitize::width;

/// What the figures mean, in the words README uses.
const GLOSSARY: [&str; 5] = [
    " vs base: the recent rate against the detector's healthy rate",
    "   (trailing 8 h, frozen while evidence builds)",
    " REGRESSION 14:05 -3.1pp in tpu/api: the bug's onset, its drop",
    "   inside its scope, and where in this row it lies",
    " ENDED 14:40: it ended; the row clears 30 minutes later",
];

/// Width of the key column.
const KEYS_WIDTH: usize = 13;
/// Widest a column of the overlay grows.
const COLUMN_MAX: u16 = 44;

/// `scroll`: the first line shown, clamped here to what the box can show.
pub fn render_help(f: &mut Frame, area: Rect, keymap: &KeyMap, scroll: usize, look: &Look) {
    let t = &look.theme;
    let entries: Vec<(String, &str)> = keymap
        .entries()
        .map(|(action, keys)| {
            let keys = keys
                .iter()
                .map(|k| k.label(look.ascii))
                .collect::<Vec<_>>()
                .join(" ");
            (keys, action.describe())
        })
        .collect();
    // Inside the border: the keys in one or two columns, a blank line, the
    // commands' title, then the commands packed to the box's width.
    let inner_h = usize::from(area.height.saturating_sub(2));
    let inner_w = area.width.saturating_sub(2);
    let columns = if entries.len() + 4 <= inner_h || inner_w < 2 * 30 {
        1
    } else {
        2
    };
    let per_column = entries.len().div_ceil(columns);
    let col_w = (inner_w / columns as u16).min(COLUMN_MAX);
    let box_w = col_w * columns as u16;
    let mut commands: Vec<String> = vec![String::new()];
    for (name, _) in COMMANDS {
        let last = commands.len() - 1;
        if !commands[last].is_empty()
            && width(&commands[last]) + name.len() + 2 > usize::from(box_w)
        {
            commands.push(String::new());
        }
        let last = commands.len() - 1;
        commands[last].push_str(&format!(" :{name}"));
    }
    let mut lines: Vec<Line> = (0..per_column)
        .map(|row| {
            let mut spans = Vec::new();
            for c in 0..columns {
                let Some((keys, what)) = entries.get(c * per_column + row) else {
                    continue;
                };
                let keys = look.cut(keys, KEYS_WIDTH);
                let what = look.cut(what, usize::from(col_w).saturating_sub(KEYS_WIDTH + 2));
                let pad = usize::from(col_w).saturating_sub(KEYS_WIDTH + 2 + width(&what));
                spans.push(Span::styled(format!(" {keys:<KEYS_WIDTH$} "), t.title));
                spans.push(Span::styled(format!("{what}{}", " ".repeat(pad)), t.text));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(" commands (: then Tab completes)", t.title));
    lines.extend(commands.into_iter().map(|c| Line::styled(c, t.text)));
    lines.push(Line::raw(""));
    lines.push(Line::styled(" figures", t.title));
    for line in GLOSSARY {
        lines.push(Line::styled(look.cut(line, usize::from(box_w)), t.text));
    }
    // Too tall for the screen: it scrolls (↑↓ PgUp PgDn), the title says so.
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = scroll.min(max_scroll);
    let title = if max_scroll > 0 {
        format!(
            " keys {}-{} of {}, ↑↓ scroll, Esc closes ",
            scroll + 1,
            (scroll + inner_h).min(lines.len()),
            lines.len()
        )
    } else {
        " keys (Esc or ? to close) ".to_owned()
    };
    let title = if look.ascii {
        title.replace("↑↓", "Up/Down")
    } else {
        title
    };
    let popup = centered(area, box_w + 2, lines.len() as u16 + 2);
    show(
        f,
        popup,
        Paragraph::new(lines)
            .block(frame_block(title, look))
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
    );
}
