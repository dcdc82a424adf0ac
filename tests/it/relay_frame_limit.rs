//! A frame over the size limit is answered with WebSocket close 1009 and a
//! reason, by the relay (a client's frame over `max_frame_bytes`) and by
//! qualtop's client (a backend's frame over the protocol's limit).

use crate::support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::Endpoint;
use qualtop::protocol::MAX_FRAME_BYTES;
use qualtop::relay;
use support::fast_feed;
use support::relay::{config, next_json, relay_toml, ws_connect};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const WAIT: Duration = Duration::from_secs(10);

/// The close frame the peer sends (reading past anything else), with its code.
async fn close_frame<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> CloseFrame
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("no close frame, but {e}"),
                None => panic!("no close frame before the end"),
            }
        }
    })
    .await
    .expect("no close within the wait")
    .expect("a close frame with a code")
}

#[tokio::test]
async fn the_relay_closes_with_1009_and_a_reason_on_a_frame_over_its_limit() {
    let relay = relay::start(config(&relay_toml(
        &["model"],
        "[limits]\nmax_frame_bytes = 1024\n",
    )))
    .await
    .unwrap();
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), None).await.unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    let _ = ws
        .send(Message::text(format!(
            r#"{{"type":"subscribe","pad":"{}"}}"#,
            "x".repeat(4096)
        )))
        .await;
    let close = close_frame(&mut ws).await;
    assert_eq!(close.code, CloseCode::Size);
    assert_eq!(close.reason.as_str(), "frame over 1024 bytes");
    relay.shutdown().await;
}

#[tokio::test]
async fn the_client_closes_with_1009_and_a_reason_on_a_frame_over_the_protocol_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let fleet = SharedFleet::new(Fleet::with_sources([url.as_str()]));
    let _feed = spawn_feed(fleet, 0, SourceConfig::new(&url, &url), fast_feed());
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    // The client may hang up before the whole frame is written.
    let _ = ws
        .send(Message::text("x".repeat(MAX_FRAME_BYTES + 1)))
        .await;
    let close = close_frame(&mut ws).await;
    assert_eq!(close.code, CloseCode::Size);
    assert!(
        close.reason.as_str().starts_with("frame over "),
        "{}",
        close.reason
    );
}
