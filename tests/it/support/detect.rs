//! The demo world fed offline into a store, bucket by bucket, with a
//! detection engine watching: no server, no network, same numbers.

use std::time::Instant;

use qualtop::demo::{DIMENSIONS, Scenario, World};
use qualtop::detect::{DetectionEngine, DetectionSettings};
use qualtop::protocol::{
    BucketValue, CowStr, Hello, Millis, Point, SignalKind, SignalRole, SignalSpec, SliceMap,
};
use qualtop::store::{SourceBinding, Store};

/// 2025-09-02 00:00 UTC.
pub const ANCHOR: Millis = 1_756_771_200_000;
pub const MINUTE: Millis = 60_000;

/// A world replayed into a store from bucket offset `next`.
pub struct DemoReplay {
    pub world: World,
    pub store: Store,
    binding: SourceBinding,
    slices: Vec<SliceMap<'static>>,
    names: Vec<CowStr<'static>>,
    /// Offset (from the anchor) of the next bucket to feed.
    pub next: i64,
}

impl DemoReplay {
    /// A store holding `ring_minutes` of buckets, fed from offset `start`.
    pub fn new(scenario: Scenario, seed: u64, start: i64, ring_minutes: i64) -> Self {
        let world = World::new(scenario, seed, ANCHOR);
        let hello = Hello {
            protocol: 1,
            server: "offline".into(),
            epoch: "e".into(),
            dimensions: DIMENSIONS.iter().map(|d| (*d).to_owned()).collect(),
            signals: world.signals().iter().map(|s| s.spec.clone()).collect(),
            bucket_ms: world.bucket_ms(),
            history_ms: ring_minutes * MINUTE,
            now: world.bucket_ts(start),
            features: vec![],
        };
        let mut store = Store::new();
        let binding = store.bind_source(0, &hello).expect("a valid hello");
        let slices = world.leaves().iter().map(|l| l.slice()).collect();
        let names = world
            .signals()
            .iter()
            .map(|s| CowStr::from(s.spec.name.clone()))
            .collect();
        DemoReplay {
            world,
            store,
            binding,
            slices,
            names,
            next: start,
        }
    }

    /// Feeds the next bucket, then moves the clock past it so that it is
    /// complete for the monitor.
    pub fn feed_bucket(&mut self) {
        let ts = self.world.bucket_ts(self.next);
        self.store.set_now(ts);
        for (leaf, slice) in self.world.leaf_ids().zip(&self.slices) {
            for (s, name) in self.names.iter().enumerate() {
                let Some(v) = self.world.sample(leaf, qualtop::demo::DemoSignalId(s), ts) else {
                    continue;
                };
                let (good, total, value) = match v {
                    BucketValue::Ratio { good, total } => {
                        (Some(i64::from(good)), Some(i64::from(total)), None)
                    }
                    BucketValue::Gauge(g) => (None, None, Some(g)),
                };
                let p = Point {
                    slice: slice.clone(),
                    signal: name.clone(),
                    ts,
                    good,
                    total,
                    value,
                };
                // The world only makes valid points.
                let _ = self.store.apply_point(&self.binding, &p);
            }
        }
        self.next += 1;
        self.store.set_now(self.world.bucket_ts(self.next));
    }

    /// Feeds `buckets` buckets, stepping `engine` after each.
    pub fn run(&mut self, engine: &mut DetectionEngine, buckets: i64) {
        for _ in 0..buckets {
            self.feed_bucket();
            engine.step(&self.store, usize::MAX);
        }
    }
}

/// The reference for the engine's step, timed in the same run: the bucket
/// `b` of every slice read and summed for each named signal, in seconds.
#[allow(dead_code)] // the benches' alone (relay_detect, detect_replay)
pub fn plain_pass(store: &Store, signals: &[String], b: i64) -> f64 {
    let start = Instant::now();
    let (mut good, mut total) = (0u64, 0u64);
    for name in signals {
        let Some(sig) = store.signal_by_name(name) else {
            continue;
        };
        for id in store.slices().ids() {
            if let Some(r) = store.ratio(sig, id, b) {
                good += r.good;
                total += r.total;
            }
        }
    }
    std::hint::black_box((good, total));
    start.elapsed().as_secs_f64()
}

/// What the relay's detection costs, measured as `qualtop serve` runs it
/// (the `relay_detect` bench).
#[allow(dead_code)] // the relay_detect bench's alone
pub struct RelayCost {
    /// The replay after its last live bucket.
    pub replay: DemoReplay,
    /// Buckets the first step replayed, and its milliseconds.
    pub replayed: usize,
    pub replay_ms: f64,
    /// Milliseconds of each live bucket's step and publish.
    pub live_ms: Vec<f64>,
}

/// `history` buckets of `scenario` fed and replayed in one step (the
/// relay's window at start), then each of `live` more fed, stepped and
/// published alone; `after_each` sees the replay after each, untimed.
#[allow(dead_code)] // the relay_detect bench's alone
pub fn relay_cost(
    scenario: Scenario,
    history: i64,
    live: usize,
    mut after_each: impl FnMut(&DemoReplay),
) -> RelayCost {
    let mut replay = DemoReplay::new(scenario, 2025, -history, history);
    let mut engine = engine();
    for _ in 0..history {
        replay.feed_bucket();
    }
    let started = Instant::now();
    let replayed = engine.step(&replay.store, usize::MAX);
    let replay_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut live_ms = Vec::with_capacity(live);
    for _ in 0..live {
        replay.feed_bucket();
        let started = Instant::now();
        engine.step(&replay.store, usize::MAX);
        let published = engine.detections(&replay.store);
        live_ms.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(published);
        after_each(&replay);
    }
    RelayCost {
        replay,
        replayed,
        replay_ms,
        live_ms,
    }
}

/// An engine at the default settings.
pub fn engine() -> DetectionEngine {
    DetectionEngine::new(DetectionSettings::default())
}

/// Minutes from the anchor.
pub fn minute(ms: Millis) -> i64 {
    (ms - ANCHOR).div_euclid(MINUTE)
}

/// One line per member of `bug` (signal, scope, how found, onset, end in
/// minutes from the anchor): a failure says what went where.
pub fn member_lines(bug: &qualtop::cli::check_report::ReportedBug) -> String {
    bug.regressions
        .iter()
        .map(|r| {
            format!(
                "\n    {} {:?} by {} onset {} end {:?}",
                r.signal,
                r.slice,
                r.found_by,
                minute(r.onset),
                r.ended_at.map(minute)
            )
        })
        .collect()
}

/// A hello for one quality rate, `golden-qa`, over `dims`, in one-minute
/// buckets: what a store built by hand for the ranking needs.
#[allow(dead_code)] // changes_rank's and the changes_replay bench's
pub fn golden_qa_hello(dims: &[&str], now: Millis, history_ms: Millis) -> Hello {
    Hello {
        protocol: 1,
        server: "fixture".into(),
        epoch: "e".into(),
        dimensions: dims.iter().map(|d| (*d).to_owned()).collect(),
        signals: vec![SignalSpec {
            name: "golden-qa".into(),
            kind: SignalKind::Ratio,
            role: SignalRole::Quality,
            unit: None,
        }],
        bucket_ms: MINUTE,
        history_ms,
        now,
        features: vec![],
    }
}
