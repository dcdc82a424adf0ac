//! Detector benchmark on synthetic data (`cargo bench --bench detect`):
//! - delay in buckets to detect a drop, CUSUM vs the information limit
//!   log(ARL₀)/KL and vs a static alert (5 buckets below baseline − 5 pts);
//! - false alarms per slice-day on healthy overdispersed data;
//! - cost of one monitor update over 10 000 slices, next to a reference
//!   timed in the same run: a plain pass reading the same bucket of every
//!   slice from the store and summing good/total.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::hint::black_box;
use std::time::Instant;

use qualtop::detect::synthetic::{SeriesSpec, ratio_series};
use qualtop::detect::{
    DetectorConfig, Monitor, MonitorConfig, RatioDetector, ThresholdRule, bernoulli_kl,
};
use qualtop::protocol::{CowStr, Hello, Point, SignalKind, SignalRole, SignalSpec, SliceMap};
use qualtop::store::{Ratio, Store};

const DAY: usize = 1440;

use ratio::median;

/// The reference: the bucket at `ts` of every slice read and summed, in ms.
fn plain_pass(store: &Store, ts: i64) -> f64 {
    let start = Instant::now();
    let (mut good, mut total) = (0u64, 0u64);
    if let Some(sig) = store.signal_by_name("quality") {
        let bucket = store.bucket_of(ts);
        for id in store.slices().ids() {
            if let Some(r) = store.ratio(sig, id, bucket) {
                good += r.good;
                total += r.total;
            }
        }
    }
    black_box((good, total));
    start.elapsed().as_secs_f64() * 1000.0
}

/// Buckets after `change` until the first alarm (None: never, within the series).
fn cusum_delay(cfg: DetectorConfig, series: &[(i64, Option<Ratio>)], change: usize) -> Option<f64> {
    let mut d = RatioDetector::new(cfg);
    for (i, &(ts, r)) in series.iter().enumerate() {
        d.push(ts, r);
        if d.active().is_some() {
            return (i >= change).then(|| (i - change) as f64);
        }
    }
    None
}

/// The classic static alert: rate below baseline − 5 points for 5 buckets.
fn static_alarms(series: &[(i64, Option<Ratio>)], baseline: f64) -> Vec<usize> {
    let mut run = 0;
    let mut out = Vec::new();
    for (i, (_, r)) in series.iter().enumerate() {
        let low = r
            .and_then(|r| r.rate())
            .is_some_and(|p| p < baseline - 0.05);
        run = if low { run + 1 } else { 0 };
        if run == 5 {
            out.push(i);
        }
    }
    out
}

fn delays() {
    let cfg = DetectorConfig::default();
    let (p0, n, phi, change, len, runs) = (0.9, 300u64, 2.0, 1000, 4000, 40);
    println!(
        "delay to detect a drop (p0 {p0}, {n} trials/bucket, φ {phi}, ARL₀ {} buckets, {runs} runs)",
        cfg.arl0_buckets
    );
    println!(
        "{:>6} {:>12} {:>14} {:>14} {:>10} {:>16}",
        "drop", "limit", "cusum median", "missed/early", "siegmund", "static median"
    );
    for shift in [0.01, 0.02, 0.03, 0.05, 0.08] {
        let kl = n as f64 * bernoulli_kl(p0 - shift, p0) / phi;
        let limit = cfg.arl0_buckets.ln() / kl;
        let siegmund = DetectorConfig {
            threshold_rule: ThresholdRule::Siegmund,
            ..cfg
        };
        let (mut c, mut s, mut st) = (Vec::new(), Vec::new(), Vec::new());
        let mut missed = 0;
        for seed in 0..runs {
            let spec = SeriesSpec::healthy(p0, n, phi).with_drop(change, shift);
            let series = ratio_series(&spec, len, seed);
            match cusum_delay(cfg, &series, change) {
                Some(d) => c.push(d),
                None => missed += 1,
            }
            s.extend(cusum_delay(siegmund, &series, change));
            if let Some(&i) = static_alarms(&series, p0).iter().find(|&&i| i >= change) {
                st.push((i - change) as f64);
            }
        }
        let fmt = |v: &Vec<f64>| {
            if v.is_empty() {
                "never".to_owned()
            } else {
                format!("{:.0} ({}/{runs})", median(v.clone()), v.len())
            }
        };
        println!(
            "{:>5.0}pt {:>12.0} {:>14} {:>14} {:>10} {:>16}",
            shift * 100.0,
            limit,
            fmt(&c),
            missed,
            fmt(&s),
            fmt(&st)
        );
    }
}

fn false_alarms() {
    let cfg = DetectorConfig::default();
    let (days, slices) = (3, 100);
    println!(
        "\nfalse alarms per slice-day on healthy data ({slices} slices × {days} days, p0 0.9, 300 trials/bucket; target {:.3})",
        1.0 / 30.0
    );
    println!(
        "{:>5} {:>12} {:>14} {:>12}",
        "φ", "cusum", "naive binomial", "static"
    );
    for phi in [1.0, 2.0, 3.0, 5.0] {
        let (mut cusum, mut naive, mut stat) = (0usize, 0usize, 0usize);
        for s in 0..slices {
            let series = ratio_series(&SeriesSpec::healthy(0.9, 300, phi), days * DAY, 50_000 + s);
            let count = |cfg: DetectorConfig| {
                let mut d = RatioDetector::new(cfg);
                let mut alarms = 0;
                for &(ts, r) in &series {
                    let before = d.active().is_some();
                    d.push(ts, r);
                    alarms += usize::from(!before && d.active().is_some());
                }
                alarms
            };
            cusum += count(cfg);
            naive += count(DetectorConfig {
                estimate_dispersion: false,
                ..cfg
            });
            stat += static_alarms(&series, 0.9).len();
        }
        let per = |x: usize| x as f64 / (slices as usize * days) as f64;
        println!(
            "{phi:>5} {:>12.4} {:>14.4} {:>12.4}",
            per(cusum),
            per(naive),
            per(stat)
        );
    }
}

fn monitor_cost() {
    let slices = 10_000usize;
    let hello = Hello {
        protocol: 1,
        server: "bench".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hardware".into(), "region".into()],
        signals: vec![SignalSpec {
            name: "quality".into(),
            kind: SignalKind::Ratio,
            role: SignalRole::Quality,
            unit: None,
        }],
        bucket_ms: 60_000,
        history_ms: 600 * 60_000,
        now: 0,
        features: vec![],
    };
    let mut store = Store::new();
    let binding = store.bind_source(0, &hello).unwrap();
    let mut monitor = Monitor::new(MonitorConfig::for_bucket_ms(60_000));
    let (mut times, mut plain) = (Vec::new(), Vec::new());
    for minute in 0..120i64 {
        store.set_now(minute * 60_000);
        for i in 0..slices {
            let (m, h, r) = (
                format!("m{}", i % 50),
                format!("h{}", (i / 50) % 10),
                format!("r{}", i / 500),
            );
            let p = Point {
                slice: SliceMap::from_pairs([("model", m), ("hardware", h), ("region", r)]),
                signal: CowStr::from("quality"),
                ts: minute * 60_000,
                good: Some(270 + (i as i64 * 7 + minute * 13) % 11),
                total: Some(300),
                value: None,
            };
            let _ = store.apply_point(&binding, &p);
        }
        let start = Instant::now();
        monitor.update(&store);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        plain.push(plain_pass(&store, minute * 60_000));
    }
    let (took, reference) = (median(times.clone()), median(plain));
    println!(
        "\nmonitor update, {slices} slices × 1 ratio signal (+ groups and fleet): median {took:.2} ms per bucket (of 120), max {:.2} ms, {:.0}x a plain pass reading and summing the same bucket of every slice ({reference:.3} ms; no goal set)",
        times.iter().cloned().fold(0.0, f64::max),
        took / reference
    );
}

fn main() {
    delays();
    false_alarms();
    monitor_cost();
}
