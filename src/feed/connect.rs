//! Dialling one backend: the upgrade request (with its bearer token), the
//! frame limits, TLS, and which failures are worth retrying.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};

use super::config::SourceConfig;
use crate::protocol::{MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection ended or never started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Worth retrying soon: network, server restart, silence.
    Lost(String),
    /// Retrying will not help until something changes: token, URL, protocol.
    Failed(String),
}

pub use crate::tls::install_crypto_provider;

/// Most bytes waiting to be sent to a backend. Pongs queue here when a
/// backend pings and never reads; past it tungstenite keeps one pong, not
/// all (a hostile ping flood grew this without limit).
pub const MAX_WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Frame and message limits of protocol 1: a bigger frame closes the
/// connection instead of growing a buffer without bound; so does the
/// outgoing queue, at [`MAX_WRITE_BUFFER_BYTES`].
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
}

/// The upgrade request for a source, with its bearer token if any.
pub fn upgrade_request(cfg: &SourceConfig) -> Result<Request, Ending> {
    let mut request = cfg
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| Ending::Failed(format!("invalid URL {:?}: {e}", cfg.url)))?;
    if let Some(token) = &cfg.token {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Ending::Failed("the bearer token holds characters not allowed in a header".into())
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    Ok(request)
}

/// Connects and upgrades, within `timeout`.
pub async fn open(cfg: &SourceConfig, timeout: Duration) -> Result<WsStream, Ending> {
    install_crypto_provider();
    let request = upgrade_request(cfg)?;
    // wss://: bundled + system roots + the source's CA files.
    let connector = if cfg.url.starts_with("wss://") {
        let tls = crate::tls::client_config(&cfg.ca_files).map_err(Ending::Failed)?;
        Some(Connector::Rustls(tls))
    } else {
        None
    };
    let connecting =
        connect_async_tls_with_config(request, Some(websocket_config()), true, connector);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(Ending::Lost(format!(
            "no WebSocket upgrade within {} ms",
            timeout.as_millis()
        ))),
        // A refused certificate stays refused until the trust changes.
        Ok(Err(e)) => Err(match crate::tls::rustls_error(&e) {
            Some(tls) => Ending::Failed(crate::tls::certificate_message(
                &cfg.url,
                tls,
                &cfg.ca_files,
            )),
            None => classify_connect_error(e),
        }),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Sorts a dialling error into retry-soon or give-up.
pub fn classify_connect_error(e: WsError) -> Ending {
    match e {
        WsError::Http(response) => {
            let status = response.status();
            match status {
                StatusCode::UNAUTHORIZED => Ending::Failed(
                    "backend refused the token (HTTP 401): check the token variable".into(),
                ),
                StatusCode::FORBIDDEN => {
                    Ending::Failed("backend refused access (HTTP 403): check the token".into())
                }
                _ => Ending::Lost(format!("backend answered the upgrade with HTTP {status}")),
            }
        }
        WsError::Url(e) => Ending::Failed(format!("cannot use this URL: {e}")),
        WsError::HttpFormat(e) => Ending::Failed(format!("cannot build the upgrade request: {e}")),
        other => Ending::Lost(describe(&other)),
    }
}

/// One sentence for an error on an open connection.
pub fn describe(e: &WsError) -> String {
    match e {
        WsError::Capacity(c) => format!("frame over the size limit ({c})"),
        WsError::Io(io) => format!("network error: {io}"),
        WsError::Tls(t) => format!("TLS error: {t}"),
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".into(),
        WsError::Protocol(p) => format!("WebSocket protocol error: {p}"),
        other => other.to_string(),
    }
}

/// Whether the error is the frame/message size limit.
pub fn is_oversize(e: &WsError) -> bool {
    matches!(
        e,
        WsError::Capacity(tungstenite::error::CapacityError::MessageTooLong { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_goes_into_the_upgrade_request() {
        let cfg = SourceConfig::new("m", "ws://127.0.0.1:1/").with_token(Some("s3cret".into()));
        let request = upgrade_request(&cfg).unwrap();
        let auth = request.headers().get(header::AUTHORIZATION).unwrap();
        assert_eq!(auth.to_str().unwrap(), "Bearer s3cret");
        assert!(auth.is_sensitive());
    }

    #[test]
    fn no_token_means_no_authorization_header() {
        let request = upgrade_request(&SourceConfig::new("m", "ws://127.0.0.1:1/")).unwrap();
        assert!(request.headers().get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn bad_url_and_bad_token_fail_without_retry() {
        let bad_url = SourceConfig::new("m", "http://[::1");
        assert!(matches!(upgrade_request(&bad_url), Err(Ending::Failed(_))));
        let bad_token = SourceConfig::new("m", "ws://127.0.0.1:1/").with_token(Some("a\nb".into()));
        assert!(matches!(
            upgrade_request(&bad_token),
            Err(Ending::Failed(_))
        ));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let cfg = SourceConfig::new("m", "ws://h/").with_token(Some("s3cret".into()));
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn limits_follow_the_protocol_constants() {
        let c = websocket_config();
        assert_eq!(c.max_frame_size, Some(MAX_FRAME_BYTES));
        assert_eq!(c.max_message_size, Some(MAX_MESSAGE_BYTES));
        assert_eq!(c.max_write_buffer_size, MAX_WRITE_BUFFER_BYTES);
        assert!(
            c.max_write_buffer_size > c.write_buffer_size,
            "tungstenite panics otherwise"
        );
    }
}
