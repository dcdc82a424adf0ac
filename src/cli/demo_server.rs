//! `qualtop demo-server`: the demo backend alone, for a war room of screens.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use super::server_process::{init_logging, stop_signal};
use crate::cli::runtime::{Threads, block_on};
use crate::detect::DetectionSettings;

use crate::demo::{self, DemoOptions, Endpoint, Scenario};
use crate::server::{Authorize, ServerConfig, SharedToken};
use std::sync::Arc;

/// Serves the demo on `listen` until Ctrl-C, detecting on the server with
/// `detection` (the config file's `[detection]`) so that every screen and
/// `check` show one run's findings, whenever each joined (not in scale
/// mode, `leaves`). If the environment variable
/// `token_env` is set and not empty, clients must present it as a bearer
/// token. Without one it serves loopback only, as the relay does: an open
/// server beyond this machine would let anyone annotate the war room.
pub fn run(
    listen: SocketAddr,
    speed: f64,
    seed: u64,
    (scenario, leaves): (Option<&Path>, Option<usize>),
    data_dir: Option<&Path>,
    token_env: &str,
    detection: DetectionSettings,
) -> anyhow::Result<ExitCode> {
    init_logging();
    let token = std::env::var(token_env).ok().filter(|t| !t.is_empty());
    if token.is_none() && !listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {listen} is not loopback: set a token in ${token_env} (clients pass the same with --token-env) before serving beyond this machine"
        );
    }
    let scenario = scenario.map(Scenario::load).transpose()?;
    let data_dir = match data_dir {
        Some(d) => d.to_owned(),
        None => demo::default_data_dir()?,
    };
    let annotations = demo::annotation_hub(Some(&data_dir))?;
    block_on(Threads::Server, async {
        let cfg = ServerConfig {
            authorize: token
                .clone()
                .map(|t| Arc::new(SharedToken::new(t)) as Arc<dyn Authorize>),
            annotations: Some(annotations),
            ..ServerConfig::default()
        };
        let opts = DemoOptions {
            scenario,
            seed,
            speed,
            data_dir: Some(data_dir.clone()),
            leaves,
            // Scale mode (`--leaves`) keeps detection in the clients, on
            // the rows they show: the engine over every leaf of a
            // 50,000-leaf fleet costs gigabytes on the relay and is not
            // measured here at the demo's speed.
            detection: leaves.is_none().then_some(detection),
            ..DemoOptions::default()
        };
        let started = std::time::Instant::now();
        let server = demo::start(listen, cfg, opts).await?;
        if let Some(n) = leaves {
            // The scale mode's one figure: how long its history took to make.
            eprintln!(
                "qualtop demo-server: {n} leaves, history generated and listening after {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let auth = if token.is_some() {
            format!(" (bearer token from ${token_env} required)")
        } else {
            String::new()
        };
        // The one line a person starting the server needs; the rest goes to the log.
        eprintln!(
            "qualtop demo-server: serving {} and {}{auth}, annotations and clock kept in {}; Ctrl-C stops",
            server.url(Endpoint::Metrics.path()),
            server.url(Endpoint::Evals.path()),
            data_dir.display(),
        );
        stop_signal().await?;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })?
}
