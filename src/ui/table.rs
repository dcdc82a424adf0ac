//! The overview table: only the rows on screen are built, so 10,000 slices
//! cost no more per frame than 40.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::columns::{Col, ColumnPlan, GAP, Wants};
use super::sparkline::{availability_spark, spark};
use super::theme::Look;
use crate::app::App;
use crate::text::format;
use crate::text::sanitize;
use crate::view::{
    HeaderModel, MIN_SPARK_SPAN, OverviewRow, OverviewTable, RatioTrend, RowKey, RowStatus,
    Severity, SortKey, cell_of_bucket, spark_range,
};

/// A change at least this large (in points) is coloured; the sign says it too.
const NOTABLE_CHANGE_PP: f64 = 1.0;

/// Whether each column's backends are live, so stale figures can be marked.
struct Freshness {
    availability: bool,
    quality: bool,
}

pub fn plan_for(table: &OverviewTable, width: u16) -> ColumnPlan {
    let clamp = |w: usize| w.min(usize::from(u16::MAX)) as u16;
    let longest = table
        .rows
        .iter()
        .map(|r| sanitize::width(&r.name) + count_width(r.annotations.count))
        .max()
        .unwrap_or(0);
    let longest_status = table
        .rows
        .iter()
        .filter_map(|r| r.status.as_ref())
        .map(|s| sanitize::width(&status_line(s)))
        .max()
        .unwrap_or(0);
    let window = table.range.map_or(0, |r| r.len);
    ColumnPlan::fit(
        width,
        Wants {
            name: clamp(longest),
            status: clamp(longest_status),
            window: clamp(window),
            latency: table.latency_label.is_some(),
        },
    )
}

/// The status as detection words it, led by its word: "REGRESSION 14:05 -3.1pp".
fn status_line(s: &RowStatus) -> String {
    let word = s.severity.word();
    match s.text.as_str() {
        "" => word.to_owned(),
        // Detection's text may already lead with the word.
        text if text.starts_with(word) => text.to_owned(),
        text => format!("{word} {text}"),
    }
}

/// The status in `w` columns: the word whole, then as much of the rest as fits.
fn status_fitted(s: &RowStatus, w: usize, look: &Look) -> String {
    let line = status_line(s);
    let word = s.severity.word();
    match line.strip_prefix(word) {
        Some(rest) if sanitize::width(&line) > w && w > word.len() => {
            format!("{word}{}", look.cut(rest, w - word.len()))
        }
        Some(_) if sanitize::width(&line) > w => word.to_owned(),
        _ => look.cut(&line, w),
    }
}

pub fn render_table(
    f: &mut Frame,
    area: Rect,
    table: &OverviewTable,
    header: &HeaderModel,
    app: &App,
    look: &Look,
) {
    if area.height == 0 {
        return;
    }
    let level = app.level();
    let wall_now = app.wall_clock;
    let sorted = SortMark {
        col: match app.sort {
            SortKey::Status => Col::Status,
            SortKey::Availability => Col::Availability,
            SortKey::Volume => Col::Requests,
            SortKey::Name => Col::Name,
        },
        arrow: match (app.sort_reversed, look.ascii) {
            (false, false) => "↓",
            (true, false) => "↑",
            (false, true) => "v",
            (true, true) => "^",
        },
    };
    let t = &look.theme;
    let fresh = |sources: &[usize]| {
        sources
            .iter()
            .all(|&i| header.sources.get(i).is_some_and(|s| s.is_fresh(wall_now)))
    };
    let freshness = Freshness {
        availability: fresh(&table.availability_sources),
        quality: fresh(&table.quality_sources),
    };
    let plan = plan_for(table, area.width);
    let head = Row::new(
        plan.columns
            .iter()
            .map(|&(col, w)| head_cell(col, w, table, &plan, &freshness, &sorted, look)),
    )
    .style(t.column_header);
    let body_height = usize::from(area.height.saturating_sub(1));
    let visible = table
        .rows
        .iter()
        .enumerate()
        .skip(level.scroll)
        .take(body_height);
    let rows: Vec<Row> = visible
        .map(|(i, row)| {
            let style = match (i == level.selected, &row.key) {
                (true, _) => t.selected,
                (false, RowKey::All) => t.aggregate_row,
                (false, _) => Style::new(),
            };
            Row::new(
                plan.columns
                    .iter()
                    .map(|&(col, w)| body_cell(col, w, row, table, &plan, &freshness, look)),
            )
            .style(style)
        })
        .collect();
    let empty = rows.is_empty();
    let widths: Vec<Constraint> = plan
        .columns
        .iter()
        .map(|(_, w)| Constraint::Length(*w))
        .collect();
    f.render_widget(
        Table::new(rows, widths).header(head).column_spacing(GAP),
        area,
    );
    // Cells drew in their own colours; on the bar each must still read.
    if let Some(offset) = level.selected.checked_sub(level.scroll)
        && offset < body_height
        && level.selected < table.rows.len()
    {
        let bar = Rect {
            y: area.y + 1 + offset as u16,
            height: 1,
            ..area
        };
        t.select_row(f.buffer_mut(), bar);
    }
    if empty && area.height > 1 {
        let message = if header.sources.is_empty() {
            "no sources configured".to_owned()
        } else if table.range.is_none() {
            "waiting for the backends".to_owned()
        } else if !app.filter().is_empty() {
            let expr = look.cut(&sanitize::sanitize(app.filter().text()), 40);
            let dash = if look.ascii { "-" } else { "—" };
            format!("no slice matches /{expr} {dash} Esc clears")
        } else {
            "no data in the window yet".to_owned()
        };
        let body = Rect {
            y: area.y + 1 + (area.height - 1) / 2,
            height: 1,
            ..area
        };
        f.render_widget(
            Paragraph::new(Line::styled(message, t.dim).centered()),
            body,
        );
    }
}

/// Which column the sort key orders by, and the arrow that says which way.
struct SortMark {
    col: Col,
    arrow: &'static str,
}

fn head_cell(
    col: Col,
    w: u16,
    table: &OverviewTable,
    plan: &ColumnPlan,
    fresh: &Freshness,
    sorted: &SortMark,
    look: &Look,
) -> Cell<'static> {
    let stale = |ok: bool, text: &str| {
        if ok {
            text.to_owned()
        } else {
            format!("{text} STALE")
        }
    };
    let text = match col {
        Col::Name if table.leaves => "slice".to_owned(),
        Col::Name => table.split.clone().unwrap_or_else(|| "slice".to_owned()),
        Col::AvailabilitySpark => stale(fresh.availability, "availability"),
        Col::Availability => "avail".to_owned(),
        Col::QualitySpark => stale(fresh.quality, &table.quality_label),
        Col::Quality => "qual".to_owned(),
        Col::QualityRange => "range %".to_owned(),
        Col::Change => "vs base".to_owned(),
        Col::Status => "status".to_owned(),
        Col::Requests => "reqs".to_owned(),
        Col::Evals => "evals".to_owned(),
        Col::Latency => table.latency_label.clone().unwrap_or_default(),
    };
    // Without the sparkline column the STALE mark moves to the figure.
    let text = match col {
        Col::Availability if !fresh.availability && !plan.has(Col::AvailabilitySpark) => {
            "STALE".to_owned()
        }
        Col::Quality if !fresh.quality && !plan.has(Col::QualitySpark) => "STALE".to_owned(),
        _ => text,
    };
    // The arrow goes before a right-aligned title, so cutting never hides it.
    let text = match col {
        c if c == sorted.col && c.is_numeric() => format!("{}{text}", sorted.arrow),
        c if c == sorted.col => format!("{text}{}", sorted.arrow),
        _ => text,
    };
    let style = match col {
        Col::AvailabilitySpark | Col::Availability if !fresh.availability => look.theme.stale,
        Col::QualitySpark | Col::Quality if !fresh.quality => look.theme.stale,
        _ => Style::new(),
    };
    aligned(col, look.cut(&text, usize::from(w)), style)
}

fn body_cell(
    col: Col,
    w: u16,
    row: &OverviewRow,
    table: &OverviewTable,
    plan: &ColumnPlan,
    fresh: &Freshness,
    look: &Look,
) -> Cell<'static> {
    let t = &look.theme;
    let w_us = usize::from(w);
    // Data that stopped arriving is drawn in the stale style, whatever its own.
    let unless_stale = |fresh: bool, style: Style| if fresh { style } else { t.stale };
    let (text, style) = match col {
        Col::Name if row.annotations.count > 0 => return name_with_count(row, w_us, look),
        Col::Name => (look.cut_middle(&row.name, w_us), Style::new()),
        Col::AvailabilitySpark => {
            let style = unless_stale(fresh.availability, t.availability_spark);
            let text = availability_spark(&row.availability, w_us, look.ascii);
            return marked_spark(text, &row.availability, row, w_us, style, look);
        }
        Col::Availability => (
            format::percent(row.availability.current()),
            unless_stale(fresh.availability, Style::new()),
        ),
        Col::QualitySpark => {
            let style = unless_stale(fresh.quality, t.quality_spark);
            let text = quality_spark(&row.quality, w_us, look.ascii);
            return marked_spark(text, &row.quality, row, w_us, style, look);
        }
        Col::Quality => (
            format::percent(row.quality.current()),
            unless_stale(fresh.quality, Style::new()),
        ),
        Col::QualityRange => {
            let cells = plan
                .width_of(Col::QualitySpark)
                .map_or(row.quality.buckets.len(), usize::from);
            let text = spark_range(&row.quality.cells(cells), MIN_SPARK_SPAN).map_or_else(
                || format::MISSING.to_owned(),
                |(lo, hi)| format!("{:.1}-{:.1}", lo * 100.0, hi * 100.0),
            );
            (text, t.dim)
        }
        Col::Change => {
            let change = row.quality.change_pp();
            let style = match change {
                _ if !fresh.quality => t.stale,
                Some(c) if c <= -NOTABLE_CHANGE_PP => t.worse,
                Some(c) if c >= NOTABLE_CHANGE_PP => t.better,
                _ => Style::new(),
            };
            (format::points(change), style)
        }
        Col::Status => match &row.status {
            Some(s) => (
                status_fitted(s, w_us, look),
                match s.severity {
                    Severity::Ok | Severity::Ended => t.dim,
                    Severity::Watch => t.warn,
                    Severity::Regressed => t.error,
                },
            ),
            None => (String::new(), Style::new()),
        },
        Col::Requests => (format::count(row.requests()), Style::new()),
        Col::Evals => (format::count(row.evals()), Style::new()),
        Col::Latency => (
            format::gauge(row.latency.current(), table.latency_unit.as_deref()),
            Style::new(),
        ),
    };
    aligned(col, text, style)
}

/// Columns the ` ✎2` suffix of a row's name takes (none without annotations).
fn count_width(count: usize) -> usize {
    if count == 0 {
        0
    } else {
        2 + count.to_string().len()
    }
}

/// The name, then `✎2` (ASCII `*2`) in the annotation style: how many
/// annotations touch the row.
fn name_with_count(row: &OverviewRow, w: usize, look: &Look) -> Cell<'static> {
    let mark = if look.ascii { "*" } else { "✎" };
    let count = format!(" {mark}{}", row.annotations.count);
    let name = look.cut_middle(&row.name, w.saturating_sub(sanitize::width(&count)));
    Cell::from(Line::from(vec![
        Span::raw(name),
        Span::styled(count, look.theme.annotation),
    ]))
}

/// A sparkline with the cells where an annotation of the row starts drawn
/// as a marker in the annotation style, and those where a change touching
/// it took effect as a change marker (the annotation wins a shared cell).
fn marked_spark(
    text: String,
    trend: &RatioTrend,
    row: &OverviewRow,
    width: usize,
    style: Style,
    look: &Look,
) -> Cell<'static> {
    if text.is_empty() || (row.annotations.starts.is_empty() && row.changes.is_empty()) {
        return Cell::from(Line::from(text)).style(style);
    }
    let buckets = trend.buckets.len();
    let shown = buckets.min(width);
    let pad = width.saturating_sub(shown);
    let cells = |starts: &[usize]| -> Vec<usize> {
        starts
            .iter()
            .filter_map(|&b| cell_of_bucket(b, buckets, shown))
            .map(|c| pad + c)
            .collect()
    };
    let (notes, changes) = (cells(&row.annotations.starts), cells(&row.changes));
    let (note, change) = if look.ascii {
        ('A', 'C')
    } else {
        ('✎', '◆')
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    for (i, c) in text.chars().enumerate() {
        let mark = if notes.contains(&i) {
            Some((note, look.theme.annotation))
        } else if changes.contains(&i) {
            Some((change, look.theme.change))
        } else {
            None
        };
        if let Some((glyph, mark_style)) = mark {
            if !run.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut run), style));
            }
            spans.push(Span::styled(glyph.to_string(), mark_style));
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, style));
    }
    Cell::from(Line::from(spans))
}

/// Quality scaled to its own range (at least [`MIN_SPARK_SPAN`]), so a
/// drop of a few points fills the height but noise does not.
fn quality_spark(trend: &RatioTrend, width: usize, ascii: bool) -> String {
    let cells = trend.cells(width);
    match spark_range(&cells, MIN_SPARK_SPAN) {
        Some(range) => spark(&cells, range, width, ascii),
        None => String::new(),
    }
}

fn aligned(col: Col, text: String, style: Style) -> Cell<'static> {
    let line = if col.is_numeric() {
        Line::from(text).right_aligned()
    } else {
        Line::from(text)
    };
    Cell::from(line).style(style)
}
