//! The built-in demo backend: a synthetic fleet replaying three overlapping
//! quality regressions (modelled on the Aug–Sep 2025 postmortem) while
//! availability stays green, served over protocol 1 by [`crate::server`].
//!
//! `scenario` (TOML) → `fleet` (leaf slices) + `regression` → `world` (pure
//! bucket values, ground truth) → `source` (compressed clock, fan-out hub).

mod changes;
pub mod clock;
mod fleet;
mod noise;
mod regression;
mod scenario;
mod scenario_check;
mod signals;
mod source;
mod world;

pub use changes::{ChangeRole, ChangeTruth, Decoy, DemoChanges, demo_changes};
pub use clock::DemoClock;
pub use fleet::{DemoLeaf, LeafId, MAX_SCALED_LEAVES, scaled};
pub use scenario::{ChangeSpec, DIMENSIONS, Keyframe, RegressionSpec, Scenario, Scope, Variation};
pub use signals::{AVAILABILITY, DemoSignal, DemoSignalId, Endpoint, LATENCY, METRIC_SIGNALS};
pub use source::{DEFAULT_BACKLOG, DemoSource, history_hub};
pub use world::{InjectedRegression, World};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::detect::DetectionSettings;
use crate::protocol::Millis;
use crate::server::detection::{self as findings, RelayFindings, Watched};
use crate::server::{self, AnnotationHub, ChangeHub, RunningServer, ServerConfig};

/// Fastest clock accepted, in buckets per real second.
pub const MAX_SPEED: f64 = 1000.0;

/// How to run the demo backend.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// `None`: the built-in scenario.
    pub scenario: Option<Scenario>,
    pub seed: u64,
    /// Buckets of data time per second of real time.
    pub speed: f64,
    /// Data time "now" at start; `None`: the clock kept in `data_dir`, or
    /// else the wall clock. Floored to the bucket.
    pub anchor_ms: Option<Millis>,
    /// Where the clock is kept (see [`clock`]), so a restart continues the
    /// run; `None`: every start is a new run.
    pub data_dir: Option<PathBuf>,
    /// Updates a client may fall behind before it is disconnected.
    pub backlog: usize,
    /// Grow the fleet to this many leaf slices (`demo-server --leaves`);
    /// `None`: the scenario's own.
    pub leaves: Option<usize>,
    /// Run these detectors on the server and send every client their
    /// `findings` (`demo-server`: a war room's screens and `check` then show
    /// one run's conclusions, whenever each joined); `None`: each client
    /// detects on what it holds.
    pub detection: Option<DetectionSettings>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            scenario: None,
            seed: 2025,
            speed: 1.0,
            anchor_ms: None,
            data_dir: None,
            backlog: DEFAULT_BACKLOG,
            leaves: None,
            detection: None,
        }
    }
}

/// The demo world and its two running endpoints.
#[derive(Debug)]
pub struct DemoBackend {
    pub world: Arc<World>,
    pub metrics: Arc<DemoSource>,
    pub evals: Arc<DemoSource>,
    /// Where the run's changes are published as their time comes (both
    /// endpoints serve them).
    pub changes: Arc<ChangeHub>,
}

impl DemoBackend {
    /// Builds the world, generates its history (on blocking threads) and
    /// starts the clock. Must be called inside a Tokio runtime.
    pub async fn build(mut opts: DemoOptions) -> anyhow::Result<DemoBackend> {
        if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= MAX_SPEED) {
            anyhow::bail!(
                "--speed must be above 0 and at most {MAX_SPEED}, not {}",
                opts.speed
            );
        }
        let scenario = match opts.scenario.take() {
            Some(s) => s,
            None => Scenario::builtin()?,
        };
        let scenario = match opts.leaves {
            Some(n) => scaled(scenario, n),
            None => scenario,
        };
        let wall = wall_ms();
        let resumed = resume_clock(&scenario, &opts, wall);
        let world = Arc::new(World::new(scenario, opts.seed, resumed.anchor_ms));
        // History up to the bucket the clock is in now, live data from there.
        let start = world.offset_of(resumed.clock.at(wall));
        let history = |endpoint| {
            let world = Arc::clone(&world);
            tokio::task::spawn_blocking(move || {
                (history_hub(&world, endpoint, start, opts.backlog), start)
            })
        };
        let (metrics_hub, evals_hub) = (history(Endpoint::Metrics), history(Endpoint::Evals));
        let metrics_hub = metrics_hub
            .await
            .context("generating the metrics history")?;
        let evals_hub = evals_hub.await.context("generating the evals history")?;
        // A new run's clock starts once the history exists, so its data time
        // begins at the anchor; a continued run keeps to the wall clock.
        let clock = if resumed.continued {
            resumed.clock
        } else {
            DemoClock::start(world.anchor_ms(), world.bucket_ms(), opts.speed)
        };
        if let Some(dir) = opts
            .data_dir
            .as_deref()
            .filter(|_| opts.anchor_ms.is_none())
        {
            keep_clock(dir, &world, clock);
        }
        let epoch = format!(
            "{:016x}",
            noise::key(
                opts.seed,
                &[
                    world.anchor_ms() as u64,
                    wall as u64,
                    std::process::id().into()
                ]
            )
        );
        let (changes, change_ticker) =
            source::spawn_changes(&world, demo_changes(&world, opts.seed), clock);
        let mut metrics =
            source::spawn_source(&world, Endpoint::Metrics, metrics_hub, clock, &epoch)
                .with_changes(Arc::clone(&changes))
                .feeding(change_ticker);
        let mut evals = source::spawn_source(&world, Endpoint::Evals, evals_hub, clock, &epoch)
            .with_changes(Arc::clone(&changes));
        if let Some(settings) = opts.detection {
            let paths = [Endpoint::Metrics, Endpoint::Evals].map(|e| e.path().to_owned());
            let findings = Arc::new(
                RelayFindings::new(world.history_ms()).with_identity(&epoch, paths.to_vec()),
            );
            metrics = metrics.with_findings(findings.frames());
            evals = evals.with_findings(findings.frames());
            let watched = [&metrics, &evals]
                .map(|s| Watched {
                    hello: server::FleetSource::hello(s),
                    hub: Arc::clone(s.hub()),
                })
                .into();
            let task = findings::spawn(
                watched,
                settings,
                std::time::Duration::ZERO,
                findings,
                Arc::new(clock),
            );
            // They stop with the metrics endpoint, as its ticker does.
            for handle in task.into_handles() {
                metrics = metrics.feeding(handle);
            }
        }
        tracing::info!(
            scenario = %world.scenario().name,
            seed = opts.seed,
            speed = opts.speed,
            leaves = world.leaves().len(),
            anchor_ms = world.anchor_ms(),
            continued = resumed.continued,
            data_now = clock.now(),
            "demo world ready"
        );
        Ok(DemoBackend {
            world,
            metrics: Arc::new(metrics),
            evals: Arc::new(evals),
            changes,
        })
    }

    /// The endpoints to hand to [`server::bind`]: `/metrics` and `/evals`.
    pub fn endpoints(&self) -> Vec<server::Mount> {
        vec![
            server::Mount {
                path: Endpoint::Metrics.path().to_owned(),
                source: self.metrics.clone(),
            },
            server::Mount {
                path: Endpoint::Evals.path().to_owned(),
                source: self.evals.clone(),
            },
        ]
    }
}

/// The anchor and clock to run on: a fixed anchor, else the run saved in
/// the data directory (if it is this scenario's and not over), else a new run.
fn resume_clock(scenario: &Scenario, opts: &DemoOptions, wall: Millis) -> clock::Resumed {
    let bucket_ms = scenario.clock.bucket_ms.max(1);
    if let Some(anchor) = opts.anchor_ms {
        let anchor_ms = anchor.div_euclid(bucket_ms) * bucket_ms;
        return clock::Resumed {
            anchor_ms,
            clock: DemoClock::new(wall, anchor_ms, bucket_ms, opts.speed),
            continued: false,
        };
    }
    let saved = opts.data_dir.as_deref().and_then(clock::load);
    let last_minute = scenario
        .regressions
        .iter()
        .flat_map(|r| r.timeline.iter().map(|k| k.at))
        .fold(0.0_f64, f64::max);
    let key = clock::RunKey {
        scenario: &scenario.name,
        seed: opts.seed,
        bucket_ms,
        speed: opts.speed,
        // Once the last bug has ended, a restart tells the story again: a
        // newcomer starting qualtop a quarter of an hour after a first try
        // must not meet a healthy fleet with nothing left to happen.
        story_ms: (last_minute * 60_000.0) as Millis,
    };
    clock::resume(saved.as_ref(), key, wall)
}

/// Saves the run's clock; a demo that cannot save it still runs (a restart
/// then starts a new run).
fn keep_clock(dir: &std::path::Path, world: &World, clock: DemoClock) {
    let wall = wall_ms();
    let saved = clock::SavedClock {
        scenario: world.scenario().name.clone(),
        seed: world.seed(),
        anchor_ms: world.anchor_ms(),
        ref_wall_ms: wall,
        ref_data_ms: clock.at(wall),
        speed: clock.speed(),
    };
    if let Err(e) = clock::save(dir, &saved) {
        tracing::warn!("the demo clock is not kept, a restart starts a new run: {e:#}");
    }
}

/// Builds the demo backend and serves it on `addr` (`127.0.0.1:0` for any
/// free port): `ws://ADDR/metrics`, `ws://ADDR/evals`, `http://ADDR/healthz`.
pub async fn start(
    addr: SocketAddr,
    cfg: ServerConfig,
    opts: DemoOptions,
) -> anyhow::Result<RunningServer> {
    let backend = DemoBackend::build(opts).await?;
    server::bind(addr, cfg, backend.endpoints()).await
}

/// The demo's annotation hub: SQLite in `data_dir`, or in
/// [`default_data_dir`] when `None`.
pub fn annotation_hub(data_dir: Option<&std::path::Path>) -> anyhow::Result<Arc<AnnotationHub>> {
    let dir = match data_dir {
        Some(d) => d.to_owned(),
        None => default_data_dir()?,
    };
    AnnotationHub::sqlite_in(&dir)
}

/// Where the demo backend keeps its annotations unless told otherwise:
/// `$XDG_DATA_HOME/qualtop/demo` (`~/.local/share/qualtop/demo`).
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    Ok(dirs::data_dir()
        .context(
            "no data directory for the demo's annotations (set XDG_DATA_HOME or pass --data-dir)",
        )?
        .join("qualtop")
        .join("demo"))
}

use crate::clock::wall_ms;

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Millis = 60_000;

    fn resumed_after(dir: &std::path::Path, minutes: i64) -> clock::Resumed {
        let scenario = Scenario::builtin().expect("the built-in scenario");
        let opts = DemoOptions {
            data_dir: Some(dir.to_path_buf()),
            ..DemoOptions::default()
        };
        let start = 1_796_200_000_000;
        let first = resume_clock(&scenario, &opts, start);
        let saved = clock::SavedClock {
            scenario: scenario.name.clone(),
            seed: opts.seed,
            anchor_ms: first.anchor_ms,
            ref_wall_ms: start,
            ref_data_ms: first.anchor_ms,
            speed: opts.speed,
        };
        clock::save(dir, &saved).expect("the clock saves");
        // At ×60 one real second is a minute of story.
        resume_clock(&scenario, &opts, start + minutes * 1000)
    }

    #[test]
    fn a_restart_mid_story_continues_and_one_after_the_last_bug_starts_it_again() {
        let dir = std::env::temp_dir().join(format!("qualtop-demo-story-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Minute 300: the routing bug is about to step up.
        assert!(resumed_after(&dir, 300).continued);
        // Minute 800: every bug has ended; a newcomer gets the story again.
        let fresh = resumed_after(&dir, 800);
        assert!(!fresh.continued);
        assert!(fresh.anchor_ms > 1_796_200_000_000 + 700 * MINUTE / 60);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
