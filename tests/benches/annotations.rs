//! Speed of the annotation path: SQLite upserts (new, edited, resent) in a
//! WAL file, and one annotate → echo round trip over a loopback WebSocket
//! against the demo backend (validate, rate limit, store, relay, encode).
//! Run with `cargo bench --bench annotations`. Each figure is the median of
//! runs, next to a reference in the same run: a plain SQLite insert of the
//! same rows (same file settings), and a plain WebSocket echo on loopback.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::annotations::{AnnotationStore, SqliteAnnotations};
use qualtop::demo::{self, DemoOptions};
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
/// file with the store's settings (WAL, synchronous NORMAL), one
/// autocommit statement a row, no read before the write.
fn plain_inserts(dir: &std::path::Path) -> Duration {
    std::fs::create_dir_all(dir).expect("scratch dir");
    let conn = rusqlite::Connection::open(dir.join("plain.sqlite3")).expect("sqlite opens");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
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
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(round_trips());
}
