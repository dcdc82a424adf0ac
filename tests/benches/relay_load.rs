//! Relay load on loopback: N subscribed clients while an eval job pushes
//! points as fast as the relay takes them. Reports points/s pushed and fanned
//! out, delivery latency (push sent → batch decoded by a client) p50/p99,
//! and the process RSS (relay and clients share this process).
//!
//! `cargo bench --bench relay_load` (QUALTOP_LOAD_CLIENTS, QUALTOP_LOAD_SECS
//! and QUALTOP_LOAD_POINTS override 50 clients, 10 s, 500 points a push).
//! The reference, measured in the same run: the same push bodies parsed
//! line by line as `serde_json::Value` on one thread (median of 7).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::protocol::{ServerMessage, decode_server};
use qualtop::relay::{self, config::RelayConfig};
use ratio::{median, percentile, rss_mib};
use tokio_tungstenite::tungstenite::Message;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_us() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
}

/// `VmRSS` and `VmHWM` of this process, in MiB.
struct Received {
    points: AtomicU64,
    batches: AtomicU64,
}

/// One client: subscribes, then decodes every frame; the probe point of each
/// push carries its send time, so each push yields one latency sample.
async fn run_client(url: String, received: Arc<Received>, stop: Arc<AtomicBool>) -> Vec<f64> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .expect("subscribe");
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_millis(200), ws.next()).await
        else {
            continue;
        };
        let Message::Text(text) = frame else { continue };
        if let Ok(Some(ServerMessage::Batch(b))) = decode_server(text.as_str()) {
            let arrived = now_us();
            received.batches.fetch_add(1, Ordering::Relaxed);
            received
                .points
                .fetch_add(b.points.len() as u64, Ordering::Relaxed);
            for p in &b.points {
                if p.signal.as_str() == "probe"
                    && let Some(sent) = p.value
                {
                    latencies.push((arrived - sent) / 1000.0);
                }
            }
        }
    }
    latencies
}

/// The push body number `push` (all but the last line the golden-qa slices, then the probe).
fn body(slices: &[String], push: usize, ts: i64) -> String {
    let mut body = String::with_capacity(slices.len() * 90 + 120);
    for (i, prefix) in slices.iter().enumerate() {
        body.push_str(prefix);
        body.push_str(&format!("{},\"total\":100}}\n", (push + i) % 101));
    }
    body.push_str(&format!(
        r#"{{"slice":{{"model":"probe","hardware":"probe"}},"signal":"probe","ts":{ts},"value":{}}}"#,
        now_us()
    ));
    body
}

/// Points/s of a plain `serde_json::Value` parse of 200 such bodies, line by line.
fn value_parse(slices: &[String], ts: i64) -> f64 {
    let bodies: Vec<String> = (0..200).map(|p| body(slices, p, ts)).collect();
    let runs = (0..7).map(|_| {
        let started = Instant::now();
        let mut points = 0usize;
        for b in &bodies {
            for line in b.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("line parses");
                std::hint::black_box(v);
                points += 1;
            }
        }
        points as f64 / started.elapsed().as_secs_f64()
    });
    median(runs.collect())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    qualtop::tls::install_crypto_provider();
    let clients = env_or("QUALTOP_LOAD_CLIENTS", 50);
    let secs = env_or("QUALTOP_LOAD_SECS", 10) as u64;
    let per_push = env_or("QUALTOP_LOAD_POINTS", 500).max(2);
    let (rss_before, _) = rss_mib();

    let mut cfg = RelayConfig::parse(
        r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[[signals]]
name = "probe"
kind = "gauge"
role = "other"
endpoint = "evals"

[limits]
client_queue = 1024
"#,
        std::path::Path::new("relay_load.toml"),
        &|_| None,
    )
    .expect("bench config");
    cfg.listen = "127.0.0.1:0".parse().expect("address");
    let relay = relay::start(cfg).await.expect("relay");
    let url = relay.url(Endpoint::Evals);
    let points_url = relay.http_url("/v1/points");

    let received = Arc::new(Received {
        points: AtomicU64::new(0),
        batches: AtomicU64::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(run_client(
                url.clone(),
                Arc::clone(&received),
                Arc::clone(&stop),
            ))
        })
        .collect();
    while relay.hub(Endpoint::Evals).map_or(0, |h| h.receivers()) < clients {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let http = reqwest::Client::new();
    let ts = wall_ms() / 60_000 * 60_000;
    let slices: Vec<String> = (0..per_push - 1)
        .map(|i| {
            format!(
                r#"{{"slice":{{"model":"m{}","hardware":"hw{}"}},"signal":"golden-qa","ts":{ts},"good":"#,
                i / 8,
                i % 8
            )
        })
        .collect();
    let reference = value_parse(&slices, ts);
    let began = Instant::now();
    let mut pushes = 0u64;
    while began.elapsed() < Duration::from_secs(secs) {
        let resp = http
            .post(&points_url)
            .body(body(&slices, pushes as usize, ts))
            .send()
            .await
            .expect("push");
        assert!(
            resp.status().is_success(),
            "push answered {}",
            resp.status()
        );
        pushes += 1;
    }
    let pushing = began.elapsed();
    // Let the clients take what is in flight.
    let expected = pushes * per_push as u64 * clients as u64;
    let drain = Instant::now();
    while received.points.load(Ordering::Relaxed) < expected
        && drain.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = began.elapsed();
    let (rss, hwm) = rss_mib();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client task"));
    }
    latencies.sort_by(f64::total_cmp);
    let counts = relay.server_stats().counts();
    let fanned = received.points.load(Ordering::Relaxed);
    println!(
        "relay_load: {clients} clients, {per_push} points a push, {secs} s of pushing (2 worker threads, clients in-process)"
    );
    let rate_in = (pushes * per_push as u64) as f64 / pushing.as_secs_f64();
    println!(
        "  pushed:     {pushes} pushes, {rate_in:.0} points/s in, {:.3}x a plain Value parse of the same bodies ({reference:.0} points/s, one thread; no goal set)",
        rate_in / reference
    );
    let rate_out = fanned as f64 / elapsed.as_secs_f64();
    println!(
        "  fanned out: {fanned} of {expected} points, {rate_out:.0} points/s out ({:.2}x that parse), {} batches",
        rate_out / reference,
        received.batches.load(Ordering::Relaxed)
    );
    println!(
        "  latency push→client: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    println!(
        "  server: {} frames, {:.1} MiB sent, {} slow disconnects",
        counts.frames_sent,
        counts.bytes_sent as f64 / (1 << 20) as f64,
        counts.slow_disconnects
    );
    println!(
        "  RSS: {rss:.1} MiB now, {hwm:.1} MiB peak, {rss_before:.1} MiB before the relay started"
    );
    relay.shutdown().await;
}
