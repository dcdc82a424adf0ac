//! A regression keeps its place while the scope search finds it about as
//! well there: the demo's compiler bug (golden-qa on `hardware=tpu ∧
//! model=atlas-s`) overlaps the TPU misconfiguration on `hardware=tpu ∧
//! platform=api`, and the two readings of its deficit score alike. Each
//! search on its own picks either, so the place on screen (and the suspect
//! named with it) traded between them every few minutes.

use std::collections::BTreeMap;

use qualtop::demo::Scenario;

use crate::support::detect::{DemoReplay, engine, minute};

#[test]
fn the_demos_compiler_bug_keeps_its_place_while_the_tpu_misconfiguration_overlaps_it() {
    // The TUI's demo: seed 2025, a 6 h ring, watched every five minutes
    // from just after the compiler deploy (+119) until it first ends.
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 360);
    let mut engine = engine();
    replay.run(&mut engine, 360 + 130);
    let mut places: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    while replay.next <= 240 {
        replay.run(&mut engine, 5);
        let d = engine.detections(&replay.store);
        for r in d.regressions.iter().filter(|r| r.is_active()) {
            if r.signal == "golden-qa" && minute(r.onset) >= 114 {
                let place = r
                    .scope
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ∧ ");
                places.entry(place).or_default().push(replay.next - 1);
            }
        }
    }
    let watched = places.values().map(Vec::len).sum::<usize>();
    assert!(
        watched >= 20,
        "the compiler bug was seen at {watched} moments: {places:?}"
    );
    assert_eq!(
        places.keys().collect::<Vec<_>>(),
        ["hardware=tpu ∧ model=atlas-s"],
        "the places it was given, with the minutes: {places:?}"
    );
}
