//! `qualtop annotations export` on a fixed store and set of annotations:
//! the postmortem timeline, its quality figures and both formats, pinned
//! by insta snapshots.

use std::collections::BTreeMap;

use qualtop::cli::TimelineFormat;
use qualtop::cli::annotations::export::render;
use qualtop::protocol::{
    Annotation, AnnotationState, CowStr, Hello, Millis, Point, SignalKind, SignalRole, SignalSpec,
    SliceMap,
};
use qualtop::store::Store;
use qualtop::view::timeline::{QualityFigure, build_timeline};

const BUCKET: Millis = 60_000;
/// 2025-09-02T00:00:00Z.
const NOW: Millis = 1_756_771_200_000;
const HISTORY_BUCKETS: i64 = 60;
/// golden-qa of atlas-s on TPU falls from here on (bucket offset from now).
const ONSET: i64 = -30;

fn spec(name: &str, kind: SignalKind, role: SignalRole) -> SignalSpec {
    SignalSpec {
        name: name.into(),
        kind,
        role,
        unit: None,
    }
}

fn point(
    model: &str,
    hw: &str,
    signal: &str,
    offset: i64,
    good: i64,
    total: i64,
) -> Point<'static> {
    Point {
        slice: SliceMap::from_pairs([("model", model), ("hardware", hw)]),
        signal: CowStr::from(signal.to_string()),
        ts: NOW + offset * BUCKET,
        good: Some(good),
        total: Some(total),
        value: None,
    }
}

/// Three slices, an hour of minute buckets; only atlas-s on TPU regresses.
fn store() -> Store {
    let hello = Hello {
        protocol: 1,
        server: "fixture".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hardware".into()],
        signals: vec![
            spec("availability", SignalKind::Ratio, SignalRole::Availability),
            spec("golden-qa", SignalKind::Ratio, SignalRole::Quality),
            spec("feedback", SignalKind::Ratio, SignalRole::Quality),
            spec("latency_p99", SignalKind::Gauge, SignalRole::Latency),
        ],
        bucket_ms: BUCKET,
        history_ms: HISTORY_BUCKETS * BUCKET,
        now: NOW,
        features: vec!["annotations".into()],
    };
    let mut store = Store::new();
    let binding = store.bind_source(0, &hello).unwrap();
    store.set_now(NOW);
    for offset in -(HISTORY_BUCKETS - 1)..=0 {
        for (model, hw) in [("atlas-s", "tpu"), ("atlas-s", "gpu"), ("atlas-m", "tpu")] {
            let regressed = (model, hw) == ("atlas-s", "tpu") && offset >= ONSET;
            let qa_good = if regressed { 150 } else { 196 };
            for p in [
                point(model, hw, "availability", offset, 999, 1000),
                point(model, hw, "golden-qa", offset, qa_good, 200),
                point(model, hw, "feedback", offset, 95, 100),
            ] {
                store.apply_point(&binding, &p).unwrap();
            }
        }
    }
    store
}

fn scope(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(d, v)| (d.to_string(), v.to_string()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn note(
    id: &str,
    scope: BTreeMap<String, String>,
    signal: Option<&str>,
    from_offset: i64,
    to_offset: Option<i64>,
    state: AnnotationState,
    text: &str,
    rev: u64,
) -> Annotation {
    Annotation {
        id: id.into(),
        scope,
        signal: signal.map(str::to_owned),
        from: NOW + from_offset * BUCKET,
        to: to_offset.map(|t| NOW + t * BUCKET),
        state,
        text: text.into(),
        author: "oncall-1".into(),
        rev: Some(rev),
        created: Some(NOW + from_offset * BUCKET + 5_000),
        updated: Some(NOW + from_offset * BUCKET + 5_000 * rev as i64),
    }
}

/// In arrival order, not time order: the timeline sorts.
fn annotations() -> Vec<Annotation> {
    use AnnotationState::*;
    vec![
        note(
            "a2",
            scope(&[("model", "atlas-s"), ("hardware", "tpu")]),
            Some("golden-qa"),
            ONSET,
            None,
            Confirmed,
            "golden-qa of atlas-s on TPU down since the compiler rollout",
            2,
        ),
        note(
            "a1",
            scope(&[]),
            None,
            -40,
            None,
            Suspected,
            "availability green, users complain",
            1,
        ),
        note(
            "a3",
            scope(&[("hardware", "tpu")]),
            None,
            -50,
            Some(-45),
            Resolved,
            "\u{1b}]0;pwned\u{7}false alarm:\u{1b}[31m TPU canary\u{202e} flapped\nsee ticket",
            3,
        ),
        note(
            "a4",
            scope(&[("region", "eu-west")]),
            Some("golden-qa"),
            -10,
            None,
            Suspected,
            "a dimension these backends do not have",
            1,
        ),
        note(
            "a5",
            scope(&[("model", "atlas-m")]),
            None,
            -24 * 60,
            None,
            Mitigated,
            "older than the history held",
            1,
        ),
        note(
            "a6",
            scope(&[("model", "atlas-s")]),
            Some("latency_p99"),
            -5,
            Some(0),
            Suspected,
            "latency is a gauge: no quality figure",
            1,
        ),
    ]
}

#[test]
fn markdown_timeline_of_a_fixed_incident() {
    let t = build_timeline(&annotations(), &store(), None);
    insta::assert_snapshot!(render(&t, TimelineFormat::Markdown));
}

#[test]
fn json_timeline_of_a_fixed_incident() {
    let t = build_timeline(&annotations(), &store(), None);
    insta::assert_snapshot!(render(&t, TimelineFormat::Json));
}

#[test]
fn entries_are_in_time_order_and_since_drops_what_ended_before() {
    let t = build_timeline(&annotations(), &store(), None);
    let ids: Vec<&str> = t.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["a5", "a3", "a1", "a2", "a4", "a6"]);
    let since = Some(NOW - 44 * BUCKET);
    let t = build_timeline(&annotations(), &store(), since);
    assert!(t.entries.iter().all(|e| e.id != "a3"), "a3 ended at -45");
    assert_eq!(t.entries.len(), 5, "open ones stay whatever their start");
}

#[test]
fn figures_roll_up_the_scope_at_the_start_and_now() {
    let t = build_timeline(&annotations(), &store(), None);
    let figures = |id: &str| -> Vec<QualityFigure> {
        t.entries
            .iter()
            .find(|e| e.id == id)
            .unwrap()
            .quality
            .clone()
    };
    // atlas-s/tpu: onset bucket ±2 = two healthy buckets (196) and three bad (150).
    let a2 = figures("a2");
    assert_eq!(a2.len(), 1, "its own signal only");
    assert_eq!(a2[0].slices, 1);
    let at_start = a2[0].at_start.unwrap();
    assert!((at_start - (2.0 * 196.0 + 3.0 * 150.0) / 1000.0).abs() < 1e-12);
    assert!((a2[0].now.unwrap() - 0.75).abs() < 1e-12);
    // Fleet-wide: every quality ratio, never availability; counts summed.
    let a1 = figures("a1");
    let names: Vec<&str> = a1.iter().map(|q| q.signal.as_str()).collect();
    assert_eq!(names, ["golden-qa", "feedback"]);
    assert_eq!(a1[0].slices, 3);
    assert!((a1[0].now.unwrap() - (150.0 + 196.0 * 2.0) / 600.0).abs() < 1e-12);
    assert!(
        figures("a4")
            .iter()
            .all(|q| q.slices == 0 && q.now.is_none())
    );
    assert!(
        figures("a5")
            .iter()
            .all(|q| q.at_start.is_none() && q.now.is_some())
    );
    assert!(figures("a6").is_empty());
}
