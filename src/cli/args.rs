//! The command-line surface, declared with clap's derive API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::check::CheckArgs;
use super::scope::ScopeArgs;
use super::snapshot::SnapshotArgs;
use crate::protocol::AnnotationState;

#[derive(Debug, Parser)]
#[command(
    name = "qualtop",
    version,
    about = "Quality next to availability, per slice: see an AI service get worse without going down.",
    after_help = "With no command, runs the TUI; with no --metrics/--evals, on the built-in demo backend."
)]
pub struct Cli {
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub tui: TuiArgs,
    /// Log to this file instead of the XDG state directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Config file (default: $QUALTOP_CONFIG, else ~/.config/qualtop/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags of the screen: only the TUI (no command, or `demo`) takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct TuiArgs {
    /// Do not capture the mouse (lets the terminal select text).
    #[arg(long)]
    pub no_mouse: bool,
    /// Draw with ASCII only (no Unicode block characters or box drawing).
    #[arg(long)]
    pub ascii: bool,
    /// Theme: dark, light, high-contrast, colorblind, mono, a name in
    /// ~/.config/qualtop/themes/, or a path to a theme file.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Most frames drawn per second (default 10; lower it on slow links).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: Option<u32>,
    /// How often the clock and ages refresh when nothing else changes (e.g. 1s, 5s).
    #[arg(long, value_name = "DURATION")]
    pub tick: Option<String>,
}

impl TuiArgs {
    /// These flags over `outer` (given before the command name).
    fn over(self, outer: TuiArgs) -> TuiArgs {
        TuiArgs {
            no_mouse: self.no_mouse || outer.no_mouse,
            ascii: self.ascii || outer.ascii,
            theme: self.theme.or(outer.theme),
            fps: self.fps.or(outer.fps),
            tick: self.tick.or(outer.tick),
        }
    }
}

/// Where the data comes from. No URL at all means the built-in demo.
/// Taken by the TUI and by the commands that read the backends.
#[derive(Debug, Clone, Default, Args)]
pub struct SourceArgs {
    /// WebSocket URL of the metrics backend (availability, latency).
    #[arg(long, value_name = "URL")]
    pub metrics: Option<String>,
    /// WebSocket URL of the evaluation backend (quality suites, feedback).
    #[arg(long, value_name = "URL")]
    pub evals: Option<String>,
    /// Name of the environment variable that holds the bearer token.
    #[arg(long, value_name = "VAR", default_value = DEFAULT_TOKEN_ENV)]
    pub token_env: String,
    /// A PEM bundle of CAs trusted for wss:// besides the bundled and system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// config.toml's `[sources] metrics_ca_file` / `evals_ca_file`.
    #[arg(skip)]
    pub metrics_ca_file: Option<PathBuf>,
    #[arg(skip)]
    pub evals_ca_file: Option<PathBuf>,
}

/// The `--token-env` default.
pub const DEFAULT_TOKEN_ENV: &str = "QUALTOP_TOKEN";

impl SourceArgs {
    /// These flags over `outer` (given before the command name).
    fn over(self, outer: SourceArgs) -> SourceArgs {
        SourceArgs {
            metrics: self.metrics.or(outer.metrics),
            evals: self.evals.or(outer.evals),
            token_env: if self.token_env == DEFAULT_TOKEN_ENV {
                outer.token_env
            } else {
                self.token_env
            },
            ca_file: self.ca_file.or(outer.ca_file),
            metrics_ca_file: self.metrics_ca_file.or(outer.metrics_ca_file),
            evals_ca_file: self.evals_ca_file.or(outer.evals_ca_file),
        }
    }
}

impl Cli {
    /// Flags given after a command name join those given before it, so
    /// the commands read them in one place (`cli.sources`, `cli.tui`).
    pub fn merged(mut self) -> Cli {
        let (sources, tui) = match &mut self.command {
            Some(Command::Demo { tui }) => (None, Some(std::mem::take(tui))),
            Some(Command::Snapshot { sources, ascii, .. }) => (
                Some(std::mem::take(sources)),
                Some(TuiArgs {
                    ascii: *ascii,
                    ..TuiArgs::default()
                }),
            ),
            Some(Command::Check { sources, .. }) => (Some(std::mem::take(sources)), None),
            Some(Command::Annotations { sources, .. }) => {
                (Some(SourceArgs::from(std::mem::take(sources))), None)
            }
            _ => (None, None),
        };
        if let Some(s) = sources {
            self.sources = s.over(std::mem::take(&mut self.sources));
        }
        if let Some(t) = tui {
            self.tui = t.over(std::mem::take(&mut self.tui));
        }
        self
    }
}

/// The sources again, for `annotations`: given to it, its subcommands take them too.
#[derive(Debug, Clone, Default, Args)]
pub struct AnnotationSourceArgs {
    /// WebSocket URL of the metrics backend (availability, latency).
    #[arg(long, global = true, value_name = "URL")]
    pub metrics: Option<String>,
    /// WebSocket URL of the evaluation backend (quality suites, feedback).
    #[arg(long, global = true, value_name = "URL")]
    pub evals: Option<String>,
    /// Name of the environment variable that holds the bearer token.
    #[arg(long, global = true, value_name = "VAR", default_value = DEFAULT_TOKEN_ENV)]
    pub token_env: String,
}

impl From<AnnotationSourceArgs> for SourceArgs {
    fn from(a: AnnotationSourceArgs) -> Self {
        SourceArgs {
            metrics: a.metrics,
            evals: a.evals,
            token_env: a.token_env,
            ..SourceArgs::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the TUI on the built-in demo backend, whatever the config says.
    Demo {
        #[command(flatten)]
        tui: TuiArgs,
    },
    /// Run the demo backend alone, for a war room of screens to share. It
    /// runs the detectors itself (the config file's `[detection]`) and sends
    /// every client their findings, so every screen and `check` agree
    /// (not with --leaves: there each client detects on the rows it shows).
    DemoServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Buckets of data time per second of real time.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Seed of the scenario's randomness, for a reproducible run.
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// Scenario file (TOML); the built-in one has the same format.
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Where annotations and the demo clock are kept across restarts
        /// [default: $XDG_DATA_HOME/qualtop/demo].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Name of the environment variable that holds the bearer token
        /// clients must present (unset: no token asked).
        #[arg(long, value_name = "VAR", default_value = DEFAULT_TOKEN_ENV)]
        token_env: String,
        /// Grow the fleet to N leaf slices (more regions, fine-tuned model
        /// variants), the three bugs still in it: a fleet at scale to try
        /// and measure (at most 50000).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50_000))]
        leaves: Option<u32>,
    },
    /// Annotations: add one from a script, send what waits in the outbox,
    /// or print the postmortem timeline.
    Annotations {
        #[command(flatten)]
        sources: AnnotationSourceArgs,
        #[command(subcommand)]
        command: AnnotationsCommand,
    },
    /// Print the commented default config file, or check one.
    Config {
        /// Print the commented default config file.
        #[arg(long)]
        print_default: bool,
        /// Validate a config file (default: the one qualtop would read).
        #[arg(long, value_name = "FILE", num_args = 0..=1)]
        check: Option<Option<PathBuf>>,
    },
    /// Run the relay: a real fleet (Prometheus API, pushes from eval jobs)
    /// served over protocol 1 to every screen.
    Serve {
        /// The relay's config (TOML): listen address, signals, tokens.
        #[arg(long, value_name = "FILE", default_value = "relay.toml")]
        config: PathBuf,
    },
    /// Take one snapshot, run detection over its history, print the
    /// overview table (text, JSON or Markdown) and exit.
    Snapshot {
        #[command(flatten)]
        args: SnapshotArgs,
        /// Draw the sparklines with ASCII only.
        #[arg(long)]
        ascii: bool,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Replay the backends' history (and watch --for a while) through the
    /// detectors; print every regression found. Exit 1 if one is active.
    Check {
        #[command(flatten)]
        args: CheckArgs,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Find which dimension values explain a deficit in a CSV file.
    Scope(ScopeArgs),
    /// Aggregate eval results (one line per case) and push them to a relay.
    Push(super::push::PushArgs),
    /// Report a deploy or config change to a relay (a pipeline step), or
    /// send the ones waiting in the outbox.
    Changes(super::changes::ChangesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AnnotationsCommand {
    /// Print the timeline of annotations, with the quality of each scope
    /// at the annotation's time and now.
    Export {
        #[arg(long, value_enum, default_value_t = TimelineFormat::Markdown)]
        format: TimelineFormat,
        /// Only annotations still open or ending after TIME: RFC 3339
        /// (2025-08-31T14:00:00Z) or a duration back from now (6h, 2d).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
    /// Create an annotation: written to the outbox, sent, and kept there
    /// until the backend acknowledges it.
    Add {
        /// A dimension of the scope, as DIM=VALUE; repeat for more. None: the whole fleet.
        #[arg(long = "scope", value_name = "DIM=VALUE")]
        scope: Vec<String>,
        /// The signal it is about (e.g. golden-qa).
        #[arg(long)]
        signal: Option<String>,
        /// Start: RFC 3339 or a duration back from now [default: now].
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End: RFC 3339 or a duration back from now [default: open].
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// suspected, confirmed, mitigated or resolved.
        #[arg(long, default_value = "suspected")]
        state: AnnotationState,
        #[arg(long)]
        text: String,
        /// Who writes it [default: $USER].
        #[arg(long)]
        author: Option<String>,
        /// How long to wait for the acknowledgement, in seconds.
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Send the annotations waiting in the outbox and wait for their acknowledgement.
    Flush {
        /// How long to wait, in seconds.
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Delete annotations from a server's store (say, after a flood). Works
    /// on the SQLite file of the server's data directory, so only who may
    /// write that file (the server's admin) can; the server may keep
    /// running. Annotations matching every given term go.
    Purge {
        /// The server's data directory [default: the demo's, $XDG_DATA_HOME/qualtop/demo].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Only those of this author (a relay token's name).
        #[arg(long)]
        author: Option<String>,
        /// Only those created at or after TIME: RFC 3339 or a duration back from now (10m).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only this id; repeat for more.
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
        /// Only those not resolved.
        #[arg(long)]
        open_only: bool,
        /// Required when no --author, --since or --id narrows the purge.
        #[arg(long)]
        all: bool,
    },
}
