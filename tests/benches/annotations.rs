//! Speed of the annotation path: SQLite upserts (new, edited, resent) in a
//! WAL file, and one annotate → echo round trip over a loopback WebSocket
//! against the demo backend (validate, rate limit, store, relay, encode).
//! Run with `cargo bench --bench annotations`. Each figure is the median of runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::annotations::{AnnotationStore, SqliteAnnotations};
use qualtop::demo::{self, DemoOptions};
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::server::{AnnotationHub, AnnotationRate, ServerConfig};
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qualtop-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn upserts() {
    let (mut created, mut edited, mut resent) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let dir = temp_dir(&format!("upsert-{run}"));
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
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "sqlite upsert: created {:?}, edited {:?}, resent unchanged {:?} per annotation",
        median(created),
        median(edited),
        median(resent)
    );
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
    let mut samples = Vec::new();
    let mut n = 0;
    for _ in 0..RUNS {
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
    println!(
        "annotate → echo over loopback (stored, relayed): {:?} per annotation",
        median(samples)
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
