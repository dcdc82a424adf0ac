//! `qualtop check`: connect, replay the snapshot's history through the
//! detectors in data-time order, keep watching for `--for` (a progress line
//! on stderr every 10 s), then print every bug found (active or ended).
//! Exit 1 if any is still active, 0 if none, 2 when a backend cannot be
//! reached or the backends disagree on time (the message on stderr).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::args::{OutputFormat, SourceArgs};
use super::check_report::CheckReport;
use super::headless::{clock_warnings, connect_and_replay, reason};
use crate::cli::runtime::{Threads, block_on};
use crate::config::parse_duration;
use crate::demo::{self, DemoOptions, Endpoint};
use crate::detect::{DetectedRegression, DetectionSettings, Detections, group_bugs};
use crate::server::{RunningServer, ServerConfig};
use crate::text::format;
use crate::text::sanitize::sanitize;

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
    let report = block_on(Threads::Client, check(sources, args, settings))?;
    let report = report?;
    print!("{}", report.render(args.format));
    // A report missing one backend's data must not pass a deploy gate.
    if let Some(why) = report.clock_disagreement() {
        eprintln!("qualtop: {why}");
        return Ok(ExitCode::from(2));
    }
    Ok(if report.has_active() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// How often `--for` says on stderr how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Connects, replays, watches; the report of everything found.
pub async fn check(
    sources: &SourceArgs,
    args: &CheckArgs,
    settings: DetectionSettings,
) -> anyhow::Result<CheckReport> {
    let (sources, _demo) = with_demo_speed(sources, args.demo_speed).await?;
    let mut replayed = connect_and_replay(&sources, settings).await?;
    let fleet = replayed.fleet.clone();
    if fleet.read(|f| f.findings.from_backend) {
        // One truth: the regressions the TUIs on this backend show.
        eprintln!("qualtop: findings from the backend's own detection (feature `findings`)");
    }
    if !args.watch.is_zero() {
        let mut changes = fleet.subscribe();
        changes.borrow_and_update();
        replayed.catch_up();
        let started = tokio::time::Instant::now();
        let deadline = started + args.watch;
        let mut next_word = started + PROGRESS_EVERY;
        loop {
            let wake = deadline.min(next_word);
            match tokio::time::timeout_at(wake, changes.changed()).await {
                Ok(Ok(())) => {
                    changes.borrow_and_update();
                    replayed.catch_up();
                }
                Ok(Err(_)) => break,
                Err(_) if wake >= deadline => break,
                Err(_) => {
                    let active = group_bugs(active_of(&replayed.published)).len();
                    eprintln!(
                        "watching: {} of {}, {active} active",
                        format::duration(started.elapsed().as_millis() as i64),
                        format::duration(args.watch.as_millis() as i64),
                    );
                    next_word += PROGRESS_EVERY;
                }
            }
        }
        // The backend's findings of the data watched, not of a server
        // still catching up.
        super::headless::findings_cover_the_data(&fleet).await;
        replayed.catch_up();
        let lost = fleet.read(|f| {
            f.sources
                .iter()
                .filter(|s| !s.state.is_live())
                .map(|s| format!("{}: {}", sanitize(&s.label), reason(&s.state)))
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
    Ok(fleet.read(|f| {
        CheckReport::from_detections_and_changes(&replayed.published, &f.store, &f.changes)
            .with_clock_warnings(clock_warnings(f))
    }))
}

fn active_of(d: &Detections) -> impl Iterator<Item = &DetectedRegression> {
    d.regressions.iter().filter(|r| r.is_active())
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
