//! Where a regression's drop lies is measured by the engine and kept with
//! the regression: it does not change as the window slides past the onset,
//! so a surface ranks its suspects the same hours later.

use crate::support::detect::{DemoReplay, engine};
use qualtop::demo::Scenario;
use qualtop::detect::{DetectedRegression, DropTable};

#[test]
fn a_regressions_drop_table_is_kept_after_the_window_slides_past_its_onset() {
    // Seed 1's TPU misconfiguration (+59), in a four-hour window.
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 1, -120, 240);
    let mut watching = engine();
    let mut run_to = |replay: &mut DemoReplay, offset: i64| {
        while replay.next < offset {
            for _ in 0..10 {
                replay.feed_bucket();
            }
            watching.step(&replay.store, usize::MAX);
        }
        watching.detections(&replay.store).regressions
    };
    // An hour and a half after the onset: the hour after it is in.
    let early = run_to(&mut replay, 150);
    let bucket = replay.store.bucket_ms();
    let through = early.iter().map(|r| r.detected_at).max().unwrap();
    let settled: Vec<&DetectedRegression> = early
        .iter()
        .filter(|r| r.onset + 60 * bucket <= through && r.drop_table.is_some())
        .collect();
    assert!(
        settled.len() >= 2,
        "tables measured: {:?}",
        early
            .iter()
            .map(|r| (&r.signal, &r.scope, r.drop_table.is_some()))
            .collect::<Vec<_>>()
    );
    for r in &settled {
        let table = r.drop_table.as_ref().unwrap();
        assert_eq!(table.onset, r.onset);
        assert!(table.rows.len() <= qualtop::detect::DROP_MAX_ROWS);
        // What a surface would measure now is what the engine kept.
        assert_eq!(
            DropTable::measure(&replay.store, &r.signal, &r.scope, r.onset).as_ref(),
            Some(table),
            "{} on {:?}",
            r.signal,
            r.scope
        );
    }
    // Four hours on, the window no longer holds the two hours before those
    // onsets: measured now, the tables would differ or be gone. Every
    // regression of the same signal, place and onset holds the table kept
    // (one begun again there later and dated back to that onset too).
    let late = run_to(&mut replay, 390);
    let mut compared = 0;
    for r in &settled {
        let same = |l: &&DetectedRegression| {
            l.signal == r.signal && l.scope == r.scope && l.onset == r.onset
        };
        for now in late.iter().filter(same) {
            compared += 1;
            assert_eq!(
                now.drop_table, r.drop_table,
                "{} on {:?}",
                r.signal, r.scope
            );
        }
        assert_ne!(
            DropTable::measure(&replay.store, &r.signal, &r.scope, r.onset).as_ref(),
            r.drop_table.as_ref(),
            "the window still holds {} on {:?}: the test shows nothing",
            r.signal,
            r.scope
        );
    }
    assert!(compared >= settled.len(), "{compared} compared");
}
