//! Ranking changes against a regression on fixed fixtures: time before the
//! onset, scope fit and kind, where its bug localised the fault, and the
//! reason in words. A late regression's earlier sightings:
//! changes_rank_sightings; on a seeded demo replay: changes_rank_replay.

use qualtop::detect::{
    DetectedRegression, DropTable, ScopeFit, ScopeMap, ScopeOrigin, rank_in_bug, rank_suspects,
};
use qualtop::protocol::{Change, ChangeKind, SignalRole};
use qualtop::store::Store;

pub const MIN: i64 = 60_000;
pub const T0: i64 = 1_756_771_200_000;

pub fn scope(pairs: &[(&str, &str)]) -> ScopeMap {
    pairs
        .iter()
        .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn regression(pairs: &[(&str, &str)], onset_min: i64) -> DetectedRegression {
    DetectedRegression {
        signal: "golden-qa".into(),
        role: SignalRole::Quality,
        scope: scope(pairs),
        origin: ScopeOrigin::Cause,
        causes: Vec::new(),
        alarms: Vec::new(),
        onset: T0 + onset_min * MIN,
        onset_spread: None,
        detected_at: T0 + (onset_min + 4) * MIN,
        ended_at: None,
        baseline: 0.9,
        current: 0.85,
        delta_pp: -5.0,
        drop_table: None,
    }
}

pub fn change(
    id: &str,
    at_min: i64,
    pairs: &[(&str, &str)],
    kind: ChangeKind,
    title: &str,
) -> Change {
    Change {
        id: id.into(),
        at: T0 + at_min * MIN,
        scope: scope(pairs),
        kind,
        title: title.into(),
        source: "cd".into(),
        link: None,
        author: None,
    }
}

pub fn ids(r: &DetectedRegression, changes: &[Change]) -> Vec<String> {
    rank_suspects(r, changes)
        .iter()
        .map(|s| s.change.id.clone())
        .collect()
}

#[test]
fn a_change_just_before_the_onset_in_the_same_scope_ranks_first_with_its_reason() {
    let tpu_api = [("hardware", "tpu"), ("platform", "api")];
    let r = regression(&tpu_api, 100);
    let changes = vec![
        change(
            "old",
            100 - 240,
            &tpu_api,
            ChangeKind::Deploy,
            "tpu-runtime v41",
        ),
        change("true", 97, &tpu_api, ChangeKind::Deploy, "tpu-runtime v42"),
        change("wide", 95, &[], ChangeKind::Deploy, "router v7"),
    ];
    let ranked = rank_suspects(&r, &changes);
    assert_eq!(ranked[0].change.id, "true");
    assert_eq!(
        ranked[0].why,
        "deploy \"tpu-runtime v42\" to hardware=tpu ∧ platform=api, 3m before onset, same scope"
    );
    // 3 min with a 15 min half lead: 1 / (1 + 3/15).
    assert!(
        ranked[0].score > 0.8 && ranked[0].score <= 1.0,
        "{}",
        ranked[0].score
    );
    assert_eq!(ids(&r, &changes), ["true", "wide", "old"]);
}

#[test]
fn a_change_after_the_onset_is_no_suspect_beyond_the_estimates_slack() {
    let r = regression(&[("hardware", "tpu")], 100);
    let changes = vec![
        change(
            "after",
            120,
            &[("hardware", "tpu")],
            ChangeKind::Deploy,
            "late",
        ),
        change(
            "slack",
            102,
            &[("hardware", "tpu")],
            ChangeKind::Deploy,
            "close",
        ),
    ];
    let ranked = rank_suspects(&r, &changes);
    assert_eq!(
        ranked.len(),
        1,
        "a change 20 min after the onset cannot cause it"
    );
    assert_eq!(ranked[0].change.id, "slack");
    assert!(
        ranked[0].why.contains("2m after the estimated onset"),
        "{}",
        ranked[0].why
    );
    let at_onset = vec![change(
        "at",
        100,
        &[("hardware", "tpu")],
        ChangeKind::Deploy,
        "on time",
    )];
    assert!(
        ranked[0].score < rank_suspects(&r, &at_onset)[0].score,
        "after the estimate weighs less than at it"
    );
}

#[test]
fn within_the_estimates_slack_a_minute_or_four_after_the_onset_weigh_alike() {
    // The onset is a bucket or two off either way: which came first is unknown.
    let s = [("hardware", "tpu")];
    let r = regression(&s, 100);
    let changes = vec![
        change("one", 101, &s, ChangeKind::Deploy, "a"),
        change("four", 104, &s, ChangeKind::Deploy, "b"),
    ];
    let ranked = rank_suspects(&r, &changes);
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0].score, ranked[1].score);
    // The tie goes to the later change, as every tie does.
    assert_eq!(ranked[0].change.id, "four");
}

#[test]
fn hours_earlier_is_less_likely_and_a_day_earlier_is_out() {
    let s = [("model", "atlas-s")];
    let r = regression(&s, 2000);
    let changes = vec![
        change("day", 2000 - 25 * 60, &s, ChangeKind::Deploy, "a"),
        change("hours", 2000 - 180, &s, ChangeKind::Deploy, "b"),
        change("minutes", 2000 - 10, &s, ChangeKind::Deploy, "c"),
    ];
    let ranked = rank_suspects(&r, &changes);
    assert_eq!(
        ranked
            .iter()
            .map(|s| s.change.id.as_str())
            .collect::<Vec<_>>(),
        ["minutes", "hours"]
    );
    assert!(ranked[1].score < ranked[0].score / 3.0);
}

#[test]
fn a_disjoint_scope_never_suspects_and_same_scope_beats_wider_and_narrower() {
    let r = regression(&[("hardware", "tpu"), ("model", "atlas-s")], 100);
    let changes = vec![
        change(
            "gpu",
            99,
            &[("hardware", "gpu")],
            ChangeKind::Deploy,
            "gpu driver",
        ),
        change(
            "wider",
            98,
            &[("hardware", "tpu")],
            ChangeKind::Deploy,
            "compiler",
        ),
        change(
            "same",
            95,
            &[("hardware", "tpu"), ("model", "atlas-s")],
            ChangeKind::Deploy,
            "x",
        ),
        change(
            "narrower",
            98,
            &[
                ("hardware", "tpu"),
                ("model", "atlas-s"),
                ("region", "us-east"),
            ],
            ChangeKind::Deploy,
            "y",
        ),
    ];
    assert_eq!(ids(&r, &changes), ["same", "narrower", "wider"]);
}

#[test]
fn scope_fit_names_each_relation() {
    let r = scope(&[("hardware", "tpu"), ("model", "atlas-s")]);
    assert_eq!(
        ScopeFit::of(&scope(&[("hardware", "tpu"), ("model", "atlas-s")]), &r),
        ScopeFit::Same
    );
    assert_eq!(ScopeFit::of(&scope(&[]), &r), ScopeFit::Wider(2));
    assert_eq!(
        ScopeFit::of(
            &scope(&[("hardware", "tpu"), ("model", "atlas-s"), ("region", "x")]),
            &r
        ),
        ScopeFit::Narrower(1)
    );
    assert_eq!(
        ScopeFit::of(&scope(&[("hardware", "tpu"), ("region", "x")]), &r),
        ScopeFit::Overlapping
    );
    assert_eq!(
        ScopeFit::of(&scope(&[("model", "atlas-m")]), &r),
        ScopeFit::Disjoint
    );
}

#[test]
fn the_kind_breaks_a_tie_of_time_and_scope() {
    let s = [("platform", "api")];
    let r = regression(&s, 100);
    let changes = vec![
        change("infra", 95, &s, ChangeKind::Infra, "node pool"),
        change("other", 95, &s, ChangeKind::Other, "note"),
        change("config", 95, &s, ChangeKind::Config, "lb weights"),
        change("flag", 95, &s, ChangeKind::Flag, "flag"),
    ];
    assert_eq!(ids(&r, &changes), ["config", "flag", "infra", "other"]);
}

#[test]
fn a_hostile_title_is_neutralised_in_the_words() {
    let r = regression(&[], 100);
    let changes = vec![change(
        "evil",
        99,
        &[],
        ChangeKind::Flag,
        "flip\x1b]0;pwned\x07 \u{202e}now",
    )];
    let why = &rank_suspects(&r, &changes)[0].why;
    assert!(!why.contains('\x1b') && !why.contains('\u{202e}') && !why.contains('\x07'));
    assert_eq!(
        why,
        "flag \"flip now\" to whole fleet, 1m before onset, same scope"
    );
}

#[test]
fn against_a_bug_a_change_fitting_every_place_beats_a_nearer_one_missing_some() {
    let large = regression(&[("hardware", "tpu"), ("model", "atlas-l")], 100);
    let medium = regression(&[("model", "atlas-m"), ("platform", "api")], 102);
    let changes = vec![
        change(
            "true",
            96,
            &[("hardware", "tpu"), ("platform", "api")],
            ChangeKind::Config,
            "sampler v7",
        ),
        change(
            "near",
            99,
            &[("model", "atlas-m")],
            ChangeKind::Deploy,
            "atlas-m rollout",
        ),
    ];
    // Alone, the medium regression's nearest overlapping change wins...
    assert_eq!(ids(&medium, &changes)[0], "near");
    // ...but the fault is on atlas-l too, where the atlas-m rollout cannot reach.
    let ranked = qualtop::detect::rank_bug(&[&large, &medium], &changes);
    assert_eq!(ranked[0].change.id, "true");
    assert!(
        ranked[0].why.contains("to hardware=tpu ∧ platform=api"),
        "{}",
        ranked[0].why
    );
}

#[test]
fn a_coarse_alarm_suspects_no_change_disjoint_from_where_its_bug_localised_the_fault() {
    let mut alarm = regression(&[("model", "atlas-l")], 100);
    alarm.origin = ScopeOrigin::Track(qualtop::detect::TrackLevel::Group);
    let found = regression(
        &[
            ("hardware", "tpu"),
            ("model", "atlas-l"),
            ("platform", "api"),
        ],
        99,
    );
    let changes = vec![
        change(
            "true",
            97,
            &[("hardware", "tpu"), ("platform", "api")],
            ChangeKind::Config,
            "tpu config",
        ),
        change(
            "stratus",
            99,
            &[("platform", "stratus")],
            ChangeKind::Config,
            "sampler",
        ),
    ];
    // Alone, the alarm on all of atlas-l cannot tell the two apart by place.
    assert_eq!(ids(&alarm, &changes), ["stratus", "true"]);
    // Its bug placed the fault on the API's TPUs: stratus is elsewhere.
    let bug = [&alarm, &found];
    let ranked: Vec<&str> = rank_in_bug(&alarm, &bug, &[], &changes, &Store::new())
        .iter()
        .map(|s| s.change.id.as_str())
        .collect();
    assert_eq!(ranked, ["true"]);
}

#[test]
fn a_peer_lends_weight_never_a_suspect_that_touched_none_of_the_regressions_slices() {
    // Two faults that began together and were grouped as one bug: the
    // routing fault on atlas-m and a compiler fault seen on atlas-s.
    let mut atlas_s = regression(&[("model", "atlas-s")], 100);
    atlas_s.origin = ScopeOrigin::Track(qualtop::detect::TrackLevel::Group);
    let atlas_m = regression(&[("model", "atlas-m"), ("platform", "api")], 101);
    let changes = vec![
        change(
            "router",
            99,
            &[("model", "atlas-m")],
            ChangeKind::Config,
            "router pool weights",
        ),
        change(
            "compiler",
            60,
            &[("hardware", "tpu")],
            ChangeKind::Deploy,
            "xla compiler",
        ),
    ];
    let bug = [&atlas_s, &atlas_m];
    let top = |r| -> Vec<String> {
        rank_in_bug(r, &bug, &[], &changes, &Store::new())
            .iter()
            .map(|s| s.change.id.clone())
            .collect()
    };
    // The router change reached none of atlas-s: no suspect of its alarm,
    // however well it explains the peer.
    assert_eq!(top(&atlas_s), ["compiler"]);
    assert_eq!(top(&atlas_m)[0], "router");
}

/// A fleet where Trainium runs only on stratus and nimbus has TPUs, on
/// atlas-m and atlas-l, with `golden-qa` at 90 % from T0 − 3 h until
/// `onset_min`, and from then 80 % on the slices in `dropped` (all others
/// stay at 90 %): a real store, as every surface ranks on.
fn fleet(onset_min: i64, dropped: &[(&str, &str)]) -> Store {
    use qualtop::protocol::{CowStr, Point, SliceMap};
    let dims = ["platform", "hardware", "region", "model"];
    let start = T0 - 180 * MIN;
    let hello = crate::support::detect::golden_qa_hello(&dims, start, 360 * MIN);
    let mut store = Store::new();
    let binding = store.bind_source(0, &hello).unwrap();
    let mut slices = Vec::new();
    for (platform, hardware) in [
        ("api", "gpu"),
        ("api", "tpu"),
        ("nimbus", "gpu"),
        ("nimbus", "tpu"),
        ("stratus", "trainium"),
    ] {
        for region in ["us-east", "eu-west"] {
            for model in ["atlas-m", "atlas-l"] {
                slices.push([platform, hardware, region, model]);
            }
        }
    }
    let end = T0 + (onset_min + 90) * MIN;
    let mut ts = start;
    while ts < end {
        store.set_now(ts);
        for values in &slices {
            let pairs: Vec<(String, String)> = dims
                .iter()
                .zip(values)
                .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
                .collect();
            let hit = ts >= T0 + onset_min * MIN
                && dropped
                    .iter()
                    .all(|(d, v)| pairs.iter().any(|(k, w)| k == d && w == v));
            let point = Point {
                slice: SliceMap::from_pairs(pairs),
                signal: CowStr::from("golden-qa"),
                ts,
                good: Some(if hit { 80 } else { 90 }),
                total: Some(100),
                value: None,
            };
            store.apply_point(&binding, &point).unwrap();
        }
        ts += MIN;
    }
    store.set_now(end);
    store
}

#[test]
fn a_change_to_a_place_the_fleet_does_not_serve_is_no_suspect() {
    let trainium = regression(&[("hardware", "trainium")], 100);
    let changes = vec![
        change(
            "true",
            80,
            &[("hardware", "trainium")],
            ChangeKind::Deploy,
            "neuron runtime v3",
        ),
        // Nearer the onset, and only part of the scope by its dimensions:
        // but no nimbus server has Trainium, so it touched none of it.
        change(
            "nowhere",
            98,
            &[("hardware", "trainium"), ("platform", "nimbus")],
            ChangeKind::Deploy,
            "router v4.0",
        ),
        // Compatible dimensions, no slice in both.
        change(
            "other-cloud",
            99,
            &[("platform", "nimbus")],
            ChangeKind::Config,
            "sampler",
        ),
        // One that does reach Trainium slices, in one region.
        change(
            "eu",
            70,
            &[("hardware", "trainium"), ("region", "eu-west")],
            ChangeKind::Deploy,
            "router v1.8",
        ),
    ];
    let ranked = |store: &Store| -> Vec<String> {
        rank_in_bug(&trainium, &[&trainium], &[], &changes, store)
            .iter()
            .map(|s| s.change.id.clone())
            .collect()
    };
    // Knowing no slice, the dimensions alone decide: all four may explain it.
    assert_eq!(ranked(&Store::new()).len(), 4);
    assert_eq!(ranked(&Store::new())[0], "nowhere");
    let store = fleet(100, &[("hardware", "trainium")]);
    assert_eq!(ranked(&store), ["true", "eu"]);
    // An annotation's suspects are ranked the same way.
    let cited: Vec<&str> =
        qualtop::detect::rank_at(&trainium.scope, trainium.onset, &changes, &store)
            .iter()
            .map(|s| s.change.id.as_str())
            .collect();
    assert_eq!(cited, ["true", "eu"]);
}

#[test]
fn a_change_that_reached_where_a_wide_place_dropped_beats_one_that_fits_its_dimensions_better() {
    // The scope search placed the drop on all of the API in eu-west; the
    // data hold it on atlas-m alone (seed 10's routing regression).
    let r = regression(&[("platform", "api"), ("region", "eu-west")], 100);
    let changes = vec![
        change(
            "router",
            40,
            &[("model", "atlas-m")],
            ChangeKind::Config,
            "router pool weights",
        ),
        // As early, and by its dimensions a better fit (region fixed too).
        change(
            "decoy",
            40,
            &[("model", "atlas-l"), ("region", "eu-west")],
            ChangeKind::Config,
            "safety-filter limits",
        ),
    ];
    // The engine measures where the drop lies when it places a regression,
    // and keeps the table with it.
    let measured = |store: &Store| DetectedRegression {
        drop_table: DropTable::measure(store, "golden-qa", &r.scope, r.onset),
        ..r.clone()
    };
    let ranked = |r: &DetectedRegression, store: &Store| rank_in_bug(r, &[r], &[], &changes, store);
    let top = |r: &DetectedRegression, store: &Store| -> Vec<String> {
        ranked(r, store)
            .iter()
            .map(|s| s.change.id.clone())
            .collect()
    };
    assert_eq!(
        top(&r, &Store::new()),
        ["decoy", "router"],
        "by dimensions alone"
    );
    let store = fleet(
        100,
        &[
            ("model", "atlas-m"),
            ("platform", "api"),
            ("region", "eu-west"),
        ],
    );
    assert_eq!(top(&r, &store), ["decoy", "router"], "no table, no share");
    let r = measured(&store);
    assert!(r.drop_table.is_some());
    assert_eq!(top(&r, &store), ["router", "decoy"]);
    let decoy = ranked(&r, &store)
        .into_iter()
        .find(|s| s.change.id == "decoy")
        .unwrap();
    assert_eq!(decoy.score, 0.0, "the decoy reached none of the drop");
    assert!(decoy.why.contains("(0 % of the drop)"), "{}", decoy.why);
    let router = &ranked(&r, &store)[0];
    assert!(
        router.why.contains("overlapping scope (100 % of the drop)"),
        "the words say what stood for the dimensions: {}",
        router.why
    );
    // The table travels with the regression: a surface whose store no
    // longer holds the hours around the onset (its window slid, or it
    // started later) ranks the same.
    let later: Vec<String> = ranked(&r, &Store::new())
        .iter()
        .map(|s| format!("{} {:.3} {}", s.change.id, s.score, s.why))
        .collect();
    let now: Vec<String> = ranked(&r, &store)
        .iter()
        .map(|s| format!("{} {:.3} {}", s.change.id, s.score, s.why))
        .collect();
    assert_eq!(later, now);
    // Where the drop lies on both models, each explains half of it, and the
    // decoy's place, the nearer fit, leads again.
    let both = fleet(100, &[("platform", "api"), ("region", "eu-west")]);
    assert_eq!(top(&measured(&both), &both), ["decoy", "router"]);
}
