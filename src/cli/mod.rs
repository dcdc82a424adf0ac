//! Command line: parse arguments, then hand over to one command.
//! Exit codes: 0 ok, 1 a check found an active regression, 2 bad arguments
//! or cannot connect.

mod args;
mod check;
pub mod check_report;
mod demo_server;
pub mod detection;
pub mod scope;
pub mod snapshot;
pub mod tui;

pub use args::{Cli, Command, OutputFormat, SourceArgs};

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
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
        None => tui::run(&cli),
        Some(Command::Demo) => {
            // `demo` ignores any URLs: the built-in backend, whatever the config says.
            let cli = Cli {
                sources: SourceArgs {
                    metrics: None,
                    evals: None,
                    ..cli.sources.clone()
                },
                ..cli
            };
            tui::run(&cli)
        }
        Some(Command::DemoServer {
            listen,
            speed,
            seed,
            scenario,
        }) => demo_server::run(
            listen,
            speed,
            seed,
            scenario.as_deref(),
            &cli.sources.token_env,
        ),
        Some(Command::Snapshot { format }) => snapshot::run(&cli, format),
        Some(Command::Check(ref args)) => {
            check::run(&cli, args, crate::detect::DetectionSettings::default())
        }
        Some(Command::Scope(ref args)) => scope::run(args),
    }
}
