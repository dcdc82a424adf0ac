//! Statistics on the store's counts: sequential tests for quiet, sustained
//! drops of a ratio (quality suites, user feedback, availability), error
//! budget burn against an SLO, and the scope of a regression (which
//! dimension values explain the missing good). Knows nothing of network or
//! terminal; every type here is plain data.
//!
//! - [`RatioDetector`]: one (key, signal); `push(ts, Option<Ratio>)`: a GLR
//!   over the run a CUSUM marks, so any size of drop is caught fast.
//! - [`analyze`]: replays a whole series.
//! - [`BurnRateTracker`]: multi-window multi-burn-rate SLO alerting.
//! - [`Monitor`]: all of it over a [`Store`](crate::store::Store).
//! - [`DetectionEngine`]: the monitor stepped bucket by bucket, with the log
//!   of every regression (folded by scope) and burn alert, published as
//!   plain [`Detections`].
//! - [`group_bugs`]: regressions folded into the bugs on-call counts.
//! - [`localize`] / [`ScopeTable`]: where a deficit lives.
//! - [`rank_suspects`]: which reported change explains a regression.

mod baseline;
mod bug_grouping;
mod bug_scope;
mod bugs;
mod burn;
mod config;
mod cusum;
mod detections;
mod drop_table;
mod engine;
mod episode;
mod episode_onset;
mod glr;
mod monitor;
mod monitor_baseline;
mod monitor_fold;
mod monitor_scope;
mod onset;
mod onset_spread;
mod place_back;
mod place_undone;
mod scope;
mod scope_estimate;
mod scope_keep;
mod scope_ripple;
mod scope_search;
pub mod scope_synth;
mod scope_table;
mod settings;
mod suspects;
mod suspects_factors;
mod suspects_fit;
mod suspects_words;
pub mod synthetic;

pub use baseline::{
    Baseline, ReferenceWindow, compact as compact_counts, estimate as estimate_baseline,
};
pub use bug_scope::{KnownValues, Place, envelope, known_values, narrowest};
pub use bugs::{Bug, ONSET_SPREAD_MS, group_bugs, listing_order, places_apart, scope_includes};
pub use burn::{BurnAlert, BurnRateConfig, BurnRateTracker, BurnRule, BurnStatus, DEFAULT_SLO};
pub use config::{
    DEFAULT_FALSE_ALARM_DAYS, DEFAULT_MIN_SHIFT, DetectorConfig, ThresholdRule, bernoulli_kl,
    shifted_down, siegmund_threshold,
};
pub use cusum::{RatioDetector, Regression, Status, Verdict, analyze};
pub use detections::{
    BurnEpisode, CauseShare, DetectedRegression, Detections, ScopeMap, ScopeOrigin, TrackAlarm,
    TrackFinding, TrackLevel, TrackState,
};
pub use drop_table::{
    DROP_AFTER_BUCKETS, DROP_BEFORE_BUCKETS, DROP_MAX_ROWS, DROP_MAX_SLICES, DropTable,
};
pub use engine::DetectionEngine;
pub use glr::{DropGlr, drop_glr};
pub use monitor::{
    Finding, LEAF_ARL0_FACTOR, LEAF_BASELINE_GUARD, Monitor, MonitorConfig, TrackKey, leaf_detector,
};
pub use monitor_scope::{LeafWindow, NamedCause, ScopedRegression, cause_map};
pub use onset::{
    Bucket, Dated, HOLD_LLR, MIN_LLR, MIN_PART, ONSET_POINTS, REACH_MS, SPAN_LLR, StepOnset,
    dated_in_store, earliest_onset, onset_spread, step_onset,
};
pub use scope::{Cause, Leaf, MAX_CAUSE_DIMS, ScopeConfig, cause_of, localize};
pub use scope_estimate::{
    LeafBaselines, LeafCounts, LeafEstimate, PRIOR_TRIALS, SCOPE_BASELINE_BUCKETS, estimate_leaves,
};
pub use scope_table::{LeafHistory, ScopeTable};
pub use settings::DetectionSettings;
pub use suspects::{
    Factors, LOOKBACK_MS, ONSET_SLACK_MS, RankWeights, ScopeFit, Suspect, WhyParts, bug_suspect,
    can_touch, factors, factors_at_points, kind_weight, rank_at, rank_bug, rank_in_bug,
    rank_in_bug_with, rank_suspects, top_suspect, why,
};
