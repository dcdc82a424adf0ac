//! What detection concluded, as plain named data: the detection service
//! publishes it into the `Fleet`, the screens and `qualtop check` read it.
//! Nothing here refers to the store's ids, so it can be copied, compared
//! and printed on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::drop_table::DropTable;
use super::onset_spread::ONSET_POINTS;
use super::settings::DetectionSettings;
use crate::protocol::{Millis, SignalRole};

/// A slice scope: dimension → value. Empty = the whole fleet.
pub type ScopeMap = BTreeMap<String, String>;

/// Which detector a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackLevel {
    Fleet,
    /// One value of one dimension (hardware=tpu).
    Group,
    /// One leaf slice.
    Leaf,
}

impl TrackLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackLevel::Fleet => "fleet",
            TrackLevel::Group => "group",
            TrackLevel::Leaf => "leaf",
        }
    }
}

/// A detector's state after the last bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrackState {
    /// Not enough history for a baseline yet.
    Learning,
    Ok,
    /// Evidence building (statistic past half its threshold), not yet
    /// significant.
    Watch {
        since: Millis,
    },
    /// In regression since `onset`.
    Regression {
        onset: Millis,
        detected_at: Millis,
    },
}

/// One (scope, signal) detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackFinding {
    pub signal: String,
    pub role: SignalRole,
    pub level: TrackLevel,
    pub scope: ScopeMap,
    pub state: TrackState,
    /// The healthy rate it tests against (trailing, frozen while evidence
    /// builds): every `vs base` of this scope and signal on every surface.
    pub baseline: Option<f64>,
}

/// A track's alarm folded into a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackAlarm {
    pub level: TrackLevel,
    pub scope: ScopeMap,
    pub onset: Millis,
    pub detected_at: Millis,
    pub ended_at: Option<Millis>,
    /// The track's own change (current − baseline), in points.
    pub delta_pp: f64,
}

impl TrackAlarm {
    /// Whether it was in regression at data time `t` (onset ≤ t < end).
    pub fn covers(&self, t: Millis) -> bool {
        self.onset <= t && self.ended_at.is_none_or(|e| t < e)
    }
}

/// One combination explaining part of a regression's deficit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseShare {
    pub scope: ScopeMap,
    /// Share of the deficit it explains, 0..=1.
    pub explains: f64,
}

/// How a regression's scope was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeOrigin {
    /// The scope search named a combination holding the deficit.
    Cause,
    /// No combination held most of it: the scope is the alarmed track's.
    Track(TrackLevel),
}

/// One regression as on-call should read it: folded by scope (a broken
/// combination is one regression, not a dozen leaf alarms), with its
/// history. Active while `ended_at` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedRegression {
    pub signal: String,
    pub role: SignalRole,
    /// Where it is; `{}` = the whole fleet.
    pub scope: ScopeMap,
    pub origin: ScopeOrigin,
    /// Combinations inside it, best first, with their share of its deficit.
    pub causes: Vec<CauseShare>,
    /// Every track alarm folded into it, first alarm first.
    pub alarms: Vec<TrackAlarm>,
    /// When the drift began (estimated), when the first detector fired, and
    /// when the last one fell back to zero.
    pub onset: Millis,
    /// Where its scope's series places the onset: the 10th, 30th, 50th,
    /// 70th and 90th percentiles (see `detect::onset_spread`), how sure
    /// `onset` is, which the ranking of changes weighs. Absent: sure to the
    /// bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset_spread: Option<[Millis; ONSET_POINTS]>,
    pub detected_at: Millis,
    pub ended_at: Option<Millis>,
    /// Healthy and current rate inside the scope, and their difference in
    /// points (negative: a drop). Frozen when it ends.
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
    /// Where its drop lies inside its place, measured when it was placed
    /// (see [`DropTable`]); absent where the store could not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_table: Option<DropTable>,
}

impl DetectedRegression {
    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
    /// Whether it was in regression at data time `t` (onset ≤ t < end).
    pub fn covers(&self, t: Millis) -> bool {
        self.onset <= t && self.ended_at.is_none_or(|e| t < e)
    }
    /// Where its data place the onset, as equally likely points (all
    /// `onset` when sure to the bucket).
    pub fn onset_points(&self) -> [Millis; ONSET_POINTS] {
        self.onset_spread.unwrap_or([self.onset; ONSET_POINTS])
    }
}

/// An error-budget burn alert of an availability signal (multi-window,
/// multi-burn-rate), kept apart from quality regressions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnEpisode {
    pub signal: String,
    pub level: TrackLevel,
    pub scope: ScopeMap,
    pub since: Millis,
    pub ended_at: Option<Millis>,
    /// Highest burn over the rule's long window seen, in multiples of the
    /// budget (14.4 = the budget of 30 days gone in about 2 days).
    pub peak_burn: f64,
    /// The factor of the rule that fired (14.4 or 6 by default).
    pub rule_factor: f64,
}

impl BurnEpisode {
    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
    pub fn covers(&self, t: Millis) -> bool {
        self.since <= t && self.ended_at.is_none_or(|e| t < e)
    }
}

/// Everything detection publishes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Detections {
    /// Start of the newest bucket the detectors consumed; `None` before any.
    pub through: Option<Millis>,
    /// The first bucket consumed that held data (nothing before it was
    /// tested).
    pub since: Option<Millis>,
    pub bucket_ms: Millis,
    pub settings: DetectionSettings,
    /// Fleet and group tracks of every ratio signal, and the leaf tracks
    /// that are not OK.
    pub tracks: Vec<TrackFinding>,
    /// Every regression found, active or ended, by onset (the most recent
    /// ones when there were very many).
    pub regressions: Vec<DetectedRegression>,
    /// Burn-rate alerts, current and past, by start.
    pub burns: Vec<BurnEpisode>,
}

impl Detections {
    pub fn active_regressions(&self) -> impl Iterator<Item = &DetectedRegression> {
        self.regressions.iter().filter(|r| r.is_active())
    }
}
