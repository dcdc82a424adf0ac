//! The overview table: one row per value of the splitting dimension, plus a
//! row for everything at this level on top. Ratios are rolled up by summing
//! counts (`Store::rollup_groups`), never by averaging rates.

use std::cmp::Ordering;

use super::header::HeaderModel;
use super::query::{DEFAULT_WINDOW_BUCKETS, QualityPick, SortKey, TimeCursor, ViewQuery};
use super::trend::{GaugeTrend, RatioTrend};
use crate::feed::Fleet;
use crate::protocol::{Role, SignalKind};
use crate::store::{BucketRange, GroupRollup, SignalId, SliceId, Store};
use crate::ui::sanitize::sanitize;

/// Which row: the aggregate of the level, or one value of the split dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    /// Everything at this level (the whole fleet at the top).
    All,
    /// One value, raw as the backend sent it (for drilling and filters).
    Value(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Ok,
    Watch,
    Regressed,
}

/// What detection concludes for a row. Filled by the detection issue; until
/// then every row's status is `None` and the table shows only the change.
#[derive(Debug, Clone, PartialEq)]
pub struct RowStatus {
    pub severity: Severity,
    /// Short, already clean: "regressed 14m".
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverviewRow {
    pub key: RowKey,
    /// Sanitised display name.
    pub name: String,
    pub availability: RatioTrend,
    pub quality: RatioTrend,
    pub latency: GaugeTrend,
    pub status: Option<RowStatus>,
}

impl OverviewRow {
    fn empty(key: RowKey, name: String, len: usize) -> Self {
        OverviewRow {
            key,
            name,
            availability: RatioTrend::new(vec![None; len]),
            quality: RatioTrend::new(vec![None; len]),
            latency: GaugeTrend {
                buckets: vec![None; len],
            },
            status: None,
        }
    }
    fn has_data(&self) -> bool {
        self.availability.has_data()
            || self.quality.has_data()
            || self.latency.buckets.iter().any(Option::is_some)
    }
    pub fn requests(&self) -> u64 {
        self.availability.volume()
    }
    pub fn evals(&self) -> u64 {
        self.quality.volume()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverviewTable {
    /// Sanitised name of the dimension that splits the rows.
    pub split: Option<String>,
    /// Sanitised title of the quality column: "quality" or the suite's name.
    pub quality_label: String,
    /// The window, in buckets; `None` before any data or clock arrived.
    pub range: Option<BucketRange>,
    /// Backends whose data fills the availability and quality columns.
    pub availability_sources: Vec<usize>,
    pub quality_sources: Vec<usize>,
    /// Sanitised name of the latency gauge shown, if the fleet has one.
    pub latency_label: Option<String>,
    /// Its unit (sanitised), e.g. "ms".
    pub latency_unit: Option<String>,
    pub rows: Vec<OverviewRow>,
}

/// Everything the screen draws, computed once per data change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewModel {
    pub header: HeaderModel,
    pub table: OverviewTable,
    /// Names of the quality suites (raw), in declaration order, for cycling.
    pub suites: Vec<String>,
}

/// The signals feeding each column.
struct ColumnSignals {
    availability: Vec<SignalId>,
    quality: Vec<SignalId>,
    latency: Option<SignalId>,
    suites: Vec<String>,
}

fn column_signals(store: &Store, pick: &QualityPick) -> ColumnSignals {
    let mut cols = ColumnSignals {
        availability: Vec::new(),
        quality: Vec::new(),
        latency: None,
        suites: Vec::new(),
    };
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

/// The window a query looks at, if the store has a clock yet.
pub fn window_of(store: &Store, query: &ViewQuery) -> Option<BucketRange> {
    let last = match query.time {
        TimeCursor::Live => store.head()?,
        TimeCursor::Frozen { last_bucket } => last_bucket,
    };
    let len = query
        .window_buckets
        .unwrap_or(DEFAULT_WINDOW_BUCKETS)
        .clamp(1, store.capacity().max(1));
    Some(BucketRange::ending_at(last, len))
}

/// Computes what the overview shows for `query`. Pure: same fleet and query,
/// same model.
pub fn compute_overview(fleet: &Fleet, query: &ViewQuery) -> ViewModel {
    let store = &fleet.store;
    let range = window_of(store, query);
    let header = HeaderModel::from_fleet(fleet, range.map(|r| r.len as i64 * store.bucket_ms()));
    let cols = column_signals(store, &query.quality);
    let quality_label = match &query.quality {
        QualityPick::Combined => "quality".to_owned(),
        QualityPick::Suite(name) => sanitize(name).into_owned(),
    };
    let sources_of = |ids: &[SignalId]| {
        let mut v: Vec<usize> = ids.iter().map(|&id| store.signal(id).source).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let dims = store.slices().dimensions();
    let split = match &query.split {
        Some(name) => store.slices().dimension_index(name),
        None => (!dims.is_empty()).then_some(0),
    };
    let mut table = OverviewTable {
        split: split.map(|d| sanitize(&dims[d]).into_owned()),
        quality_label,
        range,
        availability_sources: sources_of(&cols.availability),
        quality_sources: sources_of(&cols.quality),
        latency_label: cols
            .latency
            .map(|id| sanitize(&store.signal(id).spec.name).into_owned()),
        latency_unit: cols
            .latency
            .and_then(|id| store.signal(id).spec.unit.as_deref())
            .map(|u| sanitize(u).into_owned()),
        rows: Vec::new(),
    };
    if let (Some(range), Some(split)) = (range, split) {
        table.rows = rows(store, query, &cols, split, range);
    }
    ViewModel {
        header,
        table,
        suites: cols.suites,
    }
}

fn rows(
    store: &Store,
    query: &ViewQuery,
    cols: &ColumnSignals,
    split: usize,
    range: BucketRange,
) -> Vec<OverviewRow> {
    let slices = store.slices();
    let Some(members) = members_at(store, query, split) else {
        return Vec::new();
    };
    let groups = slices.values_of(split).len();
    let mut by_value: Vec<OverviewRow> = slices
        .values_of(split)
        .iter()
        .map(|v| {
            let name = if v.is_empty() {
                "(none)".to_owned()
            } else {
                sanitize(v).into_owned()
            };
            OverviewRow::empty(RowKey::Value(v.to_string()), name, range.len)
        })
        .collect();
    for (signals, pick) in [
        (&cols.availability, Column::Availability),
        (&cols.quality, Column::Quality),
    ] {
        for &sig in signals {
            if let GroupRollup::Ratio(series) = store.rollup_groups(sig, &members, groups, range) {
                for (row, s) in by_value.iter_mut().zip(series) {
                    let t = RatioTrend::new(s);
                    match pick {
                        Column::Availability => row.availability.add(&t),
                        Column::Quality => row.quality.add(&t),
                    }
                }
            }
        }
    }
    if let Some(sig) = cols.latency
        && let GroupRollup::Gauge(series) = store.rollup_groups(sig, &members, groups, range)
    {
        for (row, s) in by_value.iter_mut().zip(series) {
            row.latency = GaugeTrend { buckets: s };
        }
    }
    let filter = query
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(str::to_lowercase);
    let mut rows: Vec<OverviewRow> = by_value.into_iter().filter(OverviewRow::has_data).collect();
    let mut all = OverviewRow::empty(RowKey::All, all_name(query), range.len);
    for r in &rows {
        all.availability.add(&r.availability);
        all.quality.add(&r.quality);
        all.latency.max_with(&r.latency);
    }
    if let Some(f) = filter {
        rows.retain(|r| match &r.key {
            RowKey::Value(v) => v.to_lowercase().contains(&f),
            RowKey::All => true,
        });
    }
    sort_rows(&mut rows, query.sort);
    rows.insert(0, all);
    rows
}

#[derive(Clone, Copy)]
enum Column {
    Availability,
    Quality,
}

fn all_name(query: &ViewQuery) -> String {
    match query.path.last() {
        None => "whole fleet".to_owned(),
        Some(step) => format!("all {}", sanitize(&step.value)),
    }
}

/// The slices under the drill path, each with its group (value id of the
/// split dimension). `None` when the path names something the store lacks.
fn members_at(store: &Store, query: &ViewQuery, split: usize) -> Option<Vec<(SliceId, u32)>> {
    let slices = store.slices();
    let fixed: Vec<(usize, u32)> = query
        .path
        .iter()
        .map(|step| {
            let d = slices.dimension_index(&step.dimension)?;
            Some((d, slices.lookup_value(d, &step.value)?))
        })
        .collect::<Option<_>>()?;
    Some(
        slices
            .ids()
            .filter(|&id| fixed.iter().all(|&(d, v)| slices.value_id(id, d) == v))
            .map(|id| (id, slices.value_id(id, split)))
            .collect(),
    )
}

fn sort_rows(rows: &mut [OverviewRow], key: SortKey) {
    let by_name = |a: &OverviewRow, b: &OverviewRow| match (&a.key, &b.key) {
        // The empty value ("(none)") goes last.
        (RowKey::Value(x), RowKey::Value(y)) => {
            (x.is_empty(), x.as_str()).cmp(&(y.is_empty(), y.as_str()))
        }
        _ => Ordering::Equal,
    };
    match key {
        SortKey::Name => rows.sort_by(by_name),
        SortKey::QualityChange => rows.sort_by(|a, b| {
            let (x, y) = (a.quality.change_pp(), b.quality.change_pp());
            match (x, y) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| by_name(a, b))
        }),
        SortKey::Requests => {
            rows.sort_by(|a, b| b.requests().cmp(&a.requests()).then_with(|| by_name(a, b)))
        }
    }
}
