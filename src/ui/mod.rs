//! Pure render functions: [`render`] draws the [`App`] state and a
//! [`ViewModel`] into a ratatui `Frame`, whatever the backend (a terminal,
//! or `TestBackend` in tests). Each part of the screen is one plain function.

mod columns;
mod footer;
pub mod format;
mod header;
mod help;
pub mod sanitize;
pub mod sparkline;
mod table;
pub mod theme;

pub use columns::{Col, ColumnPlan};
pub use theme::{Look, Theme};

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{App, Popup, Viewport};
use crate::view::ViewModel;

/// Most header lines given to sources, so the table keeps its room.
const MAX_SOURCE_LINES: u16 = 4;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenLayout {
    pub header: Rect,
    /// Column titles and rows.
    pub table: Rect,
    pub footer: Rect,
}

impl ScreenLayout {
    /// Rows of the table under its column titles, for clicks and paging.
    pub fn viewport(&self) -> Viewport {
        Viewport {
            top: self.table.y.saturating_add(1),
            height: self.table.height.saturating_sub(1),
        }
    }
}

pub fn layout(area: Rect, vm: &ViewModel) -> ScreenLayout {
    let sources = (vm.header.sources.len() as u16).clamp(1, MAX_SOURCE_LINES);
    // On a very short terminal the table matters more than every source.
    let sources = if area.height < 12 {
        sources.min(1)
    } else {
        sources
    };
    let header_h = (1 + sources).min(area.height);
    let footer_h = u16::from(area.height > header_h + 1);
    let table_h = area.height - header_h - footer_h;
    ScreenLayout {
        header: Rect {
            height: header_h,
            ..area
        },
        table: Rect {
            y: area.y + header_h,
            height: table_h,
            ..area
        },
        footer: Rect {
            y: area.y + header_h + table_h,
            height: footer_h,
            ..area
        },
    }
}

/// Draws one frame. Reads only its arguments.
pub fn render(f: &mut Frame, app: &App, vm: &ViewModel, look: &Look) {
    let area = f.area();
    let parts = layout(area, vm);
    header::render_header(f, parts.header, &vm.header, &vm.table, app.wall_clock, look);
    table::render_table(
        f,
        parts.table,
        &vm.table,
        &vm.header,
        app.level(),
        app.wall_clock,
        look,
    );
    footer::render_footer(f, parts.footer, app, vm.table.rows.len(), look);
    if app.popup() == Some(Popup::Help) {
        help::render_help(f, area, &app.keymap, look);
    }
}
