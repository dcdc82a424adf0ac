//! The styles a frame is drawn with, one per part of the screen, resolved
//! once from a theme's roles ([`crate::theme::Theme`]: built in, or loaded
//! from a theme file). Meaning never rests on colour alone: every coloured
//! state also has a word or a sign.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq)]
pub struct Styles {
    pub title: Style,
    pub text: Style,
    pub dim: Style,
    /// Data that is not live: dimmed, and marked STALE in words.
    pub stale: Style,
    pub live: Style,
    pub warn: Style,
    pub error: Style,
    pub column_header: Style,
    pub selected: Style,
    pub aggregate_row: Style,
    pub availability_spark: Style,
    pub quality_spark: Style,
    pub worse: Style,
    pub better: Style,
    pub popup: Style,
    /// Annotation markers and counts.
    pub annotation: Style,
    /// Change (deploy, config) markers: the glyph tells them apart too.
    pub change: Style,
    /// Least contrast a cell keeps on the selection bar (see [`Styles::on_selected`]).
    pub min_contrast: f64,
}

impl Default for Styles {
    fn default() -> Self {
        Styles {
            title: Style::new().add_modifier(Modifier::BOLD),
            text: Style::new(),
            dim: Style::new().add_modifier(Modifier::DIM),
            stale: Style::new().fg(Color::Yellow).add_modifier(Modifier::DIM),
            live: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            column_header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            aggregate_row: Style::new().add_modifier(Modifier::BOLD),
            availability_spark: Style::new().fg(Color::Cyan),
            quality_spark: Style::new().fg(Color::Magenta),
            worse: Style::new().fg(Color::Red),
            better: Style::new().fg(Color::Green),
            popup: Style::new(),
            annotation: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            change: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            min_contrast: crate::theme::WCAG_AA,
        }
    }
}

/// How to draw: colours and character set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Look {
    pub theme: Styles,
    /// ASCII only: no block characters, no box drawing.
    pub ascii: bool,
}

impl Look {
    /// Cuts a clean string to `width` columns with the look's ellipsis.
    pub fn cut(&self, s: &str, width: usize) -> String {
        let ellipsis = if self.ascii {
            crate::text::sanitize::ASCII_ELLIPSIS
        } else {
            "…"
        };
        crate::text::sanitize::truncate_with(s, width, ellipsis)
    }

    /// Shortens a clean name to `width` columns in the middle, keeping its
    /// last part (the last dimension of a leaf) whole where it can.
    pub fn cut_middle(&self, s: &str, width: usize) -> String {
        let ellipsis = if self.ascii {
            crate::text::sanitize::ASCII_ELLIPSIS
        } else {
            "…"
        };
        crate::text::format::shorten_middle(s, width, ellipsis)
    }
}

impl Styles {
    /// The screen's styles from a theme file's semantic roles (already
    /// fitted to the terminal's colour depth by the caller).
    pub fn from_roles(t: &crate::theme::Theme) -> Styles {
        use crate::theme::Role;
        let fg_only = |r: Role| {
            let s = t.style(r);
            Style {
                bg: None,
                sub_modifier: Modifier::empty(),
                add_modifier: s.add_modifier - Modifier::REVERSED,
                ..s
            }
        };
        Styles {
            title: t.style(Role::Title),
            text: t.style(Role::Text),
            dim: t.style(Role::Muted),
            stale: t.style(Role::Stale),
            live: t.style(Role::Ok),
            warn: t.style(Role::Watch),
            error: t.style(Role::Regression),
            column_header: t.style(Role::Header),
            selected: t.style(Role::Selection),
            aggregate_row: t.style(Role::Header),
            availability_spark: t.style(Role::Availability),
            quality_spark: t.style(Role::Quality),
            // Changes in the table are many small cells: colour them, don't invert them.
            worse: fg_only(Role::Regression),
            better: fg_only(Role::Ok),
            popup: t.style(Role::Text),
            annotation: fg_only(Role::Annotation),
            // No role of its own yet: the key hints' colour, distinct from annotations.
            change: fg_only(Role::Key),
            min_contrast: t.min_contrast,
        }
    }

    /// A cell's style on the selected row: the bar's background, the cell's
    /// own colour where it still reads there, else the bar's.
    pub fn on_selected(&self, cell: Style) -> Style {
        crate::theme::paint_selected(cell, self.selected, self.min_contrast)
    }

    /// Repaints an already drawn row as selected, cell by cell, so every
    /// span in it (names, sparklines, status) reads on the bar.
    pub fn select_row(&self, buf: &mut Buffer, row: Rect) {
        let row = row.intersection(buf.area);
        for y in row.top()..row.bottom() {
            for x in row.left()..row.right() {
                let cell = &mut buf[(x, y)];
                let painted = self.on_selected(cell.style());
                cell.set_style(painted);
            }
        }
    }
}
