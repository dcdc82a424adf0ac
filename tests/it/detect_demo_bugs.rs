//! The built-in demo's three bugs, replayed offline through the engine as
//! `check` sees them: how many bugs, where, and which alarm goes where.

use crate::support::detect::{ANCHOR, DemoReplay, MINUTE, engine};
use qualtop::cli::check_report::CheckReport;
use qualtop::demo::Scenario;

#[test]
#[ignore]
fn explore() {
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 1440);
    let mut live = engine();
    replay.run(&mut live, 360);
    let mut at = 0;
    for stop in [100, 150, 200, 300, 330, 400, 450, 500, 600, 800] {
        replay.run(&mut live, stop - at);
        at = stop;
        let d = live.detections(&replay.store);
        let report = CheckReport::from_detections(&d, &replay.store);
        println!("===== +{stop}");
        print!("{}", report.to_text());
        for b in &report.bugs {
            println!("-- bug {} active={}", b.where_text, b.active);
            for r in &b.regressions {
                println!(
                    "   {} {:?} {} onset+{} det+{} end {:?} {:.2}",
                    r.signal,
                    r.slice,
                    r.found_by,
                    (r.onset - ANCHOR) / MINUTE,
                    (r.detected_at - ANCHOR) / MINUTE,
                    r.ended_at.map(|e| (e - ANCHOR) / MINUTE),
                    r.delta_pp
                );
            }
        }
    }
}
