//! The `g` menu: which dimension splits the level on screen, or every leaf.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::popup::{centered, frame_block, show};
use super::theme::Look;
use crate::app::{App, PivotOption};
use crate::text::sanitize::{sanitize, width};
use crate::view::{Split, ViewModel};

pub fn render_pivot(
    f: &mut Frame,
    area: Rect,
    app: &App,
    vm: &ViewModel,
    selected: usize,
    look: &Look,
) {
    let t = &look.theme;
    let options = app.pivot_options();
    let current = match (&app.level().split, &vm.table.split_raw) {
        (Split::Leaves, _) => Some(PivotOption::Leaves),
        (_, Some(dim)) => Some(PivotOption::Dimension(dim.clone())),
        (_, None) => None,
    };
    let lines: Vec<Line> = options
        .iter()
        .enumerate()
        .map(|(i, option)| {
            let name = match option {
                PivotOption::Dimension(d) => sanitize(d).into_owned(),
                PivotOption::Leaves => "every leaf, flat".to_owned(),
            };
            let mark = match (Some(option) == current.as_ref(), look.ascii) {
                (true, false) => "● ",
                (true, true) => "* ",
                (false, _) => "  ",
            };
            let style = if i == selected { t.selected } else { t.text };
            Line::from(vec![
                Span::styled(format!(" {mark}"), t.title),
                Span::styled(format!("{name} "), style),
            ])
        })
        .collect();
    let title = " group by (Enter) ";
    let content_w = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(width(title));
    let popup = centered(area, content_w as u16 + 2, lines.len() as u16 + 2);
    show(
        f,
        popup,
        Paragraph::new(lines).block(frame_block(title, look)),
    );
}
