//! Helpers for the relay tests: a relay in-process on 127.0.0.1:0, a real
//! feed client on it, raw WebSocket and HTTP clients, and readers of what
//! the client holds.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use qualtop::feed::{FeedHandle, FeedOptions, Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::{Millis, ServerMessage, decode_server};
use qualtop::relay::config::RelayConfig;
use qualtop::store::Ratio;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Feed timers for in-process clients: reconnects in milliseconds, no
/// give-up pause, so that tests see reconnects without waiting.
pub fn fast_feed() -> FeedOptions {
    FeedOptions {
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        healthy_after: Duration::from_millis(50),
        failed_retry: None,
        ..FeedOptions::default()
    }
}

/// Tokens the test configs name by environment variable.
pub fn token_env(name: &str) -> Option<String> {
    match name {
        "T_ONCALL" => Some("oncall-secret".into()),
        "T_VIEWER" => Some("viewer-secret".into()),
        "T_EVALS" => Some("evals-secret".into()),
        "T_OTHER" => Some("other-secret".into()),
        "T_ADMIN" => Some("admin-secret".into()),
        _ => None,
    }
}

/// Parses a relay.toml text and points it at an ephemeral loopback port.
pub fn config(text: &str) -> RelayConfig {
    let mut cfg = RelayConfig::parse(text, Path::new("relay.toml"), &token_env)
        .unwrap_or_else(|e| panic!("test config: {e}"));
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    if cfg.data_dir.is_none() {
        // Each relay its own annotation store, never the user's data directory.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cfg.data_dir = Some(
            std::env::temp_dir().join(format!("qualtop-relay-test-{}-{n}", std::process::id())),
        );
    }
    cfg
}

/// qualtop's own feed, connected to `url`.
pub fn client(url: &str, token: Option<&str>) -> (SharedFleet, FeedHandle) {
    let fleet = SharedFleet::new(Fleet::with_sources([url]));
    let cfg = SourceConfig::new(url, url).with_token(token.map(str::to_owned));
    let handle = spawn_feed(fleet.clone(), 0, cfg, fast_feed());
    (fleet, handle)
}

/// The ratio the client holds for `signal` on the slice with these pairs
/// (in the relay's dimension order) for the bucket starting at `ts`.
pub fn ratio_at(
    fleet: &SharedFleet,
    signal: &str,
    pairs: &[(&str, &str)],
    ts: Millis,
) -> Option<Ratio> {
    fleet.read(|f| {
        let store = &f.store;
        let sig = store.signal_by_name(signal)?;
        let slices = store.slices();
        let id = slices
            .ids()
            .find(|&id| slices.pairs(id).eq(pairs.iter().copied()))?;
        store.ratio(sig, id, store.bucket_of(ts))
    })
}

pub fn gauge_at(
    fleet: &SharedFleet,
    signal: &str,
    pairs: &[(&str, &str)],
    ts: Millis,
) -> Option<f64> {
    fleet.read(|f| {
        let store = &f.store;
        let sig = store.signal_by_name(signal)?;
        let slices = store.slices();
        let id = slices
            .ids()
            .find(|&id| slices.pairs(id).eq(pairs.iter().copied()))?;
        store.gauge(sig, id, store.bucket_of(ts))
    })
}

pub fn last_error(fleet: &SharedFleet) -> Option<String> {
    fleet.read(|f| f.sources.first().and_then(|s| s.last_error.clone()))
}

pub fn is_live(fleet: &SharedFleet) -> bool {
    fleet.read(|f| f.sources.first().is_some_and(|s| s.state.is_live()))
}

/// A raw WebSocket upgrade; `Err(status)` when the server refused it.
pub async fn ws_connect(url: &str, token: Option<&str>) -> Result<Ws, u16> {
    let mut req = url.into_client_request().unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("upgrade timed out")
    {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

/// The next text frame as JSON (checked to decode as a protocol 1 message).
pub async fn next_json(ws: &mut Ws, within: Duration) -> Option<serde_json::Value> {
    loop {
        let frame = tokio::time::timeout(within, ws.next()).await.ok()??.ok()?;
        match frame {
            Message::Text(text) => {
                assert!(
                    matches!(
                        decode_server(text.as_str()),
                        Ok(Some(ServerMessage::Hello(_) | _))
                    ),
                    "undecodable frame: {text}"
                );
                return serde_json::from_str(text.as_str()).ok();
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// The next frame of `kind` (skipping others), within the wait.
pub async fn next_of(ws: &mut Ws, kind: &str, within: Duration) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = next_json(ws, left).await?;
        if v["type"] == kind {
            return Some(v);
        }
    }
}

/// POSTs `body` with an optional bearer token; (status, body).
pub async fn post(url: &str, token: Option<&str>, body: String) -> (u16, String) {
    qualtop::tls::install_crypto_provider();
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}
