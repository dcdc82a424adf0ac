//! The bottom line: the keys that matter, and where the selection is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Look;
use crate::app::{Action, App};
use crate::view::QualityPick;

pub fn render_footer(f: &mut Frame, area: Rect, app: &App, rows: usize, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let mut spans = Vec::new();
    let nav = if look.ascii { "Up/Down" } else { "↑↓" };
    spans.push(Span::styled(nav, t.title));
    spans.push(Span::styled(" select  ", t.dim));
    for (action, keys) in app.keymap.entries() {
        let (Some(word), Some(key)) = (action.footer_word(), keys.first()) else {
            continue;
        };
        spans.push(Span::styled(key.label(look.ascii), t.title));
        let word = match (action, &app.quality) {
            (Action::CycleQuality, QualityPick::Suite(_)) => "suite (one)",
            _ => word,
        };
        spans.push(Span::styled(format!(" {word}  "), t.dim));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    if rows > 0 {
        let pos = format!("{}/{}", app.level().selected + 1, rows);
        f.render_widget(
            Paragraph::new(Line::styled(pos, t.dim).right_aligned()),
            area,
        );
    }
}
