//! Each command takes the flags that apply to it: the screen's flags only
//! where there is a screen, the backends' URLs only where they are read;
//! `config --check` alone checks the file qualtop would read.

use crate::support;

use clap::{CommandFactory, Parser};
use qualtop::cli::{Cli, Command};

fn help_of(name: &str) -> String {
    let mut cli = Cli::command();
    let sub = cli
        .find_subcommand_mut(name)
        .unwrap_or_else(|| panic!("no command {name}"));
    sub.render_long_help().to_string()
}

#[test]
fn only_the_tui_lists_the_screens_flags() {
    for name in [
        "snapshot",
        "check",
        "annotations",
        "config",
        "serve",
        "scope",
        "demo-server",
    ] {
        let help = help_of(name);
        for flag in ["--theme", "--fps", "--no-mouse", "--tick"] {
            assert!(!help.contains(flag), "{name} --help lists {flag}");
        }
    }
    let demo = help_of("demo");
    for flag in ["--theme", "--fps", "--no-mouse", "--ascii"] {
        assert!(demo.contains(flag), "demo takes {flag}");
    }
    assert!(!demo.contains("--metrics"), "demo ignores the URLs");
}

#[test]
fn demo_server_refuses_backend_urls() {
    let e = Cli::try_parse_from(["qualtop", "demo-server", "--metrics", "ws://x"])
        .expect_err("--metrics means nothing to the demo server");
    assert!(e.to_string().contains("--metrics"), "{e}");
}

#[test]
fn flags_before_or_after_the_command_name_both_count() {
    let cli = Cli::try_parse_from(["qualtop", "--ascii", "demo", "--theme", "light"])
        .expect("parses")
        .merged();
    assert!(cli.tui.ascii);
    assert_eq!(cli.tui.theme.as_deref(), Some("light"));
    let cli = Cli::try_parse_from(["qualtop", "annotations", "flush", "--metrics", "ws://m"])
        .expect("parses")
        .merged();
    assert_eq!(cli.sources.metrics.as_deref(), Some("ws://m"));
    let cli = Cli::try_parse_from(["qualtop", "snapshot", "--ascii", "--evals", "ws://e"])
        .expect("parses")
        .merged();
    assert!(cli.tui.ascii);
    assert_eq!(cli.sources.evals.as_deref(), Some("ws://e"));
    assert!(matches!(cli.command, Some(Command::Snapshot { .. })));
}

#[test]
fn config_check_without_a_file_checks_the_effective_one() {
    let out = support::qualtop_command("config-check")
        .args(["config", "--check"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("config.toml: not present; the defaults apply"),
        "{stdout}"
    );
    let dir = support::TempDir::new("config-check");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "fps = \"fast\"\n").expect("written");
    let out = support::qualtop_command("config-check-bad")
        .env("QUALTOP_CONFIG", &bad)
        .args(["config", "--check"])
        .output()
        .expect("runs");
    assert!(
        !out.status.success(),
        "a bad effective config fails the check"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
}
