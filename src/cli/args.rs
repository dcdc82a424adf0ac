//! The command-line surface, declared with clap's derive API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::check::CheckArgs;
use super::scope::ScopeArgs;

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
    /// Do not capture the mouse (lets the terminal select text).
    #[arg(long, global = true)]
    pub no_mouse: bool,
    /// Draw with ASCII only (no Unicode block characters or box drawing).
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Log to this file instead of the XDG state directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the data comes from. No URL at all means the built-in demo.
#[derive(Debug, Clone, Default, Args)]
pub struct SourceArgs {
    /// WebSocket URL of the metrics backend (availability, latency).
    #[arg(long, global = true, value_name = "URL")]
    pub metrics: Option<String>,
    /// WebSocket URL of the evaluation backend (quality suites, feedback).
    #[arg(long, global = true, value_name = "URL")]
    pub evals: Option<String>,
    /// Name of the environment variable that holds the bearer token.
    #[arg(
        long,
        global = true,
        value_name = "VAR",
        default_value = "QUALTOP_TOKEN"
    )]
    pub token_env: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the TUI on the built-in demo backend, whatever the config says.
    Demo,
    /// Run the demo backend alone, for a war room of screens to share.
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
    },
    /// Take one snapshot, print the overview table and exit.
    Snapshot {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Replay the backends' history (and watch --for a while) through the
    /// detectors; print every regression found. Exit 1 if one is active.
    Check(CheckArgs),
    /// Find which dimension values explain a deficit in a CSV file.
    Scope(ScopeArgs),
}
