//! `qualtop` (and `qualtop demo`): the interactive overview. Sets up the log
//! file, connects the sources (see [`crate::client::connect`]), takes the terminal, runs the
//! loop and gives the terminal back whatever happens.

use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use crossterm::event::EventStream;

use super::args::{Cli, SourceArgs};
use crate::app::{AnnotationIds, App};
use crate::cli::runtime::{Threads, block_on};
use crate::client::{Backend, Connections, Sources};
use crate::clock::wall_ms;
use crate::feed::{self as feed_sync, Fleet, SharedFleet};
use crate::tui::{EventLoop, Exit, LoopStats, TerminalGuard, ThemeSwitch};

/// The CA bundles trusted for `url`: `--ca-file` (or `[sources] ca_file`),
/// then the source's own `metrics_ca_file` / `evals_ca_file`.
pub(crate) fn ca_files_for(sources: &SourceArgs, url: &str) -> Vec<PathBuf> {
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

/// Where `sources` points, as the client connects: the token read from
/// `--token-env`, each URL with the CA bundles it trusts.
pub fn sources_of(sources: &SourceArgs) -> Sources {
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
    Sources {
        backends: urls
            .into_iter()
            .map(|url| Backend {
                ca_files: ca_files_for(sources, &url),
                url,
            })
            .collect(),
        token,
        scale_leaves: None,
    }
}

/// [`crate::client::connect`] to what the command line names.
pub async fn connect(fleet: &SharedFleet, sources: &SourceArgs) -> anyhow::Result<Connections> {
    crate::client::connect(fleet, &sources_of(sources)).await
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
    let exit = block_on(Threads::Client, async {
        let fleet = SharedFleet::new(Fleet::default());
        let sources = Sources {
            scale_leaves: Some(settings.config.scale_leaves),
            ..sources_of(&settings.sources)
        };
        let connections = crate::client::connect(&fleet, &sources).await?;
        if let (Some(url), Some(sync)) = (&settings.config.grafana_url, &connections.annotations) {
            feed_sync::start_grafana_push(sync, url, settings.config.grafana_token_env.as_deref())
                .context("[grafana] in the config")?;
        }
        let _detection = crate::client::spawn_detection(fleet.clone(), settings.detection());
        let mut guard = TerminalGuard::enter(settings.mouse).context("taking over the terminal")?;
        let mut app = App::with_identity(
            settings.keymap.clone(),
            crate::annotations::local_author(),
            AnnotationIds::from_seed(crate::annotations::random_id_seed()),
        );
        // `[display] window`: the window the TUI opens at (`w` and `:window` change it).
        app.set_window(i64::try_from(settings.config.window.as_millis()).unwrap_or(i64::MAX));
        // Sources in scale mode subscribe to the level on screen.
        fleet.show(app.follow_views());
        let mut event_loop = EventLoop {
            screen: &mut guard.terminal,
            app: &mut app,
            fleet,
            look: settings.look.clone(),
            pacing: settings.pacing,
            stats: LoopStats::default(),
            wall_clock: wall_ms,
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
    })?;
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
