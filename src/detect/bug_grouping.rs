//! Which regressions are one bug: in force together in related places and
//! begun together, a detector firing again, a fault seen late on its
//! signal or on one slice of its place. Every surface groups with
//! [`group_bugs`], so the header, the detail view and `check` count the
//! same bugs.

use super::bugs::{
    Bug, NESTED_SPREAD_MS, ONSET_SPREAD_MS, places_apart, related_places, scope_includes,
};
use super::detections::{DetectedRegression, ScopeOrigin, TrackLevel};
use crate::protocol::Millis;

/// Whether two regressions were in force at a common time.
fn overlap(a: &DetectedRegression, b: &DetectedRegression) -> bool {
    a.onset.max(b.onset)
        < a.ended_at
            .unwrap_or(Millis::MAX)
            .min(b.ended_at.unwrap_or(Millis::MAX))
}

/// Whether two regressions are one fault: in force at a common time, in
/// related places, and onsets within [`ONSET_SPREAD_MS`], or nested places
/// with onsets within [`NESTED_SPREAD_MS`] (a re-fire of the same signal
/// and place is joined afterwards, see [`group_bugs`]). A broad group alarm does
/// not swallow a narrower fault that began an hour later inside it (the TPU
/// misconfiguration's `hardware=tpu` and the compiler bug on atlas-s), and
/// two faults that began hours apart are not chained through a place they
/// came to share.
fn same_bug(a: &DetectedRegression, b: &DetectedRegression) -> bool {
    let apart = (a.onset - b.onset).abs();
    let nested = scope_includes(&a.scope, &b.scope) || scope_includes(&b.scope, &a.scope);
    overlap(a, b)
        && related_places(&a.scope, &b.scope)
        && (apart <= ONSET_SPREAD_MS || (nested && apart <= NESTED_SPREAD_MS))
}

/// Whether `b` is `a`'s detector region firing again: the same signal and
/// place, while `a` is in force.
fn refiring(a: &DetectedRegression, b: &DetectedRegression) -> bool {
    a.signal == b.signal && a.scope == b.scope && overlap(a, b)
}

/// Whether `late` may be `fault`'s fault seen late: the same signal, `fault`
/// placed by the scope search, begun more than [`ONSET_SPREAD_MS`] before
/// `late` and in force at its onset, and either
/// - in a place sharing slices with it but not inside it (another cut of
///   the same drop: `region=eu-west` for `model=atlas-m ∧ platform=api ∧
///   region=eu-west`), or
/// - one slice inside it (a leaf alarm) that dropped no more than
///   [`LEAF_SEEN_LATE_DEPTH`] times as deep: a slice with a few cases a
///   minute needs hours of a small drop to alarm, and its onset is the
///   start of the run that alarmed, not of the fault (the compiler bug's
///   intermittent −1.2 points on `hardware=tpu ∧ model=atlas-s`, seen at
///   one nimbus slice at −1.7 from +198, three hours into it).
///
/// Any other place inside a fault in force that dropped later is a fault
/// of its own there (routing's five points on top of the TPU
/// misconfiguration's one on atlas-m).
fn sighted_late(fault: &DetectedRegression, late: &DetectedRegression) -> bool {
    let inside = scope_includes(&fault.scope, &late.scope);
    let leaf_as_deep = late.origin == ScopeOrigin::Track(TrackLevel::Leaf)
        && fault.delta_pp < 0.0
        && late.delta_pp >= LEAF_SEEN_LATE_DEPTH * fault.delta_pp;
    fault.signal == late.signal
        && fault.origin == ScopeOrigin::Cause
        && fault.onset < late.onset - ONSET_SPREAD_MS
        && fault.covers(late.onset)
        && places_apart(&fault.scope, &late.scope) == 0
        && (!inside || leaf_as_deep)
}

/// Whether `fault`, placed by the scope search, was in force where and when
/// the leaf alarm `leaf` began, more than [`ONSET_SPREAD_MS`] after it.
fn holds_leaf_late(fault: &DetectedRegression, leaf: &DetectedRegression) -> bool {
    fault.origin == ScopeOrigin::Cause
        && fault.onset < leaf.onset - ONSET_SPREAD_MS
        && fault.covers(leaf.onset)
        && scope_includes(&fault.scope, &leaf.scope)
}

/// How much deeper than the fault around it a leaf alarm's drop may be and
/// still be that fault seen late (see [`sighted_late`]): one slice's
/// figures are noisy, a fault stacked on another is usually several times
/// its depth.
pub const LEAF_SEEN_LATE_DEPTH: f64 = 2.0;

/// The root of `i` in the union-find `parent`.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Joins `i` to the group of `faults` when they all lie in one group; two
/// groups could be it, so it stays where it is.
fn join_the_one(parent: &mut [usize], i: usize, faults: &[usize]) {
    let mut roots: Vec<usize> = faults.iter().map(|&j| root(parent, j)).collect();
    roots.sort_unstable();
    roots.dedup();
    if let [fault] = roots[..] {
        let ri = root(parent, i);
        parent[ri] = fault;
    }
}

/// The regressions given, grouped into bugs, each bug's members in the
/// order given, bugs by their first member's position.
pub fn group_bugs<'a, I>(regressions: I) -> Vec<Bug<'a>>
where
    I: IntoIterator<Item = &'a DetectedRegression>,
{
    let regressions: Vec<&DetectedRegression> = regressions.into_iter().collect();
    let n = regressions.len();
    let mut parent: Vec<usize> = (0..n).collect();
    // Which regressions are a group of their own.
    fn singletons(parent: &mut [usize]) -> Vec<bool> {
        let n = parent.len();
        let roots: Vec<usize> = (0..n).map(|i| root(parent, i)).collect();
        (0..n)
            .map(|i| (0..n).all(|j| j == i || roots[j] != roots[i]))
            .collect()
    }
    for i in 0..n {
        for j in i + 1..n {
            if same_bug(regressions[i], regressions[j]) {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    // A re-fire joins the earlier fault only when it began alone: one that
    // began with other regressions is part of a new fault (the compiler
    // bug's first `hardware=tpu ∧ platform=api` sighting is not the TPU
    // misconfiguration's, though both name that place on golden-qa).
    let alone = singletons(&mut parent);
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (regressions[i], regressions[j]);
            let later = if a.onset <= b.onset { j } else { i };
            if refiring(a, b) && alone[later] {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    // A late sighting: a regression still alone that began well into a
    // fault already in force where it is, on its signal (routing's
    // code-syntax on `region=eu-west`, detected hours after the fault's own
    // code-syntax regressions on `model=atlas-m ∧ platform=api ∧
    // region=eu-west`), is that fault seen late, when it is the only one.
    let alone = singletons(&mut parent);
    for i in (0..n).filter(|&i| alone[i]) {
        let late = regressions[i];
        let faults: Vec<usize> = (0..n)
            .filter(|&j| j != i && sighted_late(regressions[j], late))
            .collect();
        join_the_one(&mut parent, i, &faults);
    }
    // A leaf alarm still alone inside the place of one fault in force,
    // on a signal that fault was not placed on there: one slice's few
    // cases a minute take hours to show a small drop, and a fault of its
    // own on one slice of another's place is the rarer story (routing's
    // language-consistency on one eu-west GPU slice at +568, hours into
    // it). Where the fault was placed on the leaf's own signal,
    // [`sighted_late`] has decided.
    let alone = singletons(&mut parent);
    for i in (0..n).filter(|&i| alone[i]) {
        let leaf = regressions[i];
        if leaf.origin != ScopeOrigin::Track(TrackLevel::Leaf) {
            continue;
        }
        let holding: Vec<usize> = (0..n)
            .filter(|&j| j != i && holds_leaf_late(regressions[j], leaf))
            .collect();
        if holding
            .iter()
            .any(|&j| regressions[j].signal == leaf.signal)
        {
            continue;
        }
        join_the_one(&mut parent, i, &holding);
    }
    let mut groups: Vec<(usize, Bug<'a>)> = Vec::new();
    for (i, r) in regressions.iter().enumerate() {
        let top = root(&mut parent, i);
        match groups.iter_mut().find(|(g, _)| *g == top) {
            Some((_, bug)) => bug.members.push(r),
            None => groups.push((top, Bug { members: vec![r] })),
        }
    }
    groups.into_iter().map(|(_, bug)| bug).collect()
}
