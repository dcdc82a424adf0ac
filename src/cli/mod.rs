//! Command line: parse arguments, then hand over to one command.
//! Exit codes: 0 ok, 1 a check found an active regression, 2 bad arguments
//! or cannot connect.

mod args;
pub mod check_report;
pub mod scope;

pub use args::{Cli, Command, SourceArgs};

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
        None | Some(Command::Demo) => anyhow::bail!("the TUI is not built yet"),
        Some(Command::DemoServer { .. }) => anyhow::bail!("demo-server is not built yet"),
        Some(Command::Snapshot { .. }) => anyhow::bail!("snapshot is not built yet"),
    }
}
