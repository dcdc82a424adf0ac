//! The client session every command shares: connect a fleet to its
//! backends (URLs, or the built-in demo in this process), keep annotations
//! in sync and run detection beside the feeds. The TUI and the headless
//! commands (`check`, `snapshot`, `annotations`) differ only in what they
//! do with the fleet afterwards.

pub mod detection;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use crate::demo::{self, DemoOptions, Endpoint};
use crate::feed::{
    AnnotationSync, FeedHandle, FeedOptions, SharedFleet, SourceConfig, spawn_feeds,
    start_client_sync,
};
use crate::server::{RunningServer, ServerConfig};

pub use detection::{
    DetectionTask, catch_up, spawn_detection, wait_for_current_findings, wait_for_findings,
};

/// What to connect to: no backend means the built-in demo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    pub backends: Vec<Backend>,
    /// Sent as a bearer token to every backend.
    pub token: Option<String>,
    /// `[sources] scale_leaves` (`None`: the default).
    pub scale_leaves: Option<u64>,
}

/// One backend's URL (`ws://` or `wss://`) and the CA bundles it trusts
/// beyond the system's and the bundled roots.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub url: String,
    pub ca_files: Vec<PathBuf>,
}

/// What [`connect`] started. Dropping it stops the feeds and the demo server.
#[derive(Default)]
pub struct Connections {
    pub feeds: Vec<FeedHandle>,
    /// The in-process demo backend, when no URL was given.
    pub demo: Option<RunningServer>,
    /// Submits annotations (outbox first, then the backend); see
    /// [`crate::feed::AnnotationSync`].
    pub annotations: Option<AnnotationSync>,
}

impl Drop for Connections {
    fn drop(&mut self) {
        for f in &self.feeds {
            f.abort();
        }
    }
}

/// The one place where the TUI and the one-shot commands get their data: one
/// feed per URL given, or the built-in demo backend (in this process, on
/// 127.0.0.1 with an ephemeral port, over real WebSockets) when none is
/// given. Registers a `SourceStatus` per source in `fleet` either way, so
/// the header always lists what was asked for. Must run inside the runtime.
pub async fn connect(fleet: &SharedFleet, sources: &Sources) -> anyhow::Result<Connections> {
    connect_with(fleet, sources, demo::default_data_dir().ok()).await
}

/// [`connect`], with the built-in demo's clock kept in `demo_data_dir`
/// (`None`: a fresh run from the wall clock, its history free of bugs, as
/// `check`, `snapshot` and tests want it whatever ran before).
pub async fn connect_with(
    fleet: &SharedFleet,
    sources: &Sources,
    demo_data_dir: Option<PathBuf>,
) -> anyhow::Result<Connections> {
    let urls: Vec<String> = sources.backends.iter().map(|b| b.url.clone()).collect();
    let mut connections = Connections::default();
    let configs: Vec<SourceConfig> = if urls.is_empty() {
        // The same store as `qualtop demo-server`'s default: notes written
        // in a practice session survive it, as they would in a war room.
        let annotations = demo::annotation_hub(None)
            .inspect_err(|e| tracing::warn!("the demo runs without shared annotations: {e:#}"))
            .ok();
        let demo = demo::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            ServerConfig {
                annotations,
                ..ServerConfig::default()
            },
            DemoOptions {
                // The clock lives with the notes, so a restart continues the run.
                data_dir: demo_data_dir,
                ..DemoOptions::default()
            },
        )
        .await
        .context("starting the built-in demo backend")?;
        let configs = [Endpoint::Metrics, Endpoint::Evals]
            .into_iter()
            .map(|e| SourceConfig::new(format!("demo{}", e.path()), demo.url(e.path())))
            .collect();
        connections.demo = Some(demo);
        configs
    } else {
        for url in &urls {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                anyhow::bail!("{url:?} is not a ws:// or wss:// URL");
            }
        }
        sources
            .backends
            .iter()
            .map(|b| {
                SourceConfig::new(b.url.clone(), b.url.clone())
                    .with_token(sources.token.clone())
                    .with_ca_files(b.ca_files.clone())
            })
            .collect()
    };
    let opts = FeedOptions {
        scale_leaves: sources
            .scale_leaves
            .unwrap_or(crate::config::DEFAULT_SCALE_LEAVES),
        ..FeedOptions::default()
    };
    connections.feeds = spawn_feeds(fleet, configs, &opts);
    connections.annotations = Some(start_client_sync(fleet, &urls, &connections.feeds));
    Ok(connections)
}
