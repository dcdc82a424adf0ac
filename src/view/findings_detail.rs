//! The detail view's side of detection: markers on the time axis (one per
//! bug, not per folded alarm) and the scope panel of explaining causes.

use super::findings::{
    MarkerKind, ScopeEntry, SuspectWords, TimeMarker, includes, points, row_scope,
};
use super::overview::RowKey;
use super::query::DrillStep;
use crate::detect::{
    Bug, DetectedRegression, Place, ScopeMap, bug_suspect, group_bugs, known_values, listing_order,
};
use crate::feed::Fleet;
use crate::text::sanitize::sanitize;
use crate::text::time::hh_mm;

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

/// The fleet's bugs (grouped over every regression, as the header and
/// `check` group them) that hold one of `regressions`.
fn bugs_touching<'a>(fleet: &'a Fleet, regressions: &[&DetectedRegression]) -> Vec<Bug<'a>> {
    group_bugs(&fleet.detections.regressions)
        .into_iter()
        .filter(|b| {
            b.members
                .iter()
                .any(|m| regressions.iter().any(|r| std::ptr::eq(*m, *r)))
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
    for bug in bugs_touching(fleet, &regressions) {
        let worst = bug.worst();
        let signals = bug.signals();
        let others = signals.len().saturating_sub(1);
        let mut signal = sanitize(&worst.signal).into_owned();
        if others > 0 {
            signal.push_str(&format!(" +{others}"));
        }
        let change = points(worst.delta_pp).map_or(String::new(), |p| format!("{p} "));
        out.push(TimeMarker {
            ts: bug.onset(),
            kind: MarkerKind::Onset,
            label: format!("onset {change}{signal}"),
        });
        out.push(TimeMarker {
            ts: bug.detected_at(),
            kind: MarkerKind::Detected,
            label: format!("detected {signal}"),
        });
        if let Some(end) = bug.ended_at() {
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

/// The scope panel of the detail view of the group at `path`: one entry
/// per bug nested with the path (see [`group_bugs`]), in the order `check`
/// lists them ([`listing_order`]). Each entry's path is the bug's scope (what
/// its regressions share) in the store's dimension order, so Enter drills
/// there; its text lists the suites it hurts and, where its regressions
/// differ, the values they span (`model=atlas-l|atlas-m|atlas-xl`).
pub fn scope_entries(fleet: &Fleet, path: &[DrillStep]) -> Vec<ScopeEntry> {
    let here = row_scope(path, "", &RowKey::All);
    let dims = fleet.store.slices().dimensions();
    let order = |d: &str| dims.iter().position(|x| x == d).unwrap_or(usize::MAX);
    let related: Vec<&DetectedRegression> = related(fleet, path)
        .into_iter()
        .filter(|r| {
            let nested = |s: &ScopeMap| includes(s, &here) || includes(&here, s);
            nested(&r.scope) || r.causes.iter().any(|c| nested(&c.scope))
        })
        .collect();
    let known = known_values(&fleet.store);
    // Bugs as the header and `check` group them (over every regression),
    // those touching this group kept.
    let mut bugs = bugs_touching(fleet, &related);
    bugs.sort_by(|a, b| listing_order(a.listing_key(), b.listing_key()));
    bugs.iter()
        .map(|bug| {
            let place = bug.place(&known);
            // Enter drills to the constraints of one value.
            let mut steps: Vec<DrillStep> = place
                .iter()
                .filter(|(_, vs)| vs.len() == 1)
                .filter_map(|(d, vs)| {
                    Some(DrillStep {
                        dimension: d.clone(),
                        value: vs.iter().next()?.clone(),
                    })
                })
                .collect();
            steps.sort_by_key(|s| order(&s.dimension));
            let worst = bug.now().worst();
            // What follows the place, once with places named in full and
            // once as values only (a narrow screen keeps the time).
            let facts = |place_words: fn(&Place) -> String| {
                let mut text = String::new();
                if let Some(p) = points(worst.delta_pp) {
                    text.push_str(&format!("  {p}"));
                }
                text.push_str(&format!("  since {}", hh_mm(bug.onset())));
                // Parts that recovered while the rest goes on, before the
                // suites: it says why the place is narrower than it was.
                for (part, end) in bug.recovered(&known) {
                    let apart = place_words(&apart_from(&part, &place));
                    text.push_str(&format!("  ({apart} recovered {})", hh_mm(end)));
                }
                text.push_str(&format!("  {}", bug.signals().join(", ")));
                if let Some(end) = bug.ended_at() {
                    text.push_str(&format!("  (ended {})", hh_mm(end)));
                }
                format!("{}{text}", place_words(&place))
            };
            let text = facts(crate::text::scope::place_text);
            let short = facts(crate::text::scope::values_text);
            ScopeEntry {
                path: steps,
                active: bug.is_active(),
                text: sanitize(&text).into_owned(),
                short: sanitize(&short).into_owned(),
                suspect: bug_suspect(
                    &bug.members,
                    &fleet.detections.regressions,
                    &fleet.changes,
                    &fleet.store,
                )
                .map(|s| SuspectWords {
                    text: s.why,
                    parts: s.parts,
                }),
            }
        })
        .collect()
}

/// The constraints of a recovered `part` that set it apart from the bug's
/// `place` now (`model=atlas-l,atlas-xl`), or the whole part if none do.
fn apart_from<'p>(part: &'p Place, place: &Place) -> std::borrow::Cow<'p, Place> {
    let differing: Place = part
        .iter()
        .filter(|(d, vs)| place.get(*d) != Some(*vs))
        .map(|(d, vs)| (d.clone(), vs.clone()))
        .collect();
    if differing.is_empty() {
        std::borrow::Cow::Borrowed(part)
    } else {
        std::borrow::Cow::Owned(differing)
    }
}
