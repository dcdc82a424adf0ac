//! Helpers shared by the integration tests, one module per kind of world
//! (real engines, pty, relay, scripted feed server, annotation demo, store,
//! detection replay, headless demo, hand-built UI fleets), plus what they
//! all need: temp dirs, ports, waits, the fast feed timers, the binary.

pub mod annotations;
pub mod demo;
pub mod detect;
pub mod engines;
pub mod feed;
pub mod headless;
pub mod messages;
pub mod pty;
pub mod relay;
pub mod relay_fault;
pub mod store;
pub mod two_causes;
pub mod ui;
pub mod wait;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// A directory under the system temp dir, unique in this process (every
/// test shares it), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "qualtop-test-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nothing listens on now, for a server that starts later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

// Lives in relay.rs so the push bench, which includes that file alone, has it too.
pub use relay::fast_feed;

/// Set in a child that runs one test alone: see [`alone`].
const ALONE: &str = "QUALTOP_TEST_ALONE";

/// Runs `body` in a fresh process of this test binary that runs only the
/// test `name` (`module::function`), for a test that reads process-wide
/// figures (RSS) which the other tests of this binary would disturb.
pub fn alone(name: &str, body: impl FnOnce()) {
    if std::env::var(ALONE).as_deref() == Ok(name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, name)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} alone: {}\n{stdout}",
        out.status
    );
}

/// `qualtop check --format json` with `args` (its source flags), run from
/// an async test, against a backend whose `findings` it must report: says
/// so on stderr and exits 1 for the active regressions. The JSON report.
pub async fn check_of_findings(scratch: &str, args: Vec<String>) -> serde_json::Value {
    let scratch = scratch.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        qualtop_command(&scratch)
            .arg("check")
            .args(&args)
            .args(["--format", "json"])
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("findings from the backend"), "{err}");
    assert_eq!(out.status.code(), Some(1), "active regressions: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}
