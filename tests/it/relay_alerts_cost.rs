//! What the relay's detection costs per bucket: the demo fleet's six hours
//! replayed into a store, then each further bucket stepped alone and
//! published, as `qualtop serve` does once per bucket. Ignored (it times);
//! docs/relay.md quotes its output:
//! `cargo test --test it relay_alerts_cost -- --ignored --nocapture`.
//! The release figure, next to a plain pass: `cargo bench --bench relay_detect`.

use std::time::Instant;

use qualtop::demo::Scenario;

use crate::support::detect::{DemoReplay, engine};

#[test]
#[ignore = "a measurement: run it by name"]
fn detection_cost_per_bucket_on_the_demo_fleet() {
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 360);
    let mut engine = engine();
    for _ in 0..360 {
        replay.feed_bucket();
    }
    let started = Instant::now();
    let replayed = engine.step(&replay.store, usize::MAX);
    let replay_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut per_bucket = Vec::new();
    for _ in 0..120 {
        replay.feed_bucket();
        let started = Instant::now();
        engine.step(&replay.store, usize::MAX);
        let published = engine.detections(&replay.store);
        per_bucket.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(published);
    }
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
