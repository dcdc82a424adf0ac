//! How fast the demo produces data: the history a server generates at start,
//! the snapshot it sends each subscriber, and an offline replay of a week.
//! Run: `cargo bench --bench demo_replay`. Medians of runs, each next to a
//! reference timed in the same run: one ChaCha8 draw per sample for the
//! generated data, a plain `serde_json::Value` encode of the same document
//! for the snapshots.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qualtop::demo::{DemoSignalId, Endpoint, Scenario, World, history_hub};
use qualtop::protocol::{ServerMessage, Snapshot, Subscribe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ratio::median;

const ANCHOR: i64 = 1_756_771_200_000;
const RUNS: usize = 5;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// `f` run `RUNS` times: its last result and the median seconds.
fn median_of<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..RUNS {
        let (o, took) = timed(&mut f);
        times.push(took.as_secs_f64());
        out = Some(o);
    }
    (out.expect("RUNS > 0"), median(times))
}

/// The reference for generated data: seconds for one ChaCha8 draw per sample.
fn rng_draws(samples: usize) -> f64 {
    median_of(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut sum = 0u64;
        for _ in 0..samples {
            sum = sum.wrapping_add(rng.random_range(0..1_000u64));
        }
        black_box(sum)
    })
    .1
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

    let (hubs, took) = median_of(|| Endpoint::ALL.map(|e| history_hub(&world, e, 0, 16)));
    let samples = leaves as f64 * signals as f64 * history as f64;
    let draws = rng_draws(samples as usize);
    println!(
        "history (both endpoints, one thread): {:.0} ms (median of {RUNS}), {:.2} µs per sample, {:.0}x one ChaCha8 draw per sample ({:.1} ms; no goal set)",
        took * 1e3,
        took * 1e6 / samples,
        took / draws,
        draws * 1e3
    );
    println!(
        "  extrapolated to 150 leaves × 6 signals × 360 buckets: {:.0} ms",
        took * 1e3 / samples * 150.0 * 6.0 * 360.0
    );

    let sub = Subscribe {
        window_ms: world.history_ms(),
        ..Subscribe::default()
    };
    for (endpoint, hub) in Endpoint::ALL.iter().zip(&hubs) {
        let (json, took) = median_of(|| {
            let window = hub.subscribe(&sub, ANCHOR).window;
            ServerMessage::Snapshot(Snapshot {
                seq: 1,
                from: window.from,
                to: window.to,
                series: window.series,
                annotations: Vec::new(),
                changes: Vec::new(),
            })
            .to_json()
        });
        let doc: serde_json::Value = serde_json::from_str(&json).expect("snapshot parses");
        let (_, plain) = median_of(|| black_box(doc.to_string()).len());
        println!(
            "snapshot {}: {:.1} ms to build and encode (median of {RUNS}), {:.2} MB of JSON, {:.2}x a plain Value encode of the same document ({:.1} ms; no goal set)",
            endpoint.path(),
            took * 1e3,
            json.len() as f64 / 1e6,
            took / plain,
            plain * 1e3
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
    let took = took.as_secs_f64();
    let draws = rng_draws(samples as usize);
    println!(
        "offline replay of 7 days: {took:.2} s (one run), {:.0} k samples/s ({:.1} M samples), {:.0}x one ChaCha8 draw per sample ({:.1} ms; no goal set)",
        samples / took / 1e3,
        samples / 1e6,
        took / draws,
        draws * 1e3
    );
}
