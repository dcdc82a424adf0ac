//! What detection concludes, in the shape the screens need: a status per
//! row, markers on the time axis, and the scope that explains a regression.
//!
//! Contract between the drill-down screens (which call these functions) and
//! the detection service (which fills them in). Until detection runs, they
//! return nothing and the screens show only the change against baseline.

use super::overview::{RowKey, RowStatus};
use super::query::{DrillStep, QualityPick, TimeCursor};
use crate::feed::Fleet;
use crate::protocol::Millis;

/// Something that happened at a time, drawn on a chart's time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeMarker {
    pub ts: Millis,
    pub kind: MarkerKind,
    /// Short, already sanitised: "onset -3.1pp golden-qa".
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// When a regression's drift began (estimated).
    Onset,
    /// When the detector fired.
    Detected,
    /// When it ended.
    Ended,
    /// An annotation's start.
    Annotation,
}

/// One combination of dimension values explaining a regression's deficit.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeEntry {
    /// Where Enter on this entry drills to.
    pub path: Vec<DrillStep>,
    /// Share of the deficit explained, 0..=1.
    pub explains: f64,
    /// Already sanitised: "hardware=tpu ∧ platform=api  91%  golden-qa".
    pub text: String,
}

/// The status of one row of the table at `path`, split by `split`.
pub fn row_status(
    _fleet: &Fleet,
    _path: &[DrillStep],
    _split: &str,
    _key: &RowKey,
    _quality: &QualityPick,
    _at: TimeCursor,
) -> Option<RowStatus> {
    None
}

/// Markers for the detail view of the group at `path`.
pub fn detail_markers(_fleet: &Fleet, _path: &[DrillStep]) -> Vec<TimeMarker> {
    Vec::new()
}

/// The scope panel of the detail view of the group at `path`.
pub fn scope_entries(_fleet: &Fleet, _path: &[DrillStep]) -> Vec<ScopeEntry> {
    Vec::new()
}

/// Active regressions in the whole fleet, for the header.
pub fn active_regressions(_fleet: &Fleet) -> usize {
    0
}
