//! Slowloris against the relay's server (the demo-server runs the same
//! accept loop): half-open TCP connections, half-done TLS handshakes, a
//! dribbled body and a silent WebSocket. Each meets a cap or a timeout, and
//! `/healthz` and a real client keep working. Caps are set small in the
//! config, so the test holds a few dozen descriptors, not thousands.

use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::protocol::Endpoint;
use qualtop::relay::{self, RunningRelay};
use support::relay::{config, next_json, next_of, ws_connect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

fn toml(extra: &str, limits: &str) -> String {
    format!(
        r#"
bucket = "1m"
history = "1h"
dimensions = ["model"]
{extra}
[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[limits]
{limits}
"#
    )
}

async fn start(limits: &str) -> RunningRelay {
    relay::start(config(&toml("", limits))).await.unwrap()
}

/// A TCP connection from another loopback address (all of 127/8 is local),
/// so that the per-address cap can tell the attacker from the rest.
async fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

/// Everything the server sends until it closes, or `None` if it does not
/// close within `within`.
async fn until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(within, s.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

/// A whole plain-HTTP GET from `ip`: the answer's text.
async fn get_from(ip: &str, to: SocketAddr, path: &str) -> String {
    let mut s = connect_from(ip, to).await;
    let req = format!("GET {path} HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    until_closed(&mut s, WAIT).await.expect("an answer")
}

/// A real client: upgrade, hello, subscribe, snapshot.
async fn real_client_works(relay: &RunningRelay) {
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), None).await.unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    assert!(next_of(&mut ws, "snapshot", WAIT).await.is_some());
}

#[tokio::test]
async fn half_open_connections_past_the_per_address_cap_get_503_while_healthz_and_clients_work_and_idle_ones_are_closed()
 {
    let relay =
        start("max_connections = 64\nmax_connections_per_ip = 8\nheader_timeout = \"1s\"").await;
    let addr = relay.local_addr();
    let opened = Instant::now();
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut s = connect_from("127.0.0.2", addr).await;
        // Headers begun, never finished: the classic slowloris request.
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: relay\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.2", addr).await;
        let answer = until_closed(&mut s, Duration::from_secs(3))
            .await
            .expect("a refusal at once, not a wait");
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(
            answer.contains("your address holds 8 connections"),
            "{answer}"
        );
    }
    let health = get_from("127.0.0.1", addr, "/healthz").await;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );
    real_client_works(&relay).await;

    for s in &mut held {
        assert!(
            until_closed(s, Duration::from_secs(5)).await.is_some(),
            "a half-open connection outlived the header timeout"
        );
    }
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
    // Their places are free again.
    let health = get_from("127.0.0.2", addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let page = get_from("127.0.0.1", addr, "/metrics.prom").await;
    assert!(
        page.contains("qualtop_relay_connections_refused_at_cap_total 4\n"),
        "{page}"
    );
    assert!(
        page.contains("qualtop_relay_connections_timed_out_total 8\n"),
        "{page}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn at_the_global_cap_new_connections_are_refused_until_the_timeout_frees_the_silent_ones() {
    let relay =
        start("max_connections = 12\nmax_connections_per_ip = 4\nheader_timeout = \"1s\"").await;
    let addr = relay.local_addr();
    let mut held = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        for _ in 0..4 {
            // Connected, silent.
            held.push(connect_from(ip, addr).await);
        }
    }
    let refused = get_from("127.0.0.1", addr, "/healthz").await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.contains("server at its cap of 12 connections"),
        "{refused}"
    );
    for s in &mut held {
        assert!(until_closed(s, Duration::from_secs(5)).await.is_some());
    }
    let health = get_from("127.0.0.1", addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    real_client_works(&relay).await;
    relay.shutdown().await;
}

#[tokio::test]
async fn a_dribbled_body_is_answered_408_after_the_body_timeout() {
    let relay = start("body_timeout = \"1s\"").await;
    let mut s = connect_from("127.0.0.1", relay.local_addr()).await;
    s.write_all(
        b"POST /v1/points HTTP/1.1\r\nhost: relay\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n{\"slice\":",
    )
    .await
    .unwrap();
    let began = Instant::now();
    let answer = until_closed(&mut s, Duration::from_secs(5))
        .await
        .expect("an answer within the body timeout");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received within 1s"), "{answer}");
    assert!(began.elapsed() >= Duration::from_millis(900));
    relay.shutdown().await;
}

#[tokio::test]
async fn a_websocket_that_never_asks_for_anything_is_closed_after_the_first_request_timeout() {
    let relay = start("first_request_timeout = \"1s\"").await;
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), None).await.unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a reason");
    assert_eq!(u16::from(frame.code), 1008);
    assert!(
        frame.reason.contains("no request within 1s"),
        "{}",
        frame.reason
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn half_done_tls_handshakes_meet_the_cap_and_the_handshake_timeout_while_https_healthz_works()
{
    qualtop::tls::install_crypto_provider();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let tmp = support::TempDir::new("relay-slowloris-tls");
    let (cert_path, key_path) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert_path.display(),
        key_path.display()
    );
    let limits = "max_connections_per_ip = 4\ntls_handshake_timeout = \"1s\"";
    let relay = relay::start(config(&toml(&tls, limits))).await.unwrap();
    let addr = relay.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.2", addr).await;
        // The first bytes of a ClientHello record, and nothing more.
        s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await.unwrap();
        held.push(s);
    }
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.2", addr).await;
        assert!(
            until_closed(&mut s, Duration::from_millis(500))
                .await
                .is_some(),
            "past the cap a TLS connection is closed at once"
        );
    }
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = https.get(relay.http_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    for s in &mut held {
        assert!(
            until_closed(s, Duration::from_secs(5)).await.is_some(),
            "a stalled handshake outlived its timeout"
        );
    }
    relay.shutdown().await;
}
