//! The rollups a `group_by` subscribe gets from a hub: its snapshot's
//! grouped series and, per update, the touched groups' buckets recomputed.

use std::collections::HashMap;

use crate::protocol::{BucketValue, Millis, Point, Series, SignalKind, SliceMap, Subscribe};
use crate::server::rollup;
use crate::server::source::UpdatePoint;

use super::HubState;

impl HubState {
    /// One series per (group, signal) of the leaves `sub` lets through,
    /// buckets `first..=head` rolled up (see [`rollup`]).
    pub(super) fn grouped_series(
        &self,
        sub: &Subscribe,
        group_by: &[String],
        first: i64,
        head: i64,
    ) -> Vec<Series<'static>> {
        let len = (head - first + 1).max(0) as usize;
        let signals = self.signals.len();
        let mut groups = rollup::Groups::default();
        for row in self.rows.iter().filter(|r| sub.matches(&r.slice)) {
            let buckets = groups.buckets_of(&row.slice, group_by, signals * len);
            for (s, (_, kind)) in self.signals.iter().enumerate() {
                for (i, b) in (first..=head).enumerate() {
                    buckets[s * len + i].add(row.cells[self.cell(s, b)].get(*kind).as_ref());
                }
            }
        }
        let mut series = Vec::new();
        for (group, buckets) in groups.iter() {
            for (s, (name, kind)) in self.signals.iter().enumerate() {
                let accs = &buckets[s * len..(s + 1) * len];
                if accs.iter().all(|a| *a == rollup::Acc::Empty) {
                    continue;
                }
                series.push(grouped_to_series(
                    group,
                    name,
                    *kind,
                    first * self.bucket_ms,
                    accs,
                ));
            }
        }
        series
    }

    /// The current rolled-up bucket of every group a point in `touched`
    /// falls in (points `sub` filters out ignored), from every leaf held.
    pub(super) fn rolled_points(
        &self,
        sub: &Subscribe,
        group_by: &[String],
        touched: &[UpdatePoint],
    ) -> Vec<Point<'static>> {
        let Some(head) = self.head else {
            return Vec::new();
        };
        let oldest = head - self.capacity as i64 + 1;
        // (group key, signal, bucket) → its sum, in the order first touched.
        let mut wanted: Vec<(String, usize, i64)> = Vec::new();
        let mut at: HashMap<(String, usize, i64), usize> = HashMap::new();
        for p in touched.iter().filter(|p| sub.matches(&p.slice)) {
            let Some(s) = self.signals.iter().position(|(n, _)| *n == p.signal) else {
                continue;
            };
            let bucket = p.ts.div_euclid(self.bucket_ms);
            if bucket < oldest || bucket > head {
                continue;
            }
            let key = (rollup::group_key(&p.slice, group_by), s, bucket);
            if !at.contains_key(&key) {
                at.insert(key.clone(), wanted.len());
                wanted.push(key);
            }
        }
        if wanted.is_empty() {
            return Vec::new();
        }
        // Group key → the wanted sums it feeds: one lookup per row, so a
        // whole-fleet bucket costs O(rows + wanted), not O(rows × wanted),
        // under the hub's lock.
        let mut of_group: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (k, _, _)) in wanted.iter().enumerate() {
            of_group.entry(k.as_str()).or_default().push(i);
        }
        let mut sums = vec![rollup::Acc::Empty; wanted.len()];
        let mut names: HashMap<String, SliceMap<'static>> = HashMap::new();
        for row in self.rows.iter().filter(|r| sub.matches(&r.slice)) {
            let key = rollup::group_key(&row.slice, group_by);
            let Some(feeds) = of_group.get(key.as_str()) else {
                continue;
            };
            for &i in feeds {
                let (_, s, b) = &wanted[i];
                sums[i].add(
                    row.cells[self.cell(*s, *b)]
                        .get(self.signals[*s].1)
                        .as_ref(),
                );
            }
            if !names.contains_key(&key) {
                names.insert(key.clone(), rollup::group_of(&row.slice, group_by));
            }
        }
        wanted
            .iter()
            .zip(sums)
            .filter_map(|((k, s, b), acc)| {
                acc.point(names.get(k)?, &self.signals[*s].0, b * self.bucket_ms)
            })
            .collect()
    }
}

fn grouped_to_series(
    group: &SliceMap<'static>,
    signal: &str,
    kind: SignalKind,
    start: Millis,
    accs: &[rollup::Acc],
) -> Series<'static> {
    let mut s = Series {
        slice: group.clone(),
        signal: signal.to_owned().into(),
        start,
        good: None,
        total: None,
        values: None,
    };
    match kind {
        SignalKind::Ratio => {
            let (good, total) = accs
                .iter()
                .map(|a| a.counts().map_or((None, None), |(g, t)| (Some(g), Some(t))))
                .unzip();
            s.good = Some(good);
            s.total = Some(total);
        }
        SignalKind::Gauge => s.values = Some(accs.iter().map(|a| a.value()).collect()),
    }
    s
}

pub(super) fn to_series(
    slice: &SliceMap<'static>,
    signal: &str,
    kind: SignalKind,
    start: Millis,
    cells: &[Option<BucketValue>],
) -> Series<'static> {
    // A leaf's bucket is a group of one: the same conversion serves both.
    let accs: Vec<rollup::Acc> = cells
        .iter()
        .map(|c| {
            let mut a = rollup::Acc::Empty;
            a.add(c.as_ref());
            a
        })
        .collect();
    grouped_to_series(slice, signal, kind, start, &accs)
}
