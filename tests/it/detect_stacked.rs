//! Two faults stacked on the same slices: the demo's TPU misconfiguration
//! on `hardware=tpu ∧ model=atlas-m ∧ platform=api` (+57 to +425) and the
//! routing bug on `model=atlas-m ∧ platform=api` (from +299) set off the
//! same detectors. When the TPU configuration is rolled back the place
//! rises, but not to its baseline; the TPU regression must end there, and
//! the routing one go on.

use crate::support::detect::{DemoReplay, engine, minute};
use qualtop::demo::Scenario;
use qualtop::detect::DetectedRegression;

fn at(stop: i64) -> Vec<DetectedRegression> {
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 360);
    let mut live = engine();
    replay.run(&mut live, stop - replay.next);
    live.detections(&replay.store).regressions
}

#[test]
fn the_earlier_of_two_stacked_faults_ends_when_its_own_drop_is_undone() {
    let rs = at(520);
    let lines: String = rs
        .iter()
        .map(|r| {
            format!(
                "{} {:?} +{}..{:?}\n",
                r.signal,
                r.scope,
                minute(r.onset),
                r.ended_at.map(minute)
            )
        })
        .collect();
    let tpu = rs
        .iter()
        .find(|r| {
            r.signal == "user-feedback"
                && r.scope.get("hardware").map(String::as_str) == Some("tpu")
                && r.scope.get("model").map(String::as_str) == Some("atlas-m")
                && (50..100).contains(&minute(r.onset))
        })
        .unwrap_or_else(|| panic!("no TPU user-feedback regression on atlas-m\n{lines}"));
    let end = tpu.ended_at.map(minute);
    // Rolled back at +425; the rise is dated within the onset tests'
    // margin of it, not when the routing bug ends (+760).
    assert!(
        end.is_some_and(|e| (405..=445).contains(&e)),
        "ended {end:?}\n{lines}"
    );
    // The routing bug goes on in user-feedback, on atlas-m's API traffic.
    assert!(
        rs.iter().any(|r| r.signal == "user-feedback"
            && r.ended_at.is_none()
            && r.scope.get("model").map(String::as_str) == Some("atlas-m")
            && (290..330).contains(&minute(r.onset))),
        "{lines}"
    );
}
