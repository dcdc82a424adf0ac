//! The demo-server's side of slowloris: the same accept loop as the relay
//! (see relay_slowloris.rs), here through `ServerConfig::limits` as
//! `qualtop demo-server` builds it.

use std::time::Duration;

use futures_util::StreamExt;
use qualtop::demo::{self, DemoOptions};
use qualtop::server::{ConnectionLimits, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

async fn connect_from(ip: &str, to: std::net::SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

async fn until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    tokio::time::timeout(within, s.read_to_end(&mut out))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn the_demo_server_refuses_past_the_per_address_cap_serves_healthz_and_clients_and_closes_idle_sockets()
 {
    let cfg = ServerConfig {
        limits: ConnectionLimits {
            max_connections_per_ip: 4,
            header_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
        ..ServerConfig::default()
    };
    let server = demo::start("127.0.0.1:0".parse().unwrap(), cfg, DemoOptions::default())
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.2", addr).await);
    }
    let mut extra = connect_from("127.0.0.2", addr).await;
    let refused = until_closed(&mut extra, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");

    let mut health = connect_from("127.0.0.1", addr).await;
    health
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut health, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"),
        "{answer}"
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(server.url("/evals"))
        .await
        .unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap();
    assert!(matches!(hello, Some(Ok(Message::Text(t))) if t.contains("\"hello\"")));

    for s in &mut held {
        assert!(
            until_closed(s, Duration::from_secs(5)).await.is_some(),
            "idle socket kept open"
        );
    }
    server.shutdown().await;
}
