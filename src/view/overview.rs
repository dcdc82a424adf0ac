//! The overview table: one row per group at the current level (the values of
//! the splitting dimension, or every leaf), plus a row for everything at
//! this level on top. Leaves are filtered first, then rolled up.

use super::annotations::{RowAnnotations, row_annotations};
use super::baseline::Baselines;
use super::bug_status::BugMap;
use super::changes::{ChangeLine, best_suspect, change_lines, citation, row_change_starts};
use super::detail::{DetailModel, compute_detail};
use super::filter::Filter;
use super::findings::{RowAt, row_status_in};
use super::header::HeaderModel;
use super::held::{filter_pins, held_regression, scope_of};
use super::query::{DEFAULT_WINDOW_BUCKETS, DrillStep, QualityPick, TimeCursor, ViewQuery};
use super::rollup::{ColumnSignals, RowBases, RowInputs, column_signals, leaf_rows, rolled_rows};
use super::select::{Grouping, ResolvedSplit, resolve_split, slices_under, unfixed_dimensions};
use super::sort::sort_rows;
use super::trend::{GaugeTrend, RatioTrend};
use crate::feed::Fleet;
use crate::protocol::Millis;
use crate::store::{BucketRange, SignalId, Store};
use crate::text::sanitize::sanitize;

/// Which row: the aggregate of the level, or one group under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    /// Everything at this level (the whole fleet at the top).
    All,
    /// One value of the split dimension, raw as the backend sent it.
    Value(String),
    /// One leaf slice in the flat view: the (dimension, raw value) pairs the
    /// level's path has not fixed, in declaration order.
    Leaf(Vec<DrillStep>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Ok,
    /// A regression here ended a short while ago.
    Ended,
    Watch,
    Regressed,
}

impl Severity {
    /// The word the status column shows, so meaning never rests on colour.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Ended => "ENDED",
            Severity::Watch => "WATCH",
            Severity::Regressed => "REGRESSION",
        }
    }
}

/// What detection concludes for a row (see `view::row_status`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowStatus {
    pub severity: Severity,
    /// Already clean: "REGRESSION 14:05 -3.1pp in tpu/api", "ENDED 14:40".
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
    /// Estimated onset of the regression the row shows, if it shows one:
    /// where a new annotation of the row starts by default.
    pub onset: Option<Millis>,
    /// Annotations touching the row.
    pub annotations: RowAnnotations,
    /// Buckets of the window where a change touching the row took effect.
    pub changes: Vec<usize>,
    /// What a new annotation of the regression the row shows cites: its
    /// top suspect change (`view::citation`), if any.
    pub suspect: Option<String>,
}

impl OverviewRow {
    pub fn empty(key: RowKey, name: String, len: usize) -> Self {
        OverviewRow {
            key,
            name,
            availability: RatioTrend::new(vec![None; len]),
            quality: RatioTrend::new(vec![None; len]),
            latency: GaugeTrend {
                buckets: vec![None; len],
            },
            status: None,
            onset: None,
            annotations: RowAnnotations::default(),
            changes: Vec::new(),
            suspect: None,
        }
    }
    pub fn has_data(&self) -> bool {
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
    /// Sanitised name of the dimension that splits the rows; `None` in the
    /// flat view and when nothing is left to split.
    pub split: Option<String>,
    /// The same, raw, for drilling.
    pub split_raw: Option<String>,
    /// Rows are every leaf under the path.
    pub leaves: bool,
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
    /// Dimensions the filter names that the store does not have (sanitised).
    pub filter_unknown: Vec<String>,
    pub rows: Vec<OverviewRow>,
}

/// A dimension and its values, raw, for completion and the pivot menu.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DimensionValues {
    pub name: String,
    /// Known values, empty value left out, sorted.
    pub values: Vec<String>,
}

/// The store's time axis, for the time cursor and window bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeAxis {
    pub bucket_ms: Millis,
    /// Newest bucket held (whatever the cursor says).
    pub head: Option<i64>,
    /// Buckets of history the store holds.
    pub history_buckets: usize,
}

/// Everything the screen draws, computed once per data or query change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewModel {
    pub header: HeaderModel,
    pub table: OverviewTable,
    /// Names of the quality suites (raw), in declaration order, for cycling.
    pub suites: Vec<String>,
    pub dimensions: Vec<DimensionValues>,
    pub time: TimeAxis,
    /// The detail view, when the query asks for one.
    pub detail: Option<DetailModel>,
    /// The backends' clock (data time), once data arrived.
    pub data_now: Option<Millis>,
    /// Every change in the window, newest first, each saying whether it
    /// touches the group on screen (the `C` list).
    pub changes: Vec<ChangeLine>,
}

/// The window a query looks at, if the store has a clock yet.
pub fn window_of(store: &Store, query: &ViewQuery) -> Option<BucketRange> {
    let last = match query.time {
        TimeCursor::Live => store.head()?,
        TimeCursor::Frozen { last_bucket } => last_bucket,
    };
    let len = match query.window_ms {
        Some(ms) => {
            let bucket = store.bucket_ms().max(1);
            usize::try_from((ms.max(1) + bucket - 1) / bucket).unwrap_or(usize::MAX)
        }
        None => DEFAULT_WINDOW_BUCKETS,
    };
    Some(BucketRange::ending_at(
        last,
        len.clamp(1, store.capacity().max(1)),
    ))
}

/// Computes what the screen shows for `query`. Pure: same fleet and query,
/// same model.
pub fn compute_overview(fleet: &Fleet, query: &ViewQuery) -> ViewModel {
    let store = &fleet.store;
    let slices = store.slices();
    let range = window_of(store, query);
    let header = HeaderModel::from_fleet(fleet, range.map(|r| r.len as i64 * store.bucket_ms()));
    let cols = column_signals(store, &query.quality);
    let split = resolve_split(slices, &query.path, &query.split);
    let split_raw = match split {
        ResolvedSplit::Dimension(d) => Some(slices.dimensions()[d].clone()),
        _ => None,
    };
    let mut table = OverviewTable {
        split: split_raw.as_deref().map(|s| sanitize(s).into_owned()),
        split_raw,
        leaves: split == ResolvedSplit::Leaves,
        quality_label: match &query.quality {
            QualityPick::Combined => "quality".to_owned(),
            QualityPick::Suite(name) => sanitize(name).into_owned(),
        },
        range,
        availability_sources: sources_of(store, &cols.availability),
        quality_sources: sources_of(store, &cols.quality),
        latency_label: cols
            .latency
            .map(|id| sanitize(&store.signal(id).spec.name).into_owned()),
        latency_unit: cols
            .latency
            .and_then(|id| store.signal(id).spec.unit.as_deref())
            .map(|u| sanitize(u).into_owned()),
        filter_unknown: query
            .filter
            .unknown_dimensions(slices)
            .iter()
            .map(|d| sanitize(d).into_owned())
            .collect(),
        rows: Vec::new(),
    };
    // Behind a detail view the table is not drawn: its rows wait for the return.
    if let (Some(range), None) = (range, &query.detail) {
        table.rows = level_rows(fleet, query, &cols, split, range);
    }
    let detail = match (&query.detail, range) {
        (Some(path), Some(range)) => Some(compute_detail(fleet, query, path, &cols, range)),
        _ => None,
    };
    ViewModel {
        header,
        table,
        suites: cols.suites,
        dimensions: dimension_values(store),
        time: TimeAxis {
            bucket_ms: store.bucket_ms(),
            head: store.head(),
            history_buckets: store.capacity(),
        },
        changes: window_changes(fleet, query, range),
        detail,
        data_now: store.head().map(|_| store.now()),
    }
}

/// The `C` list: every change in the window, marked when it touches the
/// group on screen (the detail view's, else the level's).
fn window_changes(fleet: &Fleet, query: &ViewQuery, range: Option<BucketRange>) -> Vec<ChangeLine> {
    let Some(range) = range.filter(|_| !fleet.changes.is_empty()) else {
        return Vec::new();
    };
    let store = &fleet.store;
    let here = query.detail.as_deref().unwrap_or(&query.path);
    change_lines(
        fleet,
        here,
        store.bucket_start(range.first),
        store.bucket_start(range.last() + 1),
    )
}

fn sources_of(store: &Store, ids: &[SignalId]) -> Vec<usize> {
    let mut v: Vec<usize> = ids.iter().map(|&id| store.signal(id).source).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn dimension_values(store: &Store) -> Vec<DimensionValues> {
    let slices = store.slices();
    slices
        .dimensions()
        .iter()
        .enumerate()
        .map(|(d, name)| {
            let mut values: Vec<String> = slices
                .values_of(d)
                .iter()
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string())
                .collect();
            values.sort();
            DimensionValues {
                name: name.clone(),
                values,
            }
        })
        .collect()
}

/// The aggregate row on top, then the groups of the level, sorted.
fn level_rows(
    fleet: &Fleet,
    query: &ViewQuery,
    cols: &ColumnSignals,
    split: ResolvedSplit,
    range: BucketRange,
) -> Vec<OverviewRow> {
    let store = &fleet.store;
    let slices = store.slices();
    let ids = slices_under(slices, &query.path, &query.filter);
    let grouping = match split {
        ResolvedSplit::Dimension(d) => Grouping::by_dimension(slices, &ids, d),
        ResolvedSplit::Leaves => {
            Grouping::by_leaf(slices, &ids, &unfixed_dimensions(slices, &query.path))
        }
        // Nothing to split by: the aggregate alone, every member in group 0.
        ResolvedSplit::Nothing => Grouping {
            members: ids.iter().map(|&id| (id, 0)).collect(),
            keys: vec![RowKey::All],
            names: vec![all_name(&query.path, &query.filter)],
        },
    };
    let split_name = match split {
        ResolvedSplit::Dimension(d) => slices.dimensions()[d].as_str(),
        _ => "",
    };
    let baselines = Baselines::new(fleet, !query.filter.is_empty(), range);
    let bases = RowBases {
        baselines: &baselines,
        path: &query.path,
        split: split_name,
    };
    let inputs = RowInputs {
        store,
        cols,
        range,
        bases: &bases,
    };
    let (mut rows, mut all) = if split == ResolvedSplit::Leaves {
        leaf_rows(&inputs, grouping)
    } else {
        rolled_rows(&inputs, grouping)
    };
    all.name = all_name(&query.path, &query.filter);
    if split == ResolvedSplit::Nothing
        && let Some(direct) = rows.pop()
    {
        all = direct;
    }
    let bugs = BugMap::new(fleet);
    all.status = row_status_in(
        &bugs,
        fleet,
        &RowAt {
            path: &query.path,
            split: split_name,
            key: &RowKey::All,
            at: query.time,
        },
        &query.quality,
    );
    let mut path_buf = query.path.clone();
    for row in &mut rows {
        row.status = status_of(&bugs, fleet, query, split_name, &row.key, &mut path_buf);
    }
    let bucket_ms = store.bucket_ms();
    // Only a filter needs the value tables (for its single-valued terms).
    let dimensions = if query.filter.is_empty() {
        Vec::new()
    } else {
        dimension_values(store)
    };
    // With no annotation in the fleet, only a regressed row needs its path.
    let annotated = !fleet.annotations.is_empty()
        || !fleet.pending_annotations.is_empty()
        || !fleet.changes.is_empty();
    for row in rows.iter_mut().chain(std::iter::once(&mut all)) {
        let regressed = row
            .status
            .as_ref()
            .is_some_and(|s| s.severity == Severity::Regressed);
        if !annotated && !regressed {
            continue;
        }
        let row_path = path_of(&query.path, split_name, &row.key);
        row.annotations = row_annotations(fleet, &row_path, range, bucket_ms);
        row.changes = row_change_starts(fleet, &row_path, range, bucket_ms);
        if regressed {
            // The regression an annotation of this row would be about.
            let pins = filter_pins(&query.filter, &dimensions, &row_path);
            // The bugs are grouped once for the view, not once per row.
            let held = held_regression(
                &fleet.detections.regressions,
                &scope_of(&row_path, &pins),
                query.time,
                bucket_ms,
            );
            row.onset = held.map(|r| bugs.onset_of(r).unwrap_or(r.onset));
            row.suspect = held
                .and_then(|r| {
                    let alone = [r];
                    let members = bugs.members_of(r).unwrap_or(&alone);
                    best_suspect(
                        r,
                        members,
                        &fleet.detections.regressions,
                        &fleet.changes,
                        &fleet.store,
                    )
                })
                .map(|s| citation(&s));
        }
    }
    sort_rows(&mut rows, query.sort, query.sort_reversed);
    let mut out = Vec::with_capacity(rows.len() + 1);
    if all.has_data() || !rows.is_empty() {
        out.push(all);
    }
    out.extend(rows);
    out
}

/// A leaf row's status is asked as the row of its last dimension under the
/// other values, so detection sees only `Value` keys for leaves. `path_buf`
/// starts as the query's path and is reused, one allocation for all leaves.
fn status_of(
    bugs: &BugMap,
    fleet: &Fleet,
    query: &ViewQuery,
    split: &str,
    key: &RowKey,
    path_buf: &mut Vec<DrillStep>,
) -> Option<RowStatus> {
    match key {
        RowKey::Leaf(steps) => {
            let (last, rest) = steps.split_last()?;
            path_buf.truncate(query.path.len());
            path_buf.extend_from_slice(rest);
            row_status_in(
                bugs,
                fleet,
                &RowAt {
                    path: path_buf,
                    split: &last.dimension,
                    key: &RowKey::Value(last.value.clone()),
                    at: query.time,
                },
                &query.quality,
            )
        }
        _ => row_status_in(
            bugs,
            fleet,
            &RowAt {
                path: &query.path,
                split,
                key,
                at: query.time,
            },
            &query.quality,
        ),
    }
}

/// The group a row stands for: the level's path plus the row's own steps.
pub fn path_of(path: &[DrillStep], split: &str, key: &RowKey) -> Vec<DrillStep> {
    let mut out = path.to_vec();
    match key {
        RowKey::All => {}
        RowKey::Value(v) => {
            if !split.is_empty() && !path.iter().any(|s| s.dimension == split) {
                out.push(DrillStep::new(split, v));
            }
        }
        RowKey::Leaf(steps) => out.extend(steps.iter().cloned()),
    }
    out
}

/// The aggregate row's name; at the top under a filter it is not the
/// whole fleet but what matches.
fn all_name(path: &[DrillStep], filter: &Filter) -> String {
    match path.last() {
        None if filter.is_empty() => "whole fleet".to_owned(),
        None => "all matching".to_owned(),
        Some(step) => format!("all {}", super::select::display_value(&step.value)),
    }
}
