//! The relay detection task's unit tests: the keep window and when a
//! bucket is due.

use super::*;
use crate::detect::ScopeOrigin;
use crate::protocol::SignalRole;

fn regression(ended_at: Option<Millis>) -> DetectedRegression {
    DetectedRegression {
        signal: "golden-qa".into(),
        role: SignalRole::Quality,
        scope: [("model".to_owned(), "m2".to_owned())].into(),
        origin: ScopeOrigin::Cause,
        causes: Vec::new(),
        alarms: Vec::new(),
        onset: 1_000,
        onset_spread: None,
        detected_at: 2_000,
        ended_at,
        baseline: 0.99,
        current: 0.8,
        delta_pp: -19.0,
        drop_table: None,
    }
}

#[test]
fn an_ended_regression_stays_for_the_keep_window_then_goes() {
    let f = RelayFindings::new(60_000);
    let mut changes = f.subscribe();
    f.publish(&[regression(None)], 3_000);
    assert!(changes.has_changed().unwrap());
    changes.mark_unchanged();
    assert!(f.snapshot().rows[0].is_active());
    f.publish(&[regression(None)], 4_000);
    assert!(
        !changes.has_changed().unwrap(),
        "nothing changed, no notice"
    );
    f.publish(&[regression(Some(10_000))], 11_000);
    assert_eq!(f.snapshot().rows[0].ended_at, Some(10_000));
    f.publish(&[regression(Some(10_000))], 70_000);
    assert_eq!(f.snapshot().rows.len(), 1);
    f.publish(&[regression(Some(10_000))], 70_001);
    assert!(f.snapshot().rows.is_empty());
}

fn detector(endpoints: usize) -> Detector {
    Detector {
        store: Store::new(),
        engine: DetectionEngine::new(DetectionSettings::default()),
        bindings: vec![None; endpoints],
        newest: vec![None; endpoints],
        synced: vec![false; endpoints],
        delay_ms: 1_500,
        started: 0,
        clock: Arc::new(crate::server::WallClock),
    }
}

#[test]
fn a_bucket_is_tested_once_every_live_endpoint_delivered_it() {
    let mut d = detector(2);
    // Store::new has no bucket size yet: bucket_of divides by 1 ms.
    let now = 100_000;
    assert_eq!(d.complete(now), i64::MIN, "not before every window is in");
    d.synced = vec![true, true];
    let due = now - 1_500 - 1;
    assert_eq!(d.complete(now), due, "no data anywhere: the clock decides");
    d.newest = vec![Some(due - 2), Some(due)];
    assert_eq!(
        d.complete(now),
        due - 2,
        "the slower endpoint holds it back"
    );
    d.newest = vec![Some(due - SILENT_AFTER_BUCKETS - 1), Some(due)];
    assert_eq!(d.complete(now), due, "a silent endpoint does not");
}

#[test]
fn right_after_a_start_an_endpoint_with_no_data_yet_holds_the_detectors_back() {
    // Store::new has no bucket size yet: bucket_of divides by 1 ms.
    let mut d = detector(2);
    d.synced = vec![true, true];
    d.started = 100_000;
    let now = d.started + SILENT_AFTER_BUCKETS;
    assert_eq!(
        d.complete(now),
        i64::MIN,
        "nothing in yet: wait for the backfill"
    );
    d.newest = vec![Some(now - 2_000), None];
    assert_eq!(d.complete(now), i64::MIN, "one endpoint still backfilling");
    let later = d.started + SILENT_AFTER_BUCKETS + 1;
    assert_eq!(
        d.complete(later),
        later - 1_500 - 1,
        "past the grace, an endpoint that sent nothing is silent and the clock decides"
    );
}
