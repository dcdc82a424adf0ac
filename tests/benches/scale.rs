//! A fleet at scale: `qualtop demo-server --leaves N` (its own process) and
//! a client in this one, at 5,000 and 50,000 leaf slices × 6 signals × 360
//! one-minute buckets. For each size:
//!
//! - seconds from starting the server to its listening (history generation);
//! - snapshot bytes and parts per endpoint (a client that reads parts);
//! - time from connect to both snapshots applied (the feed, as the TUI runs it);
//! - client RSS (VmRSS after, VmHWM) and the store's bucket bytes;
//! - typed decode of the snapshot frames vs a plain `serde_json::Value`
//!   parse of the same bytes (the ratio; below 1 is faster than Value).
//!
//! - scale mode (a second process, so its RSS is its own): connect → the
//!   first screen (both sources' top level, by model, applied), one drill
//!   (model=… by platform) applied, its VmRSS / VmHWM, and the stream's
//!   bytes per minute for a full-leaf subscription and for the top level
//!   (ratios against the full-leaf path above).
//!
//! Run: `cargo bench --bench scale` (QUALTOP_SCALE_LEAVES=5000,50000 by
//! default; 50,000 needs about 3 GiB for the server and as much again here).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::feed::{
    ConnState, FeedHandle, FeedOptions, Fleet, SharedFleet, ShownView, SourceConfig, ViewLevel,
    spawn_feeds,
};
use qualtop::protocol::{ServerMessage, decode_server};
use ratio::rss_mib;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const ENDPOINTS: [&str; 2] = ["metrics", "evals"];

/// Set in the child that measures scale mode: the server's port.
const SCALE_CHILD: &str = "QUALTOP_SCALE_CHILD";

/// The whole fleet's six hours, leaf by leaf, in snapshot parts.
const FULL_SUBSCRIBE: &str = r#"{"type":"subscribe","window_ms":21600000,"snapshot_parts":true}"#;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Real seconds of stream counted for bytes per minute.
const STREAM_SECS: u64 = 10;

fn main() {
    if let Some((port, n)) = std::env::var(SCALE_CHILD)
        .ok()
        .and_then(|v| v.split_once(',').map(|(p, n)| (p.to_owned(), n.to_owned())))
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (first, drill) = rt.block_on(scaled_client(port.parse().unwrap(), n.parse().unwrap()));
        let (rss, hwm) = rss_mib();
        println!("{first} {drill} {rss} {hwm}");
        return;
    }
    let sizes: Vec<usize> = std::env::var("QUALTOP_SCALE_LEAVES")
        .unwrap_or_else(|_| "5000,50000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| leaves | to listen | endpoint | snapshot bytes | parts | decode / Value parse | connect → applied | client VmRSS / VmHWM | store |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut scaled = Vec::new();
    for n in sizes {
        scaled.push(run(n));
    }
    println!();
    println!(
        "| leaves | scale mode: first screen | drill one level | client VmRSS / VmHWM | stream bytes/min, full leaves → by model (evals) |"
    );
    println!("|---|---|---|---|---|");
    for line in scaled {
        println!("{line}");
    }
}

/// Both endpoints of the server on `port` through qualtop's feed with
/// `opts`, as the TUI connects them.
fn feed_endpoints(port: u16, opts: &FeedOptions) -> (SharedFleet, Vec<FeedHandle>) {
    let fleet = SharedFleet::new(Fleet::with_sources(ENDPOINTS));
    let sources = ENDPOINTS
        .iter()
        .map(|e| SourceConfig::new(*e, format!("ws://127.0.0.1:{port}/{e}")))
        .collect();
    let feeds = spawn_feeds(&fleet, sources, opts);
    (fleet, feeds)
}

/// A raw WebSocket on `endpoint` with no frame size limit, past its hello,
/// that has sent `subscribe`.
async fn raw_subscribe(port: u16, endpoint: &str, subscribe: &str) -> Ws {
    let config = WebSocketConfig::default()
        .max_frame_size(None)
        .max_message_size(None);
    let url = format!("ws://127.0.0.1:{port}/{endpoint}");
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .unwrap();
    let _hello = ws.next().await;
    ws.send(Message::text(subscribe.to_owned())).await.unwrap();
    ws
}

/// Waits until every source is in scale mode with `view` applied; seconds.
async fn until_view(fleet: &SharedFleet, view: &str, started: Instant) -> f64 {
    let deadline = started + Duration::from_secs(300);
    let ready = |f: &Fleet| {
        f.sources.iter().all(|s| {
            s.scale
                .as_ref()
                .is_some_and(|sc| !sc.loading && sc.view == view && s.snapshots > 0)
        })
    };
    while !fleet.read(ready) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(fleet.read(ready), "{view} never applied");
    started.elapsed().as_secs_f64()
}

/// The client as the TUI runs it against a large fleet: seconds to the
/// first screen (scale mode chosen, top level applied) and to one drill.
async fn scaled_client(port: u16, n: u64) -> (f64, f64) {
    // The default rule at 5,000 and 50,000; a smaller trial run switches too.
    let opts = FeedOptions {
        scale_leaves: qualtop::feed::DEFAULT_SCALE_LEAVES.min(n / 2),
        ..FeedOptions::default()
    };
    let started = Instant::now();
    let (fleet, _feeds) = feed_endpoints(port, &opts);
    let first = until_view(&fleet, "fleet by model", started).await;
    let model = fleet.read(|f| {
        let dim = f.store.slices().dimension_index("model").unwrap();
        f.store
            .slices()
            .ids()
            .map(|id| f.store.slices().value(id, dim).to_owned())
            .find(|v| !v.is_empty())
            .unwrap()
    });
    let drilled = Instant::now();
    fleet.show(ShownView {
        path: vec![("model".into(), model.clone())],
        level: ViewLevel::Next,
    });
    let drill = until_view(&fleet, &format!("model={model} by platform"), drilled).await;
    (first, drill)
}

/// Bytes per real minute of the stream (batches, heartbeats) after the
/// snapshot of `subscribe` on `endpoint`, counted over [`STREAM_SECS`].
async fn stream_bytes_per_minute(port: u16, endpoint: &str, subscribe: &str) -> f64 {
    let mut ws = raw_subscribe(port, endpoint, subscribe).await;
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("connection ended mid-snapshot");
        };
        if let Ok(Some(ServerMessage::Snapshot(s))) = decode_server(text.as_str())
            && s.part.is_none_or(|p| p.index == p.count)
        {
            break;
        }
    }
    let until = Instant::now() + Duration::from_secs(STREAM_SECS);
    let mut bytes = 0usize;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until.into(), ws.next()).await {
        bytes += msg.len();
    }
    bytes as f64 * 60.0 / STREAM_SECS as f64
}

/// Scale mode measured in a child process of this bench against the server
/// on `port`: seconds to the first screen, to a drill, and its memory.
fn scaled_child(port: u16, n: usize) -> (f64, f64, f64, f64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(SCALE_CHILD, format!("{port},{n}"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(f.len(), 4, "scale child said {text:?}");
    (f[0], f[1], f[2], f[3])
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo server with `n` leaves, and the seconds it took to listen.
fn server(n: usize, port: u16, dir: &std::path::Path) -> (Child, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qualtop"))
        .args(["demo-server", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--leaves", &n.to_string(), "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("serving ws://") {
            break;
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, started.elapsed().as_secs_f64())
}

/// Both endpoints through the feed: seconds to both applied, and what
/// each source ended as.
async fn feed_both(port: u16) -> (f64, Vec<String>, usize) {
    // Today's full-leaf path: scale mode off, whatever the fleet's size.
    let full = FeedOptions {
        scale_leaves: 0,
        ..FeedOptions::default()
    };
    let started = Instant::now();
    let (fleet, feeds) = feed_endpoints(port, &full);
    let deadline = started + Duration::from_secs(900);
    let settled = |f: &Fleet| {
        f.sources
            .iter()
            .all(|s| s.snapshots > 0 || matches!(s.state, ConnState::Failed { .. }))
    };
    while !fleet.read(settled) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let states = fleet.read(|f| {
        f.sources
            .iter()
            .map(|s| match &s.state {
                ConnState::Failed { reason } => format!("failed: {reason}"),
                other => other.word().to_owned(),
            })
            .collect()
    });
    let store = fleet.read(|f| f.store.used_bytes());
    for f in &feeds {
        f.abort();
    }
    (took, states, store)
}

/// One endpoint's snapshot as a parts-reading client gets it: bytes,
/// parts, and seconds of typed decode and of `Value` parse over them.
async fn raw_snapshot(port: u16, endpoint: &str) -> (usize, usize, f64, f64) {
    let mut ws = raw_subscribe(port, endpoint, FULL_SUBSCRIBE).await;
    let (mut bytes, mut parts, mut typed, mut value) = (0, 0, 0.0, 0.0);
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("connection ended mid-snapshot");
        };
        let t = Instant::now();
        let decoded = decode_server(text.as_str());
        typed += t.elapsed().as_secs_f64();
        let Ok(Some(ServerMessage::Snapshot(s))) = decoded else {
            continue;
        };
        let last = s.part.is_none_or(|p| p.index == p.count);
        drop(s);
        let t = Instant::now();
        let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        value += t.elapsed().as_secs_f64();
        drop(v);
        bytes += text.len();
        parts += 1;
        if last {
            return (bytes, parts, typed, value);
        }
    }
}

fn run(n: usize) -> String {
    let dir = std::env::temp_dir().join(format!("qualtop-bench-scale-{}-{n}", std::process::id()));
    let port = free_port();
    let (mut child, to_listen) = server(n, port, &dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The client first, so its high-water mark is its own.
    let (applied, states, store) = rt.block_on(feed_both(port));
    let (rss, hwm) = rss_mib();
    for (i, endpoint) in ENDPOINTS.iter().enumerate() {
        let (bytes, parts, typed, value) = rt.block_on(raw_snapshot(port, endpoint));
        let (listen, client, mem) = if i == 0 {
            (
                format!("{to_listen:.1} s"),
                format!("{applied:.2} s ({})", states.join(", ")),
                (
                    format!("{rss:.0} / {hwm:.0} MiB"),
                    format!("{:.0} MiB", store as f64 / (1 << 20) as f64),
                ),
            )
        } else {
            (String::new(), String::new(), (String::new(), String::new()))
        };
        println!(
            "| {n} | {listen} | {endpoint} | {:.1} MiB | {parts} | {:.2} s / {:.2} s = {:.2}x | {client} | {} | {} |",
            bytes as f64 / (1 << 20) as f64,
            typed,
            value,
            typed / value.max(1e-9),
            mem.0,
            mem.1,
        );
    }
    // Scale mode, against the same server, with the full path's figures to compare.
    let (first, drill, s_rss, s_hwm) = scaled_child(port, n);
    let top_sub =
        r#"{"type":"subscribe","window_ms":21600000,"snapshot_parts":true,"group_by":["model"]}"#;
    let full_wire = rt.block_on(stream_bytes_per_minute(port, "evals", FULL_SUBSCRIBE));
    let top_wire = rt.block_on(stream_bytes_per_minute(port, "evals", top_sub));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let kib = |b: f64| b / 1024.0;
    format!(
        "| {n} | {first:.2} s ({:.2}x of full {applied:.2} s) | {drill:.2} s | {s_rss:.0} / {s_hwm:.0} MiB ({:.2}x of full {hwm:.0} MiB) | {:.0} KiB → {:.0} KiB ({:.3}x) |",
        first / applied.max(1e-9),
        s_hwm / hwm.max(1e-9),
        kib(full_wire),
        kib(top_wire),
        top_wire / full_wire.max(1e-9),
    )
}
