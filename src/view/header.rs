//! The header as plain data: each backend with its connection state and the
//! figures that say how fresh its data is. Strings are already sanitised.

use super::findings::active_regressions;
use crate::feed::{ConnState, Fleet, SourceStatus};
use crate::protocol::Millis;
use crate::text::sanitize::sanitize;

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
    /// How far the end of its newest bucket lagged the backend's own clock
    /// when it last said its time (see `SourceStatus::data_lag_ms`).
    pub data_age_ms: Option<Millis>,
    /// Below this age the data is as fresh as a steady feed can be: the
    /// bucket in progress is not sent yet (two buckets, for delivery).
    pub fresh_below_ms: Millis,
    /// The backend's clock as last reported: (data time, wall time).
    pub backend_now: Option<(Millis, Millis)>,
    /// Seconds of data time per real second (a demo runs faster).
    pub time_scale: Option<f64>,
    /// End of its newest bucket received (data time): what its figures are as of.
    pub newest_end: Option<Millis>,
    /// Whether it ever delivered a snapshot (a source still connecting for
    /// the first time is not news).
    pub had_data: bool,
    /// `Drops::summary()`, when anything was dropped.
    pub drops: Option<String>,
    /// `clock 8h ahead`: its clock disagrees with the other backends', so
    /// its data are left off the shared time axis.
    pub clock_warning: Option<String>,
    /// Parts of a snapshot received and in all, while one loads.
    pub loading: Option<(u32, u32)>,
    /// Why its last `findings` message was refused (sanitised).
    pub findings_refused: Option<String>,
    /// Scale mode: what is subscribed, sanitised, and whether it still loads.
    pub scale: Option<(String, bool)>,
}

impl SourceLine {
    /// `relay_detects`: the regressions come from the backend's findings,
    /// which see every leaf, so scale mode's caveat does not apply.
    fn from_status(s: &SourceStatus, data_now: Millis, relay_detects: bool) -> Self {
        let bucket_ms = s.hello.as_ref().map_or(0, |h| h.bucket_ms.max(0));
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
            data_age_ms: s.data_lag_ms.or_else(|| {
                s.newest_data
                    .map(|t| (data_now - t.saturating_add(bucket_ms)).max(0))
            }),
            fresh_below_ms: crate::feed::FRESH_BUCKETS * bucket_ms,
            backend_now: s.backend_now,
            time_scale: s.time_scale,
            newest_end: s.newest_data.map(|t| t.saturating_add(bucket_ms)),
            had_data: s.snapshots > 0 || s.newest_data.is_some(),
            drops: (s.drops.total() > 0).then(|| s.drops.summary()),
            clock_warning: s
                .clock_refused_ms
                .map(|off| format!("clock {}", crate::clock::disagreement_words(off))),
            loading: s.snapshot_progress,
            findings_refused: None,
            scale: s
                .scale
                .as_ref()
                .map(|sc| (sanitize(&sc.words(relay_detects)).into_owned(), sc.loading)),
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

    /// Whether its newest data is as recent as a steady feed's can be.
    pub fn data_is_fresh(&self) -> bool {
        self.data_age_ms.is_some_and(|a| a < self.fresh_below_ms)
    }

    /// The backend's clock at wall time `wall_now`: run on from its last
    /// report while it is live, held at that report while it is not.
    pub fn data_clock(&self, wall_now: Millis) -> Option<Millis> {
        // A refused clock is not the screen's clock.
        if self.clock_warning.is_some() {
            return None;
        }
        let (data, at) = self.backend_now?;
        if !self.is_fresh(wall_now) {
            return Some(data);
        }
        let ran = (wall_now - at).clamp(0, STALE_AFTER_MS) as f64;
        Some(data + (ran * self.time_scale.unwrap_or(1.0)) as Millis)
    }

    /// Whether the screen must say out loud that this source is down: any
    /// state but live, except a first connection still being made.
    pub fn is_down(&self, wall_now: Millis) -> bool {
        match self.shown_state(wall_now) {
            ConnState::Live => false,
            ConnState::Connecting => self.had_data,
            _ => true,
        }
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
    /// Where the findings come from, when not from this client's own engine
    /// alone: `None` while detection is local as it always was.
    pub findings_from: Option<FindingsFrom>,
}

/// Where the regressions on screen were concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFrom {
    /// The backends' own detection (feature `findings`).
    Server,
    /// The backends' own detection, with its oldest regressions left out
    /// to stay under the frame's size cap.
    ServerPartial,
    /// This client again, after the backends' findings stopped (drawn as a
    /// warning; the banner or the source line says why).
    LocalAfterServer,
}

impl FindingsFrom {
    fn of(fleet: &Fleet) -> Option<Self> {
        if fleet.findings.from_backend {
            Some(if fleet.findings.truncated > 0 {
                FindingsFrom::ServerPartial
            } else {
                FindingsFrom::Server
            })
        } else {
            fleet
                .findings
                .fell_back
                .as_ref()
                .map(|_| FindingsFrom::LocalAfterServer)
        }
    }

    /// The header's words for it: few, for 80 columns.
    pub fn words(self) -> &'static str {
        match self {
            FindingsFrom::Server => "findings: server",
            FindingsFrom::ServerPartial => "findings: server, newest only",
            FindingsFrom::LocalAfterServer => "findings: local",
        }
    }

    /// Whether the words are a warning (partial, or no longer the relay's).
    pub fn is_warning(self) -> bool {
        match self {
            FindingsFrom::Server => false,
            FindingsFrom::ServerPartial | FindingsFrom::LocalAfterServer => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DownBanner {
    pub labels: Vec<String>,
    /// `disconnected`, `stale`, `failed`, `reconnecting`; `down` when mixed.
    pub word: &'static str,
    /// How long the longest-silent of them has been silent (wall clock).
    pub silent_ms: Option<Millis>,
    /// Data time of the oldest figures on screen from them (the end of the
    /// newest bucket each delivered).
    pub as_of: Option<Millis>,
}

impl HeaderModel {
    /// The data clock at wall time `wall_now`: the newest of the backends'
    /// clocks, or the store's when none has said its time.
    pub fn data_clock(&self, wall_now: Millis) -> Millis {
        self.sources
            .iter()
            .filter_map(|s| s.data_clock(wall_now))
            .max()
            .unwrap_or(self.data_now)
    }

    /// How much faster than real time data time runs, when a backend said so
    /// and it is not 1 (the demo: 60).
    pub fn time_scale(&self) -> Option<f64> {
        self.sources
            .iter()
            .filter_map(|s| s.time_scale)
            .reduce(f64::max)
            .filter(|s| (s - 1.0).abs() > 1e-9)
    }

    /// `metrics clock 8h ahead` for each source whose clock is refused.
    pub fn clock_warnings(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|s| Some(format!("{} {}", s.label, s.clock_warning.as_ref()?)))
            .collect()
    }

    /// Whether any figure on screen comes from a source that is down.
    pub fn any_down(&self, wall_now: Millis) -> bool {
        self.sources.iter().any(|s| s.is_down(wall_now))
    }

    /// What the banner says, when a source is down.
    pub fn down_banner(&self, wall_now: Millis) -> Option<DownBanner> {
        let down: Vec<&SourceLine> = self
            .sources
            .iter()
            .filter(|s| s.is_down(wall_now))
            .collect();
        let first = down.first()?;
        let word_of = |s: &SourceLine| match s.shown_state(wall_now) {
            ConnState::Stale => "stale",
            ConnState::Failed { .. } => "failed",
            ConnState::Connecting => "reconnecting",
            ConnState::Disconnected { .. } | ConnState::Live => "disconnected",
        };
        let word = word_of(first);
        let mixed = down.iter().any(|s| word_of(s) != word);
        Some(DownBanner {
            labels: down.iter().map(|s| s.label.clone()).collect(),
            word: if mixed { "down" } else { word },
            silent_ms: down
                .iter()
                .filter_map(|s| s.last_message_at.map(|t| (wall_now - t).max(0)))
                .max(),
            as_of: down
                .iter()
                .filter(|s| s.had_data)
                .map(|s| s.newest_end.unwrap_or(self.data_now))
                .min(),
        })
    }

    pub fn from_fleet(fleet: &Fleet, window_ms: Option<Millis>) -> Self {
        let data_now = fleet.store.now();
        HeaderModel {
            sources: fleet
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| SourceLine {
                    findings_refused: fleet
                        .findings
                        .refused
                        .get(i)
                        .and_then(Option::as_deref)
                        .map(|why| sanitize(why).into_owned()),
                    ..SourceLine::from_status(s, data_now, fleet.findings.from_backend)
                })
                .collect(),
            window_ms,
            data_now,
            active_regressions: active_regressions(fleet),
            findings_from: FindingsFrom::of(fleet),
        }
    }
}
