//! What qualtop costs a terminal, measured through a real pseudo-terminal:
//! bytes written per second at steady state (the demo, ~50 visible rows,
//! one data update a second) and frames drawn per minute when idle (a
//! backend that sends only heartbeats, no input). Frames are counted by
//! their synchronized-update markers.
//!
//! Run: `cargo bench --bench terminal` (about 1.5 minutes).

// Shared with the pty tests; the bench uses part of it.
#[allow(dead_code)]
#[path = "../it/support/pty.rs"]
mod pty;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const FRAME_BEGIN: &[u8] = b"\x1b[?2026h";

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Bytes and frames written over `secs`, after whatever came before.
fn measure(p: &pty::Pty, secs: u64) -> (usize, usize) {
    let before = p.bytes().len();
    let start = Instant::now();
    sleep(Duration::from_secs(secs));
    let bytes = p.bytes();
    let window = &bytes[before..];
    let elapsed = start.elapsed().as_secs_f64();
    let per_sec = (window.len() as f64 / elapsed) as usize;
    (per_sec, count(window, FRAME_BEGIN))
}

fn main() {
    // Steady state: the demo, flat leaves so ~50 rows are visible at 200x60.
    let mut p = pty::spawn(
        "bench-steady",
        &["demo"],
        &[("COLORTERM", "truecolor")],
        200,
        60,
    );
    p.wait_for("atlas-xl");
    sleep(Duration::from_secs(3));
    p.send(b"G");
    sleep(Duration::from_secs(5));
    let secs = 30;
    let (bytes_per_sec, frames) = measure(&p, secs);
    println!(
        "steady state (demo, 200x60, flat view, 1 update/s): {:.1} KB/s written, {frames} frames in {secs} s",
        bytes_per_sec as f64 / 1000.0
    );
    p.send(b"q");
    p.wait_exit();

    // Idle: a demo-server slowed to one bucket every ~3 hours sends only heartbeats.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = std::env::temp_dir().join(format!("qualtop-bench-idle-{}", std::process::id()));
    let mut server = Command::new(env!("CARGO_BIN_EXE_qualtop"))
        .args([
            "demo-server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--speed",
            "0.0001",
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo-server starts");
    sleep(Duration::from_secs(2));
    let metrics = format!("ws://127.0.0.1:{port}/metrics");
    let evals = format!("ws://127.0.0.1:{port}/evals");
    for (name, extra) in [
        ("default tick 1s", vec![]),
        ("--tick 60s", vec!["--tick", "60s"]),
    ] {
        let mut args = vec!["--metrics", metrics.as_str(), "--evals", evals.as_str()];
        args.extend(extra);
        let mut p = pty::spawn("bench-idle", &args, &[], 120, 40);
        p.wait_for("atlas-xl");
        sleep(Duration::from_secs(3));
        let secs = 30;
        let (bytes_per_sec, frames) = measure(&p, secs);
        println!(
            "idle ({name}; heartbeats only, no input): {} frames/min, {bytes_per_sec} B/s written",
            frames * 60 / secs as usize
        );
        p.send(b"q");
        p.wait_exit();
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
}
