//! What every popup shares: a box centred on the screen, framed with the
//! look's border, drawn over what is below it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::border;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Look;

/// Borders for terminals without box-drawing characters (`--ascii`).
pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// A `w` × `h` box in the middle of `area`, shrunk to fit it.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The popup's frame: rounded (or ASCII) border, `title`, popup colours.
pub fn frame_block<'a>(title: impl Into<Line<'a>>, look: &Look) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(if look.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        })
        .title(title)
        .style(look.theme.popup)
}

/// Draws `body` in `popup`, clearing what was under it first.
pub fn show(f: &mut Frame, popup: Rect, body: Paragraph) {
    f.render_widget(Clear, popup);
    f.render_widget(body, popup);
}
