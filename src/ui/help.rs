//! The `?` overlay: every action and its keys, drawn from the key map.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Look;
use crate::app::KeyMap;

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub fn render_help(f: &mut Frame, area: Rect, keymap: &KeyMap, look: &Look) {
    let t = &look.theme;
    let lines: Vec<Line> = keymap
        .entries()
        .map(|(action, keys)| {
            let keys = keys
                .iter()
                .map(|k| k.label(look.ascii))
                .collect::<Vec<_>>()
                .join(", ");
            Line::from(vec![
                Span::styled(format!(" {keys:<14} "), t.title),
                Span::styled(action.describe(), t.text),
            ])
        })
        .collect();
    let width = area.width.saturating_sub(2).min(64);
    let height = area.height.saturating_sub(2).min(lines.len() as u16 + 2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(if look.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        })
        .title(" keys (Esc or ? to close) ")
        .style(t.popup);
    f.render_widget(Clear, popup);
    f.render_widget(Paragraph::new(lines).block(block), popup);
}
