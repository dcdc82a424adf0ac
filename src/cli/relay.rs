//! `qualtop serve --config relay.toml`: runs the relay ([`crate::relay`],
//! which speaks the protocol through [`crate::server`]) until Ctrl-C or SIGTERM.

use std::path::Path;
use std::process::ExitCode;

use super::server_process::{init_logging, stop_signal};
use crate::cli::runtime::{Threads, block_on};

use crate::protocol::Endpoint;
use crate::relay::{self, config::RelayConfig};

pub fn run(config: &Path) -> anyhow::Result<ExitCode> {
    init_logging();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let cfg = RelayConfig::load(config, &env)?;
    block_on(Threads::Server, async {
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
    })?
}
