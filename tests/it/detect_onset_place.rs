//! The engine dates a regression on its own place: the alarm that opens it
//! is often a broad one (`hardware=tpu`) whose series holds another fault
//! that began earlier there, and a fold can bring along alarms outside the
//! place the scope search settles on. Neither may date it.

use qualtop::demo::Scenario;
use qualtop::detect::{DetectedRegression, Detections};

use crate::support::detect::{DemoReplay, engine, minute};

/// The demo with `seed` from −360 through minute `until`: what detection
/// showed every five minutes from +100 (the engine folds every five).
fn watched(seed: u64, until: i64) -> Vec<(i64, Detections)> {
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), seed, -360, 720);
    let mut engine = engine();
    replay.run(&mut engine, 360 + 100);
    let mut seen = Vec::new();
    while replay.next <= until {
        replay.run(&mut engine, 5);
        seen.push((replay.next - 1, engine.detections(&replay.store)));
    }
    seen
}

/// Every golden-qa regression on atlas-s's TPUs dated before the compiler
/// deploy at any moment `seen`, with the moment; and how many were seen.
fn dated_early(seen: &[(i64, Detections)]) -> (Vec<String>, usize) {
    let mut early = Vec::new();
    let mut count = 0;
    for (at, d) in seen {
        for r in on_atlas_s_tpus(d) {
            count += 1;
            if minute(r.onset) < 114 {
                early.push(format!("at +{at}: {}", lines(&[r])));
            }
        }
    }
    (early, count)
}

/// Golden-qa regressions placed on the compiler bug's TPUs of atlas-s.
fn on_atlas_s_tpus(d: &Detections) -> Vec<&DetectedRegression> {
    d.regressions
        .iter()
        .filter(|r| r.signal == "golden-qa")
        .filter(|r| {
            r.scope.get("model").map(String::as_str) == Some("atlas-s")
                && r.scope.get("hardware").map(String::as_str) == Some("tpu")
        })
        .collect()
}

fn lines(found: &[&DetectedRegression]) -> String {
    found
        .iter()
        .map(|r| format!("{} {:?} onset {:+}", r.signal, r.scope, minute(r.onset)))
        .collect::<Vec<_>>()
        .join("; ")
}

// The compiler deploy lands at +119 and its fault begins at +120 (on and
// off, 20-minute blocks); the TPU misconfiguration began at +60 on the
// API's TPUs of the other models.

#[test]
fn a_regression_opened_by_a_broad_alarm_is_dated_on_the_place_it_is_given() {
    // Seed 4242: a `hardware=tpu` alarm opens it; dated on that series, it
    // read +63 (the TPU misconfiguration's step) once placed on atlas-s.
    let (early, count) = dated_early(&watched(4242, 200));
    assert!(count > 0, "never placed on atlas-s's TPUs");
    assert!(early.is_empty(), "{early:#?}");
}

#[test]
fn an_alarm_outside_the_place_does_not_date_the_regression() {
    // Seed 1: a leaf alarm of atlas-m (the TPU misconfiguration, from +64)
    // folded in with it dated it at +64.
    let (early, count) = dated_early(&watched(1, 200));
    assert!(count > 0, "never placed on atlas-s's TPUs");
    assert!(early.is_empty(), "{early:#?}");
}
