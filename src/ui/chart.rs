//! One line chart of the detail view (ratatui `Chart`): the series merged to
//! the chart's resolution, split into separate lines at missing buckets so a
//! gap stays a gap, the baseline as a reference line, and markers (detection
//! results, annotations) as vertical lines with a glyph on top.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::{Marker, border};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};

use super::popup::ASCII_BORDER;
use super::theme::Look;
use crate::store::BucketRange;
use crate::text::format;
use crate::view::{ChartKind, ChartSeries, MarkerKind, SeriesValues, TimeMarker};

/// Smallest y range drawn, in the chart's units: one point for quality (so
/// noise is not blown up to full height), a tenth of a point for
/// availability (whose objective lives in the last decimals), a tenth of
/// the value for gauges.
const MIN_RATE_SPAN: f64 = 1.0;
const MIN_AVAILABILITY_SPAN: f64 = 0.1;
const MIN_GAUGE_SPAN_SHARE: f64 = 0.1;

/// The time axis the charts share.
#[derive(Debug, Clone, Copy)]
pub struct TimeFrame {
    pub range: BucketRange,
    pub bucket_ms: i64,
}

impl TimeFrame {
    /// Where `ts` falls on an axis of `cells` points (0 = oldest).
    fn x_of(&self, ts: i64, cells: usize) -> f64 {
        let bucket = ts.div_euclid(self.bucket_ms.max(1));
        let offset = (bucket - self.range.first) as f64;
        offset * cells as f64 / self.range.len.max(1) as f64
    }
}

/// The glyph a marker gets on top of the chart.
pub fn marker_glyph(kind: MarkerKind, ascii: bool) -> &'static str {
    match (kind, ascii) {
        (MarkerKind::Onset, false) => "▾",
        (MarkerKind::Onset, true) => "v",
        (MarkerKind::Detected, _) => "!",
        (MarkerKind::Ended, false) => "✓",
        (MarkerKind::Ended, true) => "e",
        (MarkerKind::Annotation, _) => "A",
        (MarkerKind::Change, false) => "◆",
        (MarkerKind::Change, true) => "C",
    }
}

pub fn marker_style(kind: MarkerKind, look: &Look) -> Style {
    match kind {
        MarkerKind::Onset | MarkerKind::Detected => look.theme.error,
        MarkerKind::Ended => look.theme.better,
        MarkerKind::Annotation => look.theme.annotation,
        MarkerKind::Change => look.theme.change,
    }
}

/// The chart's title: name, the current figure, and against the baseline.
fn title(series: &ChartSeries, note: &str) -> String {
    let figures = match &series.values {
        SeriesValues::Ratio(trend) => {
            let current = trend.current();
            let change = current
                .zip(series.baseline)
                .map(|(c, b)| format!("  {} vs base", format::points(Some((c - b) * 100.0))))
                .unwrap_or_default();
            format!("{}{change}", format::percent(current))
        }
        SeriesValues::Gauge(g) => format::gauge(g.current(), series.unit.as_deref()),
    };
    format!(" {}  {figures}{note} ", series.title)
}

/// The values at `cells` points: rates in percent (counts summed per point),
/// gauges as the worst (highest) value per point.
fn points(series: &ChartSeries, cells: usize) -> Vec<Option<f64>> {
    match &series.values {
        SeriesValues::Ratio(trend) => trend
            .cells(cells)
            .into_iter()
            .map(|r| r.map(|r| r * 100.0))
            .collect(),
        SeriesValues::Gauge(g) => {
            let n = g.buckets.len();
            if n <= cells {
                return g.buckets.clone();
            }
            (0..cells)
                .map(|i| {
                    g.buckets[i * n / cells..(i + 1) * n / cells]
                        .iter()
                        .flatten()
                        .copied()
                        .reduce(f64::max)
                })
                .collect()
        }
    }
}

/// Runs of present points as (x, y) lines; a missing point ends a run.
fn segments(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(y) if y.is_finite() => run.push((i as f64, *y)),
            _ => {
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
            }
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// Y bounds around the data and the baseline, padded, never narrower than
/// the minimum span; rates kept within 0..=100.
fn y_bounds(values: &[Option<f64>], baseline: Option<f64>, kind: ChartKind) -> [f64; 2] {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.iter().flatten().chain(baseline.as_ref()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        return [0.0, 1.0];
    }
    let min_span = match kind {
        ChartKind::Latency => (hi.abs() * MIN_GAUGE_SPAN_SHARE).max(1e-9),
        ChartKind::Availability => MIN_AVAILABILITY_SPAN,
        ChartKind::Quality => MIN_RATE_SPAN,
    };
    let pad = ((hi - lo) * 0.1).max((min_span - (hi - lo)).max(0.0) / 2.0);
    let (mut lo, mut hi) = (lo - pad, hi + pad);
    if kind != ChartKind::Latency {
        if hi > 100.0 {
            lo -= hi - 100.0;
            hi = 100.0;
        }
        lo = lo.max(0.0);
    }
    [lo, hi]
}

fn y_label(v: f64, kind: ChartKind) -> String {
    match kind {
        ChartKind::Latency if v.abs() >= 100.0 => format!("{v:.0}"),
        ChartKind::Latency | ChartKind::Quality => format!("{v:.1}"),
        ChartKind::Availability => format!("{v:.2}"),
    }
}

/// Draws one chart into `area`; `note` is added to its title (e.g. "1/6 Tab").
pub fn render_chart(
    f: &mut Frame,
    area: Rect,
    series: &ChartSeries,
    time: TimeFrame,
    markers: &[TimeMarker],
    note: &str,
    look: &Look,
) {
    let t = &look.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(if look.ascii {
            ASCII_BORDER
        } else {
            border::PLAIN
        })
        .title(Line::styled(
            look.cut(
                &title(series, note),
                usize::from(area.width.saturating_sub(2)),
            ),
            t.title,
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.width < 12 || inner.height < 3 {
        return;
    }
    // Labels first: their width decides the plot's width, hence its resolution.
    let probe = points(series, time.range.len);
    let [lo, hi] = y_bounds(
        &probe,
        series.baseline.map(|b| scale(b, series.kind)),
        series.kind,
    );
    let y_labels = [lo, f64::midpoint(lo, hi), hi].map(|v| y_label(v, series.kind));
    let x_labels = [
        format::utc_minute(time.range.first * time.bucket_ms).replace(" UTC", ""),
        format::utc_minute(time.range.last() * time.bucket_ms),
    ];
    let label_w = y_labels.iter().map(String::len).max().unwrap_or(0);
    let left = label_w
        .max(x_labels[0].len().saturating_sub(1))
        .min(usize::from(inner.width) / 3) as u16;
    let graph = Rect {
        x: inner.x + left + 1,
        width: inner.width.saturating_sub(left + 1),
        height: inner.height.saturating_sub(2),
        ..inner
    };
    let dots = if look.ascii { 1 } else { 2 };
    let cells = (usize::from(graph.width) * dots).clamp(1, time.range.len.max(1));
    let values = points(series, cells);
    let x_max = (cells.max(2) - 1) as f64;
    let line_style = match series.kind {
        ChartKind::Quality => t.quality_spark,
        ChartKind::Availability => t.availability_spark,
        ChartKind::Latency => t.text,
    };
    let marker = if look.ascii {
        Marker::Dot
    } else {
        Marker::Braille
    };
    let runs = segments(&values);
    // Dotted, one dot every other column, so it never passes for data.
    let dot_step = (cells as f64 * 2.0 / f64::from(graph.width.max(1))).max(1.0);
    let baseline: Vec<(f64, f64)> = series
        .baseline
        .map(|b| {
            let y = scale(b, series.kind);
            // Bounded by take_while: x grows by dot_step > 0 up to x_max.
            #[allow(clippy::maybe_infinite_iter)]
            (0..)
                .map(|k| f64::from(k) * dot_step)
                .take_while(|x| *x <= x_max)
                .map(|x| (x, y))
                .collect()
        })
        .unwrap_or_default();
    let verticals: Vec<([(f64, f64); 2], Style)> = markers
        .iter()
        .map(|m| {
            let x = time.x_of(m.ts, cells).clamp(0.0, x_max);
            ([(x, lo), (x, hi)], marker_style(m.kind, look))
        })
        .collect();
    let mut datasets: Vec<Dataset> = Vec::new();
    if !baseline.is_empty() {
        datasets.push(
            Dataset::default()
                .data(&baseline)
                .graph_type(GraphType::Scatter)
                .marker(marker)
                .style(t.dim),
        );
    }
    for (line, style) in &verticals {
        datasets.push(
            Dataset::default()
                .data(line)
                .graph_type(GraphType::Line)
                .marker(marker)
                .style(*style),
        );
    }
    for run in &runs {
        // A lone point has no line to draw: show it as a dot.
        let kind = if run.len() == 1 {
            GraphType::Scatter
        } else {
            GraphType::Line
        };
        datasets.push(
            Dataset::default()
                .data(run)
                .graph_type(kind)
                .marker(marker)
                .style(line_style),
        );
    }
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .labels(x_labels.map(|l| Span::styled(l, t.dim)))
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels.map(|l| Span::styled(l, t.dim)))
                .style(t.dim),
        )
        .legend_position(None);
    f.render_widget(chart, inner);
    if values.iter().all(Option::is_none) {
        let msg = "no data in the window";
        if graph.width as usize > msg.len() && graph.height > 0 {
            let at = Rect {
                x: graph.x + (graph.width - msg.len() as u16) / 2,
                y: graph.y + graph.height / 2,
                width: msg.len() as u16,
                height: 1,
            };
            f.render_widget(Line::styled(msg, t.dim), at);
        }
    }
    // Glyphs on the top row of the plot, above each marker's line.
    let buf = f.buffer_mut();
    if look.ascii {
        asciify(buf, inner);
    }
    for m in markers {
        let x = time.x_of(m.ts, cells).clamp(0.0, x_max);
        let col = graph.x
            + ((x / x_max.max(1.0)) * f64::from(graph.width.saturating_sub(1))).round() as u16;
        if col < graph.x + graph.width {
            buf[(col, graph.y)]
                .set_symbol(marker_glyph(m.kind, look.ascii))
                .set_style(marker_style(m.kind, look));
        }
    }
}

/// ratatui draws axes with box lines and points with dots or braille: in
/// ASCII mode they become `|`, `-`, `+` and `*`.
fn asciify(buf: &mut ratatui::buffer::Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            let replacement = match cell.symbol() {
                s if s.is_ascii() => continue,
                "│" => "|",
                "─" => "-",
                "└" | "┌" | "┐" | "┘" | "┼" | "├" | "┤" | "┬" | "┴" => "+",
                _ => "*",
            };
            cell.set_symbol(replacement);
        }
    }
}

/// A series value in the chart's units (rates in percent).
fn scale(v: f64, kind: ChartKind) -> f64 {
    match kind {
        ChartKind::Latency => v,
        _ => v * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_points_split_the_line_into_separate_runs() {
        let runs = segments(&[Some(1.0), Some(2.0), None, None, Some(3.0)]);
        assert_eq!(runs, vec![vec![(0.0, 1.0), (1.0, 2.0)], vec![(4.0, 3.0)]]);
        assert!(segments(&[None, None]).is_empty());
    }

    #[test]
    fn y_bounds_hold_data_and_baseline_and_keep_a_minimum_span() {
        let [lo, hi] = y_bounds(&[Some(90.0), Some(90.1)], Some(91.0), ChartKind::Quality);
        assert!(lo < 90.0 && hi > 91.0, "{lo} {hi}");
        let [lo, hi] = y_bounds(&[Some(99.99), Some(100.0)], None, ChartKind::Availability);
        assert!(
            hi <= 100.0 && hi - lo >= MIN_AVAILABILITY_SPAN - 1e-9,
            "{lo} {hi}"
        );
    }
}
