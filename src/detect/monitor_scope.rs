//! From many alarms to few regressions: localise the deficit of a signal
//! among leaf slices since the earliest onset, then fold every regressing
//! key (fleet, group, slice) into the cause that holds most of the drop
//! that set it off (its deficit from its onset, not since the window's).
//! A regression confined to one combination comes out as one regression
//! with that scope, not a dozen leaf alarms.

use std::collections::BTreeMap;

use super::cusum::Status;
use super::monitor::{Monitor, TrackKey};
use super::scope::{Cause, Leaf, ScopeConfig, localize, share_of};
use crate::protocol::{Millis, SignalRole};
use crate::store::{Ratio, SignalId, SliceId, Store};

/// A key is folded into the cause holding most of its early deficit when
/// the causes together hold at least this share of it.
const FOLD_SHARE: f64 = 0.5;
/// The scope search looks at most this many buckets back.
const SCOPE_WINDOW_BUCKETS: i64 = 240;
/// A cause was under way when a key's drop was seen only if its deficit
/// per case then was at least this share of its deficit per case now: a
/// fault that began later in the same slices (the routing bug on atlas-m,
/// inside the TPU misconfiguration's slices) was not.
const UNDER_WAY_RATE: f64 = 0.5;
/// The drop that set a key off is read from its onset over its detection
/// delay, at least this many buckets (one bucket is too noisy to share out)…
const EARLY_MIN_BUCKETS: i64 = 5;
/// …and at most this many (a slow alarm's early drop, not the hours since).
const EARLY_MAX_BUCKETS: i64 = 30;

/// A cause with names, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedCause {
    pub scope: BTreeMap<String, String>,
    pub explains: f64,
    pub cause: Cause,
}

/// One regression as on-call should read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedRegression {
    pub signal: SignalId,
    pub role: SignalRole,
    /// Where it is: a found cause, or the key itself when no cause holds it.
    pub scope: BTreeMap<String, String>,
    /// The regressing keys folded into it.
    pub keys: Vec<TrackKey>,
    /// Causes inside this regression, best first, with their share of the
    /// deficit: of the signal's whole deficit for a found cause, of the
    /// key's own deficit otherwise.
    pub causes: Vec<NamedCause>,
    /// Whether `scope` is a cause the search found (`false`: the scope is
    /// the one regressing key's own, no cause held most of its deficit).
    pub from_cause: bool,
    pub onset: Millis,
    pub detected_at: Millis,
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
    pub active: bool,
}

/// Leaf data over a window, as the scope search needs it.
pub struct LeafWindow {
    pub slices: Vec<SliceId>,
    pub leaves: Vec<Leaf>,
    pub totals: Vec<u64>,
}

impl Monitor {
    /// Per leaf slice: good and total of `signal` from `from` to the last
    /// consumed bucket, against the leaf's own baseline (the fleet's when the
    /// leaf has none yet).
    pub fn leaf_window(&self, store: &Store, signal: SignalId, from: Millis) -> LeafWindow {
        let mut out = LeafWindow {
            slices: Vec::new(),
            leaves: Vec::new(),
            totals: Vec::new(),
        };
        let Some(tracks) = self.signals.iter().find(|t| t.signal == signal) else {
            return out;
        };
        let Some(next) = self.next_bucket() else {
            return out;
        };
        let first = store.bucket_of(from);
        let interner = store.slices();
        let dims = interner.dimensions().len();
        let fleet = tracks.fleet.detector.baseline();
        for (i, track) in tracks.slices.iter().enumerate() {
            let slice = SliceId(i as u32);
            let Some(base) = track.detector.baseline().or(fleet) else {
                continue;
            };
            let mut sum = Ratio::default();
            for b in first..next {
                if let Some(r) = store.ratio(signal, slice, b) {
                    sum.add(r);
                }
            }
            if sum.total == 0 {
                continue;
            }
            let n = sum.total as f64;
            let p = base.rate;
            out.slices.push(slice);
            out.totals.push(sum.total);
            out.leaves.push(Leaf {
                values: (0..dims).map(|d| interner.value_id(slice, d)).collect(),
                expected: n * p,
                actual: sum.good as f64,
                variance: Some(base.dispersion * n * p * (1.0 - p)),
            });
        }
        out
    }

    /// Every active regression of `signal`, folded by scope.
    pub fn scoped_regressions(
        &self,
        store: &Store,
        signal: SignalId,
        cfg: &ScopeConfig,
    ) -> Vec<ScopedRegression> {
        let Some(tracks) = self.signals.iter().find(|t| t.signal == signal) else {
            return Vec::new();
        };
        let mut regressing = Vec::new();
        self.visit(tracks, |key, t| {
            if let Status::Regression(r) = t.detector.status() {
                regressing.push((key, r));
            }
        });
        let Some(from) = regressing.iter().map(|(_, r)| r.onset).min() else {
            return Vec::new();
        };
        // Where the deficit is now: a regression that began hours ago would
        // otherwise blur a newer one, and cost a read of every leaf since.
        let recent = self
            .next_bucket()
            .map_or(from, |n| store.bucket_start(n - SCOPE_WINDOW_BUCKETS));
        let from = from.max(recent);
        let window = self.leaf_window(store, signal, from);
        let dims = store.slices().dimensions().len();
        let causes = localize(&window.leaves, dims, cfg);
        let in_key = |key: TrackKey, i: usize| match key {
            TrackKey::Fleet => true,
            TrackKey::Group { dim, value } => window.leaves[i].values.get(dim) == Some(&value),
            TrackKey::Slice(s) => window.slices[i] == s,
        };
        let deficit = |i: usize| window.leaves[i].expected - window.leaves[i].actual;
        let named = |c: &Cause, share: f64| NamedCause {
            scope: cause_map(store, c),
            explains: share,
            cause: c.clone(),
        };
        // Each key goes to the cause holding most of the drop that set it
        // off, if enough: a cause that began later in the same slices (a
        // second bug overlapping the first) holds the key's deficit now but
        // does not explain its alarm.
        let next = self.next_bucket().unwrap_or_default();
        let first = store.bucket_of(from);
        // From the oldest key's onset: whether a cause was under way then.
        let lo = regressing
            .iter()
            .map(|(_, r)| store.bucket_of(r.onset))
            .min()
            .unwrap_or(first)
            .min(first)
            .max(next - store.capacity() as i64);
        let series: Vec<CauseSeries> = causes
            .iter()
            .map(|c| CauseSeries::new(store, signal, &window, c, lo, next))
            .collect();
        let mut folded: Vec<Vec<usize>> = vec![Vec::new(); causes.len()];
        let mut alone = Vec::new();
        for (k, &(key, r)) in regressing.iter().enumerate() {
            let members: Vec<usize> = (0..window.leaves.len())
                .filter(|&i| in_key(key, i))
                .collect();
            let own: f64 = members.iter().map(|&i| deficit(i)).sum();
            let early = early_deficits(store, signal, &window, &members, r, next);
            // Causes already under way when the key's drop was seen: their
            // deficit per case now (over as many buckets) is not more than
            // twice what it was then.
            let from_b = store.bucket_of(r.onset);
            let span = early_span(store, r);
            let seen = (from_b + span).min(next);
            let under_way: Vec<bool> = series
                .iter()
                .map(|c| was_under_way(c.rate(from_b, seen), c.rate(seen.max(next - span), next)))
                .collect();
            match explaining_cause(&causes, &under_way, &window, &members, &early) {
                Some(c) => folded[c].push(k),
                None => alone.push((k, members, own)),
            }
        }
        let mut out = Vec::new();
        for (c, ks) in folded.iter().enumerate() {
            if ks.is_empty() {
                continue;
            }
            let cause = &causes[c];
            // The rates over every leaf in the scope (the search's own sums
            // leave out leaves an earlier cause already took).
            let (mut expected, mut actual, mut total) = (0.0, 0.0, 0u64);
            for (i, leaf) in window.leaves.iter().enumerate() {
                if cause.contains(&leaf.values) {
                    expected += leaf.expected;
                    actual += leaf.actual;
                    total += window.totals[i];
                }
            }
            out.push(entry(
                tracks.signal,
                tracks.role,
                cause_map(store, cause),
                ks.iter().map(|&k| regressing[k]).collect(),
                vec![named(cause, cause.explains)],
                (expected, actual, total),
            ));
            if let Some(e) = out.last_mut() {
                e.from_cause = true;
            }
        }
        for (k, members, _) in alone {
            let (key, r) = regressing[k];
            // Shares of the key's missing good alone (surpluses elsewhere in
            // the key would push them past 100 %).
            let missing: f64 = members.iter().map(|&i| deficit(i).max(0.0)).sum();
            let inner: Vec<NamedCause> = causes
                .iter()
                .filter_map(|cause| {
                    let inside: f64 = members
                        .iter()
                        .filter(|&&i| cause.contains(&window.leaves[i].values))
                        .map(|&i| deficit(i))
                        .sum();
                    (inside > 0.0).then(|| named(cause, share_of(inside, missing)))
                })
                .collect();
            let mut e = entry(
                tracks.signal,
                tracks.role,
                key.to_map(store),
                vec![(key, r)],
                inner,
                (f64::NAN, f64::NAN, 0),
            );
            e.baseline = r.baseline;
            e.current = r.current;
            e.delta_pp = r.delta_pp;
            out.push(e);
        }
        out.sort_by_key(|e| e.onset);
        out
    }
}

/// A cause's deficit and cases per bucket (its leaves at their expected
/// rates in `window`), summed from `lo`: any span's rate in O(1).
struct CauseSeries {
    lo: i64,
    /// Running sums: entry `k` holds buckets `lo..lo + k`.
    deficit: Vec<f64>,
    cases: Vec<f64>,
}

impl CauseSeries {
    fn new(
        store: &Store,
        signal: SignalId,
        window: &LeafWindow,
        cause: &Cause,
        lo: i64,
        next: i64,
    ) -> Self {
        let len = usize::try_from(next - lo).unwrap_or(0);
        let (mut deficit, mut cases) = (vec![0.0; len + 1], vec![0.0; len + 1]);
        for (i, leaf) in window.leaves.iter().enumerate() {
            if !cause.contains(&leaf.values) || window.totals[i] == 0 {
                continue;
            }
            let rate = leaf.expected / window.totals[i] as f64;
            for (k, b) in (lo..next).enumerate() {
                if let Some(x) = store.ratio(signal, window.slices[i], b) {
                    deficit[k + 1] += x.total as f64 * rate - x.good as f64;
                    cases[k + 1] += x.total as f64;
                }
            }
        }
        for k in 1..=len {
            deficit[k] += deficit[k - 1];
            cases[k] += cases[k - 1];
        }
        CauseSeries { lo, deficit, cases }
    }

    /// Deficit per case over buckets `from..to`; `None` without a case.
    fn rate(&self, from: i64, to: i64) -> Option<f64> {
        let at = |b: i64| usize::try_from(b - self.lo).unwrap_or(0).min(self.cases.len() - 1);
        let (a, b) = (at(from), at(to));
        let cases = self.cases[b] - self.cases[a];
        (b > a && cases > 0.0).then(|| (self.deficit[b] - self.deficit[a]) / cases)
    }
}

/// Whether a cause with deficit per case `then` (over a key's early window)
/// and `now` (over as many buckets up to now) was under way then: now is at
/// most 1 / [`UNDER_WAY_RATE`] times then. No case now: nothing says no.
fn was_under_way(then: Option<f64>, now: Option<f64>) -> bool {
    now.is_none_or(|now| then.unwrap_or(0.0) >= UNDER_WAY_RATE * now)
}

/// How many buckets from a key's onset its early drop is read over.
fn early_span(store: &Store, r: super::cusum::Regression) -> i64 {
    let delay = store.bucket_of(r.detected_at) - store.bucket_of(r.onset) + 1;
    delay.clamp(EARLY_MIN_BUCKETS, EARLY_MAX_BUCKETS)
}

/// Per member leaf (same order as `members`): its deficit from the key's
/// onset over its detection delay (clamped to [`EARLY_MIN_BUCKETS`],
/// [`EARLY_MAX_BUCKETS`]), at the leaf's expected rate in `window`.
fn early_deficits(
    store: &Store,
    signal: SignalId,
    window: &LeafWindow,
    members: &[usize],
    r: super::cusum::Regression,
    next: i64,
) -> Vec<f64> {
    let first = store.bucket_of(r.onset);
    let end = (first + early_span(store, r)).min(next);
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

/// The cause that explains a key's alarm: the causes together hold at
/// least [`FOLD_SHARE`] of the key's early deficit (`early`, per member
/// leaf), and this one, among those `under_way` when the key's drop was
/// seen, the most of it. `None`: no cause explains it (it began with a
/// fault the search no longer sees, or is noise).
fn explaining_cause(
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
    // Share inside any cause: a group hit by three separate combinations
    // belongs with them, not alone.
    let explained = held(&|v| causes.iter().any(|c| c.contains(v)));
    let (best, share) = causes
        .iter()
        .enumerate()
        .filter(|(c, _)| under_way.get(*c).copied().unwrap_or(false))
        .map(|(c, cause)| (c, held(&|v| cause.contains(v))))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (share > 0.0 && explained >= FOLD_SHARE).then_some(best)
}

fn entry(
    signal: SignalId,
    role: SignalRole,
    scope: BTreeMap<String, String>,
    keys: Vec<(TrackKey, super::cusum::Regression)>,
    causes: Vec<NamedCause>,
    (expected, actual, total): (f64, f64, u64),
) -> ScopedRegression {
    let onset = keys.iter().map(|(_, r)| r.onset).min().unwrap_or_default();
    let detected_at = keys
        .iter()
        .map(|(_, r)| r.detected_at)
        .min()
        .unwrap_or_default();
    let (baseline, current) = if total > 0 {
        (expected / total as f64, actual / total as f64)
    } else {
        (f64::NAN, f64::NAN)
    };
    ScopedRegression {
        signal,
        role,
        scope,
        active: keys.iter().any(|(_, r)| r.active),
        keys: keys.into_iter().map(|(k, _)| k).collect(),
        causes,
        from_cause: false,
        onset,
        detected_at,
        baseline,
        current,
        delta_pp: (current - baseline) * 100.0,
    }
}

/// A cause's scope named through the store's interner.
pub fn cause_map(store: &Store, cause: &Cause) -> BTreeMap<String, String> {
    let slices = store.slices();
    cause
        .scope
        .iter()
        .filter_map(|&(d, v)| {
            Some((
                slices.dimensions().get(d)?.clone(),
                slices.values_of(d).get(v as usize)?.to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_key_whose_early_drop_lies_mostly_outside_every_cause_stays_alone() {
        let w = window();
        let causes = [cause(&[(0, 1), (1, 1)])];
        // Leaves 0 and 3: 70 % of the drop in leaf 0, outside the cause.
        let members = [0, 3];
        let early = [7.0, 3.0];
        assert_eq!(explaining_cause(&causes, &[true], &w, &members, &early), None);
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
        };
        assert_eq!(s.rate(10, 13), Some(4.0 / 30.0));
        assert_eq!(s.rate(12, 13), Some(0.3));
        // Before its start reads from its start; an empty span is no rate.
        assert_eq!(s.rate(0, 11), Some(0.1));
        assert_eq!(s.rate(12, 12), None);
    }
}
