//! Helpers of the annotation tests: a demo backend with a SQLite store in a
//! temp dir (restartable on the same port), raw protocol clients, and temp
//! directories that clean up after themselves.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qualtop::annotations::{AnnotationStore, Outbox, SqliteAnnotations};
use qualtop::demo::{self, DemoOptions};
use qualtop::feed::{AnnotationSync, spawn_sync};
use qualtop::feed::{FeedHandle, Fleet, SharedFleet, SourceConfig, spawn_feeds};
use qualtop::protocol::{Annotation, AnnotationState, Millis, decode_server};
use qualtop::server::{AnnotationHub, AnnotationRate, RunningServer, ServerConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// 2025-09-02 00:00 UTC: the demo's data clock starts here.
pub const ANCHOR: Millis = 1_756_771_200_000;
pub const WAIT: Duration = Duration::from_secs(10);
/// Every test ends within this, pass or fail.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

pub fn server_config(data_dir: &Path) -> ServerConfig {
    ServerConfig {
        heartbeat_interval: Duration::from_millis(300),
        annotations: Some(AnnotationHub::sqlite_in(data_dir).unwrap()),
        ..ServerConfig::default()
    }
}

pub fn demo_options() -> DemoOptions {
    DemoOptions {
        speed: 20.0,
        anchor_ms: Some(ANCHOR),
        ..DemoOptions::default()
    }
}

/// The demo backend with its annotations in `data_dir`, on `addr`
/// (`127.0.0.1:0` for any port, or a port used before, for a restart).
pub async fn start_demo(addr: SocketAddr, data_dir: &Path) -> RunningServer {
    demo::start(addr, server_config(data_dir), demo_options())
        .await
        .unwrap()
}

pub async fn start_demo_with(data_dir: &Path, rate: AnnotationRate) -> RunningServer {
    let store = Arc::new(SqliteAnnotations::open_in(data_dir).unwrap());
    let cfg = ServerConfig {
        annotations: Some(AnnotationHub::new(store, rate)),
        ..server_config(data_dir)
    };
    demo::start("127.0.0.1:0".parse().unwrap(), cfg, demo_options())
        .await
        .unwrap()
}

/// Every row of the store in `data_dir` (a second connection to the file,
/// as another process would open it).
pub fn stored_rows(data_dir: &Path) -> Vec<Annotation> {
    SqliteAnnotations::open_in(data_dir)
        .unwrap()
        .overlapping(i64::MIN, i64::MAX)
        .unwrap()
}

pub fn note(id: &str, text: &str) -> Annotation {
    Annotation {
        id: id.into(),
        scope: [
            ("model".to_string(), "atlas-s".to_string()),
            ("hardware".to_string(), "tpu".to_string()),
        ]
        .into(),
        signal: Some("golden-qa".into()),
        from: ANCHOR - 30 * 60_000,
        to: None,
        state: AnnotationState::Suspected,
        text: text.into(),
        author: "oncall-1".into(),
        rev: None,
        created: None,
        updated: None,
    }
}

pub fn annotate_frame(a: &Annotation) -> Value {
    json!({"type": "annotate", "annotation": a})
}

pub fn fleet(labels: &[&str]) -> SharedFleet {
    SharedFleet::new(Fleet::with_sources(labels.iter().copied()))
}

/// A raw protocol 1 client, for frames the real client would never send.
pub struct Raw(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Raw {
    pub async fn connect(url: &str) -> Raw {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Raw(ws)
    }

    /// Connects, reads the hello, subscribes to one bucket and reads the
    /// snapshot; returns (hello, snapshot).
    pub async fn subscribed(url: &str) -> (Raw, Value, Value) {
        let mut raw = Raw::connect(url).await;
        let hello = raw.recv().await;
        assert_eq!(hello["type"], "hello");
        raw.send(json!({"type": "subscribe", "window_ms": 6 * 3_600_000}))
            .await;
        let snapshot = raw.next_of("snapshot").await;
        (raw, hello, snapshot)
    }

    pub async fn send(&mut self, v: Value) {
        self.0.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next text frame, which must decode as a server message.
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("no frame within the wait")
                .expect("stream ended")
                .expect("websocket error");
            if let Message::Text(text) = frame {
                assert!(
                    matches!(decode_server(text.as_str()), Ok(Some(_))),
                    "undecodable frame: {text}"
                );
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    /// The next frame of type `kind`, checking that every seq on the way
    /// rises by exactly one.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Frames until one of `kinds` arrives; also returns every seq seen.
    pub async fn until(&mut self, kinds: &[&str]) -> (Value, Vec<u64>) {
        let mut seqs = Vec::new();
        loop {
            let v = self.recv().await;
            if let Some(s) = v["seq"].as_u64()
                && v["type"] != "heartbeat"
            {
                seqs.push(s);
            }
            if kinds.iter().any(|k| v["type"] == *k) {
                return (v, seqs);
            }
        }
    }
}

/// Each seq is the one before plus one.
pub fn consecutive(seqs: &[u64]) -> bool {
    seqs.windows(2).all(|w| w[1] == w[0] + 1)
}

/// A qualtop client on some endpoints of `server`, with its outbox in `outbox`.
pub fn client(urls: &[String], outbox: &Path) -> (SharedFleet, Vec<FeedHandle>, AnnotationSync) {
    let labels: Vec<&str> = urls.iter().map(String::as_str).collect();
    let fleet = fleet(&labels);
    let configs = urls
        .iter()
        .map(|u| SourceConfig::new(u.clone(), u.clone()))
        .collect();
    let feeds = spawn_feeds(&fleet, configs, &super::fast_feed());
    let senders = feeds.iter().map(|f| (f.index(), f.sender())).collect();
    let sync = spawn_sync(
        fleet.clone(),
        Some(Outbox::open(outbox).unwrap()),
        None,
        senders,
    );
    (fleet, feeds, sync)
}
