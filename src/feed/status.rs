//! What the feed knows about each backend, as plain data for the screens.

use crate::protocol::{Hello, Millis};
use crate::store::Drops;

/// The state of one backend connection.
/// Data at most this many buckets behind its backend's clock is fresh: a
/// steady feed's newest bucket completes one bucket after it starts.
pub const FRESH_BUCKETS: Millis = 2;

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
    /// The backend's own clock (data time), as its last hello, snapshot or
    /// heartbeat said, and the wall-clock time it said so.
    pub backend_now: Option<(Millis, Millis)>,
    /// Whether `backend_now` came over the connection in hand. A source
    /// dialling again (or waiting for its hello) still shows its last clock
    /// on its line, but that clock went with the connection: a backend
    /// restarted on a new clock is not judged against it.
    pub clock_current: bool,
    /// How far the end of the newest bucket received lagged the backend's
    /// clock when it last said its time (0: as fresh as it can be).
    pub data_lag_ms: Option<Millis>,
    /// Seconds of data time per real second, from the hello's optional
    /// `time_scale` (a demo running faster than the wall clock).
    pub time_scale: Option<f64>,
    pub drops: Drops,
    /// Times the client resynchronised (gap in seq, new epoch, reconnect).
    pub resyncs: u64,
    /// Last error message sent by the server, if any.
    pub last_error: Option<String>,
    /// Snapshots applied since the feed started (0: no data from it yet).
    pub snapshots: u64,
    /// Connections that got as far as a good hello.
    pub connections: u64,
    /// How far its clock is from the other backends' (positive: ahead) when
    /// that is too far to share a time axis: its clock is then refused.
    pub clock_refused_ms: Option<Millis>,
    /// Parts of a snapshot in parts received so far, and how many it has,
    /// while it loads (`loading snapshot 3/12`).
    pub snapshot_progress: Option<(u32, u32)>,
    /// Set while the source is read in scale mode (see `feed::view`).
    pub scale: Option<super::view::ScaleStatus>,
}

impl SourceStatus {
    pub fn new(label: impl Into<String>) -> Self {
        SourceStatus {
            label: label.into(),
            state: ConnState::Connecting,
            hello: None,
            last_message_at: None,
            newest_data: None,
            backend_now: None,
            clock_current: false,
            data_lag_ms: None,
            time_scale: None,
            drops: Drops::default(),
            resyncs: 0,
            last_error: None,
            snapshots: 0,
            connections: 0,
            clock_refused_ms: None,
            snapshot_progress: None,
            scale: None,
        }
    }

    /// How the lag reads on screen: fresh under [`FRESH_BUCKETS`] buckets,
    /// else its age to the second. Equal words: nothing to redraw.
    pub fn lag_words(lag: Option<Millis>, bucket_ms: Millis) -> Option<String> {
        lag.map(|l| {
            if l < FRESH_BUCKETS * bucket_ms {
                "fresh".to_owned()
            } else {
                crate::text::format::duration(l)
            }
        })
    }

    /// Notes the backend's clock as it reports it, and how far the newest
    /// data lags it (`bucket_ms`: the newest point is the start of a bucket).
    pub fn note_backend_now(&mut self, data_now: Millis, wall_now: Millis, bucket_ms: Millis) {
        self.backend_now = Some((data_now, wall_now));
        self.data_lag_ms = self
            .newest_data
            .map(|t| (data_now - t.saturating_add(bucket_ms)).max(0));
    }

    /// Its clock as last reported over the connection in hand: what
    /// [`crate::clock::judge`] weighs against the other backends'.
    pub fn clock_reading(&self) -> Option<crate::clock::Reading> {
        if !self.clock_current
            || matches!(
                self.state,
                ConnState::Disconnected { .. } | ConnState::Failed { .. }
            )
        {
            return None;
        }
        self.backend_now
            .map(|(data_ms, at_wall_ms)| crate::clock::Reading {
                data_ms,
                at_wall_ms,
                scale: self.time_scale.unwrap_or(1.0),
            })
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
