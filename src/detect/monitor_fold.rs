//! Which cause explains a regressing key: the one holding most of the drop
//! that set the key off (its deficit from its onset over its detection
//! delay), among the causes already under way then. A fault that began
//! later in the same slices holds the key's deficit now, not its alarm.

use super::cusum::Regression;
use super::monitor_scope::LeafWindow;
use super::scope::Cause;
use crate::store::{Ratio, SignalId, Store};

/// A key is folded into the cause holding most of its early deficit when
/// the causes together hold at least this share of it.
const FOLD_SHARE: f64 = 0.5;
/// A cause was under way when a key's drop was seen only if its deficit
/// per case then was at least this share of its deficit per case now: a
/// fault that began later in the same slices (the routing bug on atlas-m,
/// inside the TPU misconfiguration's slices) was not.
const UNDER_WAY_RATE: f64 = 0.5;
/// A cause showed a drop when a key's drop began only at this z or more.
const SHOWN_Z: f64 = 2.0;
/// The drop that set a key off is read from its onset over its detection
/// delay, at least this many buckets (one bucket is too noisy to share out)…
const EARLY_MIN_BUCKETS: i64 = 5;
/// …and at most this many (a slow alarm's early drop, not the hours since).
const EARLY_MAX_BUCKETS: i64 = 30;

/// A cause's deficit and cases per bucket (its leaves at their expected
/// rates in `window`), summed from `lo`: any span's rate in O(1).
pub(super) struct CauseSeries {
    lo: i64,
    /// Running sums: entry `k` holds buckets `lo..lo + k`.
    deficit: Vec<f64>,
    cases: Vec<f64>,
    /// Noise variance of the deficit (each leaf's per case, as in `window`).
    variance: Vec<f64>,
}

impl CauseSeries {
    pub(super) fn new(
        store: &Store,
        signal: SignalId,
        window: &LeafWindow,
        cause: &Cause,
        lo: i64,
        next: i64,
    ) -> Self {
        let len = usize::try_from(next - lo).unwrap_or(0);
        let (mut deficit, mut cases) = (vec![0.0; len + 1], vec![0.0; len + 1]);
        let mut variance = vec![0.0; len + 1];
        for (i, leaf) in window.leaves.iter().enumerate() {
            if !cause.contains(&leaf.values) || window.totals[i] == 0 {
                continue;
            }
            let rate = leaf.expected / window.totals[i] as f64;
            let var = leaf.variance.unwrap_or(0.0) / window.totals[i] as f64;
            for (k, b) in (lo..next).enumerate() {
                if let Some(x) = store.ratio(signal, window.slices[i], b) {
                    deficit[k + 1] += x.total as f64 * rate - x.good as f64;
                    cases[k + 1] += x.total as f64;
                    variance[k + 1] += x.total as f64 * var;
                }
            }
        }
        for k in 1..=len {
            deficit[k] += deficit[k - 1];
            cases[k] += cases[k - 1];
            variance[k] += variance[k - 1];
        }
        CauseSeries {
            lo,
            deficit,
            cases,
            variance,
        }
    }

    /// Deficit per case over buckets `from..to`; `None` without a case.
    pub(super) fn rate(&self, from: i64, to: i64) -> Option<f64> {
        let at = |b: i64| {
            usize::try_from(b - self.lo)
                .unwrap_or(0)
                .min(self.cases.len() - 1)
        };
        let (a, b) = (at(from), at(to));
        let cases = self.cases[b] - self.cases[a];
        (b > a && cases > 0.0).then(|| (self.deficit[b] - self.deficit[a]) / cases)
    }

    /// Whether its deficit over buckets `from..to` is a drop beyond noise
    /// ([`SHOWN_Z`]): a cause that showed none when a key's drop began
    /// cannot be what set the key off.
    pub(super) fn shows_drop(&self, from: i64, to: i64) -> bool {
        let at = |b: i64| {
            usize::try_from(b - self.lo)
                .unwrap_or(0)
                .min(self.cases.len() - 1)
        };
        let (a, b) = (at(from), at(to));
        let deficit = self.deficit[b] - self.deficit[a];
        let variance = self.variance[b] - self.variance[a];
        b > a && super::scope::z_score(deficit, variance) >= SHOWN_Z
    }
}

/// Whether a cause with deficit per case `then` (over a key's early window)
/// and `now` (over as many buckets up to now) was under way then: now is at
/// most 1 / [`UNDER_WAY_RATE`] times then. No case now: nothing says no.
pub(super) fn was_under_way(then: Option<f64>, now: Option<f64>) -> bool {
    now.is_none_or(|now| then.unwrap_or(0.0) >= UNDER_WAY_RATE * now)
}

/// How many buckets from a key's onset its early drop is read over.
pub(super) fn early_span(store: &Store, r: Regression) -> i64 {
    let delay = store.bucket_of(r.detected_at) - store.bucket_of(r.onset) + 1;
    delay.clamp(EARLY_MIN_BUCKETS, EARLY_MAX_BUCKETS)
}

/// The spans (from, to) of buckets a key's drop is read over: from its
/// onset over its detection delay (clamped to [`EARLY_MIN_BUCKETS`],
/// [`EARLY_MAX_BUCKETS`]); and, for an alarm that fired later than that
/// (a slow drift), also as many buckets up to when it fired: its cause
/// must have been under way at both, at its onset and when it fired.
/// Spans the store no longer holds are read from its oldest bucket on: a
/// drop older than the store is judged by what is left of it, not as no
/// drop at all.
pub(super) fn key_spans(store: &Store, r: Regression, next: i64) -> Vec<(i64, i64)> {
    let oldest = next - store.capacity() as i64;
    let first = store.bucket_of(r.onset).max(oldest);
    let fired = store.bucket_of(r.detected_at).max(oldest) + 1;
    let span = early_span(store, r);
    let mut out = vec![(first, (first + span).min(next))];
    if fired - first > EARLY_MAX_BUCKETS {
        out.push((fired - span, fired.min(next)));
    }
    out
}

/// Per member leaf (same order as `members`): its deficit over buckets
/// `first..end`, at the leaf's expected rate in `window`.
pub(super) fn early_deficits(
    store: &Store,
    signal: SignalId,
    window: &LeafWindow,
    members: &[usize],
    (first, end): (i64, i64),
) -> Vec<f64> {
    members
        .iter()
        .map(|&i| {
            let total = window.totals[i];
            if total == 0 {
                return 0.0;
            }
            let rate = window.leaves[i].expected / total as f64;
            let mut sum = Ratio::default();
            for b in first..end {
                if let Some(x) = store.ratio(signal, window.slices[i], b) {
                    sum.add(x);
                }
            }
            sum.total as f64 * rate - sum.good as f64
        })
        .collect()
}

/// The cause that explains a key's alarm: the causes `under_way` when the
/// key's drop was seen together hold at least [`FOLD_SHARE`] of its early
/// deficit (`early`, per member leaf), and this one the most of it. `None`: no cause explains it (it began with a
/// fault the search no longer sees, or is noise).
pub(super) fn explaining_cause(
    causes: &[Cause],
    under_way: &[bool],
    window: &LeafWindow,
    members: &[usize],
    early: &[f64],
) -> Option<usize> {
    let own: f64 = early.iter().sum();
    if own <= 0.0 {
        return None;
    }
    let held = |inside: &dyn Fn(&[u32]) -> bool| -> f64 {
        members
            .iter()
            .zip(early)
            .filter(|(i, _)| inside(&window.leaves[**i].values))
            .map(|(_, d)| d)
            .sum::<f64>()
            / own
    };
    // Share inside any cause under way: a group hit by three separate
    // combinations belongs with them, not alone; one whose drop lies in
    // causes that began later is not theirs.
    let explained = held(&|v| {
        causes
            .iter()
            .zip(under_way)
            .any(|(c, &on)| on && c.contains(v))
    });
    let (best, share) = causes
        .iter()
        .enumerate()
        .filter(|(c, _)| under_way.get(*c).copied().unwrap_or(false))
        .map(|(c, cause)| (c, held(&|v| cause.contains(v))))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (share > 0.0 && explained >= FOLD_SHARE).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::scope::Leaf;
    use crate::store::SliceId;

    fn cause(scope: &[(usize, u32)]) -> Cause {
        Cause {
            scope: scope.to_vec(),
            explains: 0.5,
            expected: 0.0,
            actual: 0.0,
            z: 5.0,
            leaves: 1,
        }
    }

    /// Four leaves over two dimensions (hardware 0/1 × model 0/1).
    fn window() -> LeafWindow {
        let leaf = |h, m| Leaf {
            values: vec![h, m],
            expected: 100.0,
            actual: 100.0,
            variance: None,
        };
        LeafWindow {
            slices: (0..4).map(SliceId).collect(),
            leaves: vec![leaf(0, 0), leaf(0, 1), leaf(1, 0), leaf(1, 1)],
            totals: vec![100; 4],
        }
    }

    #[test]
    fn a_key_goes_to_the_cause_holding_most_of_its_early_drop() {
        let w = window();
        let causes = [cause(&[(0, 1)]), cause(&[(1, 1)])];
        // A group key over leaves 1 and 3 (model 1): its early drop is all
        // in leaf 3 (hardware 1 ∧ model 1), inside both causes.
        let members = [1, 3];
        let early = [0.0, 10.0];
        assert!(explaining_cause(&causes, &[true, true], &w, &members, &early).is_some());
        // Only the first cause was under way then: it explains the key.
        assert_eq!(
            explaining_cause(&causes, &[true, false], &w, &members, &early),
            Some(0)
        );
    }

    #[test]
    fn a_cause_that_began_after_the_key_does_not_explain_it() {
        let w = window();
        let causes = [cause(&[(1, 1)])];
        let members = [1, 3];
        let early = [4.0, 6.0];
        // Holding all of the key's drop is not enough when it was not yet on.
        assert_eq!(
            explaining_cause(&causes, &[false], &w, &members, &early),
            None
        );
    }

    #[test]
    fn a_key_whose_early_drop_lies_mostly_in_causes_not_yet_under_way_stays_alone() {
        let w = window();
        let causes = [cause(&[(0, 1), (1, 1)]), cause(&[(0, 0), (1, 1)])];
        // Model 1's group: 60 % of its early drop in leaf 3 (a cause that
        // began later), 40 % in leaf 1 (a cause under way then).
        let members = [1, 3];
        let early = [4.0, 6.0];
        assert_eq!(
            explaining_cause(&causes, &[false, true], &w, &members, &early),
            None
        );
        assert_eq!(
            explaining_cause(&causes, &[true, true], &w, &members, &early),
            Some(0)
        );
    }

    #[test]
    fn a_key_whose_early_drop_lies_mostly_outside_every_cause_stays_alone() {
        let w = window();
        let causes = [cause(&[(0, 1), (1, 1)])];
        // Leaves 0 and 3: 70 % of the drop in leaf 0, outside the cause.
        let members = [0, 3];
        let early = [7.0, 3.0];
        assert_eq!(
            explaining_cause(&causes, &[true], &w, &members, &early),
            None
        );
        // No drop at all (or a surplus): nothing to explain.
        assert_eq!(
            explaining_cause(&causes, &[true], &w, &members, &[0.0, -1.0]),
            None
        );
    }

    #[test]
    fn a_cause_is_under_way_unless_its_drop_more_than_doubled_since() {
        // The same fault going on, or fading, or on and off: under way.
        assert!(was_under_way(Some(0.04), Some(0.04)));
        assert!(was_under_way(Some(0.04), Some(0.0)));
        assert!(was_under_way(Some(0.04), Some(0.08)));
        // A second fault in the same slices since (0.02 then, 0.065 now).
        assert!(!was_under_way(Some(0.02), Some(0.065)));
        // Nothing then, a drop now: it began later.
        assert!(!was_under_way(None, Some(0.03)));
        assert!(was_under_way(Some(0.01), None));
    }

    #[test]
    fn a_cause_series_gives_the_rate_of_any_span() {
        let s = CauseSeries {
            lo: 10,
            deficit: vec![0.0, 1.0, 1.0, 4.0],
            cases: vec![0.0, 10.0, 20.0, 30.0],
            variance: vec![0.0, 1.0, 2.0, 3.0],
        };
        assert_eq!(s.rate(10, 13), Some(4.0 / 30.0));
        assert_eq!(s.rate(12, 13), Some(0.3));
        // Before its start reads from its start; an empty span is no rate.
        assert_eq!(s.rate(0, 11), Some(0.1));
        assert_eq!(s.rate(12, 12), None);
    }

    #[test]
    fn a_cause_shows_a_drop_only_beyond_noise() {
        let s = CauseSeries {
            lo: 0,
            deficit: vec![0.0, 0.5, 4.5, 5.0],
            cases: vec![0.0, 10.0, 20.0, 30.0],
            variance: vec![0.0, 1.0, 2.0, 3.0],
        };
        // 0.5 missing against a variance of 1: noise; 4 against 1: a drop.
        assert!(!s.shows_drop(0, 1));
        assert!(s.shows_drop(1, 2));
        assert!(!s.shows_drop(2, 2));
    }
}
