//! `qualtop snapshot`: the overview table once, as text or JSON, then exit.
//! [`render_snapshot`] is a pure function of the fleet, like the TUI's
//! render; [`run`] connects, waits for the first data, prints.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::args::{Cli, OutputFormat};
use super::tui::connect;
use crate::feed::{ConnState, Fleet, SharedFleet};
use crate::protocol::Millis;
use crate::tui::wall_clock_ms;
use crate::ui::format;
use crate::ui::sanitize::{truncate, width};
use crate::ui::sparkline::spark;
use crate::view::{
    MIN_SPARK_SPAN, OverviewRow, RatioTrend, SourceLine, ViewModel, ViewQuery, compute_overview,
    spark_range,
};

/// Longest wait for every source to deliver its first snapshot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Sparkline cells in the text output.
const SPARK_WIDTH: usize = 30;
const NAME_MAX: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotOptions {
    pub format: OutputFormat,
    /// Text output in ASCII only.
    pub ascii: bool,
    /// Wall-clock time the ages are measured against.
    pub wall_now: Millis,
}

/// Connects, waits until every source is live (or failed, or the timeout
/// passed), prints the overview. Exit 2 when no source could be reached.
pub fn run(cli: &Cli, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let env = |k: &str| std::env::var(k).ok();
    let settings = super::settings::resolve(cli, &env)?;
    let output = runtime.block_on(async {
        let fleet = SharedFleet::new(Fleet::default());
        let _connections = connect(&fleet, &settings.sources).await?;
        let mut changes = fleet.subscribe();
        let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
        while !fleet.read(all_settled) {
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                break;
            }
        }
        let live = fleet.read(|f| f.sources.iter().any(|s| s.state.is_live()));
        if !live {
            let reasons = fleet.read(|f| {
                f.sources
                    .iter()
                    .map(|s| format!("{}: {}", s.label, state_reason(&s.state)))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            anyhow::Ok(Err(reasons))
        } else {
            let options = SnapshotOptions {
                format,
                ascii: settings.look.ascii,
                wall_now: wall_clock_ms(),
            };
            anyhow::Ok(Ok(fleet.read(|f| render_snapshot(f, &options))))
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(500));
    match output? {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(reasons) => {
            eprintln!("qualtop: cannot connect: {reasons}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Every source either delivered its snapshot or will not be retried.
/// Every source has its snapshot or has given up for now: a one-shot
/// command does not wait out the reconnect backoff of a dead backend.
fn all_settled(fleet: &Fleet) -> bool {
    fleet.sources.iter().all(|s| s.is_settled())
}

fn state_reason(state: &ConnState) -> String {
    match state {
        ConnState::Connecting => "still connecting".to_owned(),
        ConnState::Live => "live".to_owned(),
        ConnState::Stale => "stale".to_owned(),
        ConnState::Disconnected { reason, .. } | ConnState::Failed { reason } => {
            crate::ui::sanitize::sanitize(reason).into_owned()
        }
    }
}

/// The overview as text or JSON. Pure: same fleet and options, same output.
pub fn render_snapshot(fleet: &Fleet, options: &SnapshotOptions) -> String {
    let vm = compute_overview(fleet, &ViewQuery::default());
    match options.format {
        OutputFormat::Text => text(&vm, options),
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&json_of(&vm, options)).unwrap_or_default();
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

fn text(vm: &ViewModel, o: &SnapshotOptions) -> String {
    let mut out = String::new();
    let table = &vm.table;
    out.push_str("qualtop snapshot");
    if let Some(split) = &table.split {
        out.push_str(&format!("  by {split}"));
    }
    if let Some(w) = vm.header.window_ms {
        out.push_str(&format!("  window {}", format::duration(w)));
    }
    out.push_str(&format!("  {}\n", format::utc_clock(o.wall_now)));
    for s in &vm.header.sources {
        out.push_str(&format!("source {}", s.label));
        if let Some(server) = &s.server {
            out.push_str(&format!(" ({server})"));
        }
        out.push_str(&format!("  {}", state_word(s, o.wall_now)));
        if let Some(age) = s.data_age_ms {
            out.push_str(&format!("  data {} old", format::duration(age)));
        }
        if let Some(drops) = &s.drops {
            out.push_str(&format!("  dropped: {drops}"));
        }
        out.push('\n');
    }
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
    let mut grid: Vec<[String; 11]> = vec![[
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
        let (a_spark, _) = spark_cell(&row.availability, cells, o.ascii);
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
    if table.rows.is_empty() {
        out.push_str("no data\n");
        return out;
    }
    let numeric = [
        false, false, true, false, true, true, true, false, true, true, true,
    ];
    let widths: Vec<usize> = (0..11)
        .map(|c| grid.iter().map(|r| width(&r[c])).max().unwrap_or(0))
        .collect();
    for row in &grid {
        let mut line = String::new();
        for c in 0..11 {
            let pad = widths[c] - width(&row[c]);
            if c > 0 {
                line.push_str("  ");
            }
            if numeric[c] {
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

fn json_of(vm: &ViewModel, o: &SnapshotOptions) -> Value {
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
            })
        })
        .collect();
    json!({
        "wall_now": o.wall_now,
        "data_now": vm.header.data_now,
        "window_ms": vm.header.window_ms,
        "window": t.range.map(|r| json!({"first_bucket": r.first, "buckets": r.len})),
        "split": t.split,
        "quality": t.quality_label,
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
