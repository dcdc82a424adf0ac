//! Where the engineer is: `fleet › model=m3 › hardware=tpu  by region`, and
//! under it the active filter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Look;
use crate::app::App;
use crate::text::sanitize::{sanitize, width};
use crate::view::{DrillStep, ViewModel, display_value};

/// The breadcrumb texts: `whole fleet`, then `dim=value` per step (sanitised).
pub fn crumbs_of(path: &[DrillStep]) -> Vec<String> {
    std::iter::once(crate::text::scope::WHOLE_FLEET.to_owned())
        .chain(
            path.iter()
                .map(|s| format!("{}={}", sanitize(&s.dimension), display_value(&s.value))),
        )
        .collect()
}

pub fn render_crumbs(f: &mut Frame, area: Rect, app: &App, vm: &ViewModel, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let sep = if look.ascii { " > " } else { " › " };
    let (path, tail) = if let (Some(d), Some(model)) = (app.detail(), &vm.detail) {
        (
            d.path.clone(),
            format!(
                "  detail: {} slice{}",
                model.leaves,
                if model.leaves == 1 { "" } else { "s" }
            ),
        )
    } else {
        let table = &vm.table;
        let tail = match (&table.split, table.leaves) {
            (_, true) => "  every leaf".to_owned(),
            (Some(split), false) => format!("  by {split}"),
            (None, false) => String::new(),
        };
        (app.level().path.clone(), tail)
    };
    let crumbs = crumbs_of(&path);
    // Too long for the line: the oldest steps give way to an ellipsis.
    let budget = usize::from(area.width).saturating_sub(width(&tail));
    let total = |c: &[String]| c.iter().map(|s| width(s)).sum::<usize>() + width(sep) * c.len();
    let mut skip = 0;
    while skip + 1 < crumbs.len() && total(&crumbs[skip..]) > budget {
        skip += 1;
    }
    let mut spans = Vec::new();
    if skip > 0 {
        spans.push(Span::styled(if look.ascii { "~" } else { "…" }, t.dim));
    }
    for (i, c) in crumbs.iter().enumerate().skip(skip) {
        if i > skip || skip > 0 {
            spans.push(Span::styled(sep, t.dim));
        }
        let style = if i + 1 == crumbs.len() {
            t.title
        } else {
            t.text
        };
        spans.push(Span::styled(c.clone(), style));
    }
    spans.push(Span::styled(tail, t.dim));
    f.render_widget(
        Paragraph::new(Line::from(spans)),
        Rect { height: 1, ..area },
    );

    if area.height > 1 && !app.filter().is_empty() {
        let mut spans = vec![
            Span::styled("filter ", t.title),
            Span::styled(
                look.cut(
                    &sanitize(app.filter().text()),
                    usize::from(area.width).saturating_sub(7),
                ),
                t.warn,
            ),
        ];
        if !vm.table.filter_unknown.is_empty() {
            spans.push(Span::styled(
                format!("  no dimension {}", vm.table.filter_unknown.join(", ")),
                t.error,
            ));
        }
        spans.push(Span::styled("  (Esc clears)", t.dim));
        f.render_widget(
            Paragraph::new(Line::from(spans)),
            Rect {
                y: area.y + 1,
                height: 1,
                ..area
            },
        );
    }
}
