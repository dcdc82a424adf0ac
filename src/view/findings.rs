//! What detection concludes, in the shape the screens need: a status per
//! row, markers on the time axis, and the scope that explains a regression.
//!
//! Contract between the drill-down screens (which call these functions) and
//! the detection service (which fills `Fleet::detections`). Until detection
//! runs, they return nothing and the screens show only the change against
//! baseline.
//!
//! Which regressions a row shows: those whose scope and the row's are
//! *nested* — the regression lies inside the row (the whole-fleet row shows
//! every regression; `model=atlas-m` shows one scoped to `model=atlas-m ∧
//! platform=api`, saying where), or the row lies inside the regression —
//! plus those that folded in an alarm of the row's own detector (a group
//! row whose aggregate dropped because of a cause elsewhere). A regression
//! that merely overlaps a row (scoped to `hardware=tpu`, row `model=atlas-s`)
//! does not light it up, so that splitting by another dimension still
//! narrows things down.
//!
//! Availability burn alerts are kept apart: [`burn_status`] gives them on
//! their own, and [`row_status`] says `BURN 14x` only when quality is fine.

use super::bug_status::{At, BugMap};
use super::overview::{RowKey, RowStatus, Severity};
use super::query::{DrillStep, QualityPick, TimeCursor};
use crate::detect::{BurnEpisode, Detections, ScopeMap, TrackState, group_bugs};
use crate::feed::Fleet;
use crate::protocol::Millis;
use crate::text::sanitize::sanitize;
use crate::text::time::hh_mm;

pub use super::findings_detail::{detail_markers, scope_entries};

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
    /// A deploy or config change took effect.
    Change,
}

/// One bug in the detail view's scope panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeEntry {
    /// Where Enter on this entry drills to: the bug's scope.
    pub path: Vec<DrillStep>,
    /// Still in force.
    pub active: bool,
    /// Already sanitised: "hardware=tpu ∧ platform=api  -3.1pp  since
    /// 14:05  code-syntax, golden-qa".
    pub text: String,
    /// The same with places as values only ("tpu/api  -3.1pp  since
    /// 14:05  …"), for a line too narrow for `text`.
    pub short: String,
    /// The change that best explains it, in words (sanitised), if one was
    /// reported near its onset.
    pub suspect: Option<SuspectWords>,
}

/// A suspect's words (sanitised), with where the change's title and scope
/// lie in them: a narrow line shortens those, never by reading the words.
#[derive(Debug, Clone, PartialEq)]
pub struct SuspectWords {
    pub text: String,
    pub parts: crate::detect::WhyParts,
}

/// The moment a status is asked for: `None` = now (live, or a frozen
/// cursor at or past the newest bucket detection has seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    Now,
    At(Millis),
}

fn moment(fleet: &Fleet, at: TimeCursor) -> Option<Moment> {
    let d = &fleet.detections;
    let through = d.through?;
    match at {
        TimeCursor::Live => Some(Moment::Now),
        TimeCursor::Frozen { last_bucket } => {
            let t = fleet.store.bucket_start(last_bucket);
            if t >= through {
                Some(Moment::Now)
            } else if d.since.is_some_and(|s| t < s) {
                // Before the first bucket tested: nothing is known.
                None
            } else {
                Some(Moment::At(t))
            }
        }
    }
}

/// The row's scope: the drill path plus the split value (none for `All`).
pub(super) fn row_scope(path: &[DrillStep], split: &str, key: &RowKey) -> ScopeMap {
    let mut scope: ScopeMap = path
        .iter()
        .map(|s| (s.dimension.clone(), s.value.clone()))
        .collect();
    if let RowKey::Value(v) = key {
        scope.insert(split.to_owned(), v.clone());
    }
    scope
}

/// Whether the slices of `outer` include those of `inner`: every constraint
/// of `outer` is also one of `inner`.
pub(super) fn includes(outer: &ScopeMap, inner: &ScopeMap) -> bool {
    outer.iter().all(|(d, v)| inner.get(d) == Some(v))
}

/// How long after a regression ends its rows read `ENDED 14:40`, in data
/// time, before they clear.
pub const ENDED_SHOWN_MS: Millis = 30 * 60_000;

pub(super) fn points(pp: f64) -> Option<String> {
    pp.is_finite().then(|| format!("{pp:+.1}pp"))
}

/// The quality signals a pick covers, by name.
fn quality_signals(fleet: &Fleet, pick: &QualityPick) -> Vec<String> {
    fleet
        .store
        .signals()
        .iter()
        .filter(|s| s.spec.is_quality_rate())
        .filter(|s| match pick {
            QualityPick::Combined => true,
            QualityPick::Suite(name) => s.spec.name == *name,
        })
        .map(|s| s.spec.name.clone())
        .collect()
}

/// Constraints of `inner` beyond `outer`'s, as `k=v,k=v`.
fn beyond(inner: &ScopeMap, outer: &ScopeMap) -> String {
    inner
        .iter()
        .filter(|(d, _)| !outer.contains_key(*d))
        .map(|(d, v)| format!("{d}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The status of one row of the table at `path`, split by `split`: the
/// worst over the quality suites `quality` picks. `REGRESSION 14:05 -3.1pp`
/// (onset in UTC, change inside the regression's scope; `in k=v` when it
/// lies inside the row), `WATCH` (the row's own detector gathering
/// evidence, live only), `OK`, or `BURN 14x` when quality is fine but the
/// availability error budget burns. `None` while detection has nothing to
/// say (not run yet, still learning, cursor before its first bucket).
pub fn row_status(
    fleet: &Fleet,
    path: &[DrillStep],
    split: &str,
    key: &RowKey,
    quality: &QualityPick,
    at: TimeCursor,
) -> Option<RowStatus> {
    let row = RowAt {
        path,
        split,
        key,
        at,
    };
    row_status_in(&BugMap::new(fleet), fleet, &row, quality)
}

/// [`row_status`] with the bugs grouped once for every row of a view.
pub fn row_status_in(
    bugs: &BugMap,
    fleet: &Fleet,
    row: &RowAt,
    quality: &QualityPick,
) -> Option<RowStatus> {
    let RowAt {
        path,
        split,
        key,
        at,
    } = *row;
    let quality_status = quality_status(bugs, fleet, row, quality);
    if quality_status
        .as_ref()
        .is_none_or(|s| s.severity == Severity::Ok)
        && let Some(burn) = burn_status(fleet, path, split, key, at)
    {
        return Some(burn);
    }
    quality_status
}

/// Which row (the level's path, the dimension it splits by, the row's key),
/// at which moment.
#[derive(Clone, Copy)]
pub struct RowAt<'a> {
    pub path: &'a [DrillStep],
    pub split: &'a str,
    pub key: &'a RowKey,
    pub at: TimeCursor,
}

fn quality_status(
    bugs: &BugMap,
    fleet: &Fleet,
    row: &RowAt,
    quality: &QualityPick,
) -> Option<RowStatus> {
    let RowAt {
        path,
        split,
        key,
        at,
    } = *row;
    let when = moment(fleet, at)?;
    let d: &Detections = &fleet.detections;
    let signals = quality_signals(fleet, quality);
    let row = row_scope(path, split, key);
    let at_time = match when {
        Moment::Now => At::Now,
        Moment::At(t) => At::Time(t),
    };
    // The bug it shows names itself as the header and `check` name it:
    // its onset, its change now, and where that lies in the row.
    if let Some(shown) = bugs.shown(&row, &signals, at_time) {
        let mut text = format!("REGRESSION {}", hh_mm(shown.bug.onset()));
        if let Some(p) = points(shown.bug.now().worst().delta_pp) {
            text.push(' ');
            text.push_str(&p);
        }
        if !shown.within.is_empty() {
            text.push_str(" in ");
            text.push_str(&shown.within);
        }
        return Some(RowStatus {
            severity: Severity::Regressed,
            text: sanitize(&text).into_owned(),
        });
    }
    // A bug here that ended a short while ago says so, then clears.
    let now = match when {
        Moment::Now => d.through.unwrap_or_default(),
        Moment::At(t) => t,
    };
    if let Some(end) = bugs.ended(&row, &signals, now, ENDED_SHOWN_MS) {
        return Some(RowStatus {
            severity: Severity::Ended,
            text: format!("ENDED {}", hh_mm(end)),
        });
    }
    // No regression: the row's own detector, if it has one, says whether
    // evidence is building; otherwise detection having run means OK.
    let own: Vec<&TrackState> = d
        .tracks
        .iter()
        .filter(|t| signals.contains(&t.signal) && t.scope == row)
        .map(|t| &t.state)
        .collect();
    if when == Moment::Now && own.iter().any(|s| matches!(s, TrackState::Watch { .. })) {
        return Some(RowStatus {
            severity: Severity::Watch,
            text: "WATCH".to_owned(),
        });
    }
    let learning = !own.is_empty() && own.iter().all(|s| matches!(s, TrackState::Learning));
    let tracked = d.tracks.iter().any(|t| signals.contains(&t.signal));
    (tracked && !learning).then(|| RowStatus {
        severity: Severity::Ok,
        text: "OK".to_owned(),
    })
}

/// Error-budget burn of the availability signals for one row, apart from
/// quality: `BURN 14x` (the highest burn over the alert's long window, in
/// multiples of the budget; `in k=v` when a part of the row burns), or
/// `None` when nothing burns.
pub fn burn_status(
    fleet: &Fleet,
    path: &[DrillStep],
    split: &str,
    key: &RowKey,
    at: TimeCursor,
) -> Option<RowStatus> {
    let when = moment(fleet, at)?;
    let row = row_scope(path, split, key);
    let in_force = |b: &BurnEpisode| match when {
        Moment::Now => b.is_active(),
        Moment::At(t) => b.covers(t),
    };
    let (inside, b) = fleet
        .detections
        .burns
        .iter()
        .filter(|b| in_force(b))
        .filter_map(|b| {
            if includes(&b.scope, &row) {
                Some((false, b))
            } else if includes(&row, &b.scope) {
                Some((true, b))
            } else {
                None
            }
        })
        .min_by(|(ia, a), (ib, b)| ia.cmp(ib).then_with(|| b.peak_burn.total_cmp(&a.peak_burn)))?;
    let mut text = format!("BURN {:.0}x", b.peak_burn);
    if inside {
        text.push_str(" in ");
        text.push_str(&beyond(&b.scope, &row));
    }
    Some(RowStatus {
        severity: Severity::Regressed,
        text: sanitize(&text).into_owned(),
    })
}

/// Active bugs in the whole fleet, for the header: regressions grouped as
/// [`group_bugs`] does (one fault on several suites, or at a group and
/// inside it, or refined into several combinations, counts once), so the
/// count neither flickers as the scope search refines nor disagrees with
/// `check`.
pub fn active_regressions(fleet: &Fleet) -> usize {
    group_bugs(&fleet.detections.regressions)
        .iter()
        .filter(|b| b.is_active())
        .count()
}

/// Burn-rate alerts in force, for the header (kept apart from quality).
pub fn active_burns(fleet: &Fleet) -> usize {
    fleet
        .detections
        .burns
        .iter()
        .filter(|b| b.is_active())
        .count()
}
