//! What the caller tells the feed: which backends, and how patient to be.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::protocol::Millis;

/// One backend to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// Shown on screen (a URL, or "demo").
    pub label: String,
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` on the upgrade request.
    pub token: Option<String>,
    /// PEM bundles trusted for `wss://` besides the bundled and system roots.
    pub ca_files: Vec<std::path::PathBuf>,
}

impl SourceConfig {
    pub fn new(label: impl Into<String>, url: impl Into<String>) -> Self {
        SourceConfig {
            label: label.into(),
            url: url.into(),
            token: None,
            ca_files: Vec::new(),
        }
    }
    pub fn with_ca_files(mut self, ca_files: Vec<std::path::PathBuf>) -> Self {
        self.ca_files = ca_files;
        self
    }
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }
}

// The token must never reach a log file.
impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
            .field("label", &self.label)
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_files", &self.ca_files)
            .finish()
    }
}

/// How the feed subscribes, and its timers. `Default` is what production uses;
/// tests shorten the timers.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedOptions {
    /// History to ask for; never more than the backend's `history_ms`.
    pub window_ms: Option<Millis>,
    /// dimension → accepted values, sent in `subscribe`.
    pub filter: BTreeMap<String, Vec<String>>,
    /// Ceiling of the first reconnect delay; doubles per failed attempt.
    pub backoff_min: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// A connection live this long resets the backoff.
    pub healthy_after: Duration,
    /// Silence after which a connected source shows as stale (2 heartbeats).
    pub stale_after: Duration,
    /// Silence after which the connection is dropped and redialled: a
    /// half-open TCP connection would otherwise look stale forever.
    pub dead_after: Duration,
    /// Bound on TCP connect + TLS + WebSocket upgrade.
    pub connect_timeout: Duration,
    /// How long a failed source (bad token, wrong protocol, bad hello) waits
    /// before trying again; `None` ends its task for good.
    pub failed_retry: Option<Duration>,
    /// How long a snapshot in parts may wait for its next part before it is
    /// given up and the client subscribes again.
    pub snapshot_part_timeout: Duration,
    /// A backend with `rollups` whose snapshot declares more leaves than
    /// this is read in scale mode (0: never); see `feed::view`.
    pub scale_leaves: u64,
}

/// Protocol 1 promises a heartbeat at least this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            window_ms: None,
            filter: BTreeMap::new(),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(10),
            stale_after: 2 * HEARTBEAT_INTERVAL,
            dead_after: 6 * HEARTBEAT_INTERVAL,
            connect_timeout: Duration::from_secs(10),
            failed_retry: Some(Duration::from_secs(60)),
            snapshot_part_timeout: super::parts::SNAPSHOT_PART_TIMEOUT,
            scale_leaves: super::view::DEFAULT_SCALE_LEAVES,
        }
    }
}
