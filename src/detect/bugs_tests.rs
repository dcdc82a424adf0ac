//! Tests of `detect::bugs`.
use super::*;
use crate::detect::TrackLevel;
use crate::protocol::SignalRole;

const MIN: Millis = 60_000;

fn reg(signal: &str, scope: &[(&str, &str)], onset: i64, end: Option<i64>) -> DetectedRegression {
    DetectedRegression {
        signal: signal.to_owned(),
        role: SignalRole::Quality,
        scope: scope
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect(),
        origin: ScopeOrigin::Cause,
        causes: Vec::new(),
        alarms: Vec::new(),
        onset: onset * MIN,
        onset_spread: None,
        detected_at: (onset + 2) * MIN,
        ended_at: end.map(|e| e * MIN),
        baseline: 0.95,
        current: 0.92,
        delta_pp: -3.0,
        drop_table: None,
    }
}

#[test]
fn a_scope_refined_into_disjoint_combinations_stays_one_bug() {
    let rs = [
        reg(
            "lc",
            &[("hardware", "tpu"), ("model", "m"), ("platform", "api")],
            61,
            None,
        ),
        reg(
            "lc",
            &[("hardware", "tpu"), ("model", "l"), ("platform", "api")],
            57,
            None,
        ),
        reg(
            "cs",
            &[("hardware", "tpu"), ("model", "xl"), ("platform", "api")],
            63,
            None,
        ),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let scope = bugs[0].scope();
    assert_eq!(scope.len(), 2, "{scope:?}");
    assert_eq!(scope.get("hardware").map(String::as_str), Some("tpu"));
    assert_eq!(bugs[0].signals(), vec!["cs", "lc"]);
    assert_eq!(bugs[0].onset(), 57 * MIN);
}

#[test]
fn group_alarms_seen_from_two_sides_meet_in_their_intersection() {
    let mut rs = [
        reg("lc", &[("platform", "api")], 61, None),
        reg("lc", &[("hardware", "tpu")], 61, None),
        reg("gq", &[], 62, None),
    ];
    for r in &mut rs {
        r.origin = ScopeOrigin::Track(TrackLevel::Group);
    }
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let want: ScopeMap = [("hardware", "tpu"), ("platform", "api")]
        .iter()
        .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(bugs[0].scope(), want);
}

#[test]
fn a_broad_alarm_does_not_swallow_a_fault_starting_an_hour_later_inside_it() {
    let rs = [
        reg("uf", &[("hardware", "tpu")], 69, None),
        reg("gq", &[("hardware", "tpu"), ("model", "s")], 127, None),
        // The same fault firing again later, while the first is open.
        reg("gq", &[("hardware", "tpu"), ("model", "s")], 299, None),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 2, "{bugs:#?}");
    assert_eq!(bugs[1].members.len(), 2);
}

#[test]
fn found_combinations_on_two_sides_are_what_they_share_and_a_leaf_alarm_adds_nothing() {
    let mut leaf = reg(
        "gq",
        &[("hardware", "tpu"), ("model", "s"), ("region", "eu")],
        61,
        None,
    );
    leaf.origin = ScopeOrigin::Track(TrackLevel::Leaf);
    let rs = [
        reg(
            "gq",
            &[("hardware", "tpu"), ("model", "s"), ("region", "us")],
            60,
            None,
        ),
        reg(
            "gq",
            &[("hardware", "tpu"), ("model", "s"), ("platform", "nimbus")],
            62,
            None,
        ),
        leaf,
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let want: ScopeMap = [("hardware", "tpu"), ("model", "s")]
        .iter()
        .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(bugs[0].scope(), want);
}

#[test]
fn a_coarse_scope_from_one_signal_does_not_widen_what_two_signals_place_inside_it() {
    let tpu_api = |m| [("hardware", "tpu"), ("model", m), ("platform", "api")];
    let rs = [
        reg("lc", &tpu_api("l"), 57, None),
        reg("lc", &tpu_api("m"), 61, None),
        reg("cs", &tpu_api("l"), 62, None),
        reg("cs", &tpu_api("m"), 61, None),
        // The weak signal, few counts: scoped to where both models are.
        reg("uf", &[("hardware", "tpu"), ("platform", "api")], 69, None),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let place = crate::text::scope::place_text(&bugs[0].place(&KnownValues::new()));
    assert_eq!(place, "hardware=tpu ∧ model=l,m ∧ platform=api");
    // One signal at the coarse place and one inside it: no more
    // evidence inside than at it, so the coarse place stands.
    let rs = [
        reg("lc", &tpu_api("l"), 57, None),
        reg("uf", &[("hardware", "tpu"), ("platform", "api")], 60, None),
    ];
    let bugs = group_bugs(&rs);
    let place = crate::text::scope::place_text(&bugs[0].place(&KnownValues::new()));
    assert_eq!(place, "hardware=tpu ∧ platform=api");
}

#[test]
fn a_member_placed_apart_from_what_more_signals_agree_on_does_not_widen_the_place() {
    let tpu_api = |m| [("hardware", "tpu"), ("model", m), ("platform", "api")];
    let rs = [
        reg("lc", &tpu_api("l"), 57, None),
        reg("lc", &tpu_api("m"), 61, None),
        reg("cs", &tpu_api("m"), 61, None),
        // Came to name another fault's place, on a third signal.
        reg(
            "uf",
            &[("model", "m"), ("platform", "api"), ("region", "us")],
            57,
            None,
        ),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let place = crate::text::scope::place_text(&bugs[0].place(&KnownValues::new()));
    assert_eq!(place, "hardware=tpu ∧ model=l,m ∧ platform=api");
    // A member disjoint from the rest is another part of the bug: kept.
    let mut rs = rs.to_vec();
    rs[3] = reg("gq", &[("hardware", "tpu"), ("model", "s")], 58, None);
    // A group alarm over both makes them one bug.
    let mut group = reg("cs", &[("hardware", "tpu")], 58, None);
    group.origin = ScopeOrigin::Track(TrackLevel::Group);
    rs.push(group);
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let place = crate::text::scope::place_text(&bugs[0].place(&KnownValues::new()));
    assert_eq!(place, "hardware=tpu ∧ model=l,m,s");
    // Siblings are parts of the place, even on one signal each.
    let region = |r| [("model", "m"), ("platform", "api"), ("region", r)];
    let rs = [
        reg("gq", &region("us"), 297, None),
        reg("gq", &region("eu"), 302, None),
        reg("cs", &region("us"), 305, None),
    ];
    let bugs = group_bugs(&rs);
    let place = crate::text::scope::place_text(&bugs[0].place(&KnownValues::new()));
    assert_eq!(place, "model=m ∧ platform=api ∧ region=eu,us");
}

#[test]
fn a_refire_that_began_with_a_new_fault_belongs_to_the_new_fault() {
    let tpu_api = [("hardware", "tpu"), ("platform", "api")];
    let rs = [
        reg("gq", &tpu_api, 63, None),
        // An hour later: the same place on the same suite, beginning
        // with a narrower fault inside it.
        reg("gq", &tpu_api, 127, Some(244)),
        reg("gq", &[("hardware", "tpu"), ("model", "s")], 122, None),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 2, "{bugs:#?}");
    assert_eq!(bugs[1].members.len(), 2);
    // Alone, the same re-fire is the old fault again.
    let bugs = group_bugs(&rs[..2]);
    assert_eq!(bugs.len(), 1, "{bugs:#?}");
}

#[test]
fn bugs_hours_apart_in_unrelated_scopes_are_two() {
    let rs = [
        reg("lc", &[("hardware", "tpu")], 60, None),
        reg("gq", &[("model", "m")], 300, None),
    ];
    assert_eq!(group_bugs(&rs).len(), 2);
}

#[test]
fn nested_scopes_that_never_overlap_in_time_are_two_bugs() {
    let rs = [
        reg("gq", &[("model", "m")], 60, Some(90)),
        reg("gq", &[("model", "m"), ("hardware", "tpu")], 200, None),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 2);
    assert_eq!(bugs[0].ended_at(), Some(90 * MIN));
    assert!(!bugs[0].is_active() && bugs[1].is_active());
}

#[test]
fn faults_starting_together_in_unrelated_places_are_two_bugs() {
    // Two dimensions apart: neither shares slices nor is a sibling.
    let rs = [
        reg("gq", &[("hardware", "tpu"), ("model", "s")], 120, None),
        reg("gq", &[("hardware", "gpu"), ("model", "m")], 123, None),
    ];
    assert_eq!(group_bugs(&rs).len(), 2);
}

#[test]
fn two_signals_that_came_to_share_a_place_hours_apart_are_two_bugs() {
    // A regression scoped where a later fault now is does not chain the
    // earlier fault (onset 57) into the later one (onset 302).
    let place = [("model", "m"), ("platform", "api"), ("region", "eu")];
    let rs = [reg("uf", &place, 57, None), reg("gq", &place, 302, None)];
    assert_eq!(group_bugs(&rs).len(), 2);
}

#[test]
fn a_part_that_recovered_leaves_the_place_and_is_remembered_with_its_end() {
    let tpu_api = |m| [("hardware", "tpu"), ("model", m), ("platform", "api")];
    let rs = [
        reg("lc", &tpu_api("l"), 57, Some(214)),
        reg("lc", &tpu_api("m"), 61, None),
        reg("cs", &tpu_api("l"), 62, Some(224)),
        reg("cs", &tpu_api("xl"), 61, Some(223)),
        reg("cs", &tpu_api("m"), 60, None),
    ];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1);
    let known = KnownValues::new();
    let text = |p: &Place| crate::text::scope::place_text(p);
    assert_eq!(
        text(&bugs[0].place(&known)),
        "hardware=tpu ∧ model=m ∧ platform=api"
    );
    assert_eq!(
        text(&bugs[0].place_ever(&known)),
        "hardware=tpu ∧ model=l,m,xl ∧ platform=api"
    );
    let parts: Vec<(String, Millis)> = bugs[0]
        .recovered(&known)
        .iter()
        .map(|(p, end)| (text(p), *end))
        .collect();
    assert_eq!(
        parts,
        vec![(
            "hardware=tpu ∧ model=l,xl ∧ platform=api".to_owned(),
            224 * MIN
        )]
    );
    // Once all of it ended, its end says so: no part is singled out.
    let mut all_ended = rs.clone();
    for r in &mut all_ended {
        r.ended_at.get_or_insert(425 * MIN);
    }
    let bugs = group_bugs(&all_ended);
    assert!(bugs[0].recovered(&known).is_empty());
    assert_eq!(
        text(&bugs[0].place(&known)),
        "hardware=tpu ∧ model=l,m,xl ∧ platform=api"
    );
}

#[test]
fn the_worst_member_is_the_largest_drop() {
    let mut a = reg("a", &[("model", "m")], 60, None);
    a.delta_pp = -1.0;
    let mut b = reg("b", &[("model", "m")], 61, None);
    b.delta_pp = -4.0;
    let rs = [a, b];
    let bugs = group_bugs(&rs);
    assert_eq!(bugs[0].worst().signal, "b");
}

/// The routing fault's code-syntax on its place, and a group alarm on
/// `region=eu-west` that needed hours of evidence, still alone.
fn routing_and_a_late_sighting() -> Vec<DetectedRegression> {
    let mut late = reg("cs", &[("region", "eu-west")], 550, None);
    late.origin = ScopeOrigin::Track(TrackLevel::Group);
    vec![
        reg(
            "cs",
            &[("model", "m"), ("platform", "api"), ("region", "eu-west")],
            300,
            None,
        ),
        reg(
            "gq",
            &[("model", "m"), ("platform", "api"), ("region", "eu-west")],
            302,
            None,
        ),
        late,
    ]
}

#[test]
fn a_late_sighting_of_the_one_fault_in_force_where_it_is_joins_that_fault() {
    let rs = routing_and_a_late_sighting();
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1, "{bugs:?}");
    // Its group alarm does not widen where the bug is.
    assert_eq!(bugs[0].scope().len(), 3, "{:?}", bugs[0].scope());
    assert_eq!(bugs[0].onset(), 300 * MIN);
}

#[test]
fn a_late_drop_is_no_sighting_inside_the_fault_on_another_signal_or_when_two_faults_could_be_it() {
    // Inside the fault's place: a fault of its own that began there later.
    let mut rs = routing_and_a_late_sighting();
    rs[2].scope = rs[0].scope.clone();
    rs[2].scope.insert("hardware".into(), "tpu".into());
    assert_eq!(group_bugs(&rs).len(), 2);
    // Another signal.
    let mut rs = routing_and_a_late_sighting();
    rs[2].signal = "lc".into();
    assert_eq!(group_bugs(&rs).len(), 2);
    // The fault had ended before it began.
    let mut rs = routing_and_a_late_sighting();
    rs[0].ended_at = Some(500 * MIN);
    assert_eq!(group_bugs(&rs).len(), 2);
    // Two faults in force there, of two bugs: which one is not known.
    let mut rs = routing_and_a_late_sighting();
    rs.push(reg("cs", &[("hardware", "tpu"), ("model", "s")], 120, None));
    assert_eq!(group_bugs(&rs).len(), 3);
}

/// The compiler bug on `hardware=tpu ∧ model=atlas-s` (−1.2 points from
/// +122), and a leaf alarm inside it that began at +198.
fn compiler_and_a_leaf_inside(leaf_delta_pp: f64) -> Vec<DetectedRegression> {
    let mut fault = reg("gq", &[("hardware", "tpu"), ("model", "s")], 122, None);
    fault.delta_pp = -1.2;
    let mut leaf = reg(
        "gq",
        &[
            ("hardware", "tpu"),
            ("model", "s"),
            ("platform", "nimbus"),
            ("region", "eu-west"),
        ],
        198,
        None,
    );
    leaf.origin = ScopeOrigin::Track(TrackLevel::Leaf);
    leaf.delta_pp = leaf_delta_pp;
    vec![fault, leaf]
}

#[test]
fn a_leaf_inside_a_fault_in_force_as_deep_as_it_is_that_fault_seen_late() {
    let rs = compiler_and_a_leaf_inside(-1.7);
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1, "{bugs:?}");
    assert_eq!(bugs[0].onset(), 122 * MIN);
    assert_eq!(bugs[0].scope().len(), 2, "{:?}", bugs[0].scope());
}

#[test]
fn a_leaf_inside_a_fault_is_its_own_bug_when_much_deeper_or_placed_by_the_search() {
    // Three times the fault's drop: another fault on top of it.
    assert_eq!(group_bugs(&compiler_and_a_leaf_inside(-3.6)).len(), 2);
    // Placed there by the scope search, not one slice's alarm.
    let mut rs = compiler_and_a_leaf_inside(-1.7);
    rs[1].origin = ScopeOrigin::Cause;
    assert_eq!(group_bugs(&rs).len(), 2);
    // Within the onset spread it is a peer, grouped as before either way.
    let mut rs = compiler_and_a_leaf_inside(-3.6);
    rs[1].onset = 125 * MIN;
    assert_eq!(group_bugs(&rs).len(), 1);
}

#[test]
fn a_lone_leaf_on_another_signal_inside_one_fault_in_force_is_that_fault() {
    // A user-feedback leaf inside the compiler bug's golden-qa place, hours
    // in: one slice's view of the fault in force there, however deep.
    let mut rs = compiler_and_a_leaf_inside(-3.6);
    rs[1].signal = "uf".into();
    let bugs = group_bugs(&rs);
    assert_eq!(bugs.len(), 1, "{bugs:?}");
    assert_eq!(bugs[0].onset(), 122 * MIN);
    // Placed on the leaf's own signal there too, and much deeper than
    // that: the same-signal rule decides (a fault on top of it).
    let mut rs = compiler_and_a_leaf_inside(-3.6);
    rs[1].signal = "uf".into();
    let mut uf = rs[0].clone();
    uf.signal = "uf".into();
    rs.push(uf);
    assert_eq!(group_bugs(&rs).len(), 2);
    // Two faults of two bugs hold it: which one is not known.
    let mut rs = compiler_and_a_leaf_inside(-1.7);
    rs[1].signal = "uf".into();
    rs.push(reg("cs", &[("hardware", "tpu")], 30, None));
    assert_eq!(group_bugs(&rs).len(), 3);
    // Outside the fault's place, or begun before it was in force: alone.
    let mut rs = compiler_and_a_leaf_inside(-1.7);
    rs[1].signal = "uf".into();
    rs[1].scope.insert("model".into(), "m".into());
    assert_eq!(group_bugs(&rs).len(), 2);
    let mut rs = compiler_and_a_leaf_inside(-1.7);
    rs[1].signal = "uf".into();
    rs[0].ended_at = Some(150 * MIN);
    assert_eq!(group_bugs(&rs).len(), 2);
}

#[test]
fn places_apart_counts_the_dimensions_both_fix_to_different_values() {
    let map = |pairs: &[(&str, &str)]| -> ScopeMap {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect()
    };
    let tpu = map(&[("hardware", "tpu")]);
    let gpu_s = map(&[("hardware", "gpu"), ("model", "atlas-s")]);
    let tpu_m = map(&[("hardware", "tpu"), ("model", "atlas-m")]);
    let gpu_l = map(&[("hardware", "gpu"), ("model", "atlas-l")]);
    let model_s = map(&[("model", "atlas-s")]);
    assert_eq!(places_apart(&tpu, &gpu_s), 1);
    assert_eq!(places_apart(&tpu_m, &gpu_l), 2);
    // A dimension only one fixes keeps them sharing slices.
    assert_eq!(places_apart(&tpu, &model_s), 0);
    assert_eq!(places_apart(&tpu_m, &tpu), 0);
    assert_eq!(places_apart(&ScopeMap::new(), &gpu_l), 0);
    // Symmetric.
    assert_eq!(places_apart(&gpu_l, &tpu_m), 2);
}

#[test]
fn bugs_are_listed_in_force_first_then_by_their_drop_then_newest() {
    use std::cmp::Ordering::{Greater, Less};
    // The routing bug's four points above a stray sighting's tenth of a
    // point that began later.
    assert_eq!(
        listing_order((true, -4.2, 300 * MIN), (true, -0.1, 568 * MIN)),
        Less
    );
    // In force before ended, however deep the ended one was.
    assert_eq!(
        listing_order((false, -9.0, 60 * MIN), (true, -0.1, 568 * MIN)),
        Greater
    );
    // A drop not measured sorts as none; equal drops: the newest first.
    assert_eq!(
        listing_order((true, f64::NAN, 60 * MIN), (true, -0.1, 30 * MIN)),
        Greater
    );
    assert_eq!(
        listing_order((true, -1.0, 60 * MIN), (true, -1.0, 90 * MIN)),
        Greater
    );
    // Sorting with it puts them so.
    let mut keys = [
        (true, -0.1, 568 * MIN),
        (false, -9.0, 60 * MIN),
        (true, -4.2, 300 * MIN),
    ];
    keys.sort_by(|a, b| listing_order(*a, *b));
    assert_eq!(
        keys.iter().map(|k| k.2 / MIN).collect::<Vec<_>>(),
        vec![300, 568, 60]
    );
}
