//! `qualtop check`: connect, replay the snapshot's history through the
//! detectors in data-time order, keep watching for `--for`, then print every
//! regression found (active or ended). Exit 1 if any is still active, 0 if
//! none, 2 when a backend cannot be reached (the message on stderr).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::args::{OutputFormat, SourceArgs};
use super::check_report::CheckReport;
use super::detection::catch_up;
use super::tui::connect;
use crate::config::parse_duration;
use crate::demo::{self, DemoOptions, Endpoint};
use crate::detect::{DetectionEngine, DetectionSettings, Detections};
use crate::feed::{ConnState, Fleet, SharedFleet, wait_until_settled};
use crate::server::{RunningServer, ServerConfig};

/// Longest wait for every backend's snapshot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Arguments of `qualtop check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Keep watching live data this long after the history, e.g. 90s or
    /// 15m (0: test the history only).
    #[arg(long = "for", value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
    pub watch: Duration,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Clock speed of the built-in demo, in buckets per second (for tests:
    /// the demo's regressions start minutes after its history ends).
    #[arg(long, hide = true, value_name = "BUCKETS_PER_SECOND")]
    pub demo_speed: Option<f64>,
}

/// Runs the check and prints its report. An error (cannot connect, bad
/// argument) is returned for `main` to print, with exit code 2.
pub fn run(
    sources: &SourceArgs,
    args: &CheckArgs,
    settings: DetectionSettings,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(check(sources, args, settings));
    runtime.shutdown_timeout(Duration::from_millis(500));
    let report = report?;
    print!("{}", report.render(args.format));
    Ok(if report.has_active() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Connects, replays, watches; the report of everything found.
pub async fn check(
    sources: &SourceArgs,
    args: &CheckArgs,
    settings: DetectionSettings,
) -> anyhow::Result<CheckReport> {
    let fleet = SharedFleet::new(Fleet::default());
    let (sources, _demo) = with_demo_speed(sources, args.demo_speed).await?;
    let _connections = connect(&fleet, &sources).await?;
    let settled = wait_until_settled(&fleet, CONNECT_TIMEOUT).await;
    let not_live = fleet.read(|f| {
        f.sources
            .iter()
            .filter(|s| !(s.state.is_live() && s.snapshots > 0))
            .map(|s| format!("{}: {}", s.label, reason(&s.state)))
            .collect::<Vec<_>>()
    });
    if !not_live.is_empty() {
        let waited = if settled {
            String::new()
        } else {
            format!(" (waited {}s)", CONNECT_TIMEOUT.as_secs())
        };
        bail!("cannot connect{waited}: {}", not_live.join("; "));
    }
    let mut engine = DetectionEngine::new(settings);
    let mut published = Detections::default();
    let mut changes = fleet.subscribe();
    changes.borrow_and_update();
    catch_up(&fleet, &mut engine, &mut published);
    if !args.watch.is_zero() {
        let deadline = tokio::time::Instant::now() + args.watch;
        while tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_ok_and(|changed| changed.is_ok())
        {
            changes.borrow_and_update();
            catch_up(&fleet, &mut engine, &mut published);
        }
        catch_up(&fleet, &mut engine, &mut published);
        let lost = fleet.read(|f| {
            f.sources
                .iter()
                .filter(|s| !s.state.is_live())
                .map(|s| format!("{}: {}", s.label, reason(&s.state)))
                .collect::<Vec<_>>()
        });
        if !lost.is_empty() {
            tracing::warn!(sources = %lost.join("; "), "a backend was lost while watching");
            eprintln!(
                "qualtop: warning: data may be incomplete, not live at the end: {}",
                lost.join("; ")
            );
        }
    }
    Ok(fleet.read(|f| CheckReport::from_detections(&published, &f.store)))
}

/// With `--demo-speed` and no URL, starts the demo here at that speed and
/// points the sources at it; otherwise the sources as given.
async fn with_demo_speed(
    sources: &SourceArgs,
    speed: Option<f64>,
) -> anyhow::Result<(SourceArgs, Option<RunningServer>)> {
    let Some(speed) = speed else {
        return Ok((sources.clone(), None));
    };
    if sources.metrics.is_some() || sources.evals.is_some() {
        bail!("--demo-speed applies to the built-in demo only, not with --metrics or --evals");
    }
    let server = demo::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ServerConfig::default(),
        DemoOptions {
            speed,
            ..DemoOptions::default()
        },
    )
    .await
    .context("starting the built-in demo backend")?;
    let sources = SourceArgs {
        metrics: Some(server.url(Endpoint::Metrics.path())),
        evals: Some(server.url(Endpoint::Evals.path())),
        ..sources.clone()
    };
    Ok((sources, Some(server)))
}

fn reason(state: &ConnState) -> String {
    match state {
        ConnState::Connecting => "still connecting".to_owned(),
        ConnState::Live => "live, but no snapshot yet".to_owned(),
        ConnState::Stale => "stale".to_owned(),
        ConnState::Disconnected { reason, .. } | ConnState::Failed { reason } => {
            crate::ui::sanitize::sanitize(reason).into_owned()
        }
    }
}
