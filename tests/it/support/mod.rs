//! Helpers shared by integration tests.
pub mod annotations;
pub mod detect;
pub mod engines;
pub mod feed;
pub mod headless;
pub mod pty;
pub mod relay;
pub mod store;
pub mod ui;

/// The real binary with its own XDG directories (no user config or data
/// leaks in or out) and a UTF-8 locale, for one-shot commands.
pub fn qualtop_command(scratch: &str) -> std::process::Command {
    let dir = std::env::temp_dir().join(format!("qualtop-cmd-{}-{scratch}", std::process::id()));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_qualtop"));
    cmd.env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("LANG", "C.UTF-8")
        .env_remove("QUALTOP_CONFIG")
        .env_remove("NO_COLOR");
    cmd
}
