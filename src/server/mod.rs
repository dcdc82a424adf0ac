//! The protocol 1 server: WebSocket endpoints that each serve one
//! [`FleetSource`], plus `GET /healthz`. The demo world is one source; a relay
//! over another monitoring system would be another.
//!
//! ```text
//! source ──publish──▶ Hub (window + broadcast) ──▶ one task per connection ──▶ client
//! annotate ──▶ AnnotationHub (validate, rate, store, relay) ──▶ every connection ──▶ client
//! change ──▶ ChangeHub (validate, store, relay) ──▶ every connection ──▶ client
//! ```
//!
//! Annotations are on when [`ServerConfig::annotations`] holds a hub; the
//! hello then lists the `annotations` feature, whatever the source says.

mod annotations;
mod auth;
mod cell;
mod changes;
mod connection;
pub mod detection;
mod findings_wire;
mod http;
mod hub;
mod hub_source;
mod limits;
mod listen;
mod rollup;
mod source;
mod stats;
mod tls;

pub use annotations::{
    ANNOTATIONS_FEATURE, AnnotationHub, AnnotationLimits, AnnotationRate, Refusal, Writer,
    hello_features,
};
pub use auth::{Authorize, Denied, Principal, SharedToken, bearer_token};
pub use changes::{ChangeHub, ChangeStore, MAX_SNAPSHOT_CHANGES, MemoryChanges, PublishError};
pub use connection::with_slices;
pub use hub::{Hub, HubLimits, SliceRefused};
pub use hub_source::{DataClock, HubSource, WallClock};
pub use limits::{AtCap, ConnectionLimits};
pub use listen::{BodyTimeout, is_body_timeout};
pub use rollup::{ROLLUPS_FEATURE, check_group_by};
pub use source::{FindingsFrames, FleetSource, Subscription, Update, UpdatePoint, Window};
pub use stats::{ServerCounts, ServerStats};
pub use tls::server_config as tls_server_config;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest request a client may send: subscribes and annotations are small.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How the server treats its clients.
#[derive(Clone)]
pub struct ServerConfig {
    /// Time between heartbeats (protocol 1 asks for at most 5 s).
    pub heartbeat_interval: Duration,
    /// A client that takes longer than this to accept one frame is dropped.
    pub send_timeout: Duration,
    /// Largest frame or message accepted from a client.
    pub max_request_bytes: usize,
    /// Where annotations are stored and relayed; `None`: `annotate` is
    /// answered `unsupported`. Share one hub between every server of a room.
    pub annotations: Option<Arc<AnnotationHub>>,
    /// Decides on each upgrade ([`SharedToken`] for one secret, the relay's
    /// token table for roles); `None`: everyone is admitted.
    pub authorize: Option<Arc<dyn Authorize>>,
    /// Counters of connections and frames, shared by every connection.
    pub stats: Arc<ServerStats>,
    /// A connection that subscribes more often than this is closed: each
    /// subscribe costs a snapshot.
    pub max_subscribes_per_minute: u32,
    /// Connection caps and the timeout of each stage of a connection.
    pub limits: ConnectionLimits,
    /// Size each snapshot part aims at, for clients that read parts.
    pub snapshot_part_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat_interval: Duration::from_secs(2),
            send_timeout: Duration::from_secs(10),
            max_request_bytes: MAX_REQUEST_BYTES,
            annotations: None,
            authorize: None,
            stats: Arc::default(),
            max_subscribes_per_minute: 60,
            limits: ConnectionLimits::default(),
            snapshot_part_bytes: crate::protocol::SNAPSHOT_PART_TARGET_BYTES,
        }
    }
}

impl fmt::Debug for ServerConfig {
    // By hand, so that the token never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("send_timeout", &self.send_timeout)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("annotations", &self.annotations)
            .field("authorize", &self.authorize.as_ref().map(|_| "<hook>"))
            .field("max_subscribes_per_minute", &self.max_subscribes_per_minute)
            .field("limits", &self.limits)
            .field("snapshot_part_bytes", &self.snapshot_part_bytes)
            .finish()
    }
}

/// A WebSocket path and the source it serves.
#[derive(Clone)]
pub struct Mount {
    /// e.g. `/metrics`.
    pub path: String,
    pub source: Arc<dyn FleetSource>,
}

impl fmt::Debug for Mount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mount").field("path", &self.path).finish()
    }
}

/// A server running in the background. Dropping it stops it too.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://ADDR{path}` (`wss://` with TLS), e.g. `server.url("/metrics")`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.local_addr, path)
    }

    /// `http://ADDR{path}` (`https://` with TLS), for the plain HTTP routes.
    pub fn http_url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.local_addr, path)
    }

    /// Closes every connection (close code 1001) and stops listening; waits up
    /// to five seconds before giving up on stragglers.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Stops at once without waiting.
    pub fn abort(&self) {
        let _ = self.stop.send(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.abort();
    }
}

/// What a server may carry besides its WebSocket endpoints.
#[derive(Default)]
pub struct Extras {
    /// Plain HTTP routes merged in (paths must not clash with the endpoints
    /// or `/healthz`).
    pub routes: axum::Router,
    /// Serve `wss://` and `https://` with this config (see [`tls_server_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Listens on `addr` and serves each endpoint in the background.
pub async fn bind(
    addr: SocketAddr,
    cfg: ServerConfig,
    endpoints: Vec<Mount>,
) -> anyhow::Result<RunningServer> {
    bind_with(addr, cfg, endpoints, Extras::default()).await
}

/// [`bind`], plus extra HTTP routes and TLS.
pub async fn bind_with(
    addr: SocketAddr,
    cfg: ServerConfig,
    endpoints: Vec<Mount>,
    extras: Extras,
) -> anyhow::Result<RunningServer> {
    for (i, e) in endpoints.iter().enumerate() {
        if !e.path.starts_with('/') || e.path == http::HEALTH_PATH {
            anyhow::bail!(
                "endpoint path {:?} must start with / and not be {}",
                e.path,
                http::HEALTH_PATH
            );
        }
        if endpoints[..i].iter().any(|o| o.path == e.path) {
            anyhow::bail!("endpoint path {:?} given twice", e.path);
        }
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local_addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let (stop, stop_rx) = watch::channel(false);
    let limits = cfg.limits.fitted_to_fd_limit();
    let stats = Arc::clone(&cfg.stats);
    let app = http::router(Arc::new(cfg), endpoints, stop_rx.clone()).merge(extras.routes);
    let tls = extras.tls.is_some();
    let listen = listen::Listen {
        listener,
        tls: extras.tls.map(tokio_rustls::TlsAcceptor::from),
        app,
        limits,
        stats,
    };
    let task = tokio::spawn(listen::serve(listen, stop_rx));
    tracing::info!(%local_addr, tls, "protocol server listening");
    Ok(RunningServer {
        local_addr,
        tls,
        stop,
        task: Some(task),
    })
}
