//! What the feed knows about each backend, as plain data for the screens.

use crate::protocol::{Hello, Millis};
use crate::store::Drops;

/// The state of one backend connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    /// Dialling or waiting for hello/snapshot.
    Connecting,
    /// Snapshot taken, messages arriving.
    Live,
    /// Connected, but nothing heard for two heartbeat intervals.
    Stale,
    /// Lost; the next attempt is at `retry_at` (wall-clock ms).
    Disconnected { reason: String, retry_at: Millis },
    /// Will not be retried without a change (wrong protocol, 401, bad hello).
    /// The feed tries again only every `FeedOptions::failed_retry`, and the
    /// state stays `Failed` until a retry gets a good hello.
    Failed { reason: String },
}

impl ConnState {
    pub fn is_live(&self) -> bool {
        matches!(self, ConnState::Live)
    }
    pub fn is_failed(&self) -> bool {
        matches!(self, ConnState::Failed { .. })
    }
    /// A short word for tables and logs.
    pub fn word(&self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Live => "live",
            ConnState::Stale => "stale",
            ConnState::Disconnected { .. } => "disconnected",
            ConnState::Failed { .. } => "failed",
        }
    }
}

/// One backend as the screens see it.
#[derive(Debug, Clone)]
pub struct SourceStatus {
    /// What the user gave: a URL, or "demo".
    pub label: String,
    pub state: ConnState,
    pub hello: Option<Hello>,
    /// Wall-clock time of the last message received.
    pub last_message_at: Option<Millis>,
    /// Data time of the newest point received.
    pub newest_data: Option<Millis>,
    pub drops: Drops,
    /// Times the client resynchronised (gap in seq, new epoch, reconnect).
    pub resyncs: u64,
    /// Last error message sent by the server, if any.
    pub last_error: Option<String>,
    /// Snapshots applied since the feed started (0: no data from it yet).
    pub snapshots: u64,
    /// Connections that got as far as a good hello.
    pub connections: u64,
}

impl SourceStatus {
    pub fn new(label: impl Into<String>) -> Self {
        SourceStatus {
            label: label.into(),
            state: ConnState::Connecting,
            hello: None,
            last_message_at: None,
            newest_data: None,
            drops: Drops::default(),
            resyncs: 0,
            last_error: None,
            snapshots: 0,
            connections: 0,
        }
    }

    /// Whether a one-shot command has waited long enough for this source:
    /// it has data, or it will not get any soon.
    pub fn is_settled(&self) -> bool {
        match self.state {
            ConnState::Live | ConnState::Failed { .. } | ConnState::Disconnected { .. } => true,
            ConnState::Stale => self.snapshots > 0,
            ConnState::Connecting => false,
        }
    }
}
