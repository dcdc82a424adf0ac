//! Command line: parse arguments, then hand over to one command.
//! Exit codes: 0 ok, 1 a check found an active regression, 2 bad arguments
//! or cannot connect.

pub mod annotations;
mod args;
mod changes;
mod check;
pub mod check_report;
mod check_text;
mod demo_server;
mod headless;
mod paste;
mod push;
mod relay;
mod runtime;
pub mod scope;
mod scope_input;
mod server_process;
pub mod settings;
pub mod snapshot;
mod snapshot_markdown;
pub mod tui;

pub use args::{
    AnnotationSourceArgs, AnnotationsCommand, Cli, Command, DEFAULT_TOKEN_ENV, OutputFormat,
    SourceArgs, TimelineFormat, TuiArgs,
};

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c.merged(),
        Err(e) => {
            // clap prints help/version to stdout with exit 0, errors to stderr with 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qualtop: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        // `demo` ignores URLs and the config's sources: settings::resolve sees to it.
        None | Some(Command::Demo { .. }) => tui::run(&cli),
        Some(Command::DemoServer {
            listen,
            speed,
            seed,
            ref scenario,
            ref data_dir,
            ref token_env,
            leaves,
        }) => demo_server::run(
            listen,
            speed,
            seed,
            (scenario.as_deref(), leaves.map(|n| n as usize)),
            data_dir.as_deref(),
            token_env,
            settings::detection(&cli, &|k| std::env::var(k).ok())?,
        ),
        Some(Command::Annotations { ref command, .. }) => annotations::run(&cli, command),
        Some(Command::Snapshot { ref args, .. }) => snapshot::run(&cli, args),
        // `--check` alone checks the file qualtop would read.
        Some(Command::Config {
            print_default,
            ref check,
        }) => settings::config_command(&cli, print_default, check.as_ref().map(|f| f.as_deref())),
        Some(Command::Serve { config }) => relay::run(&config),
        Some(Command::Check { ref args, .. }) => {
            let s = settings::resolve(&cli, &|k: &str| std::env::var(k).ok())?;
            check::run(&s.sources, args, s.detection())
        }
        Some(Command::Scope(ref args)) => scope::run(args),
        Some(Command::Push(ref args)) => push::run(args),
        Some(Command::Changes(ref args)) => changes::run(args),
    }
}
