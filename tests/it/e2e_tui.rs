//! The real binary in a pseudo-terminal: it takes the terminal, draws, and
//! gives the terminal back (alternate screen left, raw mode off) whether it
//! quits on `q` or is sent SIGTERM. Bounded in time; loopback only.

use crate::support;

use std::thread;
use std::time::{Duration, Instant};

use support::pty::{Pty, WAIT, spawn};

fn start(name: &str, args: &[&str]) -> Pty {
    spawn(name, args, &[], 100, 30)
}

#[test]
fn quits_on_q_and_gives_the_terminal_back() {
    // Port 1 on loopback refuses connections: the source cannot be live.
    let mut s = start("quit", &["--metrics", "ws://127.0.0.1:1"]);
    s.wait_for("ws://127.0.0.1:1");
    let text = s.text();
    assert!(
        text.contains("reconnecting") || text.contains("failed"),
        "the unreachable source is shown as not live: {}",
        text.escape_debug()
    );
    assert!(!s.cooked(), "raw mode is on while the TUI runs");
    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn sigterm_while_running_restores_the_terminal() {
    let mut s = start("sigterm", &["--metrics", "ws://127.0.0.1:1", "--no-mouse"]);
    s.wait_for("ws://127.0.0.1:1");
    let pid = s.child.process_id().expect("the child has a pid") as libc::pid_t;
    // SAFETY: sending a signal to the child we spawned.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 128 + 15, "exit status {status:?}");
    s.assert_restored();
    let text = s.text();
    assert!(
        !text.contains("\x1b[?1000h"),
        "--no-mouse does not capture the mouse"
    );
}

#[test]
fn mouse_capture_is_on_by_default_and_off_after_exit() {
    let mut s = start("mouse", &["--metrics", "ws://127.0.0.1:1"]);
    s.wait_for("ws://127.0.0.1:1");
    s.send(b"q");
    s.wait_exit();
    let text = s.text();
    assert!(text.contains("\x1b[?1000h"), "mouse capture enabled");
    assert!(text.contains("\x1b[?1000l"), "mouse capture disabled again");
}

#[test]
fn shows_the_demo_fleet_with_sparklines() {
    let mut s = start("demo", &[]);
    s.wait_for("whole fleet");
    s.wait_for("live");
    let start_wait = Instant::now();
    while !s.text().chars().any(|c| ('▁'..='█').contains(&c)) {
        assert!(
            start_wait.elapsed() < WAIT,
            "no sparkline drawn: {}",
            s.text().escape_debug()
        );
        thread::sleep(Duration::from_millis(50));
    }
    // The demo's first dimension is model: one row per model. (The raw
    // stream skips unchanged blank cells, so look for words, not phrases.)
    s.wait_for("atlas-xl");
    s.send(b"q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}

#[test]
fn drills_into_the_demo_by_command_filter_and_detail_then_freezes() {
    let mut s = start("drill", &[]);
    s.wait_for("atlas-xl");
    s.send(b":group hardware\r");
    s.send(b"/hardware=tpu\r");
    // Row 0 is the aggregate; the filter leaves tpu alone under it, once a
    // tpu row is in (typed before, `j` has no row to move to: a loaded CI
    // run drilled into the aggregate and never showed golden-qa).
    s.wait_for("all matching");
    s.send(b"j\r");
    s.wait_for("hardware=tpu");
    s.send(b"d");
    s.wait_for("golden-qa");
    s.wait_for("detail:");
    s.send(b"f");
    s.wait_for("FROZEN");
    // q leaves the detail view (as Esc does), then quits from the table.
    s.send(b"q");
    s.send(b"q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}

/// `[display] window` in the config file is the window the TUI opens at.
#[test]
fn the_configured_window_is_the_one_the_tui_opens_at() {
    let dir = support::TempDir::new("config-window");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[display]\nwindow = \"15m\"\n").expect("write the config");
    let path = path.display().to_string();
    // The built-in demo: the header names the window once there is data.
    let mut s = start("window", &["--config", &path]);
    s.wait_for("window 15m");
    s.send(b"q");
    assert!(s.wait_exit().success());
}
