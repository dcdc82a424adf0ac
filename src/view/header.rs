//! The header as plain data: each backend with its connection state and the
//! figures that say how fresh its data is. Strings are already sanitised.

use super::findings::active_regressions;
use crate::feed::{ConnState, Fleet, SourceStatus};
use crate::protocol::Millis;
use crate::ui::sanitize::sanitize;

/// A source the feed still calls live, but that has sent nothing for this
/// long by the wall clock, is shown stale anyway: the screen must never pass
/// old data off as live, even if the feed task itself is stuck.
pub const STALE_AFTER_MS: Millis = 30_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SourceLine {
    /// URL or "demo".
    pub label: String,
    /// The `server` its hello named.
    pub server: Option<String>,
    pub state: ConnState,
    /// Wall-clock time of its last message.
    pub last_message_at: Option<Millis>,
    /// How far its newest data point lags the backends' clock (`store.now()`).
    pub data_age_ms: Option<Millis>,
    /// `Drops::summary()`, when anything was dropped.
    pub drops: Option<String>,
}

impl SourceLine {
    fn from_status(s: &SourceStatus, data_now: Millis) -> Self {
        let state = match &s.state {
            ConnState::Disconnected { reason, retry_at } => ConnState::Disconnected {
                reason: sanitize(reason).into_owned(),
                retry_at: *retry_at,
            },
            ConnState::Failed { reason } => ConnState::Failed {
                reason: sanitize(reason).into_owned(),
            },
            other => other.clone(),
        };
        SourceLine {
            label: sanitize(&s.label).into_owned(),
            server: s.hello.as_ref().map(|h| sanitize(&h.server).into_owned()),
            state,
            last_message_at: s.last_message_at,
            data_age_ms: s.newest_data.map(|t| (data_now - t).max(0)),
            drops: (s.drops.total() > 0).then(|| s.drops.summary()),
        }
    }

    /// The state to show at wall-clock time `wall_now`: a live source that
    /// has been silent past [`STALE_AFTER_MS`] is shown stale.
    pub fn shown_state(&self, wall_now: Millis) -> ConnState {
        match (&self.state, self.last_message_at) {
            (ConnState::Live, Some(t)) if wall_now - t > STALE_AFTER_MS => ConnState::Stale,
            (s, _) => s.clone(),
        }
    }

    /// Whether figures from this source may be shown as current.
    pub fn is_fresh(&self, wall_now: Millis) -> bool {
        self.shown_state(wall_now).is_live()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderModel {
    pub sources: Vec<SourceLine>,
    /// Length of the table's window, in data time.
    pub window_ms: Option<Millis>,
    /// The backends' clock, `store.now()`.
    pub data_now: Millis,
    /// Regressions detection holds open anywhere in the fleet.
    pub active_regressions: usize,
}

impl HeaderModel {
    pub fn from_fleet(fleet: &Fleet, window_ms: Option<Millis>) -> Self {
        let data_now = fleet.store.now();
        HeaderModel {
            sources: fleet
                .sources
                .iter()
                .map(|s| SourceLine::from_status(s, data_now))
                .collect(),
            window_ms,
            data_now,
            active_regressions: active_regressions(fleet),
        }
    }
}
