//! The built-in demo backend: a synthetic fleet replaying three overlapping
//! quality regressions (modelled on the Aug–Sep 2025 postmortem) while
//! availability stays green, served over protocol 1 by [`crate::server`].
//!
//! `scenario` (TOML) → `fleet` (leaf slices) + `regression` → `world` (pure
//! bucket values, ground truth) → `source` (compressed clock, fan-out hub).

mod check;
mod fleet;
mod noise;
mod regression;
mod scenario;
mod signals;
mod source;
mod world;

pub use fleet::{Leaf, LeafId};
pub use scenario::{DIMENSIONS, Keyframe, RegressionSpec, Scenario, Scope, Variation};
pub use signals::{AVAILABILITY, DemoSignal, Endpoint, LATENCY, METRIC_SIGNALS, SignalId};
pub use source::{DEFAULT_BACKLOG, DemoClock, DemoSource, history_hub};
pub use world::{InjectedRegression, World};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::protocol::Millis;
use crate::server::{self, AnnotationHub, RunningServer, ServerConfig};

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
    /// Data time "now" at start; `None`: the wall clock. Floored to the bucket.
    pub anchor_ms: Option<Millis>,
    /// Updates a client may fall behind before it is disconnected.
    pub backlog: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            scenario: None,
            seed: 2025,
            speed: 1.0,
            anchor_ms: None,
            backlog: DEFAULT_BACKLOG,
        }
    }
}

/// The demo world and its two running endpoints.
#[derive(Debug)]
pub struct DemoBackend {
    pub world: Arc<World>,
    pub metrics: Arc<DemoSource>,
    pub evals: Arc<DemoSource>,
}

impl DemoBackend {
    /// Builds the world, generates its history (on blocking threads) and
    /// starts the clock. Must be called inside a Tokio runtime.
    pub async fn build(opts: DemoOptions) -> anyhow::Result<DemoBackend> {
        if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= MAX_SPEED) {
            anyhow::bail!(
                "--speed must be above 0 and at most {MAX_SPEED}, not {}",
                opts.speed
            );
        }
        let scenario = match opts.scenario {
            Some(s) => s,
            None => Scenario::builtin()?,
        };
        let wall = wall_clock_ms();
        let world = Arc::new(World::new(
            scenario,
            opts.seed,
            opts.anchor_ms.unwrap_or(wall),
        ));
        let history = |endpoint| {
            let world = Arc::clone(&world);
            tokio::task::spawn_blocking(move || history_hub(&world, endpoint, opts.backlog))
        };
        let (metrics_hub, evals_hub) = (history(Endpoint::Metrics), history(Endpoint::Evals));
        let metrics_hub = metrics_hub
            .await
            .context("generating the metrics history")?;
        let evals_hub = evals_hub.await.context("generating the evals history")?;
        // The clock starts once the history exists, so data time begins at the anchor.
        let clock = DemoClock::start(world.anchor_ms(), world.bucket_ms(), opts.speed);
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
        let metrics = DemoSource::spawn(&world, Endpoint::Metrics, metrics_hub, clock, &epoch);
        let evals = DemoSource::spawn(&world, Endpoint::Evals, evals_hub, clock, &epoch);
        tracing::info!(
            scenario = %world.scenario().name,
            seed = opts.seed,
            speed = opts.speed,
            leaves = world.leaves().len(),
            anchor_ms = world.anchor_ms(),
            "demo world ready"
        );
        Ok(DemoBackend {
            world,
            metrics: Arc::new(metrics),
            evals: Arc::new(evals),
        })
    }

    /// The endpoints to hand to [`server::bind`]: `/metrics` and `/evals`.
    pub fn endpoints(&self) -> Vec<server::Endpoint> {
        vec![
            server::Endpoint {
                path: Endpoint::Metrics.path().to_owned(),
                source: self.metrics.clone(),
            },
            server::Endpoint {
                path: Endpoint::Evals.path().to_owned(),
                source: self.evals.clone(),
            },
        ]
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

use crate::clock::wall_ms as wall_clock_ms;
