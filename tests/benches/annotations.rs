//! Speed of the annotation path: SQLite upserts (new, edited, resent) in a
//! WAL file, writes per second with each sync mode, a client merging a
//! stream of 200,000 annotations into its set, and one annotate → echo
//! round trip over a loopback WebSocket against the demo backend (validate,
//! rate limit, store, relay, encode). Run with `cargo bench --bench
//! annotations`. Each figure is the median of runs, next to a reference in
//! the same run: a plain SQLite insert of the same rows (same file
//! settings); NORMAL sync against FULL; a plain `HashMap` insert of the same
//! stream (and the old linear find, on a tenth of it); a plain WebSocket
//! echo on loopback.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::annotations::{AnnotationStore, SqliteAnnotations, SyncMode};
use qualtop::demo::{self, DemoOptions};
use qualtop::feed::AnnotationSet;
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::server::{AnnotationHub, AnnotationRate, ServerConfig};
use ratio::median;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const RUNS: usize = 5;
const UPSERTS: usize = 500;
const ROUND_TRIPS: usize = 200;
const ANCHOR: i64 = 1_756_771_200_000;

fn note(i: usize, text: &str) -> Annotation {
    Annotation {
        id: format!("bench-{i}"),
        scope: [("model".to_string(), "atlas-s".to_string())].into(),
        signal: Some("golden-qa".into()),
        from: ANCHOR - 60_000,
        to: None,
        state: AnnotationState::Suspected,
        text: text.into(),
        author: "bench".into(),
        rev: None,
        created: None,
        updated: None,
    }
}

fn median_us(v: Vec<Duration>) -> f64 {
    median(v.iter().map(|d| d.as_secs_f64() * 1e6).collect())
}

/// The reference: the same rows inserted by hand into the same table in a
/// file with the store's settings (WAL, synchronous FULL), one
/// autocommit statement a row, no read before the write.
fn plain_inserts(dir: &std::path::Path) -> Duration {
    std::fs::create_dir_all(dir).expect("scratch dir");
    let conn = rusqlite::Connection::open(dir.join("plain.sqlite3")).expect("sqlite opens");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    conn.execute_batch(
        "CREATE TABLE annotations (id TEXT PRIMARY KEY, scope TEXT NOT NULL, signal TEXT,
             from_ms INTEGER NOT NULL, to_ms INTEGER, state TEXT NOT NULL, text TEXT NOT NULL,
             author TEXT NOT NULL, rev INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
         CREATE INDEX annotations_from ON annotations (from_ms);",
    )
    .expect("schema");
    let t = Instant::now();
    for i in 0..UPSERTS {
        let a = note(i, "first");
        conn.execute(
            "INSERT INTO annotations VALUES (?1, ?2, ?3, ?4, ?5, 'suspected', ?6, ?7, 1, 1, 1)",
            rusqlite::params![
                a.id,
                serde_json::to_string(&a.scope).expect("scope"),
                a.signal,
                a.from,
                a.to,
                a.text,
                a.author
            ],
        )
        .expect("insert");
    }
    t.elapsed() / UPSERTS as u32
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qualtop-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn upserts() {
    let (mut created, mut edited, mut resent) = (Vec::new(), Vec::new(), Vec::new());
    let mut plain = Vec::new();
    for run in 0..RUNS {
        let dir = temp_dir(&format!("upsert-{run}"));
        plain.push(plain_inserts(&dir.join("plain-before")));
        let store = SqliteAnnotations::open_in(&dir).unwrap();
        let t = Instant::now();
        for i in 0..UPSERTS {
            store.upsert(&note(i, "first"), 1).unwrap();
        }
        created.push(t.elapsed() / UPSERTS as u32);
        let t = Instant::now();
        for i in 0..UPSERTS {
            store.upsert(&note(i, "second"), 2).unwrap();
        }
        edited.push(t.elapsed() / UPSERTS as u32);
        let t = Instant::now();
        for i in 0..UPSERTS {
            store.upsert(&note(i, "second"), 3).unwrap();
        }
        resent.push(t.elapsed() / UPSERTS as u32);
        // Before and after, so the reference sees the same disk weather.
        plain.push(plain_inserts(&dir.join("plain-after")));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let reference = median_us(plain);
    let (c, e, r) = (median_us(created), median_us(edited), median_us(resent));
    println!(
        "sqlite upsert per annotation (median of {RUNS} runs x {UPSERTS}): created {c:.1} µs = {:.2}x, edited {e:.1} µs = {:.2}x, resent unchanged {r:.1} µs = {:.2}x a plain SQLite insert of the same rows ({reference:.1} µs; no goal set)",
        c / reference,
        e / reference,
        r / reference
    );
}

/// New annotations a second through the store opened with `mode`.
fn writes_per_second(mode: SyncMode, run: usize) -> f64 {
    let dir = temp_dir(&format!("sync-{mode:?}-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteAnnotations::open_with(&dir.join("a.sqlite3"), mode).unwrap();
    let t = Instant::now();
    for i in 0..UPSERTS {
        store.upsert(&note(i, "first"), 1).unwrap();
    }
    let per_s = UPSERTS as f64 / t.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    per_s
}

/// FULL (the default: an echo means on disk) against WAL's NORMAL, its
/// reference, alternating which goes first so both see the same disk.
fn sync_modes() {
    let (mut full, mut normal) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        if run % 2 == 0 {
            normal.push(writes_per_second(SyncMode::Normal, run));
            full.push(writes_per_second(SyncMode::Full, run));
        } else {
            full.push(writes_per_second(SyncMode::Full, run));
            normal.push(writes_per_second(SyncMode::Normal, run));
        }
    }
    let (full, normal) = (median(full), median(normal));
    println!(
        "sqlite writes of new annotations (median of {RUNS} runs x {UPSERTS}): synchronous=FULL (the default) {full:.0}/s = {:.2}x synchronous=NORMAL ({normal:.0}/s; no goal set)",
        full / normal
    );
}

/// Annotations streamed to a client, as a backend flooding it would.
const STREAM: usize = 200_000;
/// The old linear find is quadratic: timed on a tenth of the stream.
const LINEAR: usize = STREAM / 10;

/// The old way: a list searched by id for each one merged.
fn linear_merge(stream: &[Annotation]) -> Duration {
    let t = Instant::now();
    let mut list: Vec<Annotation> = Vec::new();
    for a in stream.iter().take(LINEAR).cloned() {
        if let Some(held) = list.iter_mut().find(|h| h.id == a.id) {
            *held = a;
        } else {
            list.push(a);
        }
    }
    std::hint::black_box(&list);
    t.elapsed()
}

/// The floor: the same stream into a plain map by id (no cap, no order).
fn map_insert(stream: Vec<Annotation>) -> Duration {
    let t = Instant::now();
    let mut map = std::collections::HashMap::new();
    for a in stream {
        map.insert(a.id.clone(), a);
    }
    std::hint::black_box(&map);
    t.elapsed()
}

/// The set a client holds: indexed by id, capped, evicting the longest ended.
fn set_merge(stream: Vec<Annotation>) -> (Duration, Duration) {
    let t = Instant::now();
    let mut set = AnnotationSet::default();
    let mut slowest = Duration::ZERO;
    for a in stream {
        let one = Instant::now();
        set.merge(a);
        slowest = slowest.max(one.elapsed());
    }
    let took = t.elapsed();
    assert_eq!(
        (set.len() as u64 + set.let_go(), set.len()),
        (STREAM as u64, qualtop::feed::MAX_HELD_ANNOTATIONS),
        "every one merged, the set held at its cap"
    );
    (took, slowest)
}

fn merges() {
    let stream: Vec<Annotation> = (0..STREAM)
        .map(|i| Annotation {
            id: format!("{i:08}-flood"),
            rev: Some(1),
            from: ANCHOR + i as i64,
            ..note(i, "flood")
        })
        .collect();
    let (mut set, mut slowest, mut map, mut linear) = (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let (took, worst) = set_merge(stream.clone());
        set.push(took.as_secs_f64() * 1e3);
        slowest.push(worst.as_secs_f64() * 1e3);
        map.push(map_insert(stream.clone()).as_secs_f64() * 1e3);
        linear.push(linear_merge(&stream).as_secs_f64() * 1e3);
    }
    let (set, slowest, map, linear) = (median(set), median(slowest), median(map), median(linear));
    let per = |ms: f64, n: usize| ms * 1e3 / n as f64;
    println!(
        "client merge of a {STREAM} annotation stream (median of {RUNS} runs): {set:.0} ms, {:.2} µs each (slowest {slowest:.2} ms) = {:.2}x a plain HashMap insert of the same stream ({map:.0} ms); the old linear find took {linear:.0} ms for the first {LINEAR} ({:.0} µs each, {:.0}x the set's per merge; no goal set)",
        per(set, STREAM),
        set / map,
        per(linear, LINEAR),
        per(linear, LINEAR) / per(set, STREAM)
    );
}

type Echo =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The reference round trip: a plain WebSocket server on loopback that
/// echoes each frame back; returns the client end.
async fn echo_server() -> Echo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() && ws.send(m).await.is_err() {
                break;
            }
        }
    });
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .expect("echo connects");
    ws
}

/// One batch of the same annotate frames through the echo, per frame.
async fn echo_batch(ws: &mut Echo, run: usize) -> Duration {
    let t = Instant::now();
    for i in 0..ROUND_TRIPS {
        let frame =
            json!({"type":"annotate","annotation": note(run * ROUND_TRIPS + i, "round trip")});
        ws.send(Message::text(frame.to_string()))
            .await
            .expect("echo send");
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("echo ended")
        };
        let v: Value = serde_json::from_str(text.as_str()).expect("echo json");
        assert_eq!(v["type"], "annotate");
    }
    t.elapsed() / ROUND_TRIPS as u32
}

async fn round_trips() {
    let dir = temp_dir("round-trip");
    let store = Arc::new(SqliteAnnotations::open_in(&dir).unwrap());
    let rate = AnnotationRate {
        burst: 1_000_000,
        per_minute: 1_000_000,
    };
    let cfg = ServerConfig {
        annotations: Some(AnnotationHub::new(store, rate)),
        ..ServerConfig::default()
    };
    let opts = DemoOptions {
        anchor_ms: Some(ANCHOR),
        ..DemoOptions::default()
    };
    let server = demo::start("127.0.0.1:0".parse().unwrap(), cfg, opts)
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.url("/metrics"))
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"type":"subscribe","window_ms":60_000}).to_string(),
    ))
    .await
    .unwrap();
    let mut echo = echo_server().await;
    let (mut samples, mut echoes) = (Vec::new(), Vec::new());
    let mut n = 0;
    for run in 0..RUNS {
        // Interleaved, so both see the same machine weather.
        echoes.push(echo_batch(&mut echo, run).await);
        let t = Instant::now();
        for _ in 0..ROUND_TRIPS {
            n += 1;
            let frame = json!({"type":"annotate","annotation": note(n, "round trip")});
            ws.send(Message::text(frame.to_string())).await.unwrap();
            loop {
                let Some(Ok(Message::Text(text))) = ws.next().await else {
                    panic!("connection ended")
                };
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v["type"] == "annotation" {
                    break;
                }
            }
        }
        samples.push(t.elapsed() / ROUND_TRIPS as u32);
    }
    let took = median_us(samples);
    let reference = median_us(echoes);
    println!(
        "annotate → echo over loopback (stored, relayed): {took:.1} µs per annotation (median of {RUNS} x {ROUND_TRIPS}), {:.2}x a plain WebSocket echo of the same frames ({reference:.1} µs; no goal set)",
        took / reference
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    upserts();
    sync_modes();
    merges();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(round_trips());
}
