//! A late regression ranked with the earlier sightings of the faults in
//! force in its place: its own bug's, other bugs', the best fit among them,
//! less when it arrived with peers, more when its place holds the late one or
//! lies inside it, and what is no sighting (over before it
//! began, elsewhere, or a group alarm whose place is wider than its fault).

use super::changes_rank::{MIN, T0, change, ids, regression, scope};
use qualtop::detect::{DetectedRegression, ScopeOrigin, TrackLevel, rank_in_bug};
use qualtop::protocol::{Change, ChangeKind};
use qualtop::store::Store;

/// A regression ending at `end_min` (`None`: still active), of `signal`.
fn episode(
    signal: &str,
    pairs: &[(&str, &str)],
    onset_min: i64,
    end_min: Option<i64>,
) -> DetectedRegression {
    let mut r = regression(pairs, onset_min);
    r.signal = signal.into();
    r.ended_at = end_min.map(|e| T0 + e * MIN);
    r
}

/// The fault of a late regression: a routing change at 98, seen at 100 on
/// `model=atlas-m ∧ platform=api`, and only at 250 on the coarser
/// `model=atlas-m`, where a deploy went out at 200.
fn late_fault() -> (Vec<DetectedRegression>, Vec<Change>) {
    let regressions = vec![
        episode(
            "golden-qa",
            &[("model", "atlas-m"), ("platform", "api")],
            100,
            None,
        ),
        episode("user-feedback", &[("model", "atlas-m")], 250, None),
    ];
    let changes = vec![
        change(
            "true",
            98,
            &[("model", "atlas-m")],
            ChangeKind::Config,
            "router pool weights",
        ),
        change(
            "near",
            200,
            &[("model", "atlas-m")],
            ChangeKind::Deploy,
            "tokenizer v3",
        ),
    ];
    (regressions, changes)
}

#[test]
fn a_late_regression_is_ranked_with_the_earlier_sighting_of_its_fault_in_its_place() {
    let (rs, changes) = late_fault();
    let late = &rs[1];
    // Alone, the deploy 50 min before its own onset explains it best...
    assert_eq!(ids(late, &changes)[0], "near");
    // ...but its bug saw the fault 150 min earlier, inside its place.
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    let ranked = rank_in_bug(late, &bug, &[], &changes, &Store::new());
    assert_eq!(ranked[0].change.id, "true");
    // The words keep this regression's own lead, and say which sighting
    // made a change two and a half hours before it the suspect.
    assert!(
        ranked[0].why.contains("2h32m before onset"),
        "{}",
        ranked[0].why
    );
    assert!(
        ranked[0].why.ends_with(
            "; 2m before golden-qa dropped on model=atlas-m ∧ platform=api, still down at onset"
        ),
        "{}",
        ranked[0].why
    );
}

#[test]
fn an_earlier_member_that_ended_before_the_onset_or_lies_elsewhere_is_no_sighting() {
    let (mut rs, changes) = late_fault();
    // Over before the late regression began: a past episode, not this one seen early.
    rs[0].ended_at = Some(T0 + 200 * MIN);
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    assert_eq!(
        rank_in_bug(&rs[1], &bug, &[], &changes, &Store::new())[0]
            .change
            .id,
        "near"
    );
    // A place with no slice in common: another fault's.
    let (mut rs, changes) = late_fault();
    rs[0].scope = scope(&[("model", "atlas-l"), ("platform", "api")]);
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    assert_eq!(
        rank_in_bug(&rs[1], &bug, &[], &changes, &Store::new())[0]
            .change
            .id,
        "near"
    );
}

#[test]
fn a_place_that_only_overlaps_is_a_sighting_of_the_slices_they_share() {
    // The scope search cuts one fault many ways: `platform=api ∧
    // region=us-east` and `model=atlas-m` share atlas-m's API slices in
    // us-east, where the late regression may come from.
    let (mut rs, changes) = late_fault();
    rs[0].scope = scope(&[("platform", "api"), ("region", "us-east")]);
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    assert_eq!(
        rank_in_bug(&rs[1], &bug, &[], &changes, &Store::new())[0]
            .change
            .id,
        "true"
    );
}

/// The TPU fault seen on golden-qa at 100 (its change at 98), and code-syntax
/// dropping on tpu ∧ atlas-m at 300, after a router change to atlas-m at
/// `route_at`: [tpu, late], changes.
fn tpu_then_route(route_at: i64) -> ([DetectedRegression; 2], Vec<Change>) {
    let rs = [
        episode("golden-qa", &[("hardware", "tpu")], 100, None),
        episode(
            "code-syntax",
            &[("hardware", "tpu"), ("model", "atlas-m")],
            300,
            None,
        ),
    ];
    let changes = vec![
        change(
            "tpu",
            98,
            &[("hardware", "tpu")],
            ChangeKind::Config,
            "tpu config",
        ),
        change(
            "route",
            route_at,
            &[("model", "atlas-m")],
            ChangeKind::Config,
            "router",
        ),
    ];
    (rs, changes)
}

#[test]
fn a_later_fault_in_an_earlier_ones_place_still_goes_to_the_change_just_before_it() {
    // Two faults of one bug hours apart: the later regression's own fault
    // (a change a minute before it) beats the earlier fault's change.
    let (rs, changes) = tpu_then_route(299);
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    assert_eq!(
        rank_in_bug(&rs[1], &bug, &[], &changes, &Store::new())[0]
            .change
            .id,
        "route"
    );
}

#[test]
fn a_regression_arriving_with_peers_leans_on_its_own_lead_more_than_one_seen_alone() {
    // The router change 12 min before the late drop, not one.
    let ([tpu, late], changes) = tpu_then_route(288);
    // Alone, it reads as the TPU fault seen late.
    let all = [tpu.clone(), late.clone()];
    let top = |r: &DetectedRegression, bug: &[&DetectedRegression]| {
        rank_in_bug(r, bug, &all, &changes, &Store::new())[0]
            .change
            .id
            .clone()
    };
    assert_eq!(top(&late, &[&tpu, &late]), "tpu");
    // With a peer (user-feedback drops there a minute later) it is a fault
    // arriving: its own lead says more than the fault already there.
    let peer = episode(
        "user-feedback",
        &[("hardware", "tpu"), ("model", "atlas-m")],
        301,
        None,
    );
    assert_eq!(top(&late, &[&tpu, &late, &peer]), "route");
}

#[test]
fn an_earlier_sighting_grouped_in_another_bug_counts_too() {
    // A small drop that needed hours of evidence is often a bug of its own:
    // the sighting of its fault in force there is found among all detected.
    let (rs, changes) = late_fault();
    let alone = [&rs[1]];
    assert_eq!(
        rank_in_bug(&rs[1], &alone, &[], &changes, &Store::new())[0]
            .change
            .id,
        "near"
    );
    assert_eq!(
        rank_in_bug(&rs[1], &alone, &rs, &changes, &Store::new())[0]
            .change
            .id,
        "true"
    );
}

#[test]
fn a_group_alarm_is_no_earlier_sighting() {
    // Its place (model=atlas-m ∧ platform=api as a whole) is wider than its
    // fault: the scope search did not place it.
    let (mut rs, changes) = late_fault();
    rs[0].origin = ScopeOrigin::Track(TrackLevel::Group);
    assert_eq!(
        rank_in_bug(&rs[1], &[&rs[1]], &rs, &changes, &Store::new())[0]
            .change
            .id,
        "near"
    );
}

#[test]
fn of_several_faults_in_force_the_best_fit_counts_not_their_mean() {
    // The routing fault seen at 100 (caused at 98), and a TPU fault seen at
    // 30 in two regions (caused at 28), all still in force when the coarse
    // late regression begins at 250, 50 min after an unrelated deploy.
    let (mut rs, mut changes) = late_fault();
    for region in ["us-east", "eu-west"] {
        let mut tpu = regression(
            &[
                ("hardware", "tpu"),
                ("model", "atlas-m"),
                ("region", region),
            ],
            30,
        );
        tpu.signal = "code-syntax".into();
        rs.push(tpu);
    }
    changes.push(change(
        "tpu",
        28,
        &[("hardware", "tpu")],
        ChangeKind::Config,
        "tpu config",
    ));
    // Averaged over the three sightings the routing change would get a third
    // of its credit and lose to the deploy; it is the fault one of them is.
    let ranked = rank_in_bug(&rs[1], &[&rs[1]], &rs, &changes, &Store::new());
    let order: Vec<&str> = ranked.iter().map(|s| s.change.id.as_str()).collect();
    assert_eq!(order[0], "true", "{order:?}");
    // Each sighting's own lead is not this regression's: the words keep its own.
    assert!(
        ranked[0].why.contains("2h32m before onset"),
        "{}",
        ranked[0].why
    );
}

#[test]
fn the_sighting_is_named_only_when_it_decides_and_its_signal_is_neutralised() {
    let (mut rs, changes) = late_fault();
    rs[0].signal = "qa\x1b]0;owned\x07\x1b[31m".into();
    let bug: Vec<&DetectedRegression> = rs.iter().collect();
    let ranked = rank_in_bug(&rs[1], &bug, &[], &changes, &Store::new());
    let why = &ranked[0].why;
    assert!(why.contains("dropped on"), "{why}");
    assert!(!why.chars().any(char::is_control), "{why:?}");
    // The deploy just before the late onset is ranked on its own lead: no
    // sighting in its words.
    let near = ranked.iter().find(|s| s.change.id == "near").unwrap();
    assert!(!near.why.contains("dropped on"), "{}", near.why);
}

/// The routing fault seen at 100 on `sighting` (its change at 100, to
/// `model=atlas-m`), and a lone late drop at 400 on `late`, `lead` min after
/// a deploy to `near`: the top suspect of the late drop.
fn late_drop_top(
    late: &[(&str, &str)],
    sighting: &[(&str, &str)],
    near: &[(&str, &str)],
    lead: i64,
) -> String {
    let seen = episode("golden-qa", sighting, 100, None);
    let late = episode("code-syntax", late, 400, None);
    let changes = vec![
        change(
            "true",
            100,
            &[("model", "atlas-m")],
            ChangeKind::Config,
            "router pool weights",
        ),
        change(
            "near",
            400 - lead,
            near,
            ChangeKind::Deploy,
            "prompt-cache v4",
        ),
    ];
    let all = [seen, late.clone()];
    rank_in_bug(&late, &[&late], &all, &changes, &Store::new())[0]
        .change
        .id
        .clone()
}

#[test]
fn a_sighting_whose_place_holds_the_regression_weighs_more_than_one_that_only_overlaps() {
    // A lone drop on atlas-m's API slices in eu-west, 11 min after a deploy
    // there. Both sightings fit the router change alike (it leaves one of
    // their dimensions open) and began when it took effect. One holds the
    // drop's whole place: the drop is that fault seen late on another
    // signal. The other only shares the drop's GPU slices.
    let late = [
        ("model", "atlas-m"),
        ("platform", "api"),
        ("region", "eu-west"),
    ];
    let near = [("platform", "api"), ("region", "eu-west")];
    let holds = [("model", "atlas-m"), ("platform", "api")];
    let shares = [("model", "atlas-m"), ("hardware", "gpu")];
    assert_eq!(late_drop_top(&late, &holds, &near, 11), "true");
    assert_eq!(late_drop_top(&late, &shares, &near, 11), "near");
}

#[test]
fn a_sighting_inside_the_regressions_place_weighs_more_than_one_that_only_overlaps() {
    // A lone drop on atlas-m's API slices as a whole, 20 min after a deploy
    // to the API. Both sightings leave two dimensions open to the router
    // change: one is a part of the drop's place (its eu-west slices, the
    // fault seen there first), the other only shares its GPU slices in
    // eu-west.
    let late = [("model", "atlas-m"), ("platform", "api")];
    let near = [("platform", "api")];
    let inside = [
        ("model", "atlas-m"),
        ("platform", "api"),
        ("region", "eu-west"),
    ];
    let shares = [
        ("model", "atlas-m"),
        ("hardware", "gpu"),
        ("region", "eu-west"),
    ];
    assert_eq!(late_drop_top(&late, &inside, &near, 20), "true");
    assert_eq!(late_drop_top(&late, &shares, &near, 20), "near");
}
