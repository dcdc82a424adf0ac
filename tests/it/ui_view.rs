//! The view model: rows, rollups and figures computed from a fleet built by
//! hand, without any drawing.

use crate::support::ui::*;
use qualtop::feed::Fleet;
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::view::{
    ChartKind, DetailModel, DrillStep, Filter, MarkerKind, QualityPick, RowKey, SeriesValues,
    SortKey, TimeCursor, ViewQuery, compute_overview, window_of,
};

#[test]
fn one_row_per_value_of_the_first_dimension_under_a_whole_fleet_row() {
    let query = ViewQuery {
        sort: SortKey::Name,
        ..ViewQuery::default()
    };
    let vm = compute_overview(&demo_like_fleet(), &query);
    let keys: Vec<&RowKey> = vm.table.rows.iter().map(|r| &r.key).collect();
    assert_eq!(keys[0], &RowKey::All);
    let names: Vec<&str> = vm
        .table
        .rows
        .iter()
        .skip(1)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["m-code", "m-large", "m-medium", "m-small"]);
    assert_eq!(vm.table.split.as_deref(), Some("model"));
}

#[test]
fn whole_fleet_row_sums_the_counts_of_its_groups() {
    let vm = compute_overview(&demo_like_fleet(), &ViewQuery::default());
    let rows = &vm.table.rows;
    let sum_requests: u64 = rows[1..].iter().map(|r| r.requests()).sum();
    let sum_evals: u64 = rows[1..].iter().map(|r| r.evals()).sum();
    assert_eq!(rows[0].requests(), sum_requests);
    assert_eq!(rows[0].evals(), sum_evals);
    // 4 models x 4 slices x 2000 requests x 120 buckets, m-small at 6000.
    assert_eq!(sum_requests, (3 * 4 * 2_000 + 4 * 6_000) * 120);
}

#[test]
fn the_degraded_model_shows_a_quality_drop_while_availability_stays_green() {
    let vm = compute_overview(&demo_like_fleet(), &ViewQuery::default());
    let row = |name: &str| vm.table.rows.iter().find(|r| r.name == name).unwrap();
    let large = row("m-large");
    // Half its slices lost 8 points: about -4 points for the model.
    let change = large.quality.change_pp().unwrap();
    assert!((-5.0..-3.0).contains(&change), "m-large change {change}");
    assert!(large.availability.current().unwrap() > 0.999);
    for other in ["m-code", "m-medium", "m-small"] {
        let c = row(other).quality.change_pp().unwrap();
        assert!(c.abs() < 0.5, "{other} change {c}");
    }
}

#[test]
fn picking_one_suite_sums_only_that_suite() {
    let fleet = demo_like_fleet();
    let combined = compute_overview(&fleet, &ViewQuery::default());
    let query = ViewQuery {
        quality: QualityPick::Suite("golden-qa".to_owned()),
        ..ViewQuery::default()
    };
    let one = compute_overview(&fleet, &query);
    assert_eq!(one.table.quality_label, "golden-qa");
    assert_eq!(
        one.table.rows[0].evals() * 4,
        combined.table.rows[0].evals()
    );
    // golden-qa is the best suite in the fixture (others are 1-3 points lower).
    assert!(one.table.rows[0].quality.current() > combined.table.rows[0].quality.current());
    assert_eq!(one.suites, SUITES);
}

#[test]
fn buckets_where_no_member_had_data_stay_missing() {
    let mut b = FleetBuilder::new();
    let mut s = SliceScript::new("m-gappy", "api", "eu-west", "gpu-h100");
    s.missing = vec![50, 51, 52];
    b.add(&s, 1);
    let vm = compute_overview(&b.build(), &ViewQuery::default());
    let row = &vm.table.rows[1];
    assert!(row.quality.buckets[50].is_none() && row.quality.buckets[49].is_some());
    assert!(row.availability.buckets[52].is_none());
}

#[test]
fn the_default_status_sort_puts_the_biggest_drop_first_under_the_fleet_row() {
    // No detection yet: every status is empty, so the worst change leads.
    let query = ViewQuery::default();
    assert_eq!(query.sort, SortKey::Status);
    let vm = compute_overview(&demo_like_fleet(), &query);
    assert_eq!(vm.table.rows[0].key, RowKey::All);
    assert_eq!(vm.table.rows[1].name, "m-large");
}

#[test]
fn a_word_filter_keeps_matching_leaves_and_the_aggregate_is_theirs_alone() {
    let query = ViewQuery {
        filter: Filter::parse("LARGE"),
        ..ViewQuery::default()
    };
    let vm = compute_overview(&demo_like_fleet(), &query);
    let names: Vec<&str> = vm.table.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["all matching", "m-large"],
        "the aggregate says it is filtered"
    );
    // Filtering happens before the rollup: the aggregate is m-large only.
    assert_eq!(vm.table.rows[0].requests(), vm.table.rows[1].requests());
}

#[test]
fn an_empty_fleet_has_no_rows_and_no_window() {
    let vm = compute_overview(&Default::default(), &ViewQuery::default());
    assert!(vm.table.rows.is_empty());
    assert_eq!(vm.table.range, None);
    assert!(vm.header.sources.is_empty());
}

fn note(id: &str, scope: &[(&str, &str)], minutes_ago: i64, text: &str) -> Annotation {
    Annotation {
        id: id.into(),
        scope: scope
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect(),
        signal: None,
        from: DATA_NOW - minutes_ago * BUCKET_MS,
        to: None,
        state: AnnotationState::Suspected,
        text: text.into(),
        author: "oncall".into(),
        rev: Some(1),
        created: None,
        updated: None,
    }
}

fn detail_of(fleet: &Fleet, path: Vec<DrillStep>) -> DetailModel {
    let query = ViewQuery {
        detail: Some(path),
        window_ms: Some(60 * BUCKET_MS),
        ..ViewQuery::default()
    };
    compute_overview(fleet, &query)
        .detail
        .expect("detail asked for")
}

#[test]
fn the_detail_charts_each_suite_availability_and_latency_with_a_baseline() {
    let fleet = demo_like_fleet();
    let d = detail_of(&fleet, vec![DrillStep::new("model", "m-large")]);
    let titles: Vec<&str> = d.charts.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            SUITES[0],
            SUITES[1],
            SUITES[2],
            SUITES[3],
            "availability",
            "latency_p99"
        ]
    );
    assert_eq!(d.charts[5].kind, ChartKind::Latency);
    assert_eq!(d.charts[5].unit.as_deref(), Some("ms"));
    assert_eq!(d.leaves, 4);
    let SeriesValues::Ratio(golden) = &d.charts[0].values else {
        panic!("golden-qa is a ratio")
    };
    assert_eq!(golden.buckets.len(), 60);
    // The window is buckets 60..120 and the drop starts at 90: the baseline
    // (the window's first half) is from before it.
    let baseline = d.charts[0].baseline.unwrap();
    assert!(baseline > golden.current().unwrap() + 0.03, "{baseline}");
}

#[test]
fn the_detail_breakdown_shows_each_unfixed_dimension_worst_child_first() {
    let fleet = demo_like_fleet();
    let d = detail_of(&fleet, vec![DrillStep::new("model", "m-large")]);
    let dims: Vec<&str> = d.breakdown.iter().map(|b| b.dimension.as_str()).collect();
    assert_eq!(dims, ["platform", "region", "hardware"]);
    let hardware = &d.breakdown[2];
    assert_eq!(hardware.rows[0].name, "tpu-v5");
    assert!(hardware.rows[0].change_pp.unwrap() < -7.0);
    assert!(hardware.rows[1].change_pp.unwrap().abs() < 0.5);
}

#[test]
fn the_breakdown_leaves_out_a_dimension_no_slice_names() {
    // Rows rolled up to `model` (scale mode), or a backend that does not
    // declare the others: a breakdown by them would be one `(none)` row.
    let mut b = FleetBuilder::new();
    b.add(&SliceScript::new("m-a", "", "", ""), 1);
    b.add(&SliceScript::new("m-b", "", "", ""), 2);
    let d = detail_of(&b.build(), vec![]);
    let dims: Vec<&str> = d.breakdown.iter().map(|b| b.dimension.as_str()).collect();
    assert_eq!(dims, ["model"]);
    assert_eq!(d.breakdown[0].rows.len(), 2);
}

#[test]
fn detail_series_keep_missing_buckets_missing() {
    let mut b = FleetBuilder::new();
    let mut s = SliceScript::new("m-gappy", "api", "eu-west", "gpu-h100");
    s.missing = (80..100).collect();
    b.add(&s, 1);
    let d = detail_of(&b.build(), vec![]);
    for chart in &d.charts {
        let missing = match &chart.values {
            SeriesValues::Ratio(t) => t.buckets.iter().filter(|b| b.is_none()).count(),
            SeriesValues::Gauge(g) => g.buckets.iter().filter(|b| b.is_none()).count(),
        };
        assert_eq!(missing, 20, "{}", chart.title);
    }
}

#[test]
fn annotation_markers_show_where_their_scope_contains_or_lies_inside_the_group() {
    let mut fleet = demo_like_fleet();
    fleet.annotations = vec![
        note("a", &[("model", "m-large")], 30, "tpu \x1b[31mrollout"),
        note("b", &[("model", "m-small")], 20, "other model"),
        note("c", &[], 10, "fleet-wide deploy"),
        note("d", &[("model", "m-large")], 500, "before the window"),
    ]
    .into_iter()
    .collect();
    fleet.pending_annotations = vec![note("e", &[("hardware", "tpu-v5")], 5, "not yet acked")];
    let labels = |path: Vec<DrillStep>| -> Vec<String> {
        detail_of(&fleet, path)
            .markers
            .iter()
            .map(|m| {
                assert_eq!(m.kind, MarkerKind::Annotation);
                m.label.clone()
            })
            .collect()
    };
    let large = labels(vec![DrillStep::new("model", "m-large")]);
    assert_eq!(
        large,
        ["suspected: tpu rollout", "suspected: fleet-wide deploy"],
        "oldest first, sanitised, other models and old ones left out"
    );
    let fleet_wide = labels(vec![]);
    assert_eq!(fleet_wide.len(), 4, "{fleet_wide:?}");
    let tpu_large = labels(vec![
        DrillStep::new("model", "m-large"),
        DrillStep::new("hardware", "tpu-v5"),
    ]);
    assert_eq!(tpu_large.len(), 3, "{tpu_large:?}");
}

#[test]
fn the_window_follows_the_query_and_the_time_cursor_ends_it() {
    let fleet = demo_like_fleet();
    let query = ViewQuery {
        window_ms: Some(15 * BUCKET_MS),
        time: TimeCursor::Frozen { last_bucket: 1000 },
        ..ViewQuery::default()
    };
    let range = window_of(&fleet.store, &query).unwrap();
    assert_eq!((range.len, range.last()), (15, 1000));
    let huge = ViewQuery {
        window_ms: Some(24 * 60 * BUCKET_MS),
        ..ViewQuery::default()
    };
    let range = window_of(&fleet.store, &huge).unwrap();
    assert_eq!(
        range.len, HISTORY_BUCKETS as usize,
        "cut to what the store holds"
    );
}

#[test]
fn a_filter_naming_an_unknown_dimension_matches_nothing_and_says_so() {
    let query = ViewQuery {
        filter: Filter::parse("colour=red"),
        ..ViewQuery::default()
    };
    let vm = compute_overview(&demo_like_fleet(), &query);
    assert!(vm.table.rows.is_empty());
    assert_eq!(vm.table.filter_unknown, ["colour"]);
}

#[test]
fn a_path_through_a_value_the_store_lacks_has_no_rows() {
    let query = ViewQuery {
        path: vec![DrillStep::new("model", "m-gone")],
        ..ViewQuery::default()
    };
    let vm = compute_overview(&demo_like_fleet(), &query);
    assert!(vm.table.rows.is_empty());
}
