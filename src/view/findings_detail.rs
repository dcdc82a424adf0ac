//! The detail view's side of detection: markers on the time axis (one per
//! bug, not per folded alarm) and the scope panel of explaining causes.

use super::findings::{MarkerKind, ScopeEntry, TimeMarker, includes, points, row_scope};
use super::overview::RowKey;
use super::query::DrillStep;
use crate::detect::{DetectedRegression, ScopeMap, describe};
use crate::feed::Fleet;
use crate::protocol::Millis;
use crate::ui::sanitize::sanitize;

/// The regressions (any signal) related to the group at `path`.
fn related<'a>(fleet: &'a Fleet, path: &[DrillStep]) -> Vec<&'a DetectedRegression> {
    let here = row_scope(path, "", &RowKey::All);
    fleet
        .detections
        .regressions
        .iter()
        .filter(|r| {
            includes(&r.scope, &here)
                || includes(&here, &r.scope)
                || r.alarms.iter().any(|a| a.scope == here)
        })
        .collect()
}

/// Markers for the detail view of the group at `path`: onset, detection and
/// end of every bug that covers it or lies inside it, by time. One bug is
/// the regressions that overlap in time and whose scopes nest or onsets lie
/// within minutes (one broken combination seen on several suites, at a
/// group and inside it, or a few combinations broken at once): it gets
/// one onset (the earliest), one detection (the first) and one end (the
/// last, once all ended), not a marker per suite and per alarm.
pub fn detail_markers(fleet: &Fleet, path: &[DrillStep]) -> Vec<TimeMarker> {
    let regressions = related(fleet, path);
    let mut out = Vec::new();
    for bug in bugs(&regressions) {
        let Some(first) = bug.first() else { continue };
        let onset = bug.iter().map(|r| r.onset).min().unwrap_or(first.onset);
        let detected = bug
            .iter()
            .map(|r| r.detected_at)
            .min()
            .unwrap_or(first.detected_at);
        let ended = bug
            .iter()
            .map(|r| r.ended_at)
            .try_fold(Millis::MIN, |last, e| e.map(|e| last.max(e)));
        // The largest drop names the bug; the other suites are counted.
        let Some(worst) = bug.iter().min_by(|a, b| {
            a.delta_pp
                .partial_cmp(&b.delta_pp)
                .unwrap_or(std::cmp::Ordering::Greater)
        }) else {
            continue;
        };
        let mut signals: Vec<&str> = bug.iter().map(|r| r.signal.as_str()).collect();
        signals.sort_unstable();
        signals.dedup();
        let others = signals.len().saturating_sub(1);
        let mut signal = sanitize(&worst.signal).into_owned();
        if others > 0 {
            signal.push_str(&format!(" +{others}"));
        }
        let change = points(worst.delta_pp).map_or(String::new(), |p| format!("{p} "));
        out.push(TimeMarker {
            ts: onset,
            kind: MarkerKind::Onset,
            label: format!("onset {change}{signal}"),
        });
        out.push(TimeMarker {
            ts: detected,
            kind: MarkerKind::Detected,
            label: format!("detected {signal}"),
        });
        if let Some(end) = ended {
            out.push(TimeMarker {
                ts: end,
                kind: MarkerKind::Ended,
                label: format!("ended {signal}"),
            });
        }
    }
    out.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.label.cmp(&b.label)));
    out
}

/// Regressions starting within this long of each other (and overlapping)
/// are one bug on the time axis: the TPU misconfiguration is three disjoint
/// combinations on three suites, all starting within minutes.
const ONSET_SPREAD_MS: Millis = 10 * 60_000;

/// Whether two regressions were in force at a common time.
fn overlap(a: &DetectedRegression, b: &DetectedRegression) -> bool {
    a.onset.max(b.onset)
        < a.ended_at
            .unwrap_or(Millis::MAX)
            .min(b.ended_at.unwrap_or(Millis::MAX))
}

/// Regressions grouped into bugs (see [`detail_markers`]), each group in
/// the order given.
fn bugs<'a>(regressions: &[&'a DetectedRegression]) -> Vec<Vec<&'a DetectedRegression>> {
    let n = regressions.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (regressions[i], regressions[j]);
            let nested = includes(&a.scope, &b.scope) || includes(&b.scope, &a.scope);
            let together = (a.onset - b.onset).abs() <= ONSET_SPREAD_MS;
            if (nested || together) && overlap(a, b) {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    let mut groups: Vec<(usize, Vec<&'a DetectedRegression>)> = Vec::new();
    for (i, r) in regressions.iter().enumerate() {
        let top = root(&mut parent, i);
        match groups.iter_mut().find(|(g, _)| *g == top) {
            Some((_, members)) => members.push(r),
            None => groups.push((top, vec![r])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// The scope panel of the detail view of the group at `path`: the
/// combinations explaining the regressions there (nested with the path),
/// active ones first, largest share first. Each entry's path is the
/// combination in the store's dimension order, so Enter drills there.
pub fn scope_entries(fleet: &Fleet, path: &[DrillStep]) -> Vec<ScopeEntry> {
    let here = row_scope(path, "", &RowKey::All);
    let dims = fleet.store.slices().dimensions();
    let order = |d: &str| dims.iter().position(|x| x == d).unwrap_or(usize::MAX);
    let mut rows: Vec<(bool, ScopeEntry, String)> = Vec::new();
    for r in related(fleet, path) {
        let mut causes: Vec<(ScopeMap, f64)> = r
            .causes
            .iter()
            .map(|c| (c.scope.clone(), c.explains))
            .collect();
        if causes.is_empty() {
            causes.push((r.scope.clone(), 1.0));
        }
        for (scope, explains) in causes {
            if !(includes(&scope, &here) || includes(&here, &scope)) {
                continue;
            }
            let mut steps: Vec<DrillStep> = scope
                .iter()
                .map(|(d, v)| DrillStep {
                    dimension: d.clone(),
                    value: v.clone(),
                })
                .collect();
            steps.sort_by_key(|s| order(&s.dimension));
            let text = format!(
                "{}  {:.0}%  {}{}",
                describe(&scope),
                explains * 100.0,
                r.signal,
                if r.is_active() { "" } else { "  (ended)" }
            );
            if rows
                .iter()
                .any(|(_, e, s)| e.path == steps && *s == r.signal)
            {
                continue;
            }
            rows.push((
                r.is_active(),
                ScopeEntry {
                    path: steps,
                    explains,
                    text: sanitize(&text).into_owned(),
                },
                r.signal.clone(),
            ));
        }
    }
    rows.sort_by(|(aa, a, _), (ab, b, _)| {
        ab.cmp(aa).then_with(|| b.explains.total_cmp(&a.explains))
    });
    rows.into_iter().map(|(_, e, _)| e).collect()
}
