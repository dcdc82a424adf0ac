//! Which signals feed the table's columns, and rolling them up over a
//! grouping into rows. Ratios are summed as counts (`Store::rollup_groups`),
//! never averaged as rates.

use super::baseline::Baselines;
use super::overview::{OverviewRow, RowKey, path_of};
use super::query::DrillStep;
use super::query::QualityPick;
use super::select::Grouping;
use super::trend::{GaugeTrend, RatioTrend};
use crate::detect::ScopeMap;
use crate::protocol::{SignalKind, SignalRole};
use crate::store::{BucketRange, GroupRollup, Ratio, SignalId, SliceId, Store};

/// The signals feeding each column.
#[derive(Debug, Clone, Default)]
pub struct ColumnSignals {
    pub availability: Vec<SignalId>,
    /// The quality signals the quality column sums (all, or the picked suite).
    pub quality: Vec<SignalId>,
    /// Every quality suite, picked or not, for the detail charts.
    pub all_quality: Vec<SignalId>,
    pub latency: Option<SignalId>,
    /// Raw suite names, in declaration order.
    pub suites: Vec<String>,
}

pub fn column_signals(store: &Store, pick: &QualityPick) -> ColumnSignals {
    let mut cols = ColumnSignals::default();
    for (i, s) in store.signals().iter().enumerate() {
        let id = SignalId(i as u16);
        match (s.spec.role, s.spec.kind) {
            // The first availability signal is the request count; a second
            // one would count the same requests again.
            (SignalRole::Availability, SignalKind::Ratio) if cols.availability.is_empty() => {
                cols.availability.push(id);
            }
            (SignalRole::Quality, SignalKind::Ratio) => {
                cols.suites.push(s.spec.name.clone());
                cols.all_quality.push(id);
                let wanted = match pick {
                    QualityPick::Combined => true,
                    QualityPick::Suite(name) => *name == s.spec.name,
                };
                if wanted {
                    cols.quality.push(id);
                }
            }
            (SignalRole::Latency, SignalKind::Gauge) if cols.latency.is_none() => {
                cols.latency = Some(id);
            }
            // A second availability or latency signal: its column is taken.
            (SignalRole::Availability, SignalKind::Ratio)
            | (SignalRole::Latency, SignalKind::Gauge) => {}
            // No column shows these (listed, so a new kind or role must say where it goes).
            (SignalRole::Availability | SignalRole::Quality, SignalKind::Gauge)
            | (SignalRole::Latency, SignalKind::Ratio)
            | (SignalRole::Other, SignalKind::Ratio | SignalKind::Gauge) => {}
        }
    }
    cols
}

/// What every row of a level is computed from: the store, the columns'
/// signals, the window, and where baselines come from.
#[derive(Clone, Copy)]
pub struct RowInputs<'a> {
    pub store: &'a Store,
    pub cols: &'a ColumnSignals,
    pub range: BucketRange,
    pub bases: &'a RowBases<'a>,
}

/// What a row's baseline is asked for: the scope of a row key, and where
/// baselines come from.
pub struct RowBases<'a> {
    pub baselines: &'a Baselines<'a>,
    /// The level's path; a key adds its own steps.
    pub path: &'a [DrillStep],
    /// The dimension the level splits by ("" for leaves and the aggregate).
    pub split: &'a str,
}

impl RowBases<'_> {
    fn scope(&self, key: &RowKey) -> ScopeMap {
        path_of(self.path, self.split, key)
            .into_iter()
            .map(|s| (s.dimension, s.value))
            .collect()
    }

    /// The window part of `history` (summed counts of `sig` over `span`)
    /// for the row `key`, with its baseline.
    fn trend(
        &self,
        sig: SignalId,
        key: &RowKey,
        history: &[Option<Ratio>],
        span: BucketRange,
        window: usize,
    ) -> RatioTrend {
        let trend = RatioTrend::new(history[history.len().saturating_sub(window)..].to_vec());
        if !trend.has_data() {
            return trend;
        }
        // Without detector baselines the scope is never read: not built either.
        let scope = if self.baselines.consults_detector() {
            self.scope(key)
        } else {
            ScopeMap::new()
        };
        let base = self.baselines.of_history(sig, &scope, history, span);
        trend.with_baseline(base)
    }
}

/// Sums `series` into `into`, bucket by bucket.
fn add_series(into: &mut [Option<Ratio>], series: &[Option<Ratio>]) {
    for (mine, theirs) in into.iter_mut().zip(series) {
        if let Some(t) = theirs {
            mine.get_or_insert_with(Ratio::default).add(*t);
        }
    }
}

/// The column a signal's trend adds to: quality or availability.
fn column_of(row: &mut OverviewRow, quality: bool) -> &mut RatioTrend {
    if quality {
        &mut row.quality
    } else {
        &mut row.availability
    }
}

/// One row per group with data, unsorted, statuses empty; and the
/// aggregate of them all (key `All`), summed signal by signal so that its
/// baseline is its own scope's, not a mix of its groups'.
pub fn rolled_rows(inputs: &RowInputs, grouping: Grouping) -> (Vec<OverviewRow>, OverviewRow) {
    let RowInputs {
        store,
        range,
        bases,
        ..
    } = *inputs;
    let span = bases.baselines.span(range);
    let (members, groups) = (grouping.members.clone(), grouping.groups());
    rows_of_series(inputs, grouping, |sig| {
        match store.rollup_groups(sig, &members, groups, span) {
            GroupRollup::Ratio(series) => Some(series),
            GroupRollup::Gauge(_) => None,
        }
    })
}

/// [`rolled_rows`] with each ratio signal's group series over the span
/// given by `series_of` (`None`: the signal adds nothing), so that several
/// groupings can share one pass over the rings ([`rollup_many`]).
pub fn rows_of_series(
    inputs: &RowInputs,
    grouping: Grouping,
    mut series_of: impl FnMut(SignalId) -> Option<Vec<Vec<Option<Ratio>>>>,
) -> (Vec<OverviewRow>, OverviewRow) {
    let RowInputs {
        store,
        cols,
        range,
        bases,
    } = *inputs;
    let groups = grouping.groups();
    let span = bases.baselines.span(range);
    let mut rows: Vec<OverviewRow> = grouping
        .keys
        .into_iter()
        .zip(grouping.names)
        .map(|(key, name)| OverviewRow::empty(key, name, range.len))
        .collect();
    let mut all = OverviewRow::empty(RowKey::All, String::new(), range.len);
    for (signals, quality) in [(&cols.availability, false), (&cols.quality, true)] {
        for &sig in signals {
            let Some(series) = series_of(sig) else {
                continue;
            };
            let mut total = vec![None; span.len];
            for (row, s) in rows.iter_mut().zip(series) {
                add_series(&mut total, &s);
                let trend = bases.trend(sig, &row.key, &s, span, range.len);
                column_of(row, quality).add(&trend);
            }
            let trend = bases.trend(sig, &RowKey::All, &total, span, range.len);
            column_of(&mut all, quality).add(&trend);
        }
    }
    if let Some(sig) = cols.latency
        && let GroupRollup::Gauge(series) =
            store.rollup_groups(sig, &grouping.members, groups, range)
    {
        for (row, s) in rows.iter_mut().zip(series) {
            row.latency = GaugeTrend { buckets: s };
            all.latency.max_with(&row.latency);
        }
    }
    rows.retain(OverviewRow::has_data);
    (rows, all)
}

/// Rolls a ratio signal up over several groupings of the same slices at
/// once: one pass over the rings, each slice's cells added to its group in
/// every grouping while they are still in cache. Every grouping's members
/// must list the same slices in the same order.
pub fn rollup_many(
    store: &Store,
    sig: SignalId,
    groupings: &[Grouping],
    span: BucketRange,
) -> Option<Vec<Vec<Vec<Option<Ratio>>>>> {
    let offsets: Vec<u32> = groupings
        .iter()
        .scan(0u32, |at, g| {
            let here = *at;
            *at += g.groups() as u32;
            Some(here)
        })
        .collect();
    let slices = groupings.first().map_or(0, |g| g.members.len());
    let mut members = Vec::with_capacity(slices * groupings.len());
    for i in 0..slices {
        for (g, &offset) in groupings.iter().zip(&offsets) {
            let (slice, group) = g.members[i];
            members.push((slice, offset + group));
        }
    }
    let groups = groupings.iter().map(Grouping::groups).sum();
    let GroupRollup::Ratio(mut series) = store.rollup_groups(sig, &members, groups, span) else {
        return None;
    };
    let mut out = Vec::with_capacity(groupings.len());
    for g in groupings.iter().rev() {
        out.push(series.split_off(series.len() - g.groups()));
    }
    out.reverse();
    Some(out)
}

/// The sum of some group series, bucket by bucket: `None` where no group had
/// a cell, as a rollup of all their members would say.
pub fn sum_series(series: &[Vec<Option<Ratio>>], len: usize) -> Vec<Option<Ratio>> {
    let mut total = vec![None; len];
    for s in series {
        add_series(&mut total, s);
    }
    total
}

/// [`rolled_rows`] for a grouping of one slice per group (the flat view):
/// the leaves are read a chunk at a time, one rollup per signal and chunk,
/// rather than bucket by bucket or all 10,000 series of a signal at once.
pub fn leaf_rows(inputs: &RowInputs, grouping: Grouping) -> (Vec<OverviewRow>, OverviewRow) {
    let RowInputs {
        store,
        cols,
        range,
        bases,
    } = *inputs;
    let span = bases.baselines.span(range);
    let signals: Vec<(SignalId, bool)> = cols
        .availability
        .iter()
        .map(|&s| (s, false))
        .chain(cols.quality.iter().map(|&s| (s, true)))
        .collect();
    let mut totals: Vec<Vec<Option<Ratio>>> = vec![vec![None; span.len]; signals.len()];
    let mut rows = Vec::with_capacity(grouping.members.len());
    let mut all = OverviewRow::empty(RowKey::All, String::new(), range.len);
    let (mut keys, mut names) = (grouping.keys.into_iter(), grouping.names.into_iter());
    for chunk in grouping.members.chunks(LEAF_CHUNK) {
        let members: Vec<(SliceId, u32)> = chunk
            .iter()
            .enumerate()
            .map(|(k, &(slice, _))| (slice, k as u32))
            .collect();
        let mut ratios: Vec<std::vec::IntoIter<Vec<Option<Ratio>>>> = signals
            .iter()
            .map(
                |&(sig, _)| match store.rollup_groups(sig, &members, chunk.len(), span) {
                    GroupRollup::Ratio(series) => series,
                    GroupRollup::Gauge(_) => vec![vec![None; span.len]; chunk.len()],
                },
            )
            .map(Vec::into_iter)
            .collect();
        let mut latencies = match cols.latency {
            Some(sig) => match store.rollup_groups(sig, &members, chunk.len(), range) {
                GroupRollup::Gauge(series) => series,
                GroupRollup::Ratio(_) => vec![vec![None; range.len]; chunk.len()],
            },
            None => vec![vec![None; range.len]; chunk.len()],
        }
        .into_iter();
        for _ in chunk {
            let (Some(key), Some(name)) = (keys.next(), names.next()) else {
                break;
            };
            let mut row = OverviewRow::empty(key, name, range.len);
            row.latency = GaugeTrend {
                buckets: latencies.next().unwrap_or_default(),
            };
            for ((&(sig, quality), total), series) in
                signals.iter().zip(totals.iter_mut()).zip(ratios.iter_mut())
            {
                let series = series.next().unwrap_or_default();
                add_series(total, &series);
                let trend = bases.trend(sig, &row.key, &series, span, range.len);
                column_of(&mut row, quality).add(&trend);
            }
            all.latency.max_with(&row.latency);
            if row.has_data() {
                rows.push(row);
            }
        }
    }
    for (&(sig, quality), total) in signals.iter().zip(totals) {
        let trend = bases.trend(sig, &RowKey::All, &total, span, range.len);
        column_of(&mut all, quality).add(&trend);
    }
    (rows, all)
}

/// Leaves read per rollup in the flat view: their series stay in cache.
const LEAF_CHUNK: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CowStr, Hello, Series, SignalSpec, SliceMap};
    use crate::store::Drops;

    const BUCKET: i64 = 60_000;
    const BUCKETS: usize = 20;

    /// 3 models x 2 regions, one ratio signal, with gaps and an empty bucket.
    fn store() -> Store {
        let hello = Hello {
            protocol: 1,
            server: "t".into(),
            epoch: "e".into(),
            dimensions: vec!["model".into(), "region".into()],
            signals: vec![SignalSpec {
                name: "q".into(),
                kind: SignalKind::Ratio,
                role: SignalRole::Quality,
                unit: None,
            }],
            bucket_ms: BUCKET,
            history_ms: BUCKET * BUCKETS as i64,
            now: BUCKET * 100,
            features: Vec::new(),
        };
        let mut store = Store::new();
        let binding = store.bind_source(0, &hello).expect("binds");
        let mut drops = Drops::default();
        for (i, (m, r)) in ["m1", "m2", "m3"]
            .iter()
            .flat_map(|m| ["eu", "us"].map(|r| (*m, r)))
            .enumerate()
        {
            let total: Vec<Option<i64>> = (0..BUCKETS)
                .map(|b| match (b + i) % 7 {
                    0 => None,
                    1 => Some(0),
                    k => Some(100 + k as i64 * 10 + i as i64),
                })
                .collect();
            let good = total.iter().map(|t| t.map(|t| t * 9 / 10)).collect();
            let series = Series {
                slice: SliceMap::from_pairs([("model", m), ("region", r)]),
                signal: CowStr::from("q".to_owned()),
                start: BUCKET * (101 - BUCKETS as i64),
                good: Some(good),
                total: Some(total),
                values: None,
            };
            store.apply_series(&binding, &series, &mut drops);
        }
        assert_eq!(drops.total(), 0, "{}", drops.summary());
        store
    }

    #[test]
    fn one_pass_over_several_groupings_gives_each_what_its_own_rollup_gives() {
        let store = store();
        let sig = SignalId(0);
        let ids: Vec<SliceId> = store.slices().ids().collect();
        let groupings: Vec<Grouping> = (0..2)
            .map(|d| Grouping::by_dimension(store.slices(), &ids, d))
            .collect();
        let span = BucketRange::ending_at(store.head().expect("clock"), BUCKETS + 5);
        let many = rollup_many(&store, sig, &groupings, span).expect("a ratio signal");
        assert_eq!(many.len(), 2);
        for (g, series) in groupings.iter().zip(&many) {
            let GroupRollup::Ratio(own) = store.rollup_groups(sig, &g.members, g.groups(), span)
            else {
                panic!("a ratio signal");
            };
            assert_eq!(*series, own);
        }
        // The charts' total: the first grouping's groups summed, gaps and
        // empty buckets (0 of 0) as a rollup of all the slices has them.
        assert_eq!(
            sum_series(&many[0], span.len),
            store.rollup_ratio(sig, &ids, span)
        );
    }
}
