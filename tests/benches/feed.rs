//! Speed of the feed's hot path on one core: decode + apply of live batch
//! points, decode + apply of a full snapshot, and bytes per stored bucket.
//! Run with `cargo bench --bench feed`. Each figure is the median of runs,
//! next to a plain `serde_json::Value` parse of the same frames in the same
//! run (issue #14: ingest >= 1.5x that parse, snapshot apply <= 1x).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::hint::black_box;
use std::time::{Duration, Instant};

use qualtop::protocol::{
    Batch, CowStr, Hello, Point, Series, ServerMessage, SignalKind, SignalRole, SignalSpec,
    SliceMap, Snapshot, decode_server,
};
use qualtop::store::{Drops, SourceBinding, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ratio::{at_least, at_most, median};

const BUCKET_MS: i64 = 60_000;
const HISTORY_BUCKETS: i64 = 360;
const SLICES: usize = 1_000;
const RUNS: usize = 7;
/// Bucket 0 of the benchmark's clock, on a bucket boundary.
const T0: i64 = 29_000_000 * BUCKET_MS;

const SIGNALS: [(&str, SignalKind, SignalRole); 4] = [
    ("availability", SignalKind::Ratio, SignalRole::Availability),
    ("quality", SignalKind::Ratio, SignalRole::Quality),
    ("refusals", SignalKind::Ratio, SignalRole::Quality),
    ("latency_p99", SignalKind::Gauge, SignalRole::Latency),
];

fn hello(now: i64) -> Hello {
    Hello {
        protocol: 1,
        server: "bench".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hw".into(), "region".into()],
        signals: SIGNALS
            .iter()
            .map(|&(name, kind, role)| SignalSpec {
                name: name.into(),
                kind,
                role,
                unit: None,
            })
            .collect(),
        bucket_ms: BUCKET_MS,
        history_ms: HISTORY_BUCKETS * BUCKET_MS,
        now,
        features: vec![],
    }
}

/// 1,000 slices: 10 models × 5 hardware types × 20 regions.
fn slice_of(i: usize) -> SliceMap<'static> {
    SliceMap::from_pairs([
        ("model", format!("model-{}", i % 10)),
        ("hw", format!("hw-{}", (i / 10) % 5)),
        ("region", format!("region-{:02}", i / 50)),
    ])
}

fn batch_json(seq: u64, bucket: i64, rng: &mut ChaCha8Rng) -> String {
    let mut points = Vec::with_capacity(SLICES * SIGNALS.len());
    for i in 0..SLICES {
        for &(name, kind, _) in &SIGNALS {
            let total: i64 = rng.random_range(50..2_000);
            let (good, total, value) = match kind {
                SignalKind::Ratio => (Some(total - rng.random_range(0..10)), Some(total), None),
                SignalKind::Gauge => (None, None, Some(rng.random_range(50.0..900.0))),
            };
            points.push(Point {
                slice: slice_of(i),
                signal: CowStr::from(name.to_string()),
                ts: T0 + bucket * BUCKET_MS,
                good,
                total,
                value,
            });
        }
    }
    ServerMessage::Batch(Batch { seq, points }).to_json()
}

fn snapshot_json(to_bucket: i64, rng: &mut ChaCha8Rng) -> String {
    let n = HISTORY_BUCKETS as usize;
    let start = T0 + (to_bucket - HISTORY_BUCKETS + 1) * BUCKET_MS;
    let mut series = Vec::with_capacity(SLICES * SIGNALS.len());
    for i in 0..SLICES {
        for &(name, kind, _) in &SIGNALS {
            let mut s = Series {
                slice: slice_of(i),
                signal: CowStr::from(name.to_string()),
                start,
                good: None,
                total: None,
                values: None,
            };
            match kind {
                SignalKind::Ratio => {
                    let total: Vec<Option<i64>> =
                        (0..n).map(|_| Some(rng.random_range(50..2_000))).collect();
                    let good = total
                        .iter()
                        .map(|t| t.map(|t| t - rng.random_range(0..10)))
                        .collect();
                    s.good = Some(good);
                    s.total = Some(total);
                }
                SignalKind::Gauge => {
                    s.values = Some(
                        (0..n)
                            .map(|_| Some((rng.random_range(500..9_000) as f64) / 10.0))
                            .collect(),
                    );
                }
            }
            series.push(s);
        }
    }
    ServerMessage::Snapshot(Snapshot {
        seq: 1,
        from: start,
        to: T0 + to_bucket * BUCKET_MS,
        series,
        annotations: vec![],
        changes: vec![],
    })
    .to_json()
}

fn fresh_store(now: i64) -> (Store, SourceBinding) {
    let mut store = Store::new();
    let binding = store
        .bind_source(0, &hello(now))
        .expect("bench hello binds");
    (store, binding)
}

/// Seconds to parse every frame as a plain `serde_json::Value`.
fn value_parse(frames: &[String]) -> f64 {
    let started = Instant::now();
    for f in frames {
        let v: serde_json::Value = serde_json::from_slice(f.as_bytes()).expect("frame parses");
        black_box(v);
    }
    started.elapsed().as_secs_f64()
}

/// Live batches: 60 buckets × 4,000 points, decoded and applied; and the
/// Value parse of the same frames (points/s each).
fn bench_batches() -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let buckets = 60i64;
    let frames: Vec<String> = (0..buckets)
        .map(|b| batch_json(b as u64 + 2, b, &mut rng))
        .collect();
    let points = (buckets as usize * SLICES * SIGNALS.len()) as f64;
    let bytes: usize = frames.iter().map(String::len).sum();
    println!(
        "batch frame: {} points, {} KiB ({} B/point)",
        SLICES * SIGNALS.len(),
        frames[0].len() / 1024,
        bytes / points as usize
    );
    let (mut rates, mut reference) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        // Interleaved, so both see the same machine weather.
        reference.push(points / value_parse(&frames));
        let (mut store, binding) = fresh_store(T0);
        let mut drops = 0u64;
        let started = Instant::now();
        for (b, frame) in frames.iter().enumerate() {
            store.set_now(T0 + b as i64 * BUCKET_MS);
            let Ok(Some(ServerMessage::Batch(batch))) = decode_server(frame) else {
                panic!("batch decodes");
            };
            for p in &batch.points {
                if store.apply_point(&binding, p).is_err() {
                    drops += 1;
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(drops, 0, "every bench point is valid");
        black_box(&store);
        rates.push(points / secs);
    }
    (median(rates), median(reference))
}

/// A full snapshot: 1,000 slices × 4 signals × 360 buckets.
struct SnapshotFigures {
    decode_apply: Duration,
    apply: Duration,
    /// The same frame parsed as a `serde_json::Value`.
    reference: Duration,
    bytes: usize,
    memory: (usize, usize),
    buckets: usize,
}

fn bench_snapshot() -> SnapshotFigures {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let to_bucket = HISTORY_BUCKETS;
    let frame = snapshot_json(to_bucket, &mut rng);
    let now = T0 + to_bucket * BUCKET_MS;
    let mut times = Vec::new();
    let mut applies = Vec::new();
    let mut reference = Vec::new();
    let mut memory = (0, 0);
    let mut buckets = 0;
    let frames = [frame];
    for _ in 0..RUNS {
        reference.push(value_parse(&frames));
        let [frame] = &frames;
        let (mut store, binding) = fresh_store(now);
        let mut drops = Drops::default();
        let started = Instant::now();
        let Ok(Some(ServerMessage::Snapshot(snap))) = decode_server(frame) else {
            panic!("snapshot decodes");
        };
        // This part runs under the fleet's write lock in the feed.
        let applying = Instant::now();
        store.set_now(snap.to);
        store.reset_source(&binding);
        for s in &snap.series {
            store.apply_series(&binding, s, &mut drops);
        }
        applies.push(applying.elapsed().as_secs_f64());
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(drops.total(), 0, "{}", drops.summary());
        memory = store.memory();
        buckets = store.slices().len() * store.signals().len() * store.capacity();
        black_box(&store);
    }
    SnapshotFigures {
        decode_apply: Duration::from_secs_f64(median(times)),
        apply: Duration::from_secs_f64(median(applies)),
        reference: Duration::from_secs_f64(median(reference)),
        bytes: frames[0].len(),
        memory,
        buckets,
    }
}

fn main() {
    let (rate, reference) = bench_batches();
    let speedup = rate / reference;
    println!(
        "ingest (batch decode + apply): {:.2} M points/s (median of {RUNS}), {speedup:.2}x the Value parse of the same frames ({:.2} M points/s) {} (absolute goal >= 1.00 M points/s)",
        rate / 1e6,
        reference / 1e6,
        at_least(speedup, 1.5)
    );
    let snap = bench_snapshot();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (apply, whole) = (
        ms(snap.apply) / ms(snap.reference),
        ms(snap.decode_apply) / ms(snap.reference),
    );
    println!(
        "snapshot 1000 slices x 4 signals x 360 buckets ({:.1} MiB of JSON): apply (under the lock) {:.1} ms (median of {RUNS}), {apply:.2}x the Value parse of the same frame ({:.1} ms) {}; decode + apply {:.1} ms, {whole:.2}x that parse (absolute goal <= 200 ms)",
        snap.bytes as f64 / (1024.0 * 1024.0),
        ms(snap.apply),
        ms(snap.reference),
        at_most(apply, 1.0),
        ms(snap.decode_apply),
    );
    let (heap, per_bucket) = snap.memory;
    println!(
        "store: {:.1} MiB of rings for {} buckets = {:.2} B per stored bucket (widest column {per_bucket} B)",
        heap as f64 / (1024.0 * 1024.0),
        snap.buckets,
        heap as f64 / snap.buckets as f64
    );
}
