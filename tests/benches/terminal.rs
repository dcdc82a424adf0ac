//! What qualtop costs a terminal, measured through a real pseudo-terminal:
//! bytes written per second at steady state (the demo, ~50 visible rows,
//! one data update a second) and frames drawn per minute when idle (a
//! backend that sends only heartbeats, no input). Frames are counted by
//! their synchronized-update markers. The steady state's CPU time is set
//! against references timed in the same run on the same bytes: a vt100
//! terminal emulator parsing them, and writing them to a Vec.
//!
//! Run: `cargo bench --bench terminal` (about 1.5 minutes).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

// Shared with the pty tests; the bench uses part of it.
#[allow(dead_code)]
#[path = "../it/support/pty.rs"]
mod pty;
#[allow(dead_code)]
mod ratio;

use std::hint::black_box;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const FRAME_BEGIN: &[u8] = b"\x1b[?2026h";

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// CPU seconds (user + system) the child has used so far; NaN if unknown.
fn cpu_secs(p: &pty::Pty) -> f64 {
    let Some(pid) = p.child.process_id() else {
        return f64::NAN;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the ")" closing the command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // SAFETY: sysconf only reads a system constant.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) if per_sec > 0.0 => (u + s) / per_sec,
        _ => f64::NAN,
    }
}

/// What was written over `secs` (after whatever came before): bytes per
/// second, frames, the bytes themselves, and the CPU seconds it took.
struct Window {
    per_sec: usize,
    frames: usize,
    bytes: Vec<u8>,
    cpu: f64,
}

fn measure(p: &pty::Pty, secs: u64) -> Window {
    let before = p.bytes().len();
    let cpu_before = cpu_secs(p);
    let start = Instant::now();
    sleep(Duration::from_secs(secs));
    let cpu = cpu_secs(p) - cpu_before;
    let bytes = p.bytes()[before..].to_vec();
    let elapsed = start.elapsed().as_secs_f64();
    Window {
        per_sec: (bytes.len() as f64 / elapsed) as usize,
        frames: count(&bytes, FRAME_BEGIN),
        bytes,
        cpu,
    }
}

/// Seconds for a vt100 emulator of the same size to take the bytes, frame by frame.
fn vt100_parse(bytes: &[u8], cols: u16, rows: u16) -> f64 {
    let start = Instant::now();
    let mut parser = vt100::Parser::new(rows, cols, 0);
    for frame in frames(bytes) {
        parser.process(frame);
    }
    black_box(parser.screen().cursor_position());
    start.elapsed().as_secs_f64()
}

/// Seconds to write the bytes to a Vec, frame by frame.
fn vec_write(bytes: &[u8]) -> f64 {
    let start = Instant::now();
    let mut out = Vec::new();
    for frame in frames(bytes) {
        out.write_all(frame).expect("a Vec takes every write");
    }
    black_box(&out);
    start.elapsed().as_secs_f64()
}

/// The bytes cut before each synchronized-update marker.
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut cuts: Vec<usize> = bytes
        .windows(FRAME_BEGIN.len())
        .enumerate()
        .filter(|(_, w)| *w == FRAME_BEGIN)
        .map(|(i, _)| i)
        .collect();
    cuts.push(bytes.len());
    let mut start = 0;
    cuts.into_iter()
        .map(|end| {
            let f = &bytes[start..end];
            start = end;
            f
        })
        .collect()
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
    let w = measure(&p, secs);
    println!(
        "steady state (demo, 200x60, flat view, 1 update/s): {:.1} KB/s written, {} frames in {secs} s",
        w.per_sec as f64 / 1000.0,
        w.frames
    );
    let vt = ratio::median((0..21).map(|_| vt100_parse(&w.bytes, 200, 60)).collect());
    let vec = ratio::median((0..21).map(|_| vec_write(&w.bytes)).collect());
    println!(
        "  qualtop CPU over those {secs} s: {:.0} ms, {:.1}x a vt100 emulator taking the same bytes ({:.1} ms), {:.0}x writing them to a Vec ({:.3} ms) (medians of 21; no goal set)",
        w.cpu * 1e3,
        w.cpu / vt,
        vt * 1e3,
        w.cpu / vec,
        vec * 1e3
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
        let w = measure(&p, secs);
        println!(
            "idle ({name}; heartbeats only, no input): {} frames/min, {} B/s written, {:.0} ms CPU in {secs} s",
            w.frames * 60 / secs as usize,
            w.per_sec,
            w.cpu * 1e3
        );
        p.send(b"q");
        p.wait_exit();
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
}
