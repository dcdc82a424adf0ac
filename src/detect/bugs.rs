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

use super::detections::{DetectedRegression, ScopeMap};
use crate::protocol::Millis;

/// Regressions starting within this long of each other (and overlapping in
/// time) are one bug: the TPU misconfiguration is three disjoint
/// combinations on three suites, all starting within minutes.
pub const ONSET_SPREAD_MS: Millis = 10 * 60_000;

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

    /// Where it is: every constraint some member names and no member
    /// contradicts. The TPU misconfiguration seen first as `platform=api`
    /// and `hardware=tpu` is `hardware=tpu ∧ platform=api`; refined into
    /// three model combinations inside both, it is still that (the models
    /// differ). `{}` when nothing is agreed: the whole fleet.
    pub fn scope(&self) -> ScopeMap {
        let mut agreed = ScopeMap::new();
        let mut contested: Vec<&str> = Vec::new();
        for r in &self.members {
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

/// Whether the slices of `outer` include those of `inner`: every constraint
/// of `outer` is also one of `inner`.
pub fn scope_includes(outer: &ScopeMap, inner: &ScopeMap) -> bool {
    outer.iter().all(|(d, v)| inner.get(d) == Some(v))
}

/// Whether two regressions were in force at a common time.
fn overlap(a: &DetectedRegression, b: &DetectedRegression) -> bool {
    a.onset.max(b.onset)
        < a.ended_at
            .unwrap_or(Millis::MAX)
            .min(b.ended_at.unwrap_or(Millis::MAX))
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
            let nested = scope_includes(&a.scope, &b.scope) || scope_includes(&b.scope, &a.scope);
            let together = (a.onset - b.onset).abs() <= ONSET_SPREAD_MS;
            if (nested || together) && overlap(a, b) {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ScopeOrigin;
    use crate::protocol::Role;

    const MIN: Millis = 60_000;

    fn reg(
        signal: &str,
        scope: &[(&str, &str)],
        onset: i64,
        end: Option<i64>,
    ) -> DetectedRegression {
        DetectedRegression {
            signal: signal.to_owned(),
            role: Role::Quality,
            scope: scope
                .iter()
                .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
                .collect(),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            alarms: Vec::new(),
            onset: onset * MIN,
            detected_at: (onset + 2) * MIN,
            ended_at: end.map(|e| e * MIN),
            baseline: 0.95,
            current: 0.92,
            delta_pp: -3.0,
        }
    }

    #[test]
    fn a_scope_refined_into_disjoint_combinations_stays_one_bug() {
        let rs = [
            reg(
                "lc",
                &[("hardware", "tpu"), ("model", "m"), ("platform", "api")],
                61,
                None,
            ),
            reg(
                "lc",
                &[("hardware", "tpu"), ("model", "l"), ("platform", "api")],
                57,
                None,
            ),
            reg(
                "cs",
                &[("hardware", "tpu"), ("model", "xl"), ("platform", "api")],
                63,
                None,
            ),
        ];
        let bugs = group_bugs(&rs);
        assert_eq!(bugs.len(), 1);
        let scope = bugs[0].scope();
        assert_eq!(scope.len(), 2, "{scope:?}");
        assert_eq!(scope.get("hardware").map(String::as_str), Some("tpu"));
        assert_eq!(bugs[0].signals(), vec!["cs", "lc"]);
        assert_eq!(bugs[0].onset(), 57 * MIN);
    }

    #[test]
    fn scopes_seen_from_two_sides_meet_in_their_intersection() {
        let rs = [
            reg("lc", &[("platform", "api")], 61, None),
            reg("lc", &[("hardware", "tpu")], 61, None),
            reg("gq", &[], 62, None),
        ];
        let bugs = group_bugs(&rs);
        assert_eq!(bugs.len(), 1);
        let want: ScopeMap = [("hardware", "tpu"), ("platform", "api")]
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(bugs[0].scope(), want);
    }

    #[test]
    fn bugs_hours_apart_in_unrelated_scopes_are_two() {
        let rs = [
            reg("lc", &[("hardware", "tpu")], 60, None),
            reg("gq", &[("model", "m")], 300, None),
        ];
        assert_eq!(group_bugs(&rs).len(), 2);
    }

    #[test]
    fn nested_scopes_that_never_overlap_in_time_are_two_bugs() {
        let rs = [
            reg("gq", &[("model", "m")], 60, Some(90)),
            reg("gq", &[("model", "m"), ("hardware", "tpu")], 200, None),
        ];
        let bugs = group_bugs(&rs);
        assert_eq!(bugs.len(), 2);
        assert_eq!(bugs[0].ended_at(), Some(90 * MIN));
        assert!(!bugs[0].is_active() && bugs[1].is_active());
    }

    #[test]
    fn the_worst_member_is_the_largest_drop() {
        let mut a = reg("a", &[("model", "m")], 60, None);
        a.delta_pp = -1.0;
        let mut b = reg("b", &[("model", "m")], 61, None);
        b.delta_pp = -4.0;
        let rs = [a, b];
        let bugs = group_bugs(&rs);
        assert_eq!(bugs[0].worst().signal, "b");
    }
}
