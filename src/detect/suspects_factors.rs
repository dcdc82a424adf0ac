//! How one change scores against one regression: the weights every
//! surface ranks with, and the three factors (time before the onset, how
//! the change's scope meets the regression's, the change's kind) that
//! [`suspects`](super::suspects) combines and a replay reports.

use super::detections::ScopeMap;
use super::suspects_fit::ScopeFit;
use crate::protocol::{Change, ChangeKind, Millis};

const MINUTE: Millis = 60_000;
/// The onset is an estimate (a bucket or two either way): a change this
/// soon after it is still a candidate.
pub const ONSET_SLACK_MS: Millis = 5 * MINUTE;
/// Changes longer than this before the onset are not suspects.
pub const LOOKBACK_MS: Millis = 24 * 60 * MINUTE;
/// How much each piece of evidence weighs in a suspect's score. The
/// defaults are what every surface ranks with; `cargo bench --bench
/// changes_replay` measures them (tuned on one set of seeds, reported on
/// another).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankWeights {
    /// The lead at which the time factor halves (a change a quarter of an
    /// hour before an onset is half as likely as one just before).
    pub half_lead_ms: f64,
    /// The time factor of a change within [`ONSET_SLACK_MS`] after the
    /// estimated onset.
    pub after_onset: f64,
    /// Per dimension the change leaves open and the regression fixes.
    pub broader_per_dim: f64,
    /// Per dimension the change fixes and the regression leaves open.
    pub narrower_per_dim: f64,
    /// The share of a regression's score that the earlier sightings of the
    /// faults in force in its place decide when it began alone (see
    /// [`rank_in_bug_with`](super::rank_in_bug_with)); 0: none.
    pub earlier_share: f64,
    /// The same when it began with peers (other regressions of its bug
    /// within [`ONSET_SPREAD_MS`](super::bugs::ONSET_SPREAD_MS)): a fault's arrival, which its own lead
    /// dates better than a fault already there.
    pub arrival_share: f64,
    /// [`RankWeights::earlier_share`] for a sighting whose place holds the
    /// regression's or lies inside it (the same fault seen late on another
    /// signal or a leaf of its place, or a group alarm over it), rather than
    /// only sharing some slices with it: more likely the same fault.
    pub nested_earlier_share: f64,
    /// [`RankWeights::arrival_share`] for such a sighting.
    pub nested_arrival_share: f64,
}

impl Default for RankWeights {
    fn default() -> Self {
        RankWeights {
            half_lead_ms: 15.0 * 60_000.0,
            after_onset: 0.5,
            broader_per_dim: 0.7,
            narrower_per_dim: 0.8,
            earlier_share: 0.3,
            arrival_share: 0.15,
            nested_earlier_share: 0.4,
            nested_arrival_share: 0.2,
        }
    }
}

/// How likely a kind of change is to move quality, 0..=1: code and
/// configuration first, infrastructure and the rest less often.
pub fn kind_weight(kind: ChangeKind) -> f64 {
    match kind {
        ChangeKind::Deploy | ChangeKind::Config => 1.0,
        ChangeKind::Flag => 0.9,
        ChangeKind::Infra => 0.7,
        ChangeKind::Other => 0.6,
    }
}

/// The time factor, 0..=1, for a change `lead` ms before the onset
/// (negative: after it, within the slack; 0 beyond it).
fn time_weight(lead: Millis, w: &RankWeights) -> f64 {
    if lead < -ONSET_SLACK_MS {
        return 0.0;
    }
    if lead < 0 {
        // After the estimated onset: possible only through the estimate's
        // error, which is a bucket or two either way: within it, the order
        // of onset and change is unknown.
        return w.after_onset;
    }
    1.0 / (1.0 + lead as f64 / w.half_lead_ms)
}

/// The time factor of a change at `at` for an onset at any of `points`,
/// each as likely: the mean of [`time_weight`] over them. An onset the
/// data cannot date closer than a quarter of an hour gives a change just
/// before its estimate little more than one a quarter of an hour earlier.
fn spread_time_weight(at: Millis, points: &[Millis], w: &RankWeights) -> f64 {
    let sum: f64 = points
        .iter()
        .map(|p| time_weight(p.saturating_sub(at), w))
        .sum();
    sum / points.len().max(1) as f64
}

/// The three factors of one change's score against one (scope, onset):
/// what a replay reports when a decoy beats the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factors {
    pub time: f64,
    pub scope: f64,
    pub kind: f64,
    pub fit: ScopeFit,
    pub lead_ms: Millis,
}

/// `change` against `scope` at `onset`: `None` when it cannot explain it
/// (outside the time window, or disjoint).
pub fn factors(
    change: &Change,
    scope: &ScopeMap,
    onset: Millis,
    w: &RankWeights,
) -> Option<Factors> {
    factors_at_points(change, scope, onset, &[onset], w)
}

/// [`factors`] for an onset estimated at `onset` that its data place at
/// any of `points` (see [`DetectedRegression::onset_points`](super::DetectedRegression::onset_points)): a suspect
/// from [`LOOKBACK_MS`] before the earliest to [`ONSET_SLACK_MS`] after the
/// latest of them and `onset`, with the mean time factor over them. The
/// lead is still the estimate's.
pub fn factors_at_points(
    change: &Change,
    scope: &ScopeMap,
    onset: Millis,
    points: &[Millis],
    w: &RankWeights,
) -> Option<Factors> {
    let lead = onset.saturating_sub(change.at);
    let lo = points.iter().copied().fold(onset, Millis::min);
    let hi = points.iter().copied().fold(onset, Millis::max);
    let window = lo.saturating_sub(LOOKBACK_MS)..=hi.saturating_add(ONSET_SLACK_MS);
    if !window.contains(&change.at) {
        return None;
    }
    let fit = ScopeFit::of(&change.scope, scope);
    if fit == ScopeFit::Disjoint {
        return None;
    }
    Some(Factors {
        time: spread_time_weight(change.at, points, w),
        scope: fit.weight(&change.scope, scope, w),
        kind: kind_weight(change.kind),
        fit,
        lead_ms: lead,
    })
}
