//! How fast the demo produces data: the history a server generates at start,
//! the snapshot it sends each subscriber, and an offline replay of a week.
//! Run: `cargo bench --bench demo_replay`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qualtop::demo::{DemoSignalId, Endpoint, Scenario, World, history_hub};
use qualtop::protocol::{ServerMessage, Snapshot, Subscribe};

const ANCHOR: i64 = 1_756_771_200_000;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    let world = Arc::new(World::new(
        Scenario::builtin().expect("built-in scenario"),
        2025,
        ANCHOR,
    ));
    let leaves = world.leaves().len();
    let signals = world.signals().len();
    let history = world.history_buckets();
    println!("scenario: {leaves} leaves × {signals} signals × {history} buckets of history");

    let (hubs, took) = timed(|| Endpoint::ALL.map(|e| history_hub(&world, e, 0, 16)));
    let samples = leaves as f64 * signals as f64 * history as f64;
    println!(
        "history (both endpoints, one thread): {:.0} ms, {:.2} µs per sample",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / samples
    );
    println!(
        "  extrapolated to 150 leaves × 6 signals × 360 buckets: {:.0} ms",
        took.as_secs_f64() * 1e3 / samples * 150.0 * 6.0 * 360.0
    );

    let sub = Subscribe {
        window_ms: world.history_ms(),
        ..Subscribe::default()
    };
    for (endpoint, hub) in Endpoint::ALL.iter().zip(&hubs) {
        let (json, took) = timed(|| {
            let window = hub.subscribe(&sub, ANCHOR).window;
            ServerMessage::Snapshot(Snapshot {
                seq: 1,
                from: window.from,
                to: window.to,
                series: window.series,
                annotations: Vec::new(),
            })
            .to_json()
        });
        println!(
            "snapshot {}: {:.1} ms to build and encode, {:.2} MB of JSON",
            endpoint.path(),
            took.as_secs_f64() * 1e3,
            json.len() as f64 / 1e6
        );
    }

    let week = 7 * 24 * 60;
    let (checksum, took) = timed(|| {
        let mut checksum = 0u64;
        for offset in 0..week {
            let ts = world.bucket_ts(offset);
            for leaf in world.leaf_ids() {
                for s in 0..signals {
                    if let Some(v) = world.sample(leaf, DemoSignalId(s), ts) {
                        checksum = checksum.wrapping_add(match v {
                            qualtop::protocol::BucketValue::Ratio { good, .. } => u64::from(good),
                            qualtop::protocol::BucketValue::Gauge(g) => g as u64,
                        });
                    }
                }
            }
        }
        checksum
    });
    black_box(checksum);
    let samples = week as f64 * leaves as f64 * signals as f64;
    println!(
        "offline replay of 7 days: {:.2} s, {:.0} k samples/s ({:.1} M samples)",
        took.as_secs_f64(),
        samples / took.as_secs_f64() / 1e3,
        samples / 1e6
    );
}
