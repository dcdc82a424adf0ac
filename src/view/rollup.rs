//! Which signals feed the table's columns, and rolling them up over a
//! grouping into rows. Ratios are summed as counts (`Store::rollup_groups`),
//! never averaged as rates.

use super::overview::OverviewRow;
use super::query::QualityPick;
use super::select::Grouping;
use super::trend::{GaugeTrend, RatioTrend};
use crate::protocol::{Role, SignalKind};
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
            (Role::Availability, SignalKind::Ratio) if cols.availability.is_empty() => {
                cols.availability.push(id)
            }
            (Role::Quality, SignalKind::Ratio) => {
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
            (Role::Latency, SignalKind::Gauge) if cols.latency.is_none() => cols.latency = Some(id),
            _ => {}
        }
    }
    cols
}

/// One row per group with data, unsorted, statuses empty.
pub fn rolled_rows(
    store: &Store,
    cols: &ColumnSignals,
    grouping: Grouping,
    range: BucketRange,
) -> Vec<OverviewRow> {
    let groups = grouping.groups();
    let mut rows: Vec<OverviewRow> = grouping
        .keys
        .into_iter()
        .zip(grouping.names)
        .map(|(key, name)| OverviewRow::empty(key, name, range.len))
        .collect();
    for &sig in &cols.availability {
        if let GroupRollup::Ratio(series) =
            store.rollup_groups(sig, &grouping.members, groups, range)
        {
            for (row, s) in rows.iter_mut().zip(series) {
                row.availability.add(&RatioTrend::new(s));
            }
        }
    }
    for &sig in &cols.quality {
        if let GroupRollup::Ratio(series) =
            store.rollup_groups(sig, &grouping.members, groups, range)
        {
            for (row, s) in rows.iter_mut().zip(series) {
                row.quality.add(&RatioTrend::new(s));
            }
        }
    }
    if let Some(sig) = cols.latency
        && let GroupRollup::Gauge(series) =
            store.rollup_groups(sig, &grouping.members, groups, range)
    {
        for (row, s) in rows.iter_mut().zip(series) {
            row.latency = GaugeTrend { buckets: s };
        }
    }
    rows.retain(OverviewRow::has_data);
    rows
}

/// [`rolled_rows`] for a grouping of one slice per group (the flat view):
/// each row read straight from its slice's rings. Rolling up 10,000 groups
/// of one would allocate a series per group per signal for nothing.
pub fn leaf_rows(
    store: &Store,
    cols: &ColumnSignals,
    grouping: Grouping,
    range: BucketRange,
) -> Vec<OverviewRow> {
    let summed = |signals: &[SignalId], slice: SliceId| -> Vec<Option<Ratio>> {
        let mut out = vec![None; range.len];
        for &sig in signals {
            for (cell, b) in out.iter_mut().zip(range.iter()) {
                if let Some(r) = store.ratio(sig, slice, b) {
                    cell.get_or_insert_with(Ratio::default).add(r);
                }
            }
        }
        out
    };
    let mut rows = Vec::with_capacity(grouping.members.len());
    for ((&(slice, _), key), name) in grouping
        .members
        .iter()
        .zip(grouping.keys)
        .zip(grouping.names)
    {
        let latency = match cols.latency {
            Some(sig) => range.iter().map(|b| store.gauge(sig, slice, b)).collect(),
            None => vec![None; range.len],
        };
        let row = OverviewRow {
            key,
            name,
            availability: RatioTrend::new(summed(&cols.availability, slice)),
            quality: RatioTrend::new(summed(&cols.quality, slice)),
            latency: GaugeTrend { buckets: latency },
            status: None,
            onset: None,
            annotations: Default::default(),
        };
        if row.has_data() {
            rows.push(row);
        }
    }
    rows
}
