//! The detail view of one group (or leaf): each quality suite, availability
//! and latency over the window, markers on the time axis (detection results
//! and annotations), the scope panel, and a breakdown of the group's children
//! by every dimension the path has not fixed: "is it only TPU?" at a glance.

use std::collections::{BTreeMap, HashMap};

use super::baseline::Baselines;
use super::bug_status::BugMap;
use super::changes::{ChangeLine, change_lines, change_markers};
use super::findings::{
    MarkerKind, RowAt, ScopeEntry, TimeMarker, detail_markers, row_status_in, scope_entries,
};
use super::overview::{OverviewRow, RowKey, RowStatus};
use super::query::{DrillStep, SortKey, ViewQuery};
use super::rollup::{ColumnSignals, RowBases, RowInputs, rollup_many, rows_of_series, sum_series};
use super::select::{Grouping, slices_under, unfixed_dimensions};
use super::sort::sort_rows;
use super::trend::{GaugeTrend, RatioTrend};
use crate::detect::ScopeMap;
use crate::feed::Fleet;
use crate::protocol::{Annotation, Millis};
use crate::store::{BucketRange, GroupRollup, Ratio, SignalId, SliceId, Store};
use crate::text::sanitize::{sanitize, truncate};

/// Longest an annotation's label on the time axis may be.
const ANNOTATION_LABEL_MAX: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Quality,
    Availability,
    Latency,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValues {
    Ratio(RatioTrend),
    Gauge(GaugeTrend),
}

/// One line chart: a signal rolled up over the group, bucket by bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// Sanitised signal name.
    pub title: String,
    pub kind: ChartKind,
    /// Sanitised unit of a gauge ("ms").
    pub unit: Option<String>,
    pub values: SeriesValues,
    /// The reference line: a rate for ratios (the first half of the window
    /// until detection brings a better one), a value for gauges.
    pub baseline: Option<f64>,
}

/// The group's children by one dimension, worst first.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// Sanitised.
    pub dimension: String,
    pub dimension_raw: String,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    /// Raw, for drilling.
    pub value: String,
    /// Sanitised.
    pub name: String,
    pub quality: Option<f64>,
    pub change_pp: Option<f64>,
    pub requests: u64,
    pub status: Option<RowStatus>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailModel {
    pub path: Vec<DrillStep>,
    pub range: BucketRange,
    pub bucket_ms: Millis,
    /// Leaf slices in the group (after the filter).
    pub leaves: usize,
    pub charts: Vec<ChartSeries>,
    /// Inside the window, oldest first.
    pub markers: Vec<TimeMarker>,
    pub scope: Vec<ScopeEntry>,
    /// Changes in the window touching the group, newest first.
    pub changes: Vec<ChangeLine>,
    pub breakdown: Vec<Breakdown>,
}

impl DetailModel {
    /// Where Enter can go from the detail view, in screen order: the scope
    /// entries, then every breakdown row.
    pub fn targets(&self) -> Vec<Vec<DrillStep>> {
        let mut out: Vec<Vec<DrillStep>> = self.scope.iter().map(|e| e.path.clone()).collect();
        for b in &self.breakdown {
            for r in &b.rows {
                let mut p = self.path.clone();
                p.push(DrillStep::new(&b.dimension_raw, &r.value));
                out.push(p);
            }
        }
        out
    }
}

/// Whether an annotation on `scope` belongs on the detail view of `path`:
/// its scope contains the group (a note on `model=m3` shows under
/// `model=m3 › hardware=tpu`), or lies inside it (a note on
/// `model=m3, hardware=tpu` shows on the whole fleet's view). Scopes that
/// only overlap, or disagree on a dimension, do not.
pub fn annotation_applies(scope: &BTreeMap<String, String>, path: &[DrillStep]) -> bool {
    let scope_contains_path = scope
        .iter()
        .all(|(d, v)| path.iter().any(|s| s.dimension == *d && s.value == *v));
    let path_contains_scope = path
        .iter()
        .all(|s| scope.get(&s.dimension) == Some(&s.value));
    scope_contains_path || path_contains_scope
}

pub fn compute_detail(
    fleet: &Fleet,
    query: &ViewQuery,
    path: &[DrillStep],
    cols: &ColumnSignals,
    range: BucketRange,
) -> DetailModel {
    let store = &fleet.store;
    let slices = store.slices();
    let ids = slices_under(slices, path, &query.filter);
    let baselines = Baselines::new(fleet, !query.filter.is_empty(), range);
    let here: ScopeMap = path
        .iter()
        .map(|s| (s.dimension.clone(), s.value.clone()))
        .collect();
    // A dimension no slice here names (scale mode holds rows rolled up
    // without it; a backend may not declare it) would break down into one
    // `(none)` row: the whole again, under a misleading label.
    let unfixed = unfixed_dimensions(slices, path);
    let named: Vec<usize> = unfixed
        .iter()
        .copied()
        .filter(|&d| ids.iter().any(|&id| !slices.value(id, d).is_empty()))
        .collect();
    let dims = if named.is_empty() { unfixed } else { named };
    let groupings: Vec<Grouping> = dims
        .iter()
        .map(|&d| Grouping::by_dimension(slices, &ids, d))
        .collect();
    let span = baselines.span(range);
    // One pass over the rings per signal serves every breakdown, and the
    // charts sum the first breakdown's groups instead of rolling up again.
    let mut rolled: HashMap<SignalId, Vec<Vec<Vec<Option<Ratio>>>>> = cols
        .availability
        .iter()
        .chain(&cols.quality)
        .filter_map(|&sig| Some((sig, rollup_many(store, sig, &groupings, span)?)))
        .collect();
    let mut charts = Vec::new();
    let kinds = cols.all_quality.iter().map(|&s| (s, ChartKind::Quality));
    for (sig, kind) in kinds.chain(
        cols.availability
            .iter()
            .map(|&s| (s, ChartKind::Availability)),
    ) {
        let history = match rolled.get(&sig).and_then(|d| d.first()) {
            Some(groups) => sum_series(groups, span.len),
            None => store.rollup_ratio(sig, &ids, span),
        };
        let base = baselines.of_history(sig, &here, &history, span);
        charts.push(ratio_chart(store, sig, &history, range, kind, base));
    }
    if let Some(sig) = cols.latency {
        charts.push(gauge_chart(store, sig, &ids, range));
    }
    let (start, end) = (
        store.bucket_start(range.first),
        store.bucket_start(range.last() + 1),
    );
    let mut markers: Vec<TimeMarker> = detail_markers(fleet, path)
        .into_iter()
        .chain(annotation_markers(fleet, path))
        .chain(change_markers(fleet, path))
        .filter(|m| (start..end).contains(&m.ts))
        .collect();
    markers.sort_by_key(|m| m.ts);
    // The breakdown shows quality and volume: latency would be rolled up for nothing.
    let breakdown_cols = ColumnSignals {
        latency: None,
        ..cols.clone()
    };
    let bugs = BugMap::new(fleet);
    let breakdown = dims
        .into_iter()
        .zip(groupings)
        .enumerate()
        .map(|(j, (d, grouping))| {
            let name = &slices.dimensions()[d];
            let bases = RowBases {
                baselines: &baselines,
                path,
                split: name,
            };
            let (mut rows, _) = rows_of_series(
                &RowInputs {
                    store,
                    cols: &breakdown_cols,
                    range,
                    bases: &bases,
                },
                grouping,
                |sig| rolled.get_mut(&sig).map(|d| std::mem::take(&mut d[j])),
            );
            for row in &mut rows {
                row.status = row_status_in(
                    &bugs,
                    fleet,
                    &RowAt {
                        path,
                        split: name,
                        key: &row.key,
                        at: query.time,
                    },
                    &query.quality,
                );
            }
            sort_rows(&mut rows, SortKey::Status, false);
            Breakdown {
                dimension: sanitize(name).into_owned(),
                dimension_raw: name.clone(),
                rows: rows.into_iter().filter_map(breakdown_row).collect(),
            }
        })
        .collect();
    DetailModel {
        path: path.to_vec(),
        range,
        bucket_ms: store.bucket_ms(),
        leaves: ids.len(),
        charts,
        markers,
        scope: scope_entries(fleet, path),
        changes: change_lines(fleet, path, start, end)
            .into_iter()
            .filter(|c| c.here)
            .collect(),
        breakdown,
    }
}

fn breakdown_row(row: OverviewRow) -> Option<BreakdownRow> {
    let RowKey::Value(value) = &row.key else {
        return None;
    };
    Some(BreakdownRow {
        value: value.clone(),
        name: row.name.clone(),
        quality: row.quality.current(),
        change_pp: row.quality.change_pp(),
        requests: row.requests(),
        status: row.status,
    })
}

/// A signal's chart from its summed counts over `span` (the reference
/// history, then the window).
fn ratio_chart(
    store: &Store,
    sig: SignalId,
    history: &[Option<Ratio>],
    range: BucketRange,
    kind: ChartKind,
    base: Option<f64>,
) -> ChartSeries {
    let window = history[history.len().saturating_sub(range.len)..].to_vec();
    let trend = RatioTrend::new(window).with_baseline(base);
    ChartSeries {
        title: sanitize(&store.signal(sig).spec.name).into_owned(),
        kind,
        unit: None,
        baseline: trend.baseline(),
        values: SeriesValues::Ratio(trend),
    }
}

fn gauge_chart(store: &Store, sig: SignalId, ids: &[SliceId], range: BucketRange) -> ChartSeries {
    let members: Vec<(SliceId, u32)> = ids.iter().map(|&id| (id, 0)).collect();
    let buckets = match store.rollup_groups(sig, &members, 1, range) {
        GroupRollup::Gauge(mut v) => v.pop().unwrap_or_default(),
        GroupRollup::Ratio(_) => vec![None; range.len],
    };
    let spec = &store.signal(sig).spec;
    ChartSeries {
        title: sanitize(&spec.name).into_owned(),
        kind: ChartKind::Latency,
        unit: spec.unit.as_deref().map(|u| sanitize(u).into_owned()),
        baseline: None,
        values: SeriesValues::Gauge(GaugeTrend { buckets }),
    }
}

/// Annotations (shared and not yet acknowledged) that belong on this view.
fn annotation_markers<'a>(
    fleet: &'a Fleet,
    path: &'a [DrillStep],
) -> impl Iterator<Item = TimeMarker> + 'a {
    let pending = fleet
        .pending_annotations
        .iter()
        .filter(|p| !fleet.annotations.contains(&p.id));
    fleet
        .annotations
        .iter()
        .chain(pending)
        .filter(|a| annotation_applies(&a.scope, path))
        .map(annotation_marker)
}

fn annotation_marker(a: &Annotation) -> TimeMarker {
    let state = format!("{:?}", a.state).to_lowercase();
    TimeMarker {
        ts: a.from,
        kind: MarkerKind::Annotation,
        label: truncate(
            &sanitize(&format!("{state}: {}", a.text)),
            ANNOTATION_LABEL_MAX,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect()
    }

    fn path(pairs: &[(&str, &str)]) -> Vec<DrillStep> {
        pairs.iter().map(|(d, v)| DrillStep::new(*d, *v)).collect()
    }

    #[test]
    fn an_annotation_shows_on_groups_inside_its_scope_and_on_groups_containing_it() {
        let note = scope(&[("model", "m3")]);
        // The whole fleet contains model=m3; model=m3 › tpu lies inside it.
        assert!(annotation_applies(&note, &[]));
        assert!(annotation_applies(&note, &path(&[("model", "m3")])));
        assert!(annotation_applies(
            &note,
            &path(&[("model", "m3"), ("hardware", "tpu")])
        ));
        // A fleet-wide note shows everywhere.
        assert!(annotation_applies(
            &scope(&[]),
            &path(&[("hardware", "tpu")])
        ));
    }

    #[test]
    fn an_annotation_on_another_value_or_an_overlapping_scope_does_not_show() {
        let note = scope(&[("model", "m3"), ("hardware", "tpu")]);
        assert!(!annotation_applies(&note, &path(&[("model", "m1")])));
        // Overlaps in the leaf m3/tpu/eu, but neither contains the other.
        assert!(!annotation_applies(
            &note,
            &path(&[("hardware", "tpu"), ("region", "eu")])
        ));
        assert!(annotation_applies(&note, &path(&[("hardware", "tpu")])));
    }
}
