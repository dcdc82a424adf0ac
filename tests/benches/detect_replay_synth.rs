//! The detector alone on synthetic series with known truth: delay against
//! the information limit by (size, shape), onset error for steps, and false
//! alarms per detector-day on null runs. Fixed seeds, so two runs print the
//! same table. Part of `cargo bench --bench detect_replay`
//! (`DETECT_REPLAY_SYNTH_ONLY=1` prints only this part).

use qualtop::detect::synthetic::{
    DropShape, SeriesSpec, information_limit, ratio_buckets, shaped_series,
};
use qualtop::detect::{Bucket, DetectorConfig, MIN_PART, REACH_MS, RatioDetector, earliest_onset};
use qualtop::protocol::Millis;
use qualtop::store::Ratio;

const MINUTE: Millis = 60_000;
const CHANGE: usize = 600;
const RUNS: u64 = 40;
/// A detector-day of 1-minute buckets.
const DAY: usize = 1440;

/// A population a detector watches: healthy rate, trials per bucket, φ.
struct Setting {
    name: &'static str,
    rate: f64,
    total: u64,
    dispersion: f64,
}

const SETTINGS: [Setting; 3] = [
    Setting {
        name: "60 trials, φ 1.5",
        rate: 0.9,
        total: 60,
        dispersion: 1.5,
    },
    Setting {
        name: "300 trials, φ 2",
        rate: 0.9,
        total: 300,
        dispersion: 2.0,
    },
    Setting {
        name: "3000 trials, φ 3",
        rate: 0.9,
        total: 3000,
        dispersion: 3.0,
    },
];

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// One alarm after the change: its delay in buckets (the alarm's counted),
/// the detector's onset error and the error of the onset the surfaces
/// show (`detect::earliest_onset` on the series from `REACH_MS` before the
/// detector's onset through the alarm, as the engine dates a regression),
/// in buckets.
struct Alarm {
    delay: f64,
    onset: i64,
    shown: i64,
}

/// The first alarm, or `None` when nothing fired after the change; `Err`
/// for an alarm before it.
fn first_alarm(
    cfg: DetectorConfig,
    series: &[(Millis, Option<Ratio>)],
) -> Result<Option<Alarm>, ()> {
    let mut d = RatioDetector::new(cfg);
    for (i, &(ts, r)) in series.iter().enumerate() {
        d.push(ts, r);
        if let Some(a) = d.active() {
            if i < CHANGE {
                return Err(());
            }
            let window: Vec<Bucket> = ratio_buckets(&series[..=i])
                .into_iter()
                .filter(|b| b.at >= a.onset - REACH_MS)
                .collect();
            let shown = earliest_onset(a.onset, &window, MIN_PART);
            return Ok(Some(Alarm {
                delay: (i - CHANGE + 1) as f64,
                onset: a.onset / MINUTE - CHANGE as i64,
                shown: shown / MINUTE - CHANGE as i64,
            }));
        }
    }
    Ok(None)
}

/// `median (within ±2 / of)` of absolute onset errors.
fn onset_text(errors: &[i64]) -> String {
    let mut abs: Vec<f64> = errors.iter().map(|o| o.abs() as f64).collect();
    let within = abs.iter().filter(|&&e| e <= 2.0).count();
    abs.sort_by(f64::total_cmp);
    format!(
        "{:.0} ({within}/{})",
        median(abs).unwrap_or(f64::NAN),
        errors.len()
    )
}

/// Delay (buckets, the alarm's counted) of the test that knows everything:
/// a CUSUM from the change on, at the true healthy rate and φ, tuned to the
/// rate a test can know at each bucket (the limit's own assumptions), with
/// threshold ln ARL₀. It works on whole buckets, as every detector here
/// does, so its median is the best a median can be: a limit of 0.9 is met in
/// one bucket only when that bucket happens to carry enough.
fn oracle_delay(
    spec: &SeriesSpec,
    shape: DropShape,
    h: f64,
    series: &[(Millis, Option<Ratio>)],
) -> Option<f64> {
    let p0 = spec.rate;
    let drop = spec.rate - spec.changed_rate;
    let mut s = 0.0f64;
    for (k, &(_, r)) in series.iter().skip(CHANGE).enumerate() {
        let Some(r) = r else { continue };
        let p1 = p0 - drop * shape.testable_level(k);
        if p1 >= p0 {
            continue;
        }
        let (g, t) = (r.good.min(r.total) as f64, r.total as f64);
        let llr = (g * (p1 / p0).ln() + (t - g) * ((1.0 - p1) / (1.0 - p0)).ln())
            / spec.dispersion.max(1.0);
        s = (s + llr).max(0.0);
        if s >= h {
            return Some((k + 1) as f64);
        }
    }
    None
}

/// The onset a test that knew the healthy and the dropped rate (and φ)
/// would estimate from the same buckets the detector had when it fired
/// (`series[..=alarm]`): the maximum-likelihood split of a known step, the
/// argmax over τ of the log-likelihood ratio of the buckets from τ on.
/// Its error is what the data allow; a detector's onset that misses ±2
/// buckets where this one misses too is at the information limit, not
/// behind it. In buckets from the change.
fn oracle_onset(spec: &SeriesSpec, series: &[(Millis, Option<Ratio>)], alarm: usize) -> i64 {
    let (p0, p1) = (spec.rate, spec.changed_rate);
    let phi = spec.dispersion.max(1.0);
    let (mut sum, mut best, mut at) = (0.0f64, f64::NEG_INFINITY, alarm);
    for k in (0..=alarm.min(series.len() - 1)).rev() {
        if let Some(r) = series[k].1 {
            let (g, t) = (r.good.min(r.total) as f64, r.total as f64);
            sum += (g * (p1 / p0).ln() + (t - g) * ((1.0 - p1) / (1.0 - p0)).ln()) / phi;
        }
        if sum > best {
            (best, at) = (sum, k);
        }
    }
    at as i64 - CHANGE as i64
}

/// Prints the table; returns the worst ratio of median delay to limit.
pub fn delay_table(cfg: DetectorConfig) -> f64 {
    let shapes = [
        DropShape::Step,
        DropShape::Ramp { buckets: 30 },
        DropShape::Intermittent { on: 12, period: 20 },
    ];
    let sizes = [1.0, 2.0, 3.0, 5.0, 10.0];
    println!(
        "\n## Synthetic drops: delay against the information limit ({RUNS} seeded runs per row, ARL₀ {:.0} buckets, smallest change {:.0} pt)\n",
        cfg.arl0_buckets,
        cfg.min_shift * 100.0
    );
    println!(
        "| setting | shape | size | limit | oracle median | median delay | ratio | p90 delay | missed/early | detector's onset error median (within ±2) | shown onset error median (within ±2) | knowing onset error median (within ±2) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for s in &SETTINGS {
        for shape in shapes {
            for size in sizes {
                let shift = size * cfg.min_shift;
                let spec =
                    SeriesSpec::healthy(s.rate, s.total, s.dispersion).with_drop(CHANGE, shift);
                let limit = information_limit(&spec, shape, cfg.arl0_buckets);
                let len = CHANGE + (limit * 4.0).ceil() as usize + 200;
                let (mut delays, mut onsets, mut shown) = (Vec::new(), Vec::new(), Vec::new());
                let mut knowing = Vec::new();
                let (mut missed, mut early) = (0, 0);
                let mut oracle = Vec::new();
                for seed in 0..RUNS {
                    let series = shaped_series(&spec, shape, len, seed);
                    oracle.push(
                        oracle_delay(&spec, shape, cfg.arl0_buckets.max(2.0).ln(), &series)
                            .unwrap_or(f64::INFINITY),
                    );
                    match first_alarm(cfg, &series) {
                        Ok(Some(a)) => {
                            let alarm = CHANGE + a.delay as usize - 1;
                            knowing.push(oracle_onset(&spec, &series, alarm));
                            delays.push(a.delay);
                            onsets.push(a.onset);
                            shown.push(a.shown);
                        }
                        Ok(None) => missed += 1,
                        Err(()) => early += 1,
                    }
                }
                let med = median(delays.clone());
                let ratio = med.map(|m| m / limit.max(1.0));
                if let Some(r) = ratio {
                    worst = worst.max(r);
                }
                let mut sorted = delays.clone();
                sorted.sort_by(f64::total_cmp);
                let p90 = sorted.get(sorted.len() * 9 / 10).copied();
                let (onset_col, shown_col, knowing_col) =
                    if shape == DropShape::Step && !onsets.is_empty() {
                        (
                            onset_text(&onsets),
                            onset_text(&shown),
                            onset_text(&knowing),
                        )
                    } else {
                        ("-".to_owned(), "-".to_owned(), "-".to_owned())
                    };
                println!(
                    "| {} | {} | {size:.0}× | {limit:.1} | {} | {} | {} | {} | {missed}/{early} | {onset_col} | {shown_col} | {knowing_col} |",
                    s.name,
                    shape.name(),
                    median(oracle).map_or("-".to_owned(), |m| format!("{m:.0}")),
                    med.map_or("-".to_owned(), |m| format!("{m:.0}")),
                    ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
                    p90.map_or("-".to_owned(), |m| format!("{m:.0}")),
                );
            }
        }
    }
    println!("\nworst ratio of median delay to limit (never below one bucket): {worst:.2}");
    worst
}

/// False alarms per detector-day on healthy series (the detector re-arms
/// after each regression ends), for `series` runs of `days` days.
pub fn false_alarm_table(cfg: DetectorConfig, series: u64, days: usize) {
    println!(
        "\n## Synthetic null runs: false alarms per detector-day ({series} seeded series × {days} days each; target 1/{:.0} = {:.4})\n",
        cfg.arl0_buckets / DAY as f64,
        DAY as f64 / cfg.arl0_buckets
    );
    println!("| setting | φ | alarms | detector-days | per detector-day | windows ≤ 5 buckets |");
    println!("|---|---|---|---|---|---|");
    for s in &SETTINGS {
        let mut phis = vec![1.0, s.dispersion, 3.0];
        phis.dedup();
        for phi in phis {
            let spec = SeriesSpec::healthy(s.rate, s.total, phi);
            let (mut alarms, mut short) = (0usize, 0usize);
            for seed in 0..series {
                let data = shaped_series(&spec, DropShape::Step, days * DAY, 50_000 + seed);
                let mut d = RatioDetector::new(cfg);
                for &(ts, r) in &data {
                    let before = d.active().is_some();
                    d.push(ts, r);
                    if let (false, Some(a)) = (before, d.active()) {
                        alarms += 1;
                        short += usize::from(a.detected_at - a.onset < 5 * MINUTE);
                    }
                }
            }
            let det_days = (series as usize * days) as f64;
            println!(
                "| {} | {phi} | {alarms} | {det_days:.0} | {:.4} | {short} |",
                s.name,
                alarms as f64 / det_days
            );
        }
    }
}
