//! What the relay's detection costs per bucket: the demo fleet's six hours
//! replayed into a store, then each further bucket stepped alone and
//! published, as `qualtop serve` does once per bucket. Ignored (it times);
//! docs/relay.md quotes its output:
//! `cargo test --test it relay_alerts_cost -- --ignored --nocapture`.
//! The release figure, next to a plain pass: `cargo bench --bench relay_detect`.

use qualtop::demo::Scenario;

use crate::support::detect::{RelayCost, relay_cost};

#[test]
#[ignore = "a measurement: run it by name"]
fn detection_cost_per_bucket_on_the_demo_fleet() {
    let cost = relay_cost(Scenario::builtin().unwrap(), 360, 120, |_| {});
    let RelayCost {
        replay,
        replayed,
        replay_ms,
        live_ms: mut per_bucket,
    } = cost;
    per_bucket.sort_by(f64::total_cmp);
    let slices = replay.store.slices().len();
    let signals = replay.store.signals().len();
    println!(
        "{slices} slices x {signals} signals, {} buckets held: replay of {replayed} buckets {replay_ms:.0} ms; one live bucket: median {:.2} ms, max {:.2} ms; store {} KiB",
        replay.store.capacity(),
        per_bucket[per_bucket.len() / 2],
        per_bucket[per_bucket.len() - 1],
        replay.store.used_bytes() / 1024,
    );
    assert!(replayed > 300);
}
