//! Regressions grouped into bugs: what on-call counts and lists.
//!
//! One fault shows as several regressions: one per suite it hurts, and
//! while evidence builds its scope is refined (`platform=api` and
//! `hardware=tpu` first, then three model combinations inside both). The
//! header, the detail view's markers and scope panel, and `check` all count
//! and list *bugs*, so that their figures agree and do not flicker as the
//! scope search refines. Two regressions are one bug when they were in
//! force at a common time and their scopes nest, or their onsets lie within
//! [`ONSET_SPREAD_MS`] of each other.

pub use super::bug_grouping::group_bugs;
use super::bug_scope::{KnownValues, Place, envelope, holds, narrowest};
use super::detections::{DetectedRegression, ScopeMap, ScopeOrigin};
use crate::protocol::Millis;

/// Regressions starting within this long of each other (and overlapping in
/// time) are one bug: the TPU misconfiguration is three disjoint
/// combinations on three suites, all starting within minutes.
pub const ONSET_SPREAD_MS: Millis = 10 * 60_000;

/// A group alarm and a regression inside it are one bug when their onsets
/// lie this close: the group's estimate is later and coarser.
pub const NESTED_SPREAD_MS: Millis = 30 * 60_000;

/// One bug: the regressions (of any signal) it is made of, by onset.
#[derive(Debug, Clone, PartialEq)]
pub struct Bug<'a> {
    pub members: Vec<&'a DetectedRegression>,
}

impl<'a> Bug<'a> {
    /// The earliest estimated onset of its members.
    pub fn onset(&self) -> Millis {
        self.members
            .iter()
            .map(|r| r.onset)
            .min()
            .unwrap_or_default()
    }

    /// When the first detector fired.
    pub fn detected_at(&self) -> Millis {
        self.members
            .iter()
            .map(|r| r.detected_at)
            .min()
            .unwrap_or_default()
    }

    /// When the last member ended; `None` while any is active.
    pub fn ended_at(&self) -> Option<Millis> {
        self.members
            .iter()
            .map(|r| r.ended_at)
            .try_fold(Millis::MIN, |last, e| e.map(|e| last.max(e)))
    }

    pub fn is_active(&self) -> bool {
        self.members.iter().any(|r| r.is_active())
    }

    /// Whether it was in force at data time `t`.
    pub fn covers(&self, t: Millis) -> bool {
        self.members.iter().any(|r| r.covers(t))
    }

    /// The member with the largest drop: it names the bug and gives its
    /// change.
    pub fn worst(&self) -> &'a DetectedRegression {
        let mut worst = self.members[0];
        for r in &self.members[1..] {
            if r.delta_pp < worst.delta_pp || (worst.delta_pp.is_nan() && r.delta_pp.is_finite()) {
                worst = r;
            }
        }
        worst
    }

    /// The signals it hurts, sorted, once each.
    pub fn signals(&self) -> Vec<&'a str> {
        let mut s: Vec<&str> = self.members.iter().map(|r| r.signal.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// The bug as it stands: its active members, or all of them once it
    /// ended. Where it is and how bad it is now read from this; what ended
    /// inside an active bug is history.
    pub fn now(&self) -> Bug<'a> {
        let active: Vec<&DetectedRegression> = self
            .members
            .iter()
            .copied()
            .filter(|r| r.is_active())
            .collect();
        Bug {
            members: if active.is_empty() {
                self.members.clone()
            } else {
                active
            },
        }
    }

    /// Where it is now, as narrowly as is true: the union of the places of
    /// its localised regressions, merged where they differ in one value
    /// (`hardware=tpu ∧ model=atlas-l,atlas-m ∧ platform=api`). Every
    /// surface names a bug's place from this.
    pub fn place(&self, known: &KnownValues) -> Place {
        let placing = self.placing_now();
        let places = narrowest(placing.iter().map(|r| &r.scope), known);
        envelope(&places, known)
    }

    /// The members that say where it is now: those of [`Bug::placing`] over
    /// its whole life that are still active (what ended inside it still
    /// says which members are strays), or, if none is, its active members'
    /// own placing; all of them once it ended.
    pub fn placing_now(&self) -> Vec<&'a DetectedRegression> {
        if !self.is_active() {
            return self.placing();
        }
        let kept: Vec<&DetectedRegression> = self
            .placing()
            .into_iter()
            .filter(|r| r.is_active())
            .collect();
        if kept.is_empty() {
            self.now().placing()
        } else {
            kept
        }
    }

    /// Where it was over its whole life, ended parts too: what the timeline,
    /// the annotation and the ranking may still cite. Equals [`Bug::place`]
    /// unless a part recovered while the rest goes on.
    pub fn place_ever(&self, known: &KnownValues) -> Place {
        let placing = self.placing();
        envelope(&narrowest(placing.iter().map(|r| &r.scope), known), known)
    }

    /// The parts of an active bug that recovered while the rest goes on:
    /// the places of its ended members that share no slice with where it is
    /// now, each with when its last member there ended (siblings merged:
    /// `model=atlas-l,atlas-xl`). Empty once it ended (its end says it).
    pub fn recovered(&self, known: &KnownValues) -> Vec<(Place, Millis)> {
        if !self.is_active() {
            return Vec::new();
        }
        let now: Vec<&ScopeMap> = self.placing_now().iter().map(|r| &r.scope).collect();
        let ended: Vec<&DetectedRegression> = self
            .placing()
            .into_iter()
            .filter(|r| !r.is_active() && now.iter().all(|n| places_apart(n, &r.scope) > 0))
            .collect();
        narrowest(ended.iter().map(|r| &r.scope), known)
            .into_iter()
            .filter_map(|part| {
                let end = ended
                    .iter()
                    .filter(|r| holds(&part, &r.scope))
                    .filter_map(|r| r.ended_at)
                    .max()?;
                Some((part, end))
            })
            .collect()
    }

    /// The localised members that say where it is: a member is left out
    /// when more signals locate the fault strictly inside its scope than at
    /// it (a weak signal's coarse scope holds the narrower place; it does
    /// not widen it).
    pub fn placing(&self) -> Vec<&'a DetectedRegression> {
        let localised = self.localised();
        let signals = |keep: &dyn Fn(&DetectedRegression) -> bool| {
            let mut s: Vec<&str> = localised
                .iter()
                .filter(|r| keep(r))
                .map(|r| r.signal.as_str())
                .collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        let kept: Vec<&'a DetectedRegression> = localised
            .iter()
            .copied()
            .filter(|r| {
                let inside = signals(&|o| o.scope != r.scope && scope_includes(&r.scope, &o.scope));
                inside <= signals(&|o| o.scope == r.scope)
            })
            .collect();
        // Nor does a member whose place overlaps others' but neither nests
        // with nor neighbours any, when more signals place the fault
        // elsewhere: a regression that came to name another fault's place
        // (the routing bug's region on a feedback signal) is not where this
        // one is.
        let count = |rs: &[&DetectedRegression]| {
            let mut s: Vec<&str> = rs.iter().map(|r| r.signal.as_str()).collect();
            s.sort_unstable();
            s.dedup();
            s.len()
        };
        kept.iter()
            .copied()
            .filter(|r| {
                let (at, others): (Vec<&DetectedRegression>, Vec<&DetectedRegression>) =
                    kept.iter().partition(|o| o.scope == r.scope);
                let connected = others.iter().any(|o| {
                    scope_includes(&o.scope, &r.scope)
                        || scope_includes(&r.scope, &o.scope)
                        || siblings(&o.scope, &r.scope)
                });
                // Disjoint from every other: another part of the bug, kept.
                let overlapping = others.iter().any(|o| places_apart(&o.scope, &r.scope) == 0);
                others.is_empty() || connected || !overlapping || count(&others) <= count(&at)
            })
            .collect()
    }

    /// The members whose scopes say where it is: those the scope search
    /// localised, when there are any (a group or leaf alarm folded in is a
    /// coarser or partial view of the same fault).
    pub fn localised(&self) -> Vec<&'a DetectedRegression> {
        let found: Vec<&DetectedRegression> = self
            .members
            .iter()
            .copied()
            .filter(|r| r.origin == ScopeOrigin::Cause)
            .collect();
        if found.is_empty() {
            self.members.clone()
        } else {
            found
        }
    }

    /// Where it is. Combinations the scope search found are parts of it:
    /// the bug is what they share (three model combinations of
    /// `hardware=tpu ∧ platform=api` are that). Alarms of group detectors
    /// alone are views of it from one dimension each: the bug is where they
    /// meet (`platform=api` and `hardware=tpu` are `hardware=tpu ∧
    /// platform=api`). `{}`: the whole fleet.
    pub fn scope(&self) -> ScopeMap {
        let members = self.localised();
        if members.iter().any(|r| r.origin == ScopeOrigin::Cause) {
            let mut shared = members[0].scope.clone();
            for r in &members[1..] {
                shared.retain(|d, v| r.scope.get(d) == Some(v));
            }
            return shared;
        }
        let mut agreed = ScopeMap::new();
        let mut contested: Vec<&str> = Vec::new();
        for r in &members {
            for (d, v) in &r.scope {
                if contested.contains(&d.as_str()) {
                    continue;
                }
                match agreed.get(d) {
                    Some(w) if w != v => {
                        agreed.remove(d);
                        contested.push(d);
                    }
                    Some(_) => {}
                    None => {
                        agreed.insert(d.clone(), v.clone());
                    }
                }
            }
        }
        agreed
    }

    /// Every scope inside it, distinct, narrowest last: the members' own
    /// scopes and their causes.
    pub fn places(&self) -> Vec<&'a ScopeMap> {
        let mut out: Vec<&ScopeMap> = Vec::new();
        for r in &self.members {
            let causes = r.causes.iter().map(|c| &c.scope);
            for s in std::iter::once(&r.scope).chain(causes) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out.sort_by_key(|s| s.len());
        out
    }
}

/// The order every surface lists bugs in (the scope panel, `check`): those
/// in force first, then the larger drop where each is now (its worst
/// member's), then the newest. Newest first alone put a stray sighting of
/// routing, a tenth of a point on `region=eu-west`, above the routing bug's
/// four points in atlas-m's scope panel, where at 80×24 only the first
/// entry shows. Each side is (in force, drop in points, onset).
pub fn listing_order(a: (bool, f64, Millis), b: (bool, f64, Millis)) -> std::cmp::Ordering {
    // A drop not measured sorts as none.
    let drop = |d: f64| if d.is_finite() { d } else { 0.0 };
    b.0.cmp(&a.0)
        .then_with(|| drop(a.1).total_cmp(&drop(b.1)))
        .then_with(|| b.2.cmp(&a.2))
}

impl Bug<'_> {
    /// What [`listing_order`] compares.
    pub fn listing_key(&self) -> (bool, f64, Millis) {
        (self.is_active(), self.now().worst().delta_pp, self.onset())
    }
}

/// Whether the slices of `outer` include those of `inner`: every constraint
/// of `outer` is also one of `inner`.
pub fn scope_includes(outer: &ScopeMap, inner: &ScopeMap) -> bool {
    outer.iter().all(|(d, v)| inner.get(d) == Some(v))
}

/// How many dimensions two places both constrain, to different values: 0
/// when they share slices. The one reading of "shares no slice" (> 0) for
/// the engine's folds, the grouping into bugs and the suspects' scope fit.
pub fn places_apart(a: &ScopeMap, b: &ScopeMap) -> usize {
    a.iter()
        .filter(|(d, v)| b.get(*d).is_some_and(|w| w != *v))
        .count()
}

/// Whether two places are sibling combinations: the same dimensions, one
/// value apart.
pub(super) fn siblings(a: &ScopeMap, b: &ScopeMap) -> bool {
    a.keys().eq(b.keys()) && places_apart(a, b) == 1
}

/// Whether two places can hold one fault: they share slices (no dimension
/// both constrain to different values), or they are sibling combinations
/// (the same dimensions, one value apart: `model=atlas-l` and
/// `model=atlas-m` under `hardware=tpu ∧ platform=api`).
pub(super) fn related_places(a: &ScopeMap, b: &ScopeMap) -> bool {
    let apart = places_apart(a, b);
    apart == 0 || (apart == 1 && a.len() == b.len() && a.keys().eq(b.keys()))
}

#[cfg(test)]
#[path = "bugs_tests.rs"]
mod tests;
