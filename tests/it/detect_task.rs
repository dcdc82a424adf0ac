//! The detection service as it runs next to the feeds: on the built-in demo
//! (in-process, loopback), it replays the history and publishes into the
//! fleet what the screens read.

use std::time::Duration;

use qualtop::client::{Sources, connect_with, spawn_detection};
use qualtop::detect::{DetectionSettings, TrackLevel, TrackState};
use qualtop::feed::{Fleet, SharedFleet, wait_until_settled};
use qualtop::view::{QualityPick, RowKey, TimeCursor, row_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_task_publishes_the_replayed_history_into_the_fleet() {
    let fleet = SharedFleet::new(Fleet::default());
    let _connections = connect_with(&fleet, &Sources::default(), None)
        .await
        .expect("the demo starts");
    assert!(wait_until_settled(&fleet, Duration::from_secs(30)).await);
    let _detection = spawn_detection(fleet.clone(), DetectionSettings::default());
    let mut changes = fleet.subscribe();
    // The history is 360 buckets; the demo clock adds one a second.
    let caught_up = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let done = fleet.read(|f| {
                let (Some(through), Some(head)) = (f.detections.through, f.store.head()) else {
                    return false;
                };
                f.store.bucket_of(through) >= head - 3
            });
            if done {
                return;
            }
            let _ = changes.changed().await;
        }
    })
    .await;
    assert!(
        caught_up.is_ok(),
        "detection did not catch up with the feeds"
    );
    fleet.read(|f| {
        let d = &f.detections;
        // Fleet and group tracks of every quality suite are tested by now.
        let groups: Vec<_> = d
            .tracks
            .iter()
            .filter(|t| t.level != TrackLevel::Leaf)
            .collect();
        assert!(groups.len() >= 4 * 15, "{}", groups.len());
        assert!(
            groups
                .iter()
                .all(|t| !matches!(t.state, TrackState::Learning)),
            "{groups:#?}"
        );
        // And the overview's whole-fleet row has a status to show.
        let s = row_status(
            f,
            &[],
            "model",
            &RowKey::All,
            &QualityPick::Combined,
            TimeCursor::Live,
        );
        assert!(s.is_some());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_started_with_the_feeds_tests_every_backends_full_history() {
    // As the TUI does it: detection spawned right after connecting, before
    // either backend's snapshot. The first backend's history must not be
    // tested alone (the other's suites would start with part of theirs).
    let fleet = SharedFleet::new(Fleet::default());
    let _connections = connect_with(&fleet, &Sources::default(), None)
        .await
        .expect("the demo starts");
    let _detection = spawn_detection(fleet.clone(), DetectionSettings::default());
    let mut changes = fleet.subscribe();
    let caught_up = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let done = fleet.read(|f| {
                let (Some(through), Some(head)) = (f.detections.through, f.store.head()) else {
                    return false;
                };
                f.store.bucket_of(through) >= head - 3
            });
            if done {
                return;
            }
            let _ = changes.changed().await;
        }
    })
    .await;
    assert!(caught_up.is_ok(), "detection did not catch up");
    fleet.read(|f| {
        let live = &f.detections;
        let Some(through) = live.through else {
            panic!("nothing consumed");
        };
        // The same store replayed at once, to the same bucket.
        let mut replay = qualtop::detect::DetectionEngine::new(DetectionSettings::default());
        replay.step_through(&f.store, f.store.bucket_of(through), usize::MAX);
        let replayed = replay.detections(&f.store);
        assert_eq!(replayed.through, live.through);
        // The same states; baselines within 0.05 points (the
        // live engine also saw the oldest buckets the ring has since let go).
        let states = |d: &qualtop::detect::Detections| -> Vec<_> {
            d.tracks
                .iter()
                .map(|t| (t.signal.clone(), t.scope.clone(), t.state))
                .collect()
        };
        assert_eq!(states(live), states(&replayed));
        for (a, b) in live.tracks.iter().zip(&replayed.tracks) {
            let (Some(x), Some(y)) = (a.baseline, b.baseline) else {
                assert_eq!(a.baseline.is_some(), b.baseline.is_some(), "{a:?} vs {b:?}");
                continue;
            };
            assert!((x - y).abs() < 5e-4, "{a:?} vs {b:?}");
        }
        // The demo's history holds no detectable regression.
        assert!(live.regressions.is_empty(), "{:#?}", live.regressions);
    });
}
