//! `qualtop` (and `qualtop demo`): the interactive overview. Sets up the log
//! file, connects the sources (see [`connect`]), takes the terminal, runs the
//! loop and gives the terminal back whatever happens.

use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::EventStream;

use super::args::{Cli, SourceArgs};
use crate::app::{AnnotationIds, App};
use std::net::SocketAddr;

use crate::demo::{self, DemoOptions, Endpoint};
use crate::feed::{
    self as feed_sync, AnnotationSync, FeedHandle, FeedOptions, Fleet, SharedFleet, SourceConfig,
    spawn_feeds,
};
use crate::server::{RunningServer, ServerConfig};
use crate::tui::{EventLoop, Exit, TerminalGuard, ThemeSwitch, wall_clock_ms};

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

/// The CA bundles trusted for `url`: `--ca-file` (or `[sources] ca_file`),
/// then the source's own `metrics_ca_file` / `evals_ca_file`.
pub(crate) fn ca_files_for(sources: &SourceArgs, url: &str) -> Vec<std::path::PathBuf> {
    let own = [
        (sources.metrics.as_deref(), &sources.metrics_ca_file),
        (sources.evals.as_deref(), &sources.evals_ca_file),
    ];
    sources
        .ca_file
        .iter()
        .chain(
            own.iter()
                .filter(|(u, _)| *u == Some(url))
                .filter_map(|(_, f)| f.as_ref()),
        )
        .cloned()
        .collect()
}

/// The one place where the TUI and the one-shot commands get their data: one
/// feed per URL given, or the built-in demo backend (in this process, on
/// 127.0.0.1 with an ephemeral port, over real WebSockets) when none is
/// given. Registers a `SourceStatus` per source in `fleet` either way, so
/// the header always lists what was asked for. Must run inside the runtime.
pub async fn connect(fleet: &SharedFleet, sources: &SourceArgs) -> anyhow::Result<Connections> {
    connect_with(fleet, sources, demo::default_data_dir().ok()).await
}

/// [`connect`], with the built-in demo's clock kept in `demo_data_dir`
/// (`None`: a fresh run from the wall clock, its history free of bugs, as
/// `check`, `snapshot` and tests want it whatever ran before).
pub async fn connect_with(
    fleet: &SharedFleet,
    sources: &SourceArgs,
    demo_data_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<Connections> {
    let token = std::env::var(&sources.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    let mut urls: Vec<String> = [sources.metrics.as_deref(), sources.evals.as_deref()]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    // The same URL for both roles is one backend: one connection.
    urls.dedup();
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
        urls.iter()
            .map(|u| {
                SourceConfig::new(u.clone(), u.clone())
                    .with_token(token.clone())
                    .with_ca_files(ca_files_for(sources, u))
            })
            .collect()
    };
    connections.feeds = spawn_feeds(fleet, configs, &FeedOptions::default());
    connections.annotations = Some(feed_sync::start_client_sync(
        fleet,
        &urls,
        &connections.feeds,
    ));
    Ok(connections)
}

/// Runs the TUI until the user quits or a signal arrives.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal; `qualtop snapshot` prints the overview as text"
        );
    }
    let env = |k: &str| std::env::var(k).ok();
    let settings = super::settings::resolve(cli, &env)?;
    let log = init_logging(settings.log.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let exit = runtime.block_on(async {
        let fleet = SharedFleet::new(Fleet::default());
        let connections = connect(&fleet, &settings.sources).await?;
        if let (Some(url), Some(sync)) = (&settings.config.grafana_url, &connections.annotations) {
            feed_sync::start_grafana_push(sync, url, settings.config.grafana_token_env.as_deref())
                .context("[grafana] in the config")?;
        }
        let _detection = super::detection::spawn_detection(fleet.clone(), settings.detection());
        let mut guard = TerminalGuard::enter(settings.mouse).context("taking over the terminal")?;
        let mut app = App::with_identity(
            settings.keymap.clone(),
            crate::annotations::local_author(),
            AnnotationIds::from_seed(crate::annotations::random_id_seed()),
        );
        let mut event_loop = EventLoop {
            screen: &mut guard.terminal,
            app: &mut app,
            fleet,
            look: settings.look.clone(),
            pacing: settings.pacing,
            stats: Default::default(),
            wall_clock: wall_clock_ms,
            annotations: connections.annotations.clone(),
            themes: ThemeSwitch {
                current: settings.theme.name.clone(),
                depth: settings.depth,
                dir: crate::config::Config::themes_dir(),
            },
        };
        let exit = event_loop.run(EventStream::new()).await;
        let stats = event_loop.stats;
        drop(guard);
        tracing::info!(
            ?exit,
            frames = stats.frames,
            recomputes = stats.recomputes,
            "TUI ended"
        );
        exit
    });
    runtime.shutdown_timeout(Duration::from_millis(500));
    let exit = exit.with_context(|| format!("the TUI stopped (log: {})", log.display()))?;
    Ok(match exit {
        Exit::Quit | Exit::InputClosed => ExitCode::SUCCESS,
        Exit::Signal(n) => ExitCode::from(128u8.saturating_add(n as u8)),
    })
}

/// Sends `tracing` output to `path`, or to the XDG state directory
/// (`~/.local/state/qualtop/qualtop.log`), never to the terminal. The level
/// comes from `QUALTOP_LOG` (default `info`). Returns the file's path.
pub fn init_logging(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match path {
        Some(p) => p.to_owned(),
        None => dirs::state_dir()
            .context("no state directory for the log file (set XDG_STATE_HOME or pass --log FILE)")?
            .join("qualtop")
            .join("qualtop.log"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating the log directory {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening the log file {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUALTOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| anyhow::anyhow!("setting up logging: {e}"))?;
    Ok(path)
}
