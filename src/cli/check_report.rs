//! What `qualtop check` reports: one entry per bug (the grouping the TUI
//! counts, `detect::group_bugs`) with its regressions, and the availability
//! burn alerts apart. JSON for scripts keeps every detail; the text for
//! people is in `check_text`. Every backend string is sanitised here, once,
//! so no output format can carry a control character.

use std::collections::BTreeMap;

use serde::Serialize;

use super::args::OutputFormat;
use crate::detect::{
    CauseShare, DetectedRegression, Detections, Monitor, ScopeConfig, ScopeOrigin, TrackKey,
    TrackLevel, group_bugs,
};
use crate::detect::{
    Place, Suspect, bug_suspect, known_values, listing_order, narrowest, rank_in_bug,
};
use crate::protocol::{Change, Millis};
use crate::store::Store;
use crate::text::sanitize::sanitize;
use crate::text::scope::place_text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Data time covered: the oldest bucket tested to the last one.
    pub from: Millis,
    pub to: Millis,
    /// Leaf slices known.
    pub slices: usize,
    /// Bugs still in force.
    pub active: usize,
    /// Active bugs first, then the larger drop, then the newest
    /// (`detect::listing_order`, as the scope panel lists them).
    pub bugs: Vec<ReportedBug>,
    /// Error-budget burn alerts of availability signals (not regressions).
    pub burn_alerts: Vec<ReportedBurn>,
    /// `metrics clock 8h ahead`: backends whose clock disagrees with the
    /// others', so their data were left out (`check` then exits 2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clock_warnings: Vec<String>,
}

/// One bug: the regressions of one fault, across signals and refinements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedBug {
    pub active: bool,
    /// The narrowest true description of where it is: the scopes of its
    /// active regressions (of all, once it ended), nested ones dropped,
    /// siblings merged (dimension → values).
    pub places: Vec<Place>,
    /// The narrowest single scope holding every place, as one line:
    /// `hardware=tpu ∧ model=atlas-l,atlas-m` (`whole fleet`: none).
    pub where_text: String,
    /// Where it was over its whole life, ended parts too (as `where_text`;
    /// the same unless a part recovered while the rest goes on).
    pub was_text: String,
    /// Parts of an active bug that recovered while the rest goes on, with
    /// when (`where_text` no longer names them). Empty once it ended.
    pub recovered: Vec<RecoveredPart>,
    /// The constraints all its regressions share (`{}`: none).
    pub shared_scope: BTreeMap<String, String>,
    /// The signals it hurts, sorted.
    pub signals: Vec<String>,
    pub onset: Millis,
    pub detected_at: Millis,
    /// When the last regression ended; `null` while any is active.
    pub ended_at: Option<Millis>,
    /// The largest drop among its active regressions (among all, once it
    /// ended).
    pub worst: ReportedRegression,
    /// The change that best explains it (`detect::bug_suspect`: the best
    /// first suspect of any of its regressions), as the TUI's scope panel
    /// names it.
    pub suspect: Option<ReportedSuspect>,
    pub regressions: Vec<ReportedRegression>,
}

/// A part of a bug that recovered while the rest of it goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveredPart {
    pub place: Place,
    /// As one line: `hardware=tpu ∧ model=atlas-l,atlas-xl ∧ platform=api`.
    pub where_text: String,
    /// When its last regression ended.
    pub ended_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedBurn {
    pub slice: BTreeMap<String, String>,
    pub signal: String,
    pub since: Millis,
    pub ended_at: Option<Millis>,
    /// Highest burn seen, in multiples of the error budget.
    pub peak_burn: f64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedRegression {
    /// Where: a found cause, or the key that regressed (`{}` = fleet).
    pub slice: BTreeMap<String, String>,
    pub signal: String,
    pub role: String,
    pub onset: Millis,
    /// Where its data place the onset: the 10th and 90th percentiles
    /// (`detect::onset_spread`); `[onset, onset]` when sure to the bucket.
    /// The ranking of `suspects` weighs it.
    pub onset_range: [Millis; 2],
    pub detected_at: Millis,
    /// When it ended; `null` while active.
    pub ended_at: Option<Millis>,
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
    pub active: bool,
    /// How `slice` was found: `cause` (the scope search), or the level of
    /// the detector that alarmed (`fleet`, `group`, `leaf`).
    pub found_by: String,
    pub scope: Vec<ReportedCause>,
    /// The changes that may explain it (`detect::rank_in_bug`: with the
    /// regressions of its bug that began with it), best first, at most
    /// [`MAX_SUSPECTS`]; `[]` when none was reported near its onset.
    pub suspects: Vec<ReportedSuspect>,
}

/// Suspects kept per regression in the report.
pub const MAX_SUSPECTS: usize = 3;

/// A change ranked against a regression (`detect::rank_suspects`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedSuspect {
    /// The change as reported, every string sanitised.
    pub change: Change,
    /// 0..1: higher explains the regression better.
    pub score: f64,
    /// `deploy "tpu-runtime v42" to hardware=tpu ∧ platform=api, 3m before onset, same scope`.
    pub why: String,
}

impl ReportedBug {
    /// The change that best explains it ([`ReportedBug::suspect`]).
    pub fn top_suspect(&self) -> Option<&ReportedSuspect> {
        self.suspect.as_ref()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedCause {
    pub scope: BTreeMap<String, String>,
    pub explains: f64,
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

fn clean_map(m: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.iter().map(|(d, v)| (clean(d), clean(v))).collect()
}

fn clean_place(p: &Place) -> Place {
    p.iter()
        .map(|(d, vs)| (clean(d), vs.iter().map(|v| clean(v)).collect()))
        .collect()
}

fn clean_change(c: &Change) -> Change {
    Change {
        id: clean(&c.id),
        at: c.at,
        scope: clean_map(&c.scope),
        kind: c.kind,
        title: clean(&c.title),
        source: clean(&c.source),
        link: c.link.as_deref().map(clean),
        author: c.author.as_deref().map(clean),
    }
}

/// The suspects of `r`, one of the bug `members` among every regression
/// `detected`, as reported.
fn suspects_of(
    r: &DetectedRegression,
    members: &[&DetectedRegression],
    detected: &[DetectedRegression],
    changes: &[Change],
    store: &Store,
) -> Vec<ReportedSuspect> {
    rank_in_bug(r, members, detected, changes, store)
        .into_iter()
        .take(MAX_SUSPECTS)
        .map(reported_suspect)
        .collect()
}

fn reported_suspect(s: Suspect<'_>) -> ReportedSuspect {
    ReportedSuspect {
        change: clean_change(s.change),
        score: round(s.score, 3),
        why: s.why,
    }
}

/// The first and last of the points where `r`'s data place its onset,
/// with the onset itself inside.
fn onset_range(r: &DetectedRegression) -> [Millis; 2] {
    let points = r.onset_points();
    [
        points.iter().copied().fold(r.onset, Millis::min),
        points.iter().copied().fold(r.onset, Millis::max),
    ]
}

fn reported(r: &DetectedRegression, suspects: Vec<ReportedSuspect>) -> ReportedRegression {
    ReportedRegression {
        slice: clean_map(&r.scope),
        signal: clean(&r.signal),
        role: r.role.as_str().to_owned(),
        onset: r.onset,
        onset_range: onset_range(r),
        detected_at: r.detected_at,
        ended_at: r.ended_at,
        baseline: round(r.baseline, 4),
        current: round(r.current, 4),
        delta_pp: round(r.delta_pp, 2),
        active: r.is_active(),
        found_by: match r.origin {
            ScopeOrigin::Cause => "cause".to_owned(),
            ScopeOrigin::Track(level) => level.as_str().to_owned(),
        },
        scope: r
            .causes
            .iter()
            .map(|c| ReportedCause {
                scope: clean_map(&c.scope),
                explains: round(c.explains, 3),
            })
            .collect(),
        suspects,
    }
}

/// The regressions grouped into bugs, active first, then newest first.
pub fn reported_bugs(regressions: &[DetectedRegression], store: &Store) -> Vec<ReportedBug> {
    reported_bugs_with_changes(regressions, store, &[])
}

/// [`reported_bugs`], each regression with its suspects among `changes`.
pub fn reported_bugs_with_changes(
    regressions: &[DetectedRegression],
    store: &Store,
    changes: &[Change],
) -> Vec<ReportedBug> {
    let known = known_values(store);
    let mut bugs: Vec<ReportedBug> = group_bugs(regressions)
        .iter()
        .map(|bug| {
            // An active bug is where and how bad its active regressions are
            // now; what ended inside it is history (in `regressions`).
            let current = bug.now();
            let placing = bug.placing_now();
            let places = narrowest(placing.iter().map(|r| &r.scope), &known);
            let places: Vec<Place> = places.iter().map(clean_place).collect();
            // Each regression is ranked with the rest of its fault (and the
            // faults in force where it began) as evidence.
            let reported_in_bug = |r: &DetectedRegression| {
                reported(r, suspects_of(r, &bug.members, regressions, changes, store))
            };
            ReportedBug {
                active: bug.is_active(),
                where_text: place_text(&clean_place(&bug.place(&known))),
                was_text: place_text(&clean_place(&bug.place_ever(&known))),
                recovered: bug
                    .recovered(&known)
                    .iter()
                    .map(|(part, end)| RecoveredPart {
                        place: clean_place(part),
                        where_text: place_text(&clean_place(part)),
                        ended_at: *end,
                    })
                    .collect(),
                places,
                shared_scope: clean_map(&bug.scope()),
                signals: bug.signals().into_iter().map(clean).collect(),
                onset: bug.onset(),
                detected_at: bug.detected_at(),
                ended_at: bug.ended_at(),
                worst: reported_in_bug(current.worst()),
                suspect: bug_suspect(&bug.members, regressions, changes, store)
                    .map(reported_suspect),
                regressions: bug.members.iter().map(|r| reported_in_bug(r)).collect(),
            }
        })
        .collect();
    bugs.sort_by(|a, b| {
        listing_order(
            (a.active, a.worst.delta_pp, a.onset),
            (b.active, b.worst.delta_pp, b.onset),
        )
    });
    bugs
}

impl CheckReport {
    /// Everything the detection engine logged: every regression (active or
    /// ended), grouped into bugs, and every burn alert.
    pub fn from_detections(d: &Detections, store: &Store) -> Self {
        Self::from_detections_and_changes(d, store, &[])
    }

    /// [`Self::from_detections`], each regression with its suspects among
    /// the reported `changes`.
    pub fn from_detections_and_changes(d: &Detections, store: &Store, changes: &[Change]) -> Self {
        let to = d.through.unwrap_or_else(|| store.now());
        let from = d.since.unwrap_or(to);
        let burn_alerts = d
            .burns
            .iter()
            .map(|b| ReportedBurn {
                slice: clean_map(&b.scope),
                signal: clean(&b.signal),
                since: b.since,
                ended_at: b.ended_at,
                peak_burn: round(b.peak_burn, 1),
                active: b.is_active(),
            })
            .collect();
        let bugs = reported_bugs_with_changes(&d.regressions, store, changes);
        CheckReport {
            from,
            to,
            slices: store.slices().len(),
            active: bugs.iter().filter(|b| b.active).count(),
            bugs,
            burn_alerts,
            clock_warnings: Vec::new(),
        }
    }

    /// The monitor's regressions (active ones folded by scope, plus fleet-
    /// and group-level ones that ended inside the window), as bugs.
    pub fn build(store: &Store, monitor: &Monitor, cfg: &ScopeConfig) -> Self {
        let to = monitor
            .next_bucket()
            .map_or(store.now(), |b| store.bucket_start(b - 1));
        let from = store
            .head()
            .map_or(to, |h| store.bucket_start(h - store.capacity() as i64 + 1));
        let mut regressions = Vec::new();
        for (i, signal) in store.signals().iter().enumerate() {
            let id = crate::store::SignalId(i as u16);
            for r in monitor.scoped_regressions(store, id, cfg, &[]) {
                let level = r.keys.first().map_or(TrackLevel::Fleet, |k| level_of(*k));
                regressions.push(DetectedRegression {
                    signal: signal.spec.name.clone(),
                    role: r.role,
                    scope: r.scope,
                    origin: if r.from_cause {
                        ScopeOrigin::Cause
                    } else {
                        ScopeOrigin::Track(level)
                    },
                    causes: r
                        .causes
                        .into_iter()
                        .map(|c| CauseShare {
                            scope: c.scope,
                            explains: c.explains,
                        })
                        .collect(),
                    alarms: Vec::new(),
                    onset: r.onset,
                    onset_spread: None,
                    detected_at: r.detected_at,
                    // An inactive scoped regression has no recorded end: it ended by `to`.
                    ended_at: (!r.active).then_some(to),
                    baseline: r.baseline,
                    current: r.current,
                    delta_pp: r.delta_pp,
                    drop_table: None,
                });
            }
            for f in monitor.findings() {
                if f.signal != id || matches!(f.key, TrackKey::Slice(_)) {
                    continue;
                }
                for ended in monitor.regressions_for(f.key, id) {
                    if ended.active || ended.ended_at.is_none_or(|e| e < from) {
                        continue;
                    }
                    regressions.push(DetectedRegression {
                        signal: signal.spec.name.clone(),
                        role: f.role,
                        scope: f.key.to_map(store),
                        origin: ScopeOrigin::Track(level_of(f.key)),
                        causes: Vec::new(),
                        alarms: Vec::new(),
                        onset: ended.onset,
                        onset_spread: None,
                        detected_at: ended.detected_at,
                        ended_at: ended.ended_at,
                        baseline: ended.baseline,
                        current: ended.current,
                        delta_pp: ended.delta_pp,
                        drop_table: None,
                    });
                }
            }
        }
        let bugs = reported_bugs(&regressions, store);
        CheckReport {
            from,
            to,
            slices: store.slices().len(),
            active: bugs.iter().filter(|b| b.active).count(),
            bugs,
            burn_alerts: Vec::new(),
            clock_warnings: Vec::new(),
        }
    }

    /// The report with the clock warnings of the fleet it came from.
    #[must_use]
    pub fn with_clock_warnings(mut self, warnings: Vec<String>) -> Self {
        self.clock_warnings = warnings.iter().map(|w| clean(w)).collect();
        self
    }

    /// Why the report cannot be trusted, when backends disagree on time.
    pub fn clock_disagreement(&self) -> Option<String> {
        super::headless::disagreement(&self.clock_warnings)
    }

    /// Whether `check` should exit 1: a regression or a burn alert is in
    /// progress.
    pub fn has_active(&self) -> bool {
        self.active > 0 || self.burn_alerts.iter().any(|b| b.active)
    }

    /// Every regression of every bug, in report order.
    pub fn regressions(&self) -> impl Iterator<Item = &ReportedRegression> {
        self.bugs.iter().flat_map(|b| b.regressions.iter())
    }

    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serialising cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn to_text(&self) -> String {
        super::check_text::render(self)
    }

    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => self.to_json(),
            OutputFormat::Text => self.to_text(),
        }
    }
}

fn level_of(key: TrackKey) -> TrackLevel {
    match key {
        TrackKey::Fleet => TrackLevel::Fleet,
        TrackKey::Group { .. } => TrackLevel::Group,
        TrackKey::Slice(_) => TrackLevel::Leaf,
    }
}

/// `2025-09-02 14:05` (UTC) from milliseconds since the epoch.
pub use crate::text::time::utc_minute as utc_datetime;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_datetime_of_known_instants() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00");
        assert_eq!(utc_datetime(1_756_771_200_000), "2025-09-02 00:00");
        assert_eq!(
            utc_datetime(951_782_400_000 + 3_660_000),
            "2000-02-29 01:01"
        );
    }
}
