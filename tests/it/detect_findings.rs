//! What the screens get from detection (`view::findings`) on a fleet built
//! by hand: a status per row (live and with a frozen cursor), markers,
//! scope entries, the header count, and burn alerts kept apart.

use qualtop::detect::{
    BurnEpisode, CauseShare, DetectedRegression, Detections, ScopeMap, ScopeOrigin, TrackAlarm,
    TrackFinding, TrackLevel, TrackState,
};
use qualtop::feed::Fleet;
use qualtop::protocol::{Hello, Millis, SignalKind, SignalRole, SignalSpec};
use qualtop::view::{
    DrillStep, MarkerKind, QualityPick, RowKey, Severity, TimeCursor, active_burns,
    active_regressions, burn_status, detail_markers, row_status, scope_entries,
};

const MINUTE: Millis = 60_000;
/// 2025-09-02 00:00 UTC.
const DAY: Millis = 1_756_771_200_000;
/// 14:05 UTC that day.
const ONSET: Millis = DAY + (14 * 60 + 5) * MINUTE;

fn at(minutes_after_onset: i64) -> Millis {
    ONSET + minutes_after_onset * MINUTE
}

fn scope(pairs: &[(&str, &str)]) -> ScopeMap {
    pairs
        .iter()
        .map(|(d, v)| (d.to_string(), v.to_string()))
        .collect()
}

fn step(d: &str, v: &str) -> DrillStep {
    DrillStep {
        dimension: d.into(),
        value: v.into(),
    }
}

/// A store with dimensions model, hardware and signals golden-qa,
/// code-syntax (quality) and availability; clock two hours after onset.
fn fleet(detections: Detections) -> Fleet {
    let spec = |name: &str, role| SignalSpec {
        name: name.into(),
        kind: SignalKind::Ratio,
        role,
        unit: None,
    };
    let hello = Hello {
        protocol: 1,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hardware".into()],
        signals: vec![
            spec("golden-qa", SignalRole::Quality),
            spec("code-syntax", SignalRole::Quality),
            spec("availability", SignalRole::Availability),
        ],
        bucket_ms: MINUTE,
        history_ms: 360 * MINUTE,
        now: at(120),
        features: vec![],
    };
    let mut f = Fleet::default();
    f.store.bind_source(0, &hello).expect("valid hello");
    f.detections = detections;
    f
}

fn track(signal: &str, level: TrackLevel, s: ScopeMap, state: TrackState) -> TrackFinding {
    TrackFinding {
        signal: signal.into(),
        role: SignalRole::Quality,
        level,
        scope: s,
        state,
        baseline: Some(0.95),
    }
}

fn alarm(level: TrackLevel, s: ScopeMap, onset: Millis, ended_at: Option<Millis>) -> TrackAlarm {
    TrackAlarm {
        level,
        scope: s,
        onset,
        detected_at: onset + 7 * MINUTE,
        ended_at,
        delta_pp: -2.0,
    }
}

/// golden-qa regressed on hardware=tpu ∧ model=m2 from 14:05 (found by the
/// group track model=m2 and a leaf), −3.1 points; every track healthy
/// otherwise.
fn regression(ended_at: Option<Millis>) -> DetectedRegression {
    let cause = scope(&[("hardware", "tpu"), ("model", "m2")]);
    DetectedRegression {
        signal: "golden-qa".into(),
        role: SignalRole::Quality,
        scope: cause.clone(),
        origin: ScopeOrigin::Cause,
        causes: vec![CauseShare {
            scope: cause.clone(),
            explains: 0.91,
        }],
        alarms: vec![
            alarm(
                TrackLevel::Group,
                scope(&[("model", "m2")]),
                ONSET,
                ended_at,
            ),
            alarm(TrackLevel::Leaf, cause, ONSET + 2 * MINUTE, ended_at),
        ],
        onset: ONSET,
        onset_spread: None,
        detected_at: ONSET + 7 * MINUTE,
        ended_at,
        baseline: 0.9,
        current: 0.869,
        delta_pp: -3.1,
        drop_table: None,
    }
}

fn healthy_tracks() -> Vec<TrackFinding> {
    let mut t = Vec::new();
    for signal in ["golden-qa", "code-syntax"] {
        t.push(track(
            signal,
            TrackLevel::Fleet,
            ScopeMap::new(),
            TrackState::Ok,
        ));
        for m in ["m1", "m2"] {
            t.push(track(
                signal,
                TrackLevel::Group,
                scope(&[("model", m)]),
                TrackState::Ok,
            ));
        }
    }
    t
}

fn detections(regressions: Vec<DetectedRegression>) -> Detections {
    Detections {
        through: Some(at(119)),
        since: Some(at(-360)),
        bucket_ms: MINUTE,
        tracks: healthy_tracks(),
        regressions,
        ..Detections::default()
    }
}

fn status(f: &Fleet, path: &[DrillStep], split: &str, key: RowKey, cursor: TimeCursor) -> String {
    row_status(f, path, split, &key, &QualityPick::Combined, cursor)
        .map_or_else(|| "none".to_owned(), |s| s.text)
}

fn frozen(f: &Fleet, ts: Millis) -> TimeCursor {
    TimeCursor::Frozen {
        last_bucket: f.store.bucket_of(ts),
    }
}

fn value(v: &str) -> RowKey {
    RowKey::Value(v.into())
}

#[test]
fn group_row_shows_regression_with_its_onset_time_and_change() {
    let f = fleet(detections(vec![regression(None)]));
    let s = row_status(
        &f,
        &[],
        "model",
        &value("m2"),
        &QualityPick::Combined,
        TimeCursor::Live,
    )
    .expect("a status");
    assert_eq!(s.severity, Severity::Regressed);
    // The group's own detector alarmed (its own change, -2.0pp, is the
    // row's `vs base`); the status names the bug as every surface does:
    // its onset, its change inside its scope, and where that lies.
    assert_eq!(s.text, "REGRESSION 14:05 -3.1pp in tpu");
    assert_eq!(
        status(&f, &[], "model", value("m1"), TimeCursor::Live),
        "OK"
    );
}

#[test]
fn row_above_the_regression_says_where_inside_it_is() {
    let f = fleet(detections(vec![regression(None)]));
    assert_eq!(
        status(&f, &[], "model", RowKey::All, TimeCursor::Live),
        "REGRESSION 14:05 -3.1pp in tpu/m2"
    );
    // Drilled into model=m2 and split by hardware: tpu is the regression.
    let path = [step("model", "m2")];
    assert_eq!(
        status(&f, &path, "hardware", value("tpu"), TimeCursor::Live),
        "REGRESSION 14:05 -3.1pp"
    );
    assert_eq!(
        status(&f, &path, "hardware", value("gpu"), TimeCursor::Live),
        "OK"
    );
}

#[test]
fn a_regression_overlapping_a_row_without_nesting_leaves_it_alone() {
    // Split by hardware at the top: the tpu row holds the regression, the
    // gpu row does not; neither detector of a hardware group alarmed.
    let f = fleet(detections(vec![regression(None)]));
    assert!(status(&f, &[], "hardware", value("tpu"), TimeCursor::Live).starts_with("REGRESSION"));
    assert_eq!(
        status(&f, &[], "hardware", value("gpu"), TimeCursor::Live),
        "OK"
    );
}

#[test]
fn frozen_cursor_before_onset_shows_ok_and_inside_shows_regression() {
    let f = fleet(detections(vec![regression(Some(at(60)))]));
    let before = frozen(&f, at(-30));
    let during = frozen(&f, at(30));
    let after = frozen(&f, at(90));
    assert_eq!(status(&f, &[], "model", value("m2"), before), "OK");
    assert_eq!(
        status(&f, &[], "model", value("m2"), during),
        "REGRESSION 14:05 -3.1pp in tpu"
    );
    assert_eq!(status(&f, &[], "model", value("m2"), after), "OK");
    // Live: it has ended.
    assert_eq!(
        status(&f, &[], "model", value("m2"), TimeCursor::Live),
        "OK"
    );
    // Before the first bucket detection saw, it cannot say.
    let unknown = frozen(&f, at(-400));
    assert_eq!(status(&f, &[], "model", value("m2"), unknown), "none");
}

#[test]
fn suite_pick_looks_at_that_suite_only() {
    let f = fleet(detections(vec![regression(None)]));
    let pick = |name: &str| {
        row_status(
            &f,
            &[],
            "model",
            &value("m2"),
            &QualityPick::Suite(name.into()),
            TimeCursor::Live,
        )
        .map(|s| s.severity)
    };
    assert_eq!(pick("golden-qa"), Some(Severity::Regressed));
    assert_eq!(pick("code-syntax"), Some(Severity::Ok));
}

#[test]
fn own_detector_gathering_evidence_shows_watch_live_only() {
    let mut d = detections(vec![]);
    for t in &mut d.tracks {
        if t.signal == "code-syntax" && t.scope == scope(&[("model", "m1")]) {
            t.state = TrackState::Watch { since: at(100) };
        }
    }
    let f = fleet(d);
    let s = row_status(
        &f,
        &[],
        "model",
        &value("m1"),
        &QualityPick::Combined,
        TimeCursor::Live,
    )
    .expect("a status");
    assert_eq!((s.severity, s.text.as_str()), (Severity::Watch, "WATCH"));
    assert_eq!(
        status(&f, &[], "model", value("m1"), frozen(&f, at(50))),
        "OK"
    );
}

#[test]
fn nothing_is_said_before_detection_ran_or_while_learning() {
    let f = fleet(Detections::default());
    assert_eq!(
        status(&f, &[], "model", value("m1"), TimeCursor::Live),
        "none"
    );
    let mut d = detections(vec![]);
    for t in &mut d.tracks {
        t.state = TrackState::Learning;
    }
    let f = fleet(d);
    assert_eq!(
        status(&f, &[], "model", value("m1"), TimeCursor::Live),
        "none"
    );
}

#[test]
fn scoped_regression_on_two_suites_and_a_group_counts_once() {
    let mut on_code = regression(None);
    on_code.signal = "code-syntax".into();
    // The group model=m2 regressed too, with its cause inside it.
    let mut group = regression(None);
    group.scope = scope(&[("model", "m2")]);
    group.origin = ScopeOrigin::Track(TrackLevel::Group);
    // Another bug: another place, starting well after the first (two
    // combinations breaking within minutes are read as one bug).
    let mut elsewhere = regression(None);
    elsewhere.scope = scope(&[("model", "m1"), ("hardware", "gpu")]);
    elsewhere.onset += 30 * MINUTE;
    elsewhere.detected_at += 30 * MINUTE;
    let ended = regression(Some(at(60)));
    let f = fleet(detections(vec![
        regression(None),
        on_code,
        group,
        ended,
        elsewhere.clone(),
    ]));
    assert_eq!(active_regressions(&f), 2);
    let f = fleet(detections(vec![regression(None), elsewhere]));
    assert_eq!(active_regressions(&f), 2);
    let f = fleet(detections(vec![regression(Some(at(1)))]));
    assert_eq!(active_regressions(&f), 0);
}

fn burn(s: ScopeMap, ended_at: Option<Millis>) -> BurnEpisode {
    BurnEpisode {
        signal: "availability".into(),
        level: TrackLevel::Group,
        scope: s,
        since: at(10),
        ended_at,
        peak_burn: 14.4,
        rule_factor: 14.4,
    }
}

#[test]
fn burn_is_shown_apart_and_never_instead_of_a_quality_regression() {
    let mut d = detections(vec![regression(None)]);
    d.burns = vec![burn(scope(&[("model", "m2")]), None)];
    let f = fleet(d);
    // Quality wins the row's status; the burn has its own function.
    assert!(status(&f, &[], "model", value("m2"), TimeCursor::Live).starts_with("REGRESSION"));
    let b = burn_status(&f, &[], "model", &value("m2"), TimeCursor::Live).expect("a burn");
    assert_eq!(
        (b.severity, b.text.as_str()),
        (Severity::Regressed, "BURN 14x")
    );
    assert_eq!(active_burns(&f), 1);
    // Burns do not count as regressions.
    assert_eq!(active_regressions(&f), 1);

    let mut d = detections(vec![]);
    d.burns = vec![burn(scope(&[("model", "m1")]), None)];
    let f = fleet(d);
    assert_eq!(
        status(&f, &[], "model", value("m1"), TimeCursor::Live),
        "BURN 14x"
    );
    assert_eq!(
        status(&f, &[], "model", RowKey::All, TimeCursor::Live),
        "BURN 14x in model=m1"
    );
    assert_eq!(
        status(&f, &[], "model", value("m2"), TimeCursor::Live),
        "OK"
    );
    assert!(burn_status(&f, &[], "model", &value("m2"), TimeCursor::Live).is_none());
}

#[test]
fn detail_markers_mark_onset_detection_and_end_in_time_order() {
    let f = fleet(detections(vec![regression(Some(at(60)))]));
    let m = detail_markers(&f, &[step("model", "m2")]);
    let kinds: Vec<(MarkerKind, Millis)> = m.iter().map(|m| (m.kind, m.ts)).collect();
    assert_eq!(
        kinds,
        vec![
            (MarkerKind::Onset, ONSET),
            (MarkerKind::Detected, ONSET + 7 * MINUTE),
            (MarkerKind::Ended, at(60)),
        ]
    );
    assert_eq!(m[0].label, "onset -3.1pp golden-qa");
    assert!(detail_markers(&f, &[step("model", "m1")]).is_empty());
}

#[test]
fn scope_entry_drills_to_the_cause_in_dimension_order() {
    let f = fleet(detections(vec![regression(None)]));
    let entries = scope_entries(&f, &[step("model", "m2")]);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    // The store declares model before hardware.
    assert_eq!(e.path, vec![step("model", "m2"), step("hardware", "tpu")]);
    assert!(e.active);
    assert!(
        e.text
            .starts_with("hardware=tpu ∧ model=m2  -3.1pp  since "),
        "{}",
        e.text
    );
    assert!(e.text.ends_with("golden-qa"), "{}", e.text);
    assert!(scope_entries(&f, &[step("model", "m1")]).is_empty());
}

#[test]
fn names_from_a_backend_are_sanitised() {
    let mut r = regression(None);
    r.signal = "golden\u{1b}[31m-qa".into();
    let mut d = detections(vec![r]);
    d.tracks.clear();
    let f = fleet(d);
    let m = detail_markers(&f, &[]);
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|m| !m.label.contains('\u{1b}')), "{m:?}");
}

#[test]
fn a_row_inside_a_broad_regression_whose_causes_lie_elsewhere_is_not_flagged() {
    // Scoped to hardware=tpu while evidence built; the search found the
    // deficit in model=m2 alone.
    let mut r = regression(None);
    r.scope = scope(&[("hardware", "tpu")]);
    r.alarms.clear();
    let f = fleet(detections(vec![r]));
    let path = [step("hardware", "tpu")];
    assert_eq!(
        status(&f, &path, "model", value("m1"), TimeCursor::Live),
        "OK"
    );
    assert!(status(&f, &path, "model", value("m2"), TimeCursor::Live).starts_with("REGRESSION"),);
}

#[test]
fn an_ended_regression_reads_ended_for_a_while_then_clears() {
    let mut d = detections(vec![regression(Some(at(100)))]);
    d.through = Some(at(110));
    let f = fleet(d.clone());
    assert_eq!(
        status(&f, &[], "model", value("m2"), TimeCursor::Live),
        "ENDED 15:45"
    );
    // A row the regression never touched stays OK.
    assert_eq!(
        status(&f, &[], "model", value("m1"), TimeCursor::Live),
        "OK"
    );
    d.through = Some(at(100) + qualtop::view::ENDED_SHOWN_MS);
    let f = fleet(d);
    assert_eq!(
        status(&f, &[], "model", value("m2"), TimeCursor::Live),
        "OK"
    );
}
