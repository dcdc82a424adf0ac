//! `qualtop serve --config relay.toml`: the relay, until Ctrl-C or SIGTERM.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::server_process::{init_logging, stop_signal};

use crate::protocol::Endpoint;
use crate::relay::{self, config::RelayConfig};

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
