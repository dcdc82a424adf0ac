//! Pure render functions: [`render`] draws the [`App`] state and a
//! [`ViewModel`] into a ratatui `Frame`, whatever the backend (a terminal,
//! or `TestBackend` in tests). Each part of the screen is one plain function.

mod annotate;
mod changes;
mod chart;
mod columns;
mod copy;
mod crumbs;
mod detail;
mod dialog;
mod footer;
mod header;
mod help;
mod menu;
mod popup;
pub mod sparkline;
mod table;
pub mod theme;

pub use columns::{Col, ColumnPlan};
pub use copy::copy_text;
pub use theme::{Look, Styles};

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{App, Popup, Viewport};
use crate::view::ViewModel;

/// Most header lines given to sources, so the table keeps its room.
const MAX_SOURCE_LINES: u16 = 4;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenLayout {
    /// Title and source lines.
    pub header: Rect,
    /// Breadcrumbs, and the filter when one is active.
    pub crumbs: Rect,
    /// The table (column titles and rows) or the detail view.
    pub body: Rect,
    /// Keys, a message, or the input line.
    pub footer: Rect,
}

impl ScreenLayout {
    /// Rows of the table under its column titles, for clicks and paging.
    pub fn viewport(&self) -> Viewport {
        Viewport {
            top: self.body.y.saturating_add(1),
            height: self.body.height.saturating_sub(1),
        }
    }
}

pub fn layout(area: Rect, app: &App, vm: &ViewModel) -> ScreenLayout {
    let sources = (vm.header.sources.len() as u16).clamp(1, MAX_SOURCE_LINES);
    // On a very short terminal the table matters more than every source.
    let sources = if area.height < 12 {
        sources.min(1)
    } else {
        sources
    };
    let banner = header::banner_height(vm, app.wall_clock);
    let header_h = (1 + sources + banner).min(area.height);
    let crumbs_wanted = 1 + u16::from(!app.filter().is_empty());
    let crumbs_h = crumbs_wanted.min(area.height.saturating_sub(header_h + 2));
    let footer_h = u16::from(area.height > header_h + crumbs_h + 1);
    let body_h = area.height - header_h - crumbs_h - footer_h;
    let at = |y: u16, height: u16| Rect {
        y: area.y + y,
        height,
        ..area
    };
    ScreenLayout {
        header: at(0, header_h),
        crumbs: at(header_h, crumbs_h),
        body: at(header_h + crumbs_h, body_h),
        footer: at(header_h + crumbs_h + body_h, footer_h),
    }
}

/// Draws one frame. Reads only its arguments.
pub fn render(f: &mut Frame, app: &App, vm: &ViewModel, look: &Look) {
    let area = f.area();
    let parts = layout(area, app, vm);
    header::render_header(f, parts.header, app, vm, look);
    crumbs::render_crumbs(f, parts.crumbs, app, vm, look);
    match (app.detail(), &vm.detail) {
        (Some(state), Some(model)) => detail::render_detail(f, parts.body, state, model, app, look),
        _ => table::render_table(f, parts.body, &vm.table, &vm.header, app, look),
    }
    footer::render_footer(f, parts.footer, app, vm, look);
    match app.popup() {
        Some(Popup::Help) => help::render_help(f, area, &app.keymap, app.help_scroll(), look),
        Some(Popup::Pivot { selected }) => menu::render_pivot(f, area, app, vm, *selected, look),
        Some(Popup::Annotate(dialog)) => dialog::render_dialog(f, area, dialog, look),
        Some(Popup::Annotations(_)) => annotate::render_list(f, area, app, look),
        Some(Popup::Changes(_)) => changes::render_change_list(f, area, app, vm, look),
        None => {}
    }
}
