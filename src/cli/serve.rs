//! `qualtop serve --config relay.toml`: the relay, until Ctrl-C or SIGTERM.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::relay::{self, config::Endpoint, config::RelayConfig};

pub fn run(config: &Path) -> anyhow::Result<ExitCode> {
    init_logging();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let cfg = RelayConfig::load(config, &env)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let auth = if cfg.tokens.is_empty() {
            " (no tokens: open to this machine only)"
        } else {
            ""
        };
        let relay = relay::start(cfg).await?;
        // The one line a person starting the relay needs; the rest goes to the log.
        eprintln!(
            "qualtop serve: serving {} and {}, push at {}{auth}; Ctrl-C stops",
            relay.url(Endpoint::Metrics),
            relay.url(Endpoint::Evals),
            relay.http_url(relay::http::POINTS_PATH),
        );
        stop_signal().await?;
        tracing::info!("shutting down");
        relay.shutdown().await;
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

/// Logs to stderr (a server has no screen to protect); RUST_LOG overrides.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
