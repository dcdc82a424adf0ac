//! From many alarms to few regressions: localise the deficit of a signal
//! among leaf slices since the earliest onset, then fold every regressing
//! key (fleet, group, slice) into the cause that holds most of the drop
//! that set it off (its deficit from its onset, not since the window's).
//! A regression confined to one combination comes out as one regression
//! with that scope, not a dozen leaf alarms.

use std::collections::BTreeMap;

use super::cusum::Status;
use super::monitor::{Monitor, TrackKey};
use super::monitor_fold::{
    CauseSeries, early_deficits, explaining_cause, key_spans, was_under_way,
};
use super::scope::{Cause, Leaf, ScopeConfig, localize_keeping, share_of};
use super::scope_estimate::SCOPE_BASELINE_BUCKETS;
use crate::protocol::{Millis, SignalRole};
use crate::store::{Ratio, SignalId, SliceId, Store};

/// The scope search looks at most this many buckets back.
const SCOPE_WINDOW_BUCKETS: i64 = 240;
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
    /// consumed bucket, against the leaf's baseline by the estimator
    /// `qualtop scope` uses ([`LeafBaselines`](super::LeafBaselines)),
    /// learnt from the [`SCOPE_BASELINE_BUCKETS`] buckets before `from`
    /// while the store holds them all; else from those before the oldest
    /// onset in force, as the monitor kept them when that regression began
    /// (a store shorter than the regression still has its reference).
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
        // The buckets just before the window while the store holds them
        // all (the freshest reference); else the baselines kept from
        // before the oldest onset in force.
        let held = first - SCOPE_BASELINE_BUCKETS as i64 >= next - store.capacity() as i64;
        let before = match tracks.oldest_onset() {
            Some(onset) if !held => store.bucket_of(onset).min(first),
            _ => first,
        };
        let Some(baselines) = tracks.scope_baseline_before(store, before) else {
            // No history before the window: nothing to scope against.
            return out;
        };
        let interner = store.slices();
        let dims = interner.dimensions().len();
        let mut estimates = Vec::new();
        for i in 0..tracks.slices.len() {
            let slice = SliceId(i as u32);
            let mut sum = Ratio::default();
            for b in first..next {
                if let Some(r) = store.ratio(signal, slice, b) {
                    sum.add(r);
                }
            }
            let Some(e) = baselines.estimate(i, (sum.good as f64, sum.total as f64)) else {
                continue;
            };
            estimates.push(e);
            out.slices.push(slice);
            out.totals.push(sum.total);
        }
        for (slice, e) in out.slices.iter().zip(estimates) {
            out.leaves.push(Leaf {
                values: (0..dims).map(|d| interner.value_id(*slice, d)).collect(),
                expected: e.expected,
                actual: e.actual,
                variance: Some(e.variance),
            });
        }
        out
    }

    /// Every active regression of `signal`, folded by scope. `kept`: the
    /// places the scope search gave the regressions followed so far (see
    /// `localize_keeping`); none for a one-off view.
    pub fn scoped_regressions(
        &self,
        store: &Store,
        signal: SignalId,
        cfg: &ScopeConfig,
        kept: &[&BTreeMap<String, String>],
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
        let kept: Vec<Vec<(usize, u32)>> =
            kept.iter().filter_map(|m| cause_scope(store, m)).collect();
        let causes = localize_keeping(&window.leaves, dims, cfg, &kept);
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
            // Per span the key's drop is read over: the causes under way
            // then (a drop beyond noise, and their deficit per case now, over
            // as many buckets, not more than twice what it was), and the one
            // explaining it. A slow alarm must name the same cause at its
            // onset and when it fired.
            let mut choice: Option<Option<usize>> = None;
            for (from_b, seen) in key_spans(store, r, next) {
                let early = early_deficits(store, signal, &window, &members, (from_b, seen));
                let span = seen - from_b;
                let under_way: Vec<bool> = series
                    .iter()
                    .map(|c| {
                        c.shows_drop(from_b, seen)
                            && was_under_way(
                                c.rate(from_b, seen),
                                c.rate(seen.max(next - span), next),
                            )
                    })
                    .collect();
                let here = explaining_cause(&causes, &under_way, &window, &members, &early);
                choice = Some(match choice {
                    Some(before) if before != here => None,
                    _ => here,
                });
            }
            match choice.flatten() {
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

/// A named place as a cause's scope (dimension index, value id), ascending
/// by dimension; `None` when the store knows a name of it no more.
fn cause_scope(store: &Store, place: &BTreeMap<String, String>) -> Option<Vec<(usize, u32)>> {
    let slices = store.slices();
    let mut scope = place
        .iter()
        .map(|(d, v)| {
            let dim = slices.dimension_index(d)?;
            Some((dim, slices.lookup_value(dim, v)?))
        })
        .collect::<Option<Vec<_>>>()?;
    scope.sort_unstable();
    Some(scope)
}

/// A cause's scope named through the store's interner. An empty value (a
/// dimension the leaves do not name: not declared by their backend, or
/// rolled up away in scale mode) is no place, and is left out.
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
        .filter(|(_, v)| !v.is_empty())
        .collect()
}
