//! What the copy key puts on the clipboard: the selected row's slice and
//! figures, or the detail view as text. Plain, sanitised text only.

use crate::app::App;
use crate::text::format;
use crate::text::sanitize::sanitize;
use crate::text::scope::steps_text;
use crate::view::{
    DetailModel, DrillStep, OverviewRow, SeriesValues, TimeCursor, ViewModel, path_of,
};

fn path_text(path: &[DrillStep]) -> String {
    steps_text(
        path.iter()
            .map(|s| (s.dimension.as_str(), s.value.as_str())),
    )
}

fn row_text(path: &[DrillStep], row: &OverviewRow, quality_label: &str) -> String {
    let status = row.status.as_ref().map_or(String::new(), |s| {
        if s.text.starts_with(s.severity.word()) {
            format!("  status {}", s.text)
        } else {
            format!("  status {} {}", s.severity.word(), s.text)
        }
    });
    format!(
        "{}\navailability {}  {quality_label} {}  vs base {}  requests {}  evals {}{status}",
        path_text(path),
        format::percent(row.availability.current()),
        format::percent(row.quality.current()),
        format::points(row.quality.change_pp()),
        format::count(row.requests()),
        format::count(row.evals()),
    )
}

fn detail_text(d: &DetailModel) -> String {
    let mut lines = vec![format!(
        "detail: {}  ({} slices)",
        path_text(&d.path),
        d.leaves
    )];
    for c in &d.charts {
        let now = match &c.values {
            SeriesValues::Ratio(r) => format::percent(r.current()),
            SeriesValues::Gauge(g) => format::gauge(g.current(), c.unit.as_deref()),
        };
        lines.push(format!("{}: {now}", c.title));
    }
    for e in &d.scope {
        lines.push(format!("scope: {}", e.text));
    }
    for m in &d.markers {
        lines.push(format!("{}  {}", format::utc_minute(m.ts), m.label));
    }
    for b in &d.breakdown {
        lines.push(format!("by {}", b.dimension));
        for r in &b.rows {
            let word = r.status.as_ref().map_or("", |s| s.severity.word());
            lines.push(format!(
                "  {}  {}  {}  {word}",
                r.name,
                format::percent(r.quality),
                format::points(r.change_pp)
            ));
        }
    }
    lines.join("\n")
}

/// When and over what the figures were taken: `at 2025-09-02 14:05 UTC
/// (frozen), window 1h` (data time: the frozen cursor's, else the newest).
fn when_text(app: &App, vm: &ViewModel) -> String {
    let (at, frozen) = match app.time().cursor {
        TimeCursor::Frozen { last_bucket } => (last_bucket * vm.time.bucket_ms, " (frozen)"),
        TimeCursor::Live => (vm.data_now.unwrap_or(vm.header.data_now), ""),
    };
    let window = vm
        .header
        .window_ms
        .unwrap_or_else(|| app.time().window_ms());
    format!(
        "at {} UTC{frozen}, window {}",
        crate::text::time::utc_minute(at),
        format::duration(window)
    )
}

/// The text the copy key copies; every line sanitised (no escapes reach
/// the clipboard, and from there someone's shell). The first line says
/// what, when and over which window.
pub fn copy_text(app: &App, vm: &ViewModel) -> String {
    let raw = match (app.detail(), &vm.detail) {
        (Some(_), Some(d)) => detail_text(d),
        _ => match vm.table.rows.get(app.level().selected) {
            Some(row) => {
                let split = vm.table.split_raw.as_deref().unwrap_or("");
                let path = path_of(&app.level().path, split, &row.key);
                row_text(&path, row, &vm.table.quality_label)
            }
            None => path_text(&app.level().path),
        },
    };
    let when = when_text(app, vm);
    raw.split('\n')
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{}  {when}", sanitize(l)),
            _ => sanitize(l).into_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
