//! The scope search tests a regression against the leaves' healthy rates
//! from before it began, however long it lasts: not against the fault
//! itself once the store (6 h by default) no longer holds a bucket from
//! before it.

use qualtop::detect::{ScopeConfig, ScopedRegression};
use qualtop::text::scope::scope_text;

use crate::support::two_causes::{BROKEN_FROM, TwoCauses};

/// Seven hours into the fault: longer than a 6 h store, and the search's
/// 4 h window starts three hours after the onset.
const MINUTES: i64 = BROKEN_FROM + 420;

/// The regressions in force at the end, as the engine reads them.
fn scoped_at_the_end(ring_minutes: i64) -> Vec<ScopedRegression> {
    let (store, monitor) = TwoCauses {
        platforms: &[],
        trials: 300,
        seed: 5,
        minutes: MINUTES,
        ring_minutes,
    }
    .watch();
    let signal = store.signal_by_name("quality").unwrap();
    monitor.scoped_regressions(&store, signal, &ScopeConfig::default(), &[])
}

/// Each found cause as "dim=value ∧ …" with its drop in points.
fn causes(regs: &[ScopedRegression]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = regs
        .iter()
        .filter(|r| r.from_cause)
        .map(|r| (scope_text(&r.scope), r.delta_pp))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn assert_both_causes_at_full_depth(ring_minutes: i64) {
    let regs = scoped_at_the_end(ring_minutes);
    let found = causes(&regs);
    let places: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        places,
        ["hardware=tpu ∧ model=m2", "hardware=trn"],
        "{ring_minutes}-minute store: {found:?}"
    );
    // The drop against the healthy rate, not against the fault learnt as
    // healthy (which would read it smaller, or not at all).
    for ((place, delta), truth) in found.iter().zip([-6.0, -4.0]) {
        assert!(
            (delta - truth).abs() < 0.8,
            "{ring_minutes}-minute store: {place} reads {delta:.2} points, truth {truth}"
        );
        let r = regs.iter().find(|r| r.from_cause && r.delta_pp == *delta);
        let baseline = r.map_or(f64::NAN, |r| r.baseline);
        assert!(
            (baseline - 0.9).abs() < 0.005,
            "{place}: baseline {baseline}"
        );
    }
}

#[test]
fn a_fault_longer_than_the_store_is_still_scoped_against_the_healthy_rate() {
    // The relay's and the built-in demo's default store: 6 h.
    assert_both_causes_at_full_depth(360);
}
