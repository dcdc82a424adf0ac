//! Where a regression's drop lies inside its place: the good each slice of
//! the place is missing in the hour after the onset, against that slice's
//! own rate in the two hours before. A wide place (`platform=api ∧
//! region=eu-west`) whose drop is all on atlas-m is explained by a change
//! to `model=atlas-m`, not by one to `model=atlas-l ∧ region=eu-west` that
//! fits its dimensions as well.
//!
//! The engine measures it while it places a regression and keeps it with
//! the regression, frozen once the hour after the onset is in. So every
//! surface (the TUI, `check`, snapshots, a relay's clients, which get it in
//! `findings`) weighs a change by the same table, at any hour: a surface
//! whose window has slid past the onset, or that started later, does not
//! fall back to another ranking, and no frame reads the store for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detections::ScopeMap;
use super::episode::Episode;
use crate::protocol::Millis;
use crate::store::{SignalId, Store};

/// Buckets before the onset each slice's own rate is taken over.
pub const DROP_BEFORE_BUCKETS: i64 = 120;
/// Buckets from the onset the missing good is summed over.
pub const DROP_AFTER_BUCKETS: i64 = 60;
/// Places whose slices take looking at more than this many get no table
/// (the dimensions decide): a bound on what one measurement reads.
pub const DROP_MAX_SLICES: usize = 2_000;
/// At most this many rows are kept: past it, the dimension with the most
/// values is folded away (summed over) until the rest fit, which bounds a
/// regression's size on the wire.
pub const DROP_MAX_ROWS: usize = 256;

/// The missing good of a place after an onset, by the values of the
/// dimensions its place leaves open. Plain named data, on the wire as a
/// regression's `drop_table`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropTable {
    /// The onset it was measured from.
    pub onset: Millis,
    /// The dimensions the rows split the place by (those it leaves open,
    /// less `folded`), by name.
    pub dims: Vec<String>,
    /// For each of `dims`, the values the rows name (`""`: a slice without
    /// one).
    pub values: Vec<Vec<String>>,
    /// One row per combination with good missing: an index into `values`
    /// for each of `dims`, and the good missing (cases, to 0.01).
    pub rows: Vec<(Vec<u32>, f64)>,
    /// Open dimensions summed over to keep the rows within
    /// [`DROP_MAX_ROWS`]: a change that fixes one cannot be told by the
    /// table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folded: Vec<String>,
}

impl DropTable {
    /// The table of `signal` (by name) in `place` from `onset`, if the
    /// store holds data before the onset and some good is missing after it,
    /// and the place has at most [`DROP_MAX_SLICES`] slices.
    pub fn measure(store: &Store, signal: &str, place: &ScopeMap, onset: Millis) -> Option<Self> {
        measure_id(store, store.signal_by_name(signal)?, place, onset, i64::MAX)
    }

    /// The share, 0..=1, of the place's missing good in the slices a change
    /// to `change` reached (a slice without a value for a dimension it
    /// names counts as reached, as for the store's `serves`). `None` when
    /// the table cannot tell: it folded a dimension the change fixes, or it
    /// does not hold together (a hostile peer's).
    pub fn share(&self, place: &ScopeMap, change: &ScopeMap) -> Option<f64> {
        let total = self.checked_total()?;
        let mut wanted: Vec<(usize, &str)> = Vec::new();
        for (d, v) in change {
            if let Some(p) = place.get(d) {
                if p != v {
                    return Some(0.0);
                }
                continue;
            }
            match self.dims.iter().position(|x| x == d) {
                Some(k) => wanted.push((k, v)),
                None => return None,
            }
        }
        let touched: f64 = self
            .rows
            .iter()
            .filter(|(key, _)| {
                wanted.iter().all(|&(k, v)| {
                    let value = &self.values[k][key[k] as usize];
                    value.is_empty() || value == v
                })
            })
            .fold(0.0, |sum, r| sum + r.1);
        Some((touched / total).clamp(0.0, 1.0))
    }

    /// Every row's good missing summed, if every row names a value of each
    /// dimension and the figures are finite, non-negative and not all zero.
    fn checked_total(&self) -> Option<f64> {
        if self.values.len() != self.dims.len() {
            return None;
        }
        let mut total = 0.0;
        for (key, missing) in &self.rows {
            let fits = key.len() == self.dims.len()
                && key
                    .iter()
                    .zip(&self.values)
                    .all(|(&i, values)| (i as usize) < values.len());
            if !fits || !missing.is_finite() || *missing < 0.0 {
                return None;
            }
            total += missing;
        }
        (total.is_finite() && total > 0.0).then_some(total)
    }
}

/// Tables measured once the hour after their onset was in, by signal, onset
/// and place, at most [`SETTLED_KEPT`] (the oldest onsets go first).
#[derive(Debug, Clone, Default)]
pub(super) struct Settled(BTreeMap<(Millis, SignalId, ScopeMap), Option<DropTable>>);

/// Settled tables kept: a bound on what the engine holds for them.
const SETTLED_KEPT: usize = 2_000;

/// Gives each episode the table of its signal, place and onset. A table
/// measured once the hour after its onset was in is settled: every episode
/// of that signal, place and onset holds it from then on (one begun again
/// there later and dated back to that onset, or one whose place moved away
/// and back), so it does not change as the store's window slides past the
/// onset. Before that it is measured again at every fold. `through`: the
/// start of the newest bucket the engine consumed.
pub(super) fn keep_measured(
    store: &Store,
    episodes: &mut [Episode],
    settled: &mut Settled,
    through: Millis,
) {
    let bucket = store.bucket_ms().max(1);
    let newest = through.div_euclid(bucket);
    for e in episodes.iter_mut() {
        let done = e.drop_measured.as_ref();
        if done
            .is_some_and(|(place, onset, all_in)| *all_in && *onset == e.onset && *place == e.scope)
        {
            continue;
        }
        let key = (e.onset, e.signal, e.scope.clone());
        let table = if let Some(table) = settled.0.get(&key) {
            table.clone()
        } else {
            let table = measure_id(store, e.signal, &e.scope, e.onset, newest + 1);
            if e.onset.div_euclid(bucket) + DROP_AFTER_BUCKETS > newest + 1 {
                // Not all in yet: measured again at the next fold.
                e.drop_table = table;
                e.drop_measured = Some((key.2, key.0, false));
                continue;
            }
            settled.0.insert(key.clone(), table.clone());
            table
        };
        e.drop_table = table;
        e.drop_measured = Some((key.2, key.0, true));
    }
    while settled.0.len() > SETTLED_KEPT {
        settled.0.pop_first();
    }
}

/// [`DropTable::measure`] by signal id (the engine's), reading no bucket
/// from `end` on (the engine's: what it consumed, so that a replay of a
/// store fed ahead measures what watching live did).
pub(super) fn measure_id(
    store: &Store,
    sig: SignalId,
    place: &ScopeMap,
    onset: Millis,
    end: i64,
) -> Option<DropTable> {
    let first = onset.div_euclid(store.bucket_ms().max(1));
    let slices = store.slices();
    let pairs = place.iter().map(|(d, v)| (d.as_str(), v.as_str()));
    let inside = slices.slices_in(pairs, DROP_MAX_SLICES)?;
    // Open dimensions, by name, so the table does not depend on the order
    // the store learnt them in.
    let mut open: Vec<(&str, usize)> = slices
        .dimensions()
        .iter()
        .enumerate()
        .filter(|(_, d)| !place.contains_key(*d))
        .map(|(k, d)| (d.as_str(), k))
        .collect();
    open.sort_unstable();
    let mut missing_by: BTreeMap<Vec<&str>, f64> = BTreeMap::new();
    for id in inside {
        let sum = |from: i64, to: i64| {
            (from..to)
                .filter_map(|b| store.ratio(sig, id, b))
                .fold((0u64, 0u64), |(g, t), r| (g + r.good, t + r.total))
        };
        let (good, total) = sum(first - DROP_BEFORE_BUCKETS, first);
        if total == 0 {
            continue;
        }
        let rate = good as f64 / total as f64;
        let (after_good, after_total) = sum(first, (first + DROP_AFTER_BUCKETS).min(end));
        let missing = (rate * after_total as f64 - after_good as f64).max(0.0);
        if missing > 0.0 {
            let key: Vec<&str> = open.iter().map(|&(_, k)| slices.value(id, k)).collect();
            *missing_by.entry(key).or_default() += missing;
        }
    }
    let mut dims: Vec<&str> = open.iter().map(|&(d, _)| d).collect();
    let mut folded = Vec::new();
    while missing_by.len() > DROP_MAX_ROWS {
        let widest = (0..dims.len()).max_by_key(|&k| {
            let mut seen: Vec<&str> = missing_by.keys().map(|key| key[k]).collect();
            seen.sort_unstable();
            seen.dedup();
            (seen.len(), std::cmp::Reverse(k))
        })?;
        folded.push(dims.remove(widest).to_string());
        let mut coarser: BTreeMap<Vec<&str>, f64> = BTreeMap::new();
        for (mut key, missing) in missing_by {
            key.remove(widest);
            *coarser.entry(key).or_default() += missing;
        }
        missing_by = coarser;
    }
    let values: Vec<Vec<String>> = (0..dims.len())
        .map(|k| {
            let mut seen: Vec<&str> = missing_by.keys().map(|key| key[k]).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.into_iter().map(str::to_string).collect()
        })
        .collect();
    let rows: Vec<(Vec<u32>, f64)> = missing_by
        .into_iter()
        .map(|(key, missing)| {
            let index = key
                .iter()
                .zip(&values)
                .map(|(v, vs)| vs.iter().position(|x| x == v).unwrap_or(0) as u32)
                .collect();
            (index, (missing * 100.0).round() / 100.0)
        })
        .filter(|r| r.1 > 0.0)
        .collect();
    let table = DropTable {
        onset,
        dims: dims.into_iter().map(str::to_string).collect(),
        values,
        rows,
        folded,
    };
    table.checked_total().map(|_| table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pairs: &[(&str, &str)]) -> ScopeMap {
        pairs
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect()
    }

    /// A place split by model and hardware: 30 missing on atlas-m (20 on
    /// TPU), 10 on atlas-l, and a slice without a hardware value.
    fn table() -> DropTable {
        DropTable {
            onset: 0,
            dims: vec!["hardware".into(), "model".into()],
            values: vec![
                vec![String::new(), "gpu".into(), "tpu".into()],
                vec!["atlas-l".into(), "atlas-m".into()],
            ],
            rows: vec![
                (vec![2, 1], 20.0),
                (vec![1, 1], 10.0),
                (vec![1, 0], 6.0),
                (vec![0, 0], 4.0),
            ],
            folded: vec!["region".into()],
        }
    }

    #[test]
    fn a_change_weighs_the_share_of_the_missing_good_in_the_slices_it_reached() {
        let t = table();
        let place = scope(&[("platform", "api")]);
        let share = |c: &[(&str, &str)]| t.share(&place, &scope(c));
        assert_eq!(share(&[("model", "atlas-m")]), Some(0.75));
        assert_eq!(
            share(&[("model", "atlas-m"), ("hardware", "tpu")]),
            Some(0.5)
        );
        // A slice without a hardware value counts as reached.
        assert_eq!(share(&[("hardware", "tpu")]), Some(0.6));
        assert_eq!(
            share(&[("platform", "api"), ("model", "atlas-l")]),
            Some(0.25)
        );
        assert_eq!(
            share(&[("platform", "web"), ("model", "atlas-l")]),
            Some(0.0)
        );
        // A folded dimension, or one the table never saw: it cannot tell.
        assert_eq!(share(&[("region", "eu-west")]), None);
        assert_eq!(share(&[("zone", "a")]), None);
    }

    #[test]
    fn a_table_that_does_not_hold_together_tells_nothing() {
        let place = ScopeMap::new();
        let change = scope(&[("model", "atlas-m")]);
        let mut t = table();
        t.rows[0].0[1] = 7;
        assert_eq!(t.share(&place, &change), None);
        let mut t = table();
        t.rows[1].1 = f64::NAN;
        assert_eq!(t.share(&place, &change), None);
        let mut t = table();
        t.rows[1].1 = -50.0;
        assert_eq!(t.share(&place, &change), None);
        let mut t = table();
        t.rows[2].0.pop();
        assert_eq!(t.share(&place, &change), None);
        let mut t = table();
        t.values.pop();
        assert_eq!(t.share(&place, &change), None);
        let mut t = table();
        t.rows.iter_mut().for_each(|r| r.1 = 0.0);
        assert_eq!(t.share(&place, &change), None);
        let t = DropTable {
            rows: vec![(vec![0, 0], f64::MAX), (vec![1, 0], f64::MAX)],
            ..table()
        };
        assert_eq!(t.share(&place, &change), None);
    }
}
