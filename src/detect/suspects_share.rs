//! Where a regression's drop lies inside its place, for a change that
//! touched part of it: the share of the place's missing good in the slices
//! the change reached. A wide place (`platform=api ∧ region=eu-west`) whose
//! drop is all on atlas-m is explained by a change to `model=atlas-m`, not
//! by one to `model=atlas-l ∧ region=eu-west` that fits its dimensions as
//! well.

use super::detections::ScopeMap;
use crate::protocol::Millis;
use crate::store::{SliceId, Store};

/// Buckets before the onset each slice's own rate is taken over.
const BEFORE_BUCKETS: i64 = 120;
/// Buckets from the onset the missing good is summed over.
const AFTER_BUCKETS: i64 = 60;
/// Places whose slices take looking at more than this many are not split
/// (the dimensions decide): a bound on what ranking reads per frame.
pub const SHARE_MAX_SLICES: usize = 2_000;

/// The missing good of each slice of a place after an onset, against that
/// slice's own rate before it.
pub(super) struct Deficits {
    slices: Vec<(SliceId, f64)>,
    total: f64,
}

/// Whether slice `id` lies in `scope` (a slice without a value for a named
/// dimension counts as in it, as for `SliceInterner::serves`).
fn slice_in(store: &Store, id: SliceId, scope: &ScopeMap) -> bool {
    let slices = store.slices();
    scope.iter().all(|(d, v)| {
        slices.dimension_index(d).is_some_and(|k| {
            let value = slices.value(id, k);
            value.is_empty() || value == v
        })
    })
}

/// The deficits of `signal` in `place` from `onset`, if the store holds the
/// hour before and some of the drop, the place at most
/// [`SHARE_MAX_SLICES`] slices, and any good is missing at all.
pub(super) fn deficits(
    store: &Store,
    signal: &str,
    place: &ScopeMap,
    onset: Millis,
) -> Option<Deficits> {
    let sig = store.signal_by_name(signal)?;
    let first = onset.div_euclid(store.bucket_ms().max(1));
    let pairs = place.iter().map(|(d, v)| (d.as_str(), v.as_str()));
    let inside = store.slices().slices_in(pairs, SHARE_MAX_SLICES)?;
    let mut slices = Vec::new();
    for id in inside {
        let sum = |from: i64, to: i64| {
            (from..to)
                .filter_map(|b| store.ratio(sig, id, b))
                .fold((0u64, 0u64), |(g, t), r| (g + r.good, t + r.total))
        };
        let (good, total) = sum(first - BEFORE_BUCKETS, first);
        if total == 0 {
            continue;
        }
        let rate = good as f64 / total as f64;
        let (after_good, after_total) = sum(first, first + AFTER_BUCKETS);
        let missing = (rate * after_total as f64 - after_good as f64).max(0.0);
        slices.push((id, missing));
    }
    let total: f64 = slices.iter().map(|s| s.1).sum();
    (total > 0.0).then_some(Deficits { slices, total })
}

impl Deficits {
    /// The share, 0..=1, of the missing good in the slices `change` reached.
    pub(super) fn share(&self, store: &Store, change: &ScopeMap) -> f64 {
        let touched: f64 = self
            .slices
            .iter()
            .filter(|(id, _)| slice_in(store, *id, change))
            .map(|s| s.1)
            .sum();
        touched / self.total
    }
}
