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
use crate::app::{App, KeyMap};
use crate::feed::{ConnState, Fleet, SharedFleet, SourceStatus};
use crate::tui::{EventLoop, Exit, TerminalGuard, wall_clock_ms};
use crate::ui::Look;

/// What [`connect`] started. Dropping it stops the feeds and the demo server.
#[derive(Default)]
pub struct Connections {
    // wiring: hold the FeedHandles and the demo server's handle here.
}

/// The one place where the TUI and `qualtop snapshot` get their data: one
/// feed per URL given, or the built-in demo backend when none is given.
/// Registers a [`SourceStatus`] per source in `fleet` either way, so the
/// header always lists what was asked for.
pub fn connect(fleet: &SharedFleet, sources: &SourceArgs) -> anyhow::Result<Connections> {
    let urls: Vec<&str> = [sources.metrics.as_deref(), sources.evals.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let _token = std::env::var(&sources.token_env).ok();
    // wiring: replace the placeholders below (the lead, after merging feed and demo).
    //   With URLs: for (index, url) in urls.iter().enumerate() {
    //       handles.push(spawn_feed(fleet.clone(), index,
    //           SourceConfig { label: url.to_string(), url: url.to_string(), token: token.clone() },
    //           FeedOptions::default()));
    //   }
    //   Without: start the demo server on 127.0.0.1:0 and spawn two feeds, labelled
    //   "demo", on ws://ADDR/metrics and ws://ADDR/evals.
    // Until then each source is listed as failed, honestly: no data path ships.
    let (labels, reason): (Vec<String>, &str) = if urls.is_empty() {
        (
            vec!["demo".to_owned()],
            "the demo backend is not wired into this build yet",
        )
    } else {
        (
            urls.iter().map(|u| u.to_string()).collect(),
            "the feed is not wired into this build yet",
        )
    };
    fleet.write(|f| {
        for label in labels {
            let mut status = SourceStatus::new(label);
            status.state = ConnState::Failed {
                reason: reason.to_owned(),
            };
            f.sources.push(status);
        }
    });
    Ok(Connections::default())
}

/// Runs the TUI until the user quits or a signal arrives.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal; `qualtop snapshot` prints the overview as text"
        );
    }
    let log = init_logging(cli.log.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let exit = runtime.block_on(async {
        let fleet = SharedFleet::new(Fleet::default());
        let _connections = connect(&fleet, &cli.sources)?;
        let mut guard = TerminalGuard::enter(!cli.no_mouse).context("taking over the terminal")?;
        let mut app = App::new(KeyMap::default());
        let mut event_loop = EventLoop {
            screen: &mut guard.terminal,
            app: &mut app,
            fleet,
            look: Look {
                ascii: cli.ascii,
                ..Look::default()
            },
            stats: Default::default(),
            wall_clock: wall_clock_ms,
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
