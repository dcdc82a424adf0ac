//! Issue #12's push figures, each next to a reference measured in the same
//! run (so a slower machine can be told from a regression):
//! - push → visible: a point POSTed to a real relay (in-process, memory
//!   only: no engine) until qualtop's own feed client holds it in its store
//!   and has told the UI (p50/p99 over 200 pushes); reference: a GET of the
//!   same relay's `/v1/points` over the same HTTP client;
//! - `qualtop push` (the release binary) on a generated 1,000,000-line
//!   JSONL, `--dry-run` and against the relay: lines per second and peak
//!   RSS; reference: the same lines parsed as `serde_json::Value`.
//!
//! `cargo bench --bench push` (QUALTOP_PUSH_LINES overrides 1,000,000).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;
#[allow(dead_code)]
#[path = "../it/support/relay.rs"]
mod relay_support;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qualtop::clock::wall_ms;
use qualtop::feed::SharedFleet;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self, RunningRelay};
use ratio::{median, percentile};
use relay_support::{client, config, is_live, ratio_at};

const PUSHES: usize = 200;
const RUNS: usize = 5;
const MINUTE: i64 = 60_000;

const RELAY: &str = r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#;

/// Waits until the client's store holds the probe's bucket; the time it
/// was seen, or None after 5 s.
async fn visible(fleet: &SharedFleet, model: &str, ts: i64, began: Instant) -> Option<f64> {
    let mut changed = fleet.subscribe();
    let pairs = [("model", model), ("hardware", "probe")];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if ratio_at(fleet, "golden-qa", &pairs, ts).is_some() {
            return Some(began.elapsed().as_secs_f64() * 1e3);
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return None;
        }
    }
}

/// POST → visible in a subscribed client, and POST → acknowledged, in ms,
/// one push at a time, each probe on its own slice so its arrival is
/// unambiguous; each after a GET of the relay, the reference.
async fn latency(relay: &RunningRelay) {
    let (fleet, _feed) = client(&relay.url(Endpoint::Evals), None);
    let live = Instant::now();
    while !is_live(&fleet) {
        assert!(live.elapsed() < Duration::from_secs(10), "client goes live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let http = reqwest::Client::new();
    let url = relay.http_url("/v1/points");
    let ts = wall_ms() / MINUTE * MINUTE;
    let (mut seen, mut acked, mut gets, mut missed) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for i in 0..PUSHES {
        // The reference first, interleaved, so both see the same machine weather.
        let began = Instant::now();
        let resp = http.get(&url).send().await.expect("get");
        let _ = resp.bytes().await;
        gets.push(began.elapsed().as_secs_f64() * 1e3);
        let model = format!("probe-{i}");
        let body = format!(
            r#"{{"slice":{{"model":"{model}","hardware":"probe"}},"signal":"golden-qa","ts":{ts},"good":{},"total":100}}"#,
            i % 101
        );
        let began = Instant::now();
        let post = async {
            let resp = http.post(&url).body(body).send().await.expect("push");
            assert!(
                resp.status().is_success(),
                "push answered {}",
                resp.status()
            );
            began.elapsed().as_secs_f64() * 1e3
        };
        let (ack, arrival) = tokio::join!(post, visible(&fleet, &model, ts, began));
        acked.push(ack);
        match arrival {
            Some(ms) => seen.push(ms),
            None => missed += 1,
        }
    }
    for v in [&mut seen, &mut acked, &mut gets] {
        v.sort_by(f64::total_cmp);
    }
    let (p50, p99, get50) = (
        percentile(&seen, 0.5),
        percentile(&seen, 0.99),
        percentile(&gets, 0.5),
    );
    println!(
        "push -> visible in a subscribed client: p50 {:.0} µs, p99 {:.0} µs ({} of {PUSHES} pushes seen{}), {:.2}x a GET round trip to the same relay, interleaved (p50 {:.0} µs; no goal set)",
        p50 * 1e3,
        p99 * 1e3,
        seen.len(),
        if missed > 0 {
            format!(", {missed} NOT seen within 5 s")
        } else {
            String::new()
        },
        p50 / get50,
        get50 * 1e3
    );
    println!(
        "push -> acknowledged (200 from the relay): p50 {:.0} µs, p99 {:.0} µs",
        percentile(&acked, 0.5) * 1e3,
        percentile(&acked, 0.99) * 1e3
    );
}

/// `lines` eval cases over 20 models × 8 hardware × the last 50 minutes.
fn write_cases(path: &Path, lines: usize) -> u64 {
    let file = std::fs::File::create(path).expect("case file");
    let mut out = BufWriter::new(file);
    let now = wall_ms();
    for i in 0..lines {
        let ts = now - 50 * MINUTE + (i as i64 * 7_919) % (50 * MINUTE);
        writeln!(
            out,
            r#"{{"ts":{ts},"suite":"golden-qa","model":"m{}","hardware":"hw{}","passed":{}}}"#,
            i % 20,
            (i / 20) % 8,
            i % 13 != 0
        )
        .expect("write case");
    }
    out.flush().expect("flush cases");
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The reference: every line parsed as a `serde_json::Value`, lines/s.
fn value_parse(path: &Path) -> f64 {
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 18, std::fs::File::open(path).expect("cases"));
    let (mut buf, mut lines) = (Vec::with_capacity(1024), 0usize);
    while reader.read_until(b'\n', &mut buf).expect("read") > 0 {
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("case parses");
        std::hint::black_box(v);
        lines += 1;
        buf.clear();
    }
    lines as f64 / started.elapsed().as_secs_f64()
}

/// Runs the binary to its end: (seconds, peak RSS in MiB, exit code).
// The child is reaped by wait4 below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run_push(args: &[String], scratch: &Path) -> (f64, f64, i32) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_qualtop"))
        .arg("push")
        .args(args)
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .env("XDG_STATE_HOME", scratch.join("state"))
        .env("XDG_DATA_HOME", scratch.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qualtop push starts");
    // wait4 gives this child's own peak RSS (ru_maxrss, KiB), which std's wait does not.
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: both pointers are to live locals; the pid is our unreaped child.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 reaps qualtop push");
    let secs = started.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (secs, usage.ru_maxrss as f64 / 1024.0, code)
}

fn throughput(relay_url: &str) {
    let lines: usize = std::env::var("QUALTOP_PUSH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("qualtop-bench-push-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let cases = dir.join("cases.jsonl");
    let bytes = write_cases(&cases, lines);
    println!(
        "qualtop push input: {lines} lines, {:.1} MiB of JSONL (20 models x 8 hardware x 50 buckets)",
        bytes as f64 / (1 << 20) as f64
    );
    let input = cases.to_string_lossy().into_owned();
    let dry: Vec<String> = [
        "--input",
        &input,
        "--dry-run",
        "--bucket",
        "1m",
        "--dimensions",
        "model,hardware",
    ]
    .map(str::to_owned)
    .to_vec();
    let posted: Vec<String> = ["--input", &input, "--relay", relay_url]
        .map(str::to_owned)
        .to_vec();
    let reference = median((0..RUNS).map(|_| value_parse(&cases)).collect());
    println!(
        "reference: serde_json::Value parse of the same lines: {:.2} M lines/s (median of {RUNS}, in-process)",
        reference / 1e6
    );
    for (name, args) in [("--dry-run", &dry), ("to the relay", &posted)] {
        let (mut rates, mut peaks) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (secs, peak, code) = run_push(args, &dir);
            assert_eq!(code, 0, "qualtop push {name} exits 0");
            rates.push(lines as f64 / secs);
            peaks.push(peak);
        }
        let rate = median(rates);
        println!(
            "qualtop push {name}: {:.2} M lines/s (median of {RUNS}, whole process), {:.2}x the Value parse of the same lines (no goal set); peak RSS {:.1} MiB (median; max {:.1})",
            rate / 1e6,
            rate / reference,
            median(peaks.clone()),
            peaks.iter().copied().fold(0.0, f64::max)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    qualtop::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let relay = runtime
        .block_on(relay::start(config(RELAY)))
        .expect("relay starts");
    runtime.block_on(latency(&relay));
    // The binary posts to the relay while this runtime serves it.
    throughput(&relay.http_url(""));
    runtime.block_on(relay.shutdown());
}
