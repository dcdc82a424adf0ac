//! The relay at fleet scale: a relay in this process (hubs + its detection
//! task) holding N leaf slices × 6 signals × a 6-hour window of one-minute
//! buckets, at 5,000 and 50,000 leaves. For each size, in its own process
//! (RSS does not shrink between sizes):
//!
//! - relay RSS once the window is full and the detectors caught up, and the
//!   detectors' copy of the window (`qualtop_detection_store_bytes`);
//! - the time from the first bucket into the hubs to the detectors having
//!   tested the whole window (they replay it while it comes in);
//! - per live bucket (the slower of two): putting a bucket of every leaf into the hubs,
//!   the detectors' time to test it, and what one `group_by: [model]`
//!   client costs the hub (its rolled-up points for that bucket);
//! - the reference, measured in the same run: a plain `serde_json::Value`
//!   parse of that bucket's points as push lines (what ingesting it over
//!   `POST /v1/points` would at least cost).
//!
//! The window is put into the hubs directly (as the upstream task does after
//! a range query), not over HTTP: pushing 100 million points would time the
//! HTTP path (`relay_load` measures that), not what the relay holds.
//!
//! Run: `cargo bench --bench relay_scale` (QUALTOP_RELAY_SCALE_LEAVES=5000,50000
//! by default).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qualtop::clock::wall_ms;
use qualtop::protocol::{BucketValue, CowStr, Endpoint, SliceMap, Subscribe};
use qualtop::relay::{self, config::RelayConfig};
use qualtop::server::{Hub, UpdatePoint};
use ratio::{median, rss_mib};

const CHILD: &str = "QUALTOP_RELAY_SCALE_CHILD";
const BUCKET_MS: i64 = 60_000;
const WINDOW: i64 = 360;
/// Live buckets after the window (see `one_size` for why two).
const LIVE: i64 = 2;
/// (name, endpoint, kind): three quality suites and three serving signals.
const SIGNALS: [(&str, &str, &str); 6] = [
    ("golden-qa", "evals", "ratio"),
    ("code-syntax", "evals", "ratio"),
    ("lang-consistency", "evals", "ratio"),
    ("availability", "metrics", "ratio"),
    ("error-free", "metrics", "ratio"),
    ("latency_p99", "metrics", "gauge"),
];

fn main() {
    if let Ok(n) = std::env::var(CHILD) {
        return one_size(n.parse().expect("leaf count"));
    }
    let sizes = std::env::var("QUALTOP_RELAY_SCALE_LEAVES").unwrap_or_else(|_| "5000,50000".into());
    println!(
        "| leaves | window in → tested | relay VmRSS full / after live / VmHWM | detectors' window | per live bucket: into hubs | detectors | one group_by client | Value parse of the bucket | (hubs + detectors) / Value |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        let exe = std::env::current_exe().expect("bench executable");
        let status = std::process::Command::new(exe)
            .env(CHILD, n.to_string())
            .status()
            .expect("run one size");
        assert!(status.success(), "size {n} failed");
    }
}

fn config(n: usize) -> RelayConfig {
    let mut toml = String::from(
        "bucket = \"1m\"\nhistory = \"6h\"\ndimensions = [\"model\", \"platform\", \"region\", \"hardware\"]\n",
    );
    for (name, endpoint, kind) in SIGNALS {
        let role = match (endpoint, kind) {
            ("evals", _) => "quality",
            (_, "gauge") => "latency",
            _ => "availability",
        };
        toml.push_str(&format!(
            "\n[[signals]]\nname = \"{name}\"\nkind = \"{kind}\"\nrole = \"{role}\"\nendpoint = \"{endpoint}\"\n"
        ));
    }
    toml.push_str(&format!("\n[limits]\nmax_slices = {}\n", n + 100));
    let mut cfg = RelayConfig::parse(&toml, std::path::Path::new("relay_scale.toml"), &|_| None)
        .expect("bench config");
    cfg.listen = "127.0.0.1:0".parse().expect("address");
    cfg
}

/// Leaf `i` of the fleet: 5 hardware × 12 regions × 4 platforms × as many models as it takes.
fn leaf(i: usize) -> SliceMap<'static> {
    let dims = [
        ("model", format!("m{}", i / 240)),
        ("platform", format!("p{}", (i / 60) % 4)),
        ("region", format!("r{}", (i / 5) % 12)),
        ("hardware", format!("h{}", i % 5)),
    ];
    SliceMap(
        dims.into_iter()
            .map(|(k, v)| (CowStr::from(k.to_string()), CowStr::from(v)))
            .collect(),
    )
}

/// A deterministic, healthy bucket: ~60 cases a minute, ~97 % good.
fn value(kind: &str, i: usize, b: i64, s: usize) -> BucketValue {
    let h = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b as u64 * 31 + s as u64 * 7);
    if kind == "gauge" {
        return BucketValue::Gauge(400.0 + (h % 200) as f64);
    }
    let total = 50 + (h % 20) as u32;
    BucketValue::Ratio {
        good: total - (h >> 8) as u32 % 4,
        total,
    }
}

/// A signal of a hub: its index in SIGNALS, its shared name, its kind.
type HubSignal = (usize, Arc<str>, &'static str);

struct Fleet {
    hubs: Vec<(Arc<Hub>, Vec<HubSignal>)>,
    leaves: Vec<Vec<Arc<SliceMap<'static>>>>,
}

fn fleet(relay: &relay::RunningRelay, n: usize) -> Fleet {
    let mut hubs = Vec::new();
    let mut leaves = Vec::new();
    for (endpoint, name) in [(Endpoint::Evals, "evals"), (Endpoint::Metrics, "metrics")] {
        let hub = Arc::clone(relay.hub(endpoint).expect("hub"));
        let signals = SIGNALS
            .iter()
            .enumerate()
            .filter(|(_, s)| s.1 == name)
            .map(|(k, s)| (k, hub.signal(s.0).expect("declared signal"), s.2))
            .collect();
        leaves.push((0..n).map(|i| hub.intern(leaf(i))).collect());
        hubs.push((hub, signals));
    }
    Fleet { hubs, leaves }
}

/// Puts bucket `b` (its start `ts`) of every leaf into the hubs; returns
/// the evals hub's points (what a subscriber there is sent).
fn publish(f: &Fleet, b: i64, ts: i64) -> Vec<UpdatePoint> {
    let mut first_hub = Vec::new();
    for (h, ((hub, signals), leaves)) in f.hubs.iter().zip(&f.leaves).enumerate() {
        for (k, signal, kind) in signals {
            let points: Vec<UpdatePoint> = leaves
                .iter()
                .enumerate()
                .map(|(i, slice)| UpdatePoint {
                    slice: Arc::clone(slice),
                    signal: Arc::clone(signal),
                    ts,
                    value: value(kind, i, b, *k),
                })
                .collect();
            if h == 0 {
                first_hub.extend(points.iter().cloned());
            }
            hub.publish(points);
        }
    }
    first_hub
}

/// Leaves per backfill publish: a chunk of the fleet's whole window, as the
/// upstream's first round publishes a range query's answer.
const BACKFILL_LEAVES: usize = 2_000;

/// Puts buckets `first..last` of every leaf into the hubs the way the
/// upstream backfills: per (endpoint, signal), every bucket of a chunk of
/// leaves at once. (Bucket by bucket, the detectors would read the first
/// buckets' endpoints as silent and test ahead of the data.)
fn backfill(f: &Fleet, first: i64, last: i64) {
    for ((hub, signals), leaves) in f.hubs.iter().zip(&f.leaves) {
        for (k, signal, kind) in signals {
            for (c, chunk) in leaves.chunks(BACKFILL_LEAVES).enumerate() {
                let mut points = Vec::with_capacity(chunk.len() * (last - first) as usize);
                for (j, slice) in chunk.iter().enumerate() {
                    let i = c * BACKFILL_LEAVES + j;
                    for b in first..last {
                        points.push(UpdatePoint {
                            slice: Arc::clone(slice),
                            signal: Arc::clone(signal),
                            ts: b * BUCKET_MS,
                            value: value(kind, i, b, *k),
                        });
                    }
                }
                hub.publish(points);
            }
        }
    }
}

/// The same bucket as `POST /v1/points` lines, parsed as `serde_json::Value`.
fn value_parse(n: usize, b: i64, ts: i64) -> Duration {
    let mut lines = Vec::with_capacity(n * SIGNALS.len());
    for i in 0..n {
        let slice = serde_json::to_string(&leaf(i)).expect("slice json");
        for (k, (name, _, kind)) in SIGNALS.iter().enumerate() {
            lines.push(match value(kind, i, b, k) {
                BucketValue::Gauge(v) => {
                    format!(r#"{{"slice":{slice},"signal":"{name}","ts":{ts},"value":{v}}}"#)
                }
                BucketValue::Ratio { good, total } => format!(
                    r#"{{"slice":{slice},"signal":"{name}","ts":{ts},"good":{good},"total":{total}}}"#
                ),
            });
        }
    }
    let runs = (0..5)
        .map(|_| {
            let started = Instant::now();
            for l in &lines {
                let v: serde_json::Value = serde_json::from_str(l).expect("line parses");
                std::hint::black_box(v);
            }
            started.elapsed().as_secs_f64()
        })
        .collect();
    Duration::from_secs_f64(median(runs))
}

/// Waits until the detectors tested bucket start `ts`; returns their busy time then.
async fn tested(relay: &relay::RunningRelay, ts: i64) -> Duration {
    loop {
        let p = relay.findings().snapshot();
        if p.through.is_some_and(|t| t >= ts) {
            return p.busy;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn one_size(n: usize) {
    qualtop::tls::install_crypto_provider();
    let relay = relay::start(config(n)).await.expect("relay");
    let f = fleet(&relay, n);
    // The window ends LIVE buckets before the newest due one; the live
    // buckets then come in one at a time, each tested as soon as it is in.
    // (An endpoint more than 3 buckets behind the clock reads as silent, so
    // at most 2 buckets can be held back this way.)
    let due = wall_ms() / BUCKET_MS - 1;
    let now_b = due - LIVE + 1;
    let first = now_b - WINDOW;
    let began = Instant::now();
    backfill(&f, first, now_b);
    tested(&relay, (now_b - 1) * BUCKET_MS).await;
    let in_and_tested = began.elapsed();
    let (filled_rss, _) = rss_mib();
    if std::env::var("QUALTOP_RELAY_SCALE_DEBUG").is_ok() {
        let p = relay.findings().snapshot();
        eprintln!(
            "through {:?} (window {first}..{now_b}) buckets {} busy {:?} bytes {} resyncs {}",
            p.through.map(|t| t / BUCKET_MS),
            p.buckets,
            p.busy,
            p.store_bytes,
            p.resyncs
        );
    }

    let by_model = Subscribe {
        group_by: Some(vec!["model".into()]),
        ..Subscribe::default()
    };
    let (mut into_hubs, mut detect, mut rollup) = (Vec::new(), Vec::new(), Vec::new());
    let mut busy = relay.findings().snapshot().busy;
    for b in now_b..now_b + LIVE {
        let started = Instant::now();
        let points = publish(&f, b, b * BUCKET_MS);
        into_hubs.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let (hub, _) = &f.hubs[0];
        std::hint::black_box(hub.rolled_points(&by_model, &points));
        rollup.push(started.elapsed().as_secs_f64());
        let now_busy = tested(&relay, b * BUCKET_MS).await;
        detect.push((now_busy - busy).as_secs_f64());
        busy = now_busy;
    }
    let (rss, hwm) = rss_mib();
    let store = relay.findings().snapshot().store_bytes as f64 / (1 << 20) as f64;
    let reference = value_parse(n, now_b, now_b * BUCKET_MS).as_secs_f64();
    let (h, d) = (median(into_hubs), median(detect));
    println!(
        "| {n} | {:.1} s | {filled_rss:.0} / {rss:.0} / {hwm:.0} MiB | {store:.0} MiB | {:.0} ms | {:.0} ms | {:.1} ms | {:.0} ms | {:.2}× |",
        in_and_tested.as_secs_f64(),
        h * 1e3,
        d * 1e3,
        median(rollup) * 1e3,
        reference * 1e3,
        (h + d) / reference,
    );
    relay.shutdown().await;
}
