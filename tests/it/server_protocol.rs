//! Protocol 1 over real loopback WebSockets against the demo backend, with a
//! fast clock (20 buckets per second) so live batches arrive quickly.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qualtop::demo::{self, DemoBackend, DemoOptions, Scenario, World};
use qualtop::protocol::{Millis, ServerMessage, decode_server};
use qualtop::server::{self, Authorize, RunningServer, ServerConfig, SharedToken};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// 2025-09-02 00:00 UTC.
const ANCHOR: Millis = 1_756_771_200_000;
const BUCKET: i64 = 60_000;
const HISTORY: i64 = 6 * 60 * BUCKET;
const WAIT: Duration = Duration::from_secs(10);

fn config(token: Option<&str>) -> ServerConfig {
    ServerConfig {
        authorize: token.map(|t| Arc::new(SharedToken::new(t)) as Arc<dyn Authorize>),
        heartbeat_interval: Duration::from_millis(300),
        ..ServerConfig::default()
    }
}

fn options() -> DemoOptions {
    DemoOptions {
        speed: 20.0,
        anchor_ms: Some(ANCHOR),
        ..DemoOptions::default()
    }
}

async fn start(token: Option<&str>) -> RunningServer {
    demo::start("127.0.0.1:0".parse().unwrap(), config(token), options())
        .await
        .unwrap()
}

async fn connect(
    server: &RunningServer,
    path: &str,
) -> WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.url(path)))
        .await
        .unwrap()
        .unwrap();
    ws
}

/// The next text frame, checked to decode as a protocol 1 server message.
async fn recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no frame within the wait")
            .expect("stream ended")
            .expect("websocket error");
        if let Message::Text(text) = frame {
            let decoded = decode_server(text.as_str());
            assert!(
                matches!(decoded, Ok(Some(_))),
                "undecodable frame: {decoded:?}"
            );
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// The next frame that is neither a heartbeat nor a change.
async fn recv_data<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Value {
    loop {
        let v = recv(ws).await;
        // The demo's background changes arrive about once a second at this
        // speed, between any two data messages.
        if v["type"] != "heartbeat" && v["type"] != "change" {
            return v;
        }
    }
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

fn subscribe(window_ms: i64) -> Value {
    json!({"type": "subscribe", "window_ms": window_ms})
}

fn world() -> World {
    World::new(Scenario::builtin().unwrap(), 2025, ANCHOR)
}

#[tokio::test]
async fn hello_then_snapshot_then_batches_with_seq_rising_by_one() {
    let server = start(None).await;
    let mut ws = connect(&server, "/evals").await;

    let hello_frame = recv(&mut ws).await;
    let text = hello_frame.to_string();
    let Ok(Some(ServerMessage::Hello(hello))) = decode_server(&text) else {
        panic!("first frame is not hello: {text}");
    };
    assert_eq!(hello.protocol, 1);
    assert_eq!(
        hello.dimensions,
        ["model", "platform", "region", "hardware"]
    );
    let names: Vec<&str> = hello.signals.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "golden-qa",
            "code-syntax",
            "language-consistency",
            "user-feedback"
        ]
    );
    assert_eq!((hello.bucket_ms, hello.history_ms), (BUCKET, HISTORY));
    assert!(hello.now >= ANCHOR);

    send(&mut ws, subscribe(HISTORY)).await;
    let snapshot = recv_data(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["seq"], 1);
    let series = snapshot["series"].as_array().unwrap();
    assert_eq!(series.len(), world().leaves().len() * 4);
    let start = series[0]["start"].as_i64().unwrap();
    for s in series {
        assert_eq!(s["start"], start);
        let total = s["total"].as_array().unwrap();
        assert_eq!(total.len(), 360, "six hours of minute buckets");
        // Every bucket present (small slices may have no rated answers in a minute).
        assert!(total.iter().all(|t| t.as_u64().is_some()), "{s}");
    }
    let last_held = start + 359 * BUCKET;

    let mut seq = 1;
    let mut expected_ts = last_held + BUCKET;
    for _ in 0..3 {
        let batch = recv(&mut ws).await;
        if batch["type"] == "heartbeat" {
            assert_eq!(batch["seq"], seq, "heartbeat carries the last seq");
            continue;
        }
        if batch["type"] == "change" {
            // The demo's background churn: a change takes the next seq.
            seq += 1;
            assert_eq!(batch["seq"], seq);
            continue;
        }
        assert_eq!(batch["type"], "batch");
        seq += 1;
        assert_eq!(batch["seq"], seq);
        let points = batch["points"].as_array().unwrap();
        assert_eq!(points.len(), world().leaves().len() * 4);
        assert!(
            points.iter().all(|p| p["ts"] == expected_ts),
            "batches follow the snapshot without a gap"
        );
        expected_ts += BUCKET;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn filter_is_applied_server_side_to_snapshot_and_batches() {
    let server = start(None).await;
    let mut ws = connect(&server, "/evals").await;
    recv(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "window_ms": 10 * BUCKET,
               "filter": {"model": ["atlas-s"], "hardware": ["tpu"]}}),
    )
    .await;
    let w = world();
    let expected = w
        .leaves()
        .iter()
        .filter(|l| l.model == "atlas-s" && l.hardware == "tpu")
        .count();
    assert!(expected > 0);

    let snapshot = recv_data(&mut ws).await;
    let series = snapshot["series"].as_array().unwrap();
    let slices: BTreeSet<String> = series.iter().map(|s| s["slice"].to_string()).collect();
    assert_eq!(slices.len(), expected);
    for s in series {
        assert_eq!(s["slice"]["model"], "atlas-s");
        assert_eq!(s["slice"]["hardware"], "tpu");
        assert_eq!(
            s["good"].as_array().unwrap().len(),
            10,
            "window of ten buckets"
        );
    }
    let batch = recv_data(&mut ws).await;
    assert_eq!(batch["type"], "batch");
    let points = batch["points"].as_array().unwrap();
    assert_eq!(points.len(), expected * 4);
    assert!(
        points
            .iter()
            .all(|p| p["slice"]["model"] == "atlas-s" && p["slice"]["hardware"] == "tpu")
    );
}

#[tokio::test]
async fn heartbeat_arrives_before_and_after_subscribing_with_the_last_seq() {
    let server = start(None).await;
    let mut ws = connect(&server, "/metrics").await;
    recv(&mut ws).await;
    let beat = recv(&mut ws).await;
    assert_eq!(beat["type"], "heartbeat");
    assert_eq!(beat["seq"], 0);
    assert!(beat["now"].as_i64().unwrap() >= ANCHOR);

    send(&mut ws, subscribe(BUCKET)).await;
    let mut last_seq = 0;
    loop {
        let v = recv(&mut ws).await;
        if v["type"] == "heartbeat" {
            if last_seq > 0 {
                assert_eq!(v["seq"], last_seq);
                break;
            }
        } else {
            last_seq = v["seq"].as_u64().unwrap();
        }
    }
}

#[tokio::test]
async fn bad_requests_get_an_error_and_the_connection_carries_on() {
    let server = start(None).await;
    let mut ws = connect(&server, "/metrics").await;
    recv(&mut ws).await;

    for bad in [
        json!({"type": "subscribe", "window_ms": "soon"}),
        json!({"type": "subscribe", "window_ms": 0}),
        json!({"no_type": true}),
    ] {
        send(&mut ws, bad.clone()).await;
        let error = recv_data(&mut ws).await;
        assert_eq!(error["type"], "error", "for {bad}");
        assert_eq!(error["code"], "bad_request");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    ws.send(Message::text("not json at all")).await.unwrap();
    assert_eq!(recv_data(&mut ws).await["code"], "bad_request");

    // Unknown types and unknown fields are ignored, not errors.
    send(&mut ws, json!({"type": "mystery", "x": 1})).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "window_ms": BUCKET, "color": "blue"}),
    )
    .await;
    let snapshot = recv_data(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["seq"], 1, "errors do not use up seq numbers");
}

#[tokio::test]
async fn annotate_is_refused_as_unsupported_naming_the_annotation() {
    let server = start(None).await;
    let mut ws = connect(&server, "/evals").await;
    let hello = recv(&mut ws).await;
    assert!(
        !hello["features"]
            .as_array()
            .unwrap()
            .contains(&json!("annotations")),
        "annotations are not advertised until they are stored"
    );
    send(
        &mut ws,
        json!({"type": "annotate", "annotation": {
            "id": "a-1", "scope": {"model": "atlas-s"}, "from": ANCHOR,
            "state": "suspected", "text": "looks off", "author": "oncall"}}),
    )
    .await;
    let error = recv_data(&mut ws).await;
    assert_eq!(error["code"], "unsupported");
    assert_eq!(error["id"], "a-1");
}

#[tokio::test]
async fn upgrade_without_the_configured_token_gets_401() {
    let server = start(Some("s3cret")).await;
    for auth in [None, Some("Bearer wrong"), Some("Basic s3cret")] {
        let mut request = server.url("/metrics").into_client_request().unwrap();
        if let Some(a) = auth {
            request
                .headers_mut()
                .insert("authorization", a.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401, "{auth:?}"),
            other => panic!("expected 401 for {auth:?}, got {:?}", other.map(|_| ())),
        }
    }
    let mut request = server.url("/metrics").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(recv(&mut ws).await["type"], "hello");
}

#[tokio::test]
async fn two_clients_receive_identical_batches() {
    let server = start(None).await;
    let mut a = connect(&server, "/metrics").await;
    let mut b = connect(&server, "/metrics").await;
    for ws in [&mut a, &mut b] {
        recv(ws).await;
        send(ws, subscribe(BUCKET)).await;
        assert_eq!(recv_data(ws).await["type"], "snapshot");
    }
    let batch_b = recv_data(&mut b).await;
    let ts = batch_b["points"][0]["ts"].clone();
    // `a` subscribed first, so it has every bucket `b` has.
    let batch_a = loop {
        let v = recv_data(&mut a).await;
        if v["points"][0]["ts"] == ts {
            break v;
        }
    };
    assert_eq!(batch_a["points"], batch_b["points"]);
    assert!(!batch_a["points"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_new_subscribe_gets_a_fresh_snapshot_and_seq_keeps_rising() {
    let server = start(None).await;
    let mut ws = connect(&server, "/metrics").await;
    recv(&mut ws).await;
    send(&mut ws, subscribe(BUCKET)).await;
    assert_eq!(recv_data(&mut ws).await["seq"], 1);
    assert_eq!(recv_data(&mut ws).await["seq"], 2);

    send(
        &mut ws,
        json!({"type": "subscribe", "window_ms": 5 * BUCKET, "filter": {"model": ["atlas-xl"]}}),
    )
    .await;
    let mut seq = 2;
    // Batches already on their way may come first; then the snapshot.
    loop {
        let v = recv_data(&mut ws).await;
        seq += 1;
        assert_eq!(v["seq"], seq);
        if v["type"] == "snapshot" {
            assert!(
                v["series"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["slice"]["model"] == "atlas-xl")
            );
            break;
        }
    }
    let batch = recv_data(&mut ws).await;
    assert_eq!(batch["seq"], seq + 1);
    let points = batch["points"].as_array().unwrap();
    assert!(!points.is_empty());
    assert!(points.iter().all(|p| p["slice"]["model"] == "atlas-xl"));
}

#[tokio::test]
async fn client_that_stops_reading_is_disconnected_instead_of_buffered() {
    let opts = DemoOptions {
        speed: 100.0,
        backlog: 4,
        ..options()
    };
    let backend = DemoBackend::build(opts).await.unwrap();
    let cfg = ServerConfig {
        send_timeout: Duration::from_millis(500),
        ..config(None)
    };
    let server = server::bind("127.0.0.1:0".parse().unwrap(), cfg, backend.endpoints())
        .await
        .unwrap();
    // A tiny receive window, so the server's writes back up quickly.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.local_addr()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(server.url("/metrics"), stream)
        .await
        .unwrap();
    recv(&mut ws).await;
    send(&mut ws, subscribe(HISTORY)).await;
    let subscribed = tokio::time::timeout(WAIT, async {
        while backend.metrics.hub().receivers() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(subscribed.is_ok(), "the server never took the subscription");

    tokio::time::sleep(Duration::from_secs(2)).await;
    // Meanwhile ~200 buckets were published; the client gets far fewer, then the end.
    let mut batches = 0;
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    match v["type"].as_str() {
                        Some("batch") => batches += 1,
                        Some("error") => assert_eq!(v["code"], "too_slow"),
                        _ => {}
                    }
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "connection still open");
    assert!(
        batches < 100,
        "{batches} batches buffered for a stalled client"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        backend.metrics.hub().receivers(),
        0,
        "subscription released"
    );
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    let server = start(None).await;
    let mut ws = connect(&server, "/metrics").await;
    recv(&mut ws).await;
    server.shutdown().await;
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(close, Some(1001));
}

#[tokio::test]
async fn healthz_answers_ok_without_a_token() {
    let server = start(Some("s3cret")).await;
    let mut tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok\n"), "{response}");
}

#[tokio::test]
async fn request_over_the_size_limit_ends_the_connection() {
    let server = start(None).await;
    let mut ws = connect(&server, "/metrics").await;
    recv(&mut ws).await;
    let padding = "x".repeat(server::MAX_REQUEST_BYTES + 1);
    // Sending may fail half-way once the server hangs up; what matters is the end.
    let _ = ws
        .send(Message::text(format!(
            r#"{{"type":"subscribe","window_ms":60000,"pad":"{padding}"}}"#
        )))
        .await;
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    assert_ne!(v["type"], "snapshot", "oversized subscribe was served");
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "connection still open");
}
