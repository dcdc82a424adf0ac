//! The view model: rows, rollups and figures computed from a fleet built by
//! hand, without any drawing.

mod ui_fixture;

use qualtop::view::{Filter, QualityPick, RowKey, SortKey, ViewQuery, compute_overview};
use ui_fixture::*;

#[test]
fn one_row_per_value_of_the_first_dimension_under_a_whole_fleet_row() {
    let vm = compute_overview(&demo_like_fleet(), &ViewQuery::default());
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
    assert_eq!(names, ["whole fleet", "m-large"]);
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
