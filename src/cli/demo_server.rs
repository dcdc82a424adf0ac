//! `qualtop demo-server`: the demo backend alone, for a war room of screens.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::demo::{self, DemoOptions, Endpoint, Scenario};
use crate::server::ServerConfig;

/// Serves the demo on `listen` until Ctrl-C. If the environment variable
/// `token_env` is set and not empty, clients must present it as a bearer token.
pub fn run(
    listen: SocketAddr,
    speed: f64,
    seed: u64,
    scenario: Option<&Path>,
    data_dir: Option<&Path>,
    token_env: &str,
) -> anyhow::Result<ExitCode> {
    init_logging();
    let scenario = scenario.map(Scenario::load).transpose()?;
    let data_dir = match data_dir {
        Some(d) => d.to_owned(),
        None => demo::default_data_dir()?,
    };
    let annotations = demo::annotation_hub(Some(&data_dir))?;
    let token = std::env::var(token_env).ok().filter(|t| !t.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let cfg = ServerConfig {
            token: token.clone(),
            annotations: Some(annotations),
            ..ServerConfig::default()
        };
        let opts = DemoOptions {
            scenario,
            seed,
            speed,
            ..DemoOptions::default()
        };
        let server = demo::start(listen, cfg, opts).await?;
        let auth = if token.is_some() {
            format!(" (bearer token from ${token_env} required)")
        } else {
            String::new()
        };
        // The one line a person starting the server needs; the rest goes to the log.
        eprintln!(
            "qualtop demo-server: serving {} and {}{auth}, annotations kept in {}; Ctrl-C stops",
            server.url(Endpoint::Metrics.path()),
            server.url(Endpoint::Evals.path()),
            data_dir.display(),
        );
        stop_signal().await?;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C, or SIGTERM where there is one (a service manager stopping us).
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C"),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")
    }
}

/// Logs to stderr (this command has no screen to protect); RUST_LOG overrides.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Already set (e.g. by a caller) is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
