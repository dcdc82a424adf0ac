//! `qualtop snapshot`: the overview table once, as text, JSON or Markdown,
//! then exit. [`run`] connects, waits for every backend's history, replays
//! it through detection as the TUI's detection task does, and asks the view
//! the TUI's query; [`render_snapshot`] is a pure function of the fleet, so
//! every figure and status is the view's, never recomputed here.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::args::Cli;
use super::check_report::CheckReport;
use super::check_text::summary;
use super::headless::{clock_warnings, connect_and_replay, disagreement};
use crate::app::{DEFAULT_WINDOW, WINDOWS};
use crate::cli::runtime::{Threads, block_on};
use crate::clock::wall_ms;
use crate::feed::{ConnState, Fleet};
use crate::protocol::Millis;
use crate::text::format;
use crate::text::sanitize::{sanitize, truncate, width};
use crate::ui::sparkline::{availability_spark, spark};
use crate::view::{
    Filter, MIN_SPARK_SPAN, OverviewRow, RatioTrend, SourceLine, Split, ViewModel, ViewQuery,
    compute_overview, spark_range,
};

/// Sparkline cells in the text output.
const SPARK_WIDTH: usize = 30;
const NAME_MAX: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SnapshotFormat {
    Text,
    Json,
    /// For an incident channel: title, active regressions, then the table.
    Markdown,
}

/// Arguments of `qualtop snapshot`.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    #[arg(long, value_enum, default_value_t = SnapshotFormat::Text)]
    pub format: SnapshotFormat,
    /// Rows by this dimension, as `g` in the TUI (default: the first one).
    #[arg(long, value_name = "DIM")]
    pub group: Option<String>,
    /// Only slices matching this, as `/` in the TUI: `model=atlas-m hardware=tpu,gpu`.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Time window of the table, as `:window` in the TUI [default: 1h].
    #[arg(long, value_name = "15m|1h|6h|24h")]
    pub window: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotOptions {
    pub format: SnapshotFormat,
    /// Text output in ASCII only.
    pub ascii: bool,
    /// Wall-clock time the sources' silence is measured against.
    pub wall_now: Millis,
    /// What the table shows, as the TUI would ask it.
    pub query: ViewQuery,
}

/// The window `--window` names, in data time.
fn window_ms(name: Option<&str>) -> anyhow::Result<Millis> {
    match name {
        None => Ok(WINDOWS[DEFAULT_WINDOW].1),
        Some(n) => match WINDOWS.iter().find(|(w, _)| *w == n) {
            Some((_, ms)) => Ok(*ms),
            None => bail!("--window is one of 15m, 1h, 6h, 24h, not {:?}", sanitize(n)),
        },
    }
}

/// The TUI's query for these arguments, checked against the data: an
/// unknown dimension or a window longer than the history is an error.
pub fn query_for(args: &SnapshotArgs, fleet: &Fleet) -> anyhow::Result<ViewQuery> {
    let store = &fleet.store;
    let dims = store.slices().dimensions();
    let known = || {
        dims.iter()
            .map(|d| sanitize(d).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let split = match &args.group {
        None => Split::Next,
        Some(g) => match dims.iter().find(|d| d.eq_ignore_ascii_case(g)) {
            Some(d) => Split::By(d.clone()),
            None => bail!(
                "--group: no dimension {:?} (there are {})",
                sanitize(g),
                known()
            ),
        },
    };
    let filter = Filter::parse(args.filter.as_deref().unwrap_or(""));
    let unknown = filter.unknown_dimensions(store.slices());
    if !unknown.is_empty() {
        bail!(
            "--filter: no dimension {} (there are {})",
            sanitize(&unknown.join(", ")),
            known()
        );
    }
    let window = window_ms(args.window.as_deref())?;
    let history = store.capacity() as Millis * store.bucket_ms();
    if window > history {
        bail!(
            "--window {}: the backends hold only {} of history",
            args.window.as_deref().unwrap_or_default(),
            format::duration(history)
        );
    }
    Ok(ViewQuery {
        split,
        filter,
        window_ms: Some(window),
        ..ViewQuery::default()
    })
}

/// Connects, waits for every source's history (exit 2 naming any that did
/// not deliver), runs detection over it as the TUI does, prints.
pub fn run(cli: &Cli, args: &SnapshotArgs) -> anyhow::Result<ExitCode> {
    window_ms(args.window.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let settings = super::settings::resolve(cli, &env)?;
    let output = block_on(Threads::Client, async {
        let replayed = connect_and_replay(&settings.sources, settings.detection()).await?;
        if replayed.fleet.read(|f| f.findings.from_backend) {
            // One truth: the regressions the TUIs on this backend show.
            eprintln!("qualtop: findings from the backend's own detection (feature `findings`)");
        }
        replayed.fleet.read(|f| {
            let options = SnapshotOptions {
                format: args.format,
                ascii: settings.look.ascii,
                wall_now: wall_ms(),
                query: query_for(args, f)?,
            };
            let why = disagreement(&clock_warnings(f));
            anyhow::Ok((render_snapshot(f, &options), why))
        })
    })?;
    let (output, disagreement) = output?;
    print!("{output}");
    // The table misses one backend's data: say so, and do not exit 0.
    if let Some(why) = disagreement {
        eprintln!("qualtop: {why}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The overview as text, JSON or Markdown, with the bugs detection holds
/// (`fleet.detections`, grouped as `check` groups them). Pure: same fleet
/// and options, same output.
pub fn render_snapshot(fleet: &Fleet, options: &SnapshotOptions) -> String {
    let vm = compute_overview(fleet, &options.query);
    let report =
        CheckReport::from_detections_and_changes(&fleet.detections, &fleet.store, &fleet.changes);
    match options.format {
        SnapshotFormat::Text => text(&vm, &report, options),
        SnapshotFormat::Markdown => super::snapshot_markdown::render(&vm, &report, options),
        SnapshotFormat::Json => {
            let mut s =
                serde_json::to_string_pretty(&json_of(&vm, &report, options)).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

fn state_word(line: &SourceLine, wall_now: Millis) -> String {
    match line.shown_state(wall_now) {
        ConnState::Live => "live".to_owned(),
        ConnState::Connecting => "connecting".to_owned(),
        ConnState::Stale => "STALE".to_owned(),
        ConnState::Disconnected { reason, retry_at } => format!(
            "reconnecting in {}s: {reason}",
            ((retry_at - wall_now).max(0) + 999) / 1000
        ),
        ConnState::Failed { reason } => format!("failed: {reason}"),
    }
}

/// Columns of the table; which are right-aligned numbers.
pub(super) const COLUMNS: usize = 11;
pub(super) const NUMERIC: [bool; COLUMNS] = [
    false, false, true, false, true, true, true, false, true, true, true,
];

/// `qualtop snapshot  by model  window 1h  filter x  2025-09-02 14:05 UTC`:
/// the data's clock, not the wall's.
pub(super) fn title(vm: &ViewModel, o: &SnapshotOptions) -> String {
    let mut out = "qualtop snapshot".to_owned();
    if let Some(split) = &vm.table.split {
        out.push_str(&format!("  by {split}"));
    }
    if let Some(w) = vm.header.window_ms {
        out.push_str(&format!("  window {}", format::duration(w)));
    }
    if !o.query.filter.is_empty() {
        out.push_str(&format!("  filter {}", sanitize(o.query.filter.text())));
    }
    if let Some(now) = vm.data_now {
        out.push_str(&format!("  {} UTC", crate::text::time::utc_minute(now)));
    }
    out
}

pub(super) fn source_line(s: &SourceLine, wall_now: Millis) -> String {
    let mut out = s.label.clone();
    if let Some(server) = &s.server {
        out.push_str(&format!(" ({server})"));
    }
    out.push_str(&format!("  {}", state_word(s, wall_now)));
    if let Some(clock) = &s.clock_warning {
        out.push_str(&format!("  {clock}: its data left out"));
    }
    if let Some(age) = s.data_age_ms {
        out.push_str(&format!("  data {} old", format::duration(age)));
    }
    if let Some(drops) = &s.drops {
        out.push_str(&format!("  dropped: {drops}"));
    }
    out
}

/// The table's cells, header row first; every string already clean.
pub(super) fn grid(vm: &ViewModel, o: &SnapshotOptions) -> Vec<[String; COLUMNS]> {
    let table = &vm.table;
    let fresh = |sources: &[usize]| {
        sources.iter().all(|&i| {
            vm.header
                .sources
                .get(i)
                .is_some_and(|s| s.is_fresh(o.wall_now))
        })
    };
    let stale_mark = |ok: bool| if ok { "" } else { " STALE" };
    let cells = table.range.map_or(0, |r| r.len).min(SPARK_WIDTH);
    let mut grid: Vec<[String; COLUMNS]> = vec![[
        table.split.clone().unwrap_or_else(|| "slice".to_owned()),
        format!(
            "availability{}",
            stale_mark(fresh(&table.availability_sources))
        ),
        "avail".to_owned(),
        format!(
            "{}{}",
            table.quality_label,
            stale_mark(fresh(&table.quality_sources))
        ),
        "qual".to_owned(),
        "range %".to_owned(),
        "vs base".to_owned(),
        "status".to_owned(),
        "reqs".to_owned(),
        "evals".to_owned(),
        table.latency_label.clone().unwrap_or_default(),
    ]];
    for row in &table.rows {
        let (q_spark, q_range) = spark_cell(&row.quality, cells, o.ascii);
        let a_spark = availability_spark(&row.availability, cells, o.ascii);
        grid.push([
            truncate(&row.name, NAME_MAX),
            a_spark,
            format::percent(row.availability.current()),
            q_spark,
            format::percent(row.quality.current()),
            q_range,
            format::points(row.quality.change_pp()),
            row.status
                .as_ref()
                .map_or_else(|| format::MISSING.to_owned(), |s| s.text.clone()),
            format::count(row.requests()),
            format::count(row.evals()),
            format::gauge(row.latency.current(), table.latency_unit.as_deref()),
        ]);
    }
    grid
}

fn text(vm: &ViewModel, report: &CheckReport, o: &SnapshotOptions) -> String {
    let mut out = title(vm, o);
    out.push('\n');
    for s in &vm.header.sources {
        out.push_str(&format!("source {}\n", source_line(s, o.wall_now)));
    }
    if vm.table.rows.is_empty() {
        out.push_str("no data\n");
        return out;
    }
    if report.to > report.from || !report.bugs.is_empty() {
        out.push_str(&summary(report));
        out.push('\n');
    }
    let grid = grid(vm, o);
    let widths: Vec<usize> = (0..COLUMNS)
        .map(|c| grid.iter().map(|r| width(&r[c])).max().unwrap_or(0))
        .collect();
    for row in &grid {
        let mut line = String::new();
        for c in 0..COLUMNS {
            let pad = widths[c] - width(&row[c]);
            if c > 0 {
                line.push_str("  ");
            }
            if NUMERIC[c] {
                line.push_str(&" ".repeat(pad));
                line.push_str(&row[c]);
            } else {
                line.push_str(&row[c]);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Sparkline text and its range ("95.1-99.3") for one series.
fn spark_cell(trend: &RatioTrend, cells: usize, ascii: bool) -> (String, String) {
    let c = trend.cells(cells);
    match spark_range(&c, MIN_SPARK_SPAN) {
        Some(range) => (
            spark(&c, range, cells, ascii),
            format!("{:.1}-{:.1}", range.0 * 100.0, range.1 * 100.0),
        ),
        None => (" ".repeat(cells), format::MISSING.to_owned()),
    }
}

fn json_of(vm: &ViewModel, report: &CheckReport, o: &SnapshotOptions) -> Value {
    let t = &vm.table;
    let sources: Vec<Value> = vm
        .header
        .sources
        .iter()
        .map(|s| {
            let (state, reason, retry_at) = match s.shown_state(o.wall_now) {
                ConnState::Live => ("live", None, None),
                ConnState::Connecting => ("connecting", None, None),
                ConnState::Stale => ("stale", None, None),
                ConnState::Disconnected { reason, retry_at } => {
                    ("disconnected", Some(reason), Some(retry_at))
                }
                ConnState::Failed { reason } => ("failed", Some(reason), None),
            };
            json!({
                "label": s.label,
                "server": s.server,
                "state": state,
                "reason": reason,
                "retry_at": retry_at,
                "data_age_ms": s.data_age_ms,
                "last_message_age_ms": s.last_message_at.map(|t| o.wall_now - t),
                "dropped": s.drops,
                "clock_warning": s.clock_warning,
            })
        })
        .collect();
    json!({
        "wall_now": o.wall_now,
        "data_now": vm.header.data_now,
        "window_ms": vm.header.window_ms,
        "window": t.range.map(|r| json!({"first_bucket": r.first, "buckets": r.len})),
        "split": t.split,
        "filter": sanitize(o.query.filter.text()),
        "quality": t.quality_label,
        "active": report.active,
        // The TUI header's count, from the same fleet: equal to `active`.
        "header_active_regressions": vm.header.active_regressions,
        "bugs_through": report.to,
        "bugs": report.bugs,
        "sources": sources,
        "rows": t.rows.iter().map(|r| row_json(r, t.latency_unit.as_deref())).collect::<Vec<_>>(),
    })
}

fn trend_json(t: &RatioTrend) -> Value {
    json!({
        "current": t.current(),
        "baseline": t.baseline(),
        "change_pp": t.change_pp(),
        "volume": t.volume(),
        "rates": t.buckets.iter().map(|b| b.and_then(|r| r.rate())).collect::<Vec<_>>(),
        "range": spark_range(&t.cells(t.buckets.len()), MIN_SPARK_SPAN).map(|(lo, hi)| [lo, hi]),
    })
}

fn row_json(r: &OverviewRow, latency_unit: Option<&str>) -> Value {
    json!({
        "name": r.name,
        "aggregate": matches!(r.key, crate::view::RowKey::All),
        "availability": trend_json(&r.availability),
        "quality": trend_json(&r.quality),
        "requests": r.requests(),
        "evals": r.evals(),
        "latency": { "current": r.latency.current(), "unit": latency_unit },
        "status": r.status.as_ref().map(|s| json!({"severity": format!("{:?}", s.severity).to_lowercase(), "text": s.text})),
    })
}
