//! Drilling, pivoting, filtering, sorting and the detail view: the app state
//! machine driven by keys over real view models of a hand-built fleet, the
//! way the event loop drives it (recompute, then tell the app what it shows).

use crate::support::ui::*;
use qualtop::app::{DetailState, Effect, Key, KeyPress, PivotOption, Popup};
use qualtop::view::{DrillStep, RowKey, SortKey, Split, ViewModel};

const W: u16 = 160;
const H: u16 = 48;

fn step(d: &str, v: &str) -> DrillStep {
    DrillStep::new(d, v)
}

fn requests_of(vm: &ViewModel, name: &str) -> u64 {
    vm.table.rows.iter().find(|r| r.name == name).map_or_else(
        || panic!("{name} not in {:?}", row_names(vm)),
        |r| r.requests(),
    )
}

/// One slice's requests over the one-hour window (60 one-minute buckets).
const SLICE_HOUR: u64 = 2_000 * 60;

#[test]
fn enter_drills_into_the_selected_group_split_by_the_next_dimension() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    assert_eq!(row_names(&vm)[1], "m-large", "the biggest drop leads");
    select_row(&mut app, &vm, "m-large");
    assert_eq!(enter(&mut app), vec![Effect::Recompute]);
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(app.levels().len(), 2);
    assert_eq!(app.level().path, [step("model", "m-large")]);
    // model is fixed: the next declared dimension, platform, splits.
    assert_eq!(vm.table.split.as_deref(), Some("platform"));
    assert_eq!(row_names(&vm), ["all m-large", "api"]);
}

#[test]
fn back_up_restores_the_selection_and_scroll_even_after_rows_moved() {
    let mut b = FleetBuilder::new();
    for i in 0..40u64 {
        let mut s = SliceScript::new(&format!("model-{i:02}"), "api", "eu", "gpu");
        s.requests_per_bucket = 1_000 + 10 * i as i64;
        b.add(&s, i);
    }
    let fleet = b.build();
    let (mut app, _) = started(&fleet, W, H);
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "sort name");
    enter(&mut app);
    let vm = sync(&fleet, &mut app, 80, 24);
    select_row(&mut app, &vm, "model-30");
    let before = (app.level().selected, app.level().scroll);
    assert!(before.1 > 0, "the table scrolled to reach model-30");
    enter(&mut app);
    sync(&fleet, &mut app, 80, 24);
    press(&mut app, KeyPress::plain(Key::Esc));
    let vm = sync(&fleet, &mut app, 80, 24);
    assert_eq!(app.levels().len(), 1);
    assert_eq!((app.level().selected, app.level().scroll), before);
    assert_eq!(vm.table.rows[app.level().selected].name, "model-30");

    // Re-sorted while drilled in: the selection follows the row, not the index.
    enter(&mut app);
    sync(&fleet, &mut app, 80, 24);
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "sort volume");
    enter(&mut app);
    press(&mut app, KeyPress::plain(Key::Backspace));
    let vm = sync(&fleet, &mut app, 80, 24);
    assert_eq!(vm.table.rows[app.level().selected].name, "model-30");
    assert_ne!(app.level().selected, before.0, "its index changed");
}

#[test]
fn the_pivot_menu_lets_the_fleet_split_by_hardware_then_model() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    press(&mut app, KeyPress::char('g'));
    assert_eq!(app.popup(), Some(&Popup::Pivot { selected: 0 }));
    let options = app.pivot_options();
    assert_eq!(options.len(), 5);
    assert_eq!(options[3], PivotOption::Dimension("hardware".into()));
    assert_eq!(options[4], PivotOption::Leaves);
    for _ in 0..3 {
        press(&mut app, KeyPress::plain(Key::Down));
    }
    assert_eq!(enter(&mut app), vec![Effect::Recompute]);
    assert_eq!(app.popup(), None);
    assert_eq!(app.level().split, Split::By("hardware".into()));
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(
        row_names(&vm)[1..],
        ["tpu-v5", "gpu-h100"],
        "TPU stands out"
    );
    select_row(&mut app, &vm, "tpu-v5");
    enter(&mut app);
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(app.level().path, [step("hardware", "tpu-v5")]);
    assert_eq!(vm.table.split.as_deref(), Some("model"));
    let large = &vm.table.rows[1];
    assert_eq!(large.name, "m-large");
    let change = large.quality.change_pp().unwrap();
    assert!(
        (-9.0..-7.0).contains(&change),
        "all of its 8 points: {change}"
    );
    // The menu now offers only what the path has not fixed.
    assert!(
        !app.pivot_options()
            .contains(&PivotOption::Dimension("hardware".into()))
    );
}

#[test]
fn the_flat_view_lists_every_leaf_and_enter_on_a_leaf_opens_its_detail() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    sync(&fleet, &mut app, W, H);
    press(&mut app, KeyPress::char('G'));
    let vm = sync(&fleet, &mut app, W, H);
    assert!(vm.table.leaves);
    assert_eq!(vm.table.rows.len(), 1 + 4);
    let leaf = &vm.table.rows[1];
    assert!(leaf.name.ends_with("/ tpu-v5"), "{}", leaf.name);
    let RowKey::Leaf(steps) = &leaf.key else {
        panic!("{:?}", leaf.key)
    };
    assert_eq!(steps.len(), 3, "platform, region, hardware");
    let leaves: u64 = vm.table.rows[1..].iter().map(|r| r.requests()).sum();
    assert_eq!(vm.table.rows[0].requests(), leaves);
    press(&mut app, KeyPress::plain(Key::Down));
    enter(&mut app);
    let vm = sync(&fleet, &mut app, W, H);
    let detail = app.detail().expect("a leaf opens its detail");
    assert_eq!(detail.path.len(), 4);
    let model = vm.detail.expect("the view computed the detail");
    assert_eq!(model.leaves, 1);
    assert!(model.breakdown.is_empty(), "nothing left to break down");
    press(&mut app, KeyPress::plain(Key::Esc));
    assert!(app.detail().is_none());
    press(&mut app, KeyPress::char('G'));
    assert_eq!(
        app.level().split,
        Split::Next,
        "G again leaves the flat view"
    );
}

#[test]
fn a_filter_persists_while_drilling_and_group_rows_sum_only_matching_leaves() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "hardware=tpu-v5");
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(
        app.filter().text(),
        "hardware=tpu-v5",
        "applied as it is typed"
    );
    enter(&mut app);
    assert!(app.input().is_none());
    // Two regions on TPU per model; m-small sends three times the traffic.
    assert_eq!(requests_of(&vm, "m-large"), 2 * SLICE_HOUR);
    assert_eq!(requests_of(&vm, "m-small"), 6 * SLICE_HOUR);
    assert_eq!(requests_of(&vm, "all matching"), 12 * SLICE_HOUR);
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(app.filter().text(), "hardware=tpu-v5");
    assert_eq!(requests_of(&vm, "all m-large"), 2 * SLICE_HOUR);
    press(&mut app, KeyPress::char('g'));
    press(&mut app, KeyPress::plain(Key::End));
    press(&mut app, KeyPress::plain(Key::Up));
    enter(&mut app); // split by hardware: only tpu-v5 passes the filter
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(row_names(&vm), ["all m-large", "tpu-v5"]);
}

#[test]
fn esc_clears_the_filter_before_going_up_and_backspace_keeps_it() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    sync(&fleet, &mut app, W, H);
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "filter region=eu-west");
    enter(&mut app);
    assert_eq!(app.filter().text(), "region=eu-west");
    press(&mut app, KeyPress::plain(Key::Backspace));
    assert_eq!(app.levels().len(), 1);
    assert_eq!(app.filter().text(), "region=eu-west", "Backspace keeps it");
    enter(&mut app);
    press(&mut app, KeyPress::plain(Key::Esc));
    assert!(app.filter().is_empty(), "Esc clears the filter first");
    assert_eq!(app.levels().len(), 2);
    press(&mut app, KeyPress::plain(Key::Esc));
    assert_eq!(app.levels().len(), 1);
    // Esc while typing a filter throws it away.
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "m-small");
    assert!(!app.filter().is_empty());
    press(&mut app, KeyPress::plain(Key::Esc));
    assert!(app.filter().is_empty() && app.input().is_none());
}

#[test]
fn s_cycles_the_sort_keys_and_capital_s_reverses() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    assert_eq!(app.sort, SortKey::Status);
    let mut seen = Vec::new();
    for _ in 0..4 {
        assert_eq!(
            press(&mut app, KeyPress::char('s')),
            vec![Effect::Recompute]
        );
        seen.push(app.sort);
    }
    assert_eq!(
        seen,
        [
            SortKey::Availability,
            SortKey::Volume,
            SortKey::Name,
            SortKey::Status
        ]
    );
    press(&mut app, KeyPress::char('s'));
    press(&mut app, KeyPress::char('s'));
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(app.query().sort, SortKey::Volume);
    assert_eq!(row_names(&vm)[1], "m-small", "the busiest first");
    press(&mut app, KeyPress::char('S'));
    let vm = sync(&fleet, &mut app, W, H);
    assert!(app.query().sort_reversed);
    assert_eq!(
        row_names(&vm)[0],
        "whole fleet",
        "the aggregate stays on top"
    );
    assert_eq!(row_names(&vm).last().map(String::as_str), Some("m-small"));
}

#[test]
fn the_detail_breakdown_opens_a_childs_detail_and_esc_comes_back() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    select_row(&mut app, &vm, "m-large");
    press(&mut app, KeyPress::char('d'));
    let vm = sync(&fleet, &mut app, W, H);
    let model = vm.detail.as_ref().expect("d opens the detail");
    assert_eq!(model.path, [step("model", "m-large")]);
    let hardware = model
        .breakdown
        .iter()
        .find(|b| b.dimension == "hardware")
        .unwrap();
    assert_eq!(hardware.rows[0].name, "tpu-v5", "worst first");
    let targets = model.targets();
    let tpu = targets
        .iter()
        .position(|p| p.last() == Some(&step("hardware", "tpu-v5")))
        .unwrap();
    for _ in 0..tpu {
        press(&mut app, KeyPress::plain(Key::Down));
    }
    enter(&mut app);
    sync(&fleet, &mut app, W, H);
    assert_eq!(
        app.detail().map(|d| d.path.clone()),
        Some(vec![step("model", "m-large"), step("hardware", "tpu-v5")])
    );
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.detail().map(|d| d.chart), Some(1));
    press(&mut app, KeyPress::plain(Key::BackTab));
    press(&mut app, KeyPress::plain(Key::BackTab));
    assert_eq!(
        app.detail().map(|d| d.chart),
        Some(5),
        "six charts: four suites, availability, latency"
    );
    press(&mut app, KeyPress::plain(Key::Esc));
    assert_eq!(app.detail().map(|d| d.path.len()), Some(1));
    press(&mut app, KeyPress::plain(Key::Esc));
    assert_eq!(app.detail(), None::<&DetailState>);
    assert_eq!(app.levels().len(), 1, "the table is where it was");
}

#[test]
fn a_scope_jump_builds_one_level_per_step_with_each_steps_row_selected() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    let path = vec![step("hardware", "tpu-v5"), step("model", "m-large")];
    assert_eq!(app.jump_to(path.clone()), vec![Effect::Recompute]);
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(app.levels().len(), 3);
    assert_eq!(app.level().path, path);
    assert_eq!(vm.table.split.as_deref(), Some("platform"));
    press(&mut app, KeyPress::plain(Key::Backspace));
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(vm.table.split.as_deref(), Some("model"));
    assert_eq!(vm.table.rows[app.level().selected].name, "m-large");
    press(&mut app, KeyPress::plain(Key::Backspace));
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(vm.table.split.as_deref(), Some("hardware"));
    assert_eq!(vm.table.rows[app.level().selected].name, "tpu-v5");
    // A path that fixes every dimension opens that leaf's detail.
    let leaf = vec![
        step("model", "m-code"),
        step("platform", "api"),
        step("region", "eu-west"),
        step("hardware", "gpu-h100"),
    ];
    app.jump_to(leaf.clone());
    assert_eq!(app.detail().map(|d| d.path.clone()), Some(leaf));
}
