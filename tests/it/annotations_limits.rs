//! The annotation flood of issue #15, replayed over real loopback
//! WebSockets against a real SQLite file: many connections (and many peer
//! addresses: 127.0.0.x are all loopback) cannot store more than the per-peer
//! and server-wide budgets, open annotations are capped, a flooded store
//! still yields a bounded snapshot, stale edits are conflicts, and an admin
//! can purge.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use qualtop::annotations::{AnnotationStore, SqliteAnnotations};
use qualtop::demo;
use qualtop::protocol::Annotation;
use qualtop::server::{
    AnnotationHub, AnnotationLimits, AnnotationRate, RunningServer, ServerConfig,
};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::support::TempDir;
use crate::support::annotations::*;
use crate::support::wait::bounded;

type Peer = WebSocketStream<TcpStream>;

/// A WebSocket to `server` from the loopback address 127.0.0.`last`.
async fn connect_from(server: &RunningServer, last: u8) -> Peer {
    let url = server.url("/metrics");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a port in the url");
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)),
            0,
        ))
        .unwrap();
    let stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let (ws, _) = tokio_tungstenite::client_async(url.as_str(), stream)
        .await
        .unwrap();
    ws
}

async fn send(ws: &mut Peer, v: &Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next frame of one of `kinds`.
async fn next_of(ws: &mut Peer, kinds: &[&str]) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame within the wait")
            .expect("stream open")
            .expect("no websocket error");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if kinds.iter().any(|k| v["type"] == *k) {
                return v;
            }
        }
    }
}

/// Sends `n` new annotations from `ws` and counts (stored, refused by code).
async fn flood(ws: &mut Peer, tag: &str, n: usize) -> (usize, Vec<String>) {
    for i in 0..n {
        send(ws, &annotate_frame(&note(&format!("{tag}-{i}"), "flood"))).await;
    }
    let (mut stored, mut codes) = (0, Vec::new());
    for _ in 0..n {
        let v = next_of(ws, &["annotation", "error"]).await;
        if v["type"] == "annotation" {
            stored += 1;
        } else {
            codes.push(v["code"].as_str().unwrap_or("").to_owned());
        }
    }
    (stored, codes)
}

async fn start_with(data: &Path, limits: AnnotationLimits) -> RunningServer {
    let store = Arc::new(SqliteAnnotations::open_in(data).unwrap());
    let cfg = ServerConfig {
        annotations: Some(AnnotationHub::new(store, limits)),
        ..server_config(data)
    };
    demo::start("127.0.0.1:0".parse().unwrap(), cfg, demo_options())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_from_one_address_share_its_budget() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("flood-peer");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let per_peer = AnnotationLimits::default().per_peer;
        let mut conns = Vec::new();
        for _ in 0..20 {
            conns.push(connect_from(&server, 1).await);
        }
        let mut stored = 0;
        for (i, ws) in conns.iter_mut().enumerate() {
            let (ok, codes) = flood(ws, &format!("c{i}"), 5).await;
            stored += ok;
            assert!(codes.iter().all(|c| c == "rate_limited"), "{codes:?}");
        }
        // 100 sent; the burst of one address, plus at most a token or two of refill.
        let burst = per_peer.burst as usize;
        assert!(
            (burst..=burst + 2).contains(&stored),
            "stored {stored} of 100 from one address"
        );
        assert_eq!(stored_rows(data.path()).len(), stored);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_addresses_together_are_held_to_the_server_wide_budget() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("flood-global");
        let limits = AnnotationLimits {
            global: AnnotationRate {
                burst: 30,
                per_minute: 60,
            },
            ..AnnotationLimits::default()
        };
        let server = start_with(data.path(), limits).await;
        let mut stored = 0;
        let mut codes = Vec::new();
        // 20 addresses, each well inside its own budget of 20.
        for last in 2..22u8 {
            let mut ws = connect_from(&server, last).await;
            let (ok, c) = flood(&mut ws, &format!("p{last}"), 5).await;
            stored += ok;
            codes.extend(c);
        }
        assert!((30..=33).contains(&stored), "stored {stored} of 100");
        assert!(codes.iter().all(|c| c == "rate_limited"), "{codes:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_open_cap_a_new_open_annotation_is_refused_with_a_clear_error() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("open-cap");
        let limits = AnnotationLimits {
            max_open: 3,
            ..AnnotationLimits::default()
        };
        let server = start_with(data.path(), limits).await;
        let mut ws = connect_from(&server, 1).await;
        let (stored, codes) = flood(&mut ws, "cap", 5).await;
        assert_eq!(stored, 3);
        assert_eq!(codes, ["too_many_open", "too_many_open"]);
        send(&mut ws, &annotate_frame(&note("one-more", "x"))).await;
        let e = next_of(&mut ws, &["error"]).await;
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains("3 open annotations") && msg.contains("purge"),
            "{msg}"
        );
        assert_eq!(e["id"], "one-more");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_store_still_gives_a_bounded_snapshot_and_says_what_it_left_out() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("flooded-store");
        {
            // The store the adversarial run left behind: 3,000 open, 4 KB each.
            let store = SqliteAnnotations::open_in(data.path()).unwrap();
            let text = "x".repeat(4000);
            for i in 0..3_000 {
                store
                    .upsert(&note(&format!("f{i:04}"), &text), 1_000 + i)
                    .unwrap();
            }
        }
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let mut ws = connect_from(&server, 1).await;
        send(
            &mut ws,
            &json!({"type": "subscribe", "window_ms": 6 * 3_600_000}),
        )
        .await;
        let frame = loop {
            let f = tokio::time::timeout(WAIT, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(t) = f
                && t.as_str().contains("\"type\":\"snapshot\"")
            {
                break t.as_str().to_owned();
            }
        };
        let snap: Value = serde_json::from_str(&frame).unwrap();
        let held = snap["annotations"].as_array().unwrap();
        let limits = AnnotationLimits::default();
        assert!(!held.is_empty() && held.len() <= limits.snapshot_max);
        let annotation_bytes: usize = held.iter().map(|a| a.to_string().len()).sum();
        assert!(
            annotation_bytes <= limits.snapshot_max_bytes,
            "{annotation_bytes}"
        );
        assert!(
            held.iter().any(|a| a["id"] == "f2999"),
            "the most recently written are kept"
        );
        let notice = next_of(&mut ws, &["error"]).await;
        assert_eq!(notice["code"], "annotations_truncated");
        let left_out = 3_000 - held.len();
        assert!(
            notice["message"]
                .as_str()
                .unwrap()
                .starts_with(&left_out.to_string()),
            "{notice}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_edit_is_a_conflict_followed_by_the_stored_version() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("conflict");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let mut ws = connect_from(&server, 1).await;
        send(
            &mut ws,
            &json!({"type": "subscribe", "window_ms": 3_600_000}),
        )
        .await;
        next_of(&mut ws, &["snapshot"]).await;
        let v1 = note("c-1", "first");
        send(&mut ws, &annotate_frame(&v1)).await;
        assert_eq!(
            next_of(&mut ws, &["annotation"]).await["annotation"]["rev"],
            1
        );
        let edit = |text: &str, rev: Option<u64>| Annotation {
            text: text.into(),
            rev,
            ..v1.clone()
        };
        send(&mut ws, &annotate_frame(&edit("second", Some(1)))).await;
        assert_eq!(
            next_of(&mut ws, &["annotation"]).await["annotation"]["rev"],
            2
        );

        // An outbox replayed after an outage: the edit made on rev 1.
        send(&mut ws, &annotate_frame(&edit("replayed", Some(1)))).await;
        let e = next_of(&mut ws, &["error", "annotation"]).await;
        assert_eq!(
            (e["code"].as_str(), e["id"].as_str()),
            (Some("conflict"), Some("c-1")),
            "{e}"
        );
        let current = next_of(&mut ws, &["annotation", "error"]).await;
        assert_eq!(
            current["annotation"]["text"], "second",
            "the server's version follows"
        );
        assert_eq!(current["annotation"]["rev"], 2);

        // An old client's edit without a base rev: taken only for a new id.
        send(&mut ws, &annotate_frame(&edit("old client", None))).await;
        assert_eq!(
            next_of(&mut ws, &["error", "annotation"]).await["code"],
            "conflict"
        );
        let stored = SqliteAnnotations::open_in(data.path()).unwrap();
        let texts: Vec<String> = stored
            .history("c-1")
            .unwrap()
            .into_iter()
            .map(|r| r.annotation.text)
            .collect();
        assert_eq!(
            texts,
            ["first", "second"],
            "the history holds every version"
        );
    })
    .await;
}

#[test]
fn purge_deletes_a_flood_by_author_and_keeps_the_rest() {
    let data = TempDir::new("purge");
    {
        let store = SqliteAnnotations::open_in(data.path()).unwrap();
        store.upsert(&note("keep", "real incident"), 1).unwrap();
        for i in 0..50 {
            let mut a = note(&format!("junk-{i}"), "flood");
            a.author = "flooder".into();
            store.upsert(&a, 2).unwrap();
        }
    }
    let dir = data.path().to_str().unwrap();
    let refused = crate::support::qualtop_command("purge")
        .args(["annotations", "purge", "--data-dir", dir])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a purge without terms needs --all"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--all"));
    let out = crate::support::qualtop_command("purge")
        .args([
            "annotations",
            "purge",
            "--data-dir",
            dir,
            "--author",
            "flooder",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("purged 50 annotations"), "{stdout}");
    let left: Vec<String> = stored_rows(data.path()).into_iter().map(|a| a.id).collect();
    assert_eq!(left, ["keep"]);
}
