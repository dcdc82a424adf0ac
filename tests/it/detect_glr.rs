//! The GLR detector is fast for every size of drop: a step of 1× to 10× the
//! smallest change, a ramp and an intermittent fault are each caught within
//! 1.25× their information limit (never below one bucket), a step's onset
//! lands within two buckets of the truth, and healthy data raises no more
//! false alarms than configured. Fixed seeds; margins wide enough that a
//! small change of the estimator does not flip them.

use qualtop::detect::synthetic::{DropShape, SeriesSpec, information_limit, shaped_series};
use qualtop::detect::{DetectorConfig, RatioDetector};

const MINUTE: i64 = 60_000;
const CHANGE: usize = 600;

/// Per seed: (delay in buckets counting the alarm bucket, onset error),
/// or `None` when nothing fired within `len`. Panics on an alarm before the
/// change.
fn runs(spec: SeriesSpec, shape: DropShape, len: usize, seeds: u64) -> Vec<Option<(f64, i64)>> {
    let cfg = DetectorConfig::default();
    (0..seeds)
        .map(|seed| {
            let mut d = RatioDetector::new(cfg);
            for (i, (ts, r)) in shaped_series(&spec, shape, len, seed)
                .into_iter()
                .enumerate()
            {
                d.push(ts, r);
                if let Some(a) = d.active() {
                    assert!(i >= CHANGE, "seed {seed}: alarm {i} before the change");
                    return Some(((i - CHANGE + 1) as f64, a.onset / MINUTE - CHANGE as i64));
                }
            }
            None
        })
        .collect()
}

/// Delays, a run that found nothing counted as never.
fn delays(runs: &[Option<(f64, i64)>]) -> Vec<f64> {
    runs.iter()
        .map(|r| r.map_or(f64::INFINITY, |r| r.0))
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median delay over the limit, the limit counted as at least one bucket.
fn ratio(spec: SeriesSpec, shape: DropShape, seeds: u64) -> f64 {
    let limit = information_limit(&spec, shape, DetectorConfig::default().arl0_buckets);
    let len = CHANGE + (limit * 4.0) as usize + 100;
    median(&delays(&runs(spec, shape, len, seeds))) / limit.max(1.0)
}

fn group(shift_points: f64) -> SeriesSpec {
    SeriesSpec::healthy(0.9, 300, 2.0).with_drop(CHANGE, shift_points / 100.0)
}

#[test]
fn ten_times_the_smallest_step_is_caught_within_its_information_limit() {
    // Limit ln(43 200) / (300 · KL(0.80‖0.90) / 2) ≈ 1.6 buckets; the CUSUM
    // tuned to one point took 8 (5×).
    let r = ratio(group(10.0), DropShape::Step, 20);
    assert!(r <= 1.25, "median delay / limit {r:.2}");
}

#[test]
fn steps_from_one_to_five_times_the_smallest_change_are_caught_within_their_limits() {
    // The CUSUM tuned to the smallest change took 1.4–2.8× at 2–5×. The
    // bench's 40 seeds: 5 points is 7 buckets against a 5.8-bucket limit.
    for points in [1.0, 2.0, 3.0, 5.0] {
        let r = ratio(group(points), DropShape::Step, 40);
        assert!(r <= 1.25, "{points} points: median delay / limit {r:.2}");
    }
}

#[test]
fn a_ramp_and_an_intermittent_fault_are_caught_within_their_limits() {
    for shape in [
        DropShape::Ramp { buckets: 30 },
        DropShape::Intermittent { on: 12, period: 20 },
    ] {
        let r = ratio(group(5.0), shape, 20);
        assert!(r <= 1.25, "{shape:?}: median delay / limit {r:.2}");
    }
}

#[test]
fn a_step_onset_lands_within_two_buckets_of_the_truth() {
    for points in [5.0, 10.0] {
        let errors: Vec<i64> = runs(group(points), DropShape::Step, CHANGE + 200, 20)
            .iter()
            .map(|r| r.map_or(i64::MAX, |r| r.1))
            .collect();
        let within = errors.iter().filter(|e| e.abs() <= 2).count();
        // The bench: 37 and 39 of 40 within ±2 buckets.
        assert!(within >= 17, "{points} points: {errors:?}");
    }
}

#[test]
fn a_ten_point_step_on_a_busy_detector_is_caught_in_its_first_bucket() {
    // 3 000 trials a bucket at φ 3: ~48 nats in one bucket (limit 0.2).
    let spec = SeriesSpec::healthy(0.9, 3000, 3.0).with_drop(CHANGE, 0.10);
    let delays = delays(&runs(spec, DropShape::Step, CHANGE + 50, 20));
    assert!(delays.iter().all(|&d| d <= 1.0), "{delays:?}");
}

/// Per seed, the delay of a 5-point step at 3 000 trials and φ 3 (~12 nats
/// in one bucket against ln ARL₀ = 10.7, limit 0.9 buckets).
fn busy_five_point_delays(cfg: DetectorConfig) -> Vec<f64> {
    let spec = SeriesSpec::healthy(0.9, 3000, 3.0).with_drop(CHANGE, 0.05);
    (0..40)
        .map(|seed| {
            let mut d = RatioDetector::new(cfg);
            for (i, (ts, r)) in shaped_series(&spec, DropShape::Step, CHANGE + 50, seed)
                .into_iter()
                .enumerate()
            {
                d.push(ts, r);
                if d.active().is_some() {
                    assert!(i >= CHANGE, "seed {seed}: alarm {i} before the change");
                    return (i - CHANGE + 1) as f64;
                }
            }
            f64::INFINITY
        })
        .collect()
}

#[test]
fn a_five_point_step_on_a_busy_detector_is_caught_within_two_buckets() {
    // The short-window margin (4 nats on a one-bucket window) that keeps
    // one-bucket blips from alarming costs it its first bucket in most runs
    // (the test that knew the drop alarms there in about 6 of 10); the
    // CUSUM tuned to 1 point took 3.
    let delays = busy_five_point_delays(DetectorConfig::default());
    assert!(delays.iter().all(|&d| d <= 3.0), "{delays:?}");
    assert!(median(&delays) <= 2.0, "{delays:?}");
}

#[test]
fn a_margin_scaled_by_skew_keeps_more_first_buckets_on_a_near_normal_track() {
    // Opt-in: the track's excess skew is 0.09, so a one-bucket window pays
    // 1.2 nats, not 4.
    let first = |cfg| {
        busy_five_point_delays(cfg)
            .iter()
            .filter(|&&d| d <= 1.0)
            .count()
    };
    let full = first(DetectorConfig::default());
    let scaled = first(DetectorConfig {
        glr_skew_ref: 0.3,
        ..DetectorConfig::default()
    });
    assert!(
        scaled >= full + 6,
        "first-bucket alarms: {scaled} scaled, {full} in full"
    );
}

#[test]
fn a_one_bucket_blip_does_not_alarm_but_a_sustained_drop_of_the_same_size_does() {
    // One bucket at 76 % against 90 % (300 trials, φ 2): ~12 nats, over
    // ln ARL₀ = 10.7 but under it plus the 4-nat one-bucket margin; held
    // for two buckets it is a regression.
    let cfg = DetectorConfig::default();
    let spec = SeriesSpec::healthy(0.9, 300, 2.0);
    let healthy = shaped_series(&spec, DropShape::Step, CHANGE, 11);
    let at = |i: usize| i as i64 * MINUTE;
    for (held, alarms) in [(1usize, false), (2, true)] {
        let mut d = RatioDetector::new(cfg);
        for &(ts, r) in &healthy {
            d.push(ts, r);
        }
        for k in 0..held {
            d.push(at(CHANGE + k), Some(qualtop::store::Ratio::new(228, 300)));
        }
        assert_eq!(d.active().is_some(), alarms, "held {held} buckets");
    }
}

#[test]
fn leaf_detectors_run_the_cusum_alone() {
    // A leaf's fast alarm would fold a wide regression into one slice.
    let m = qualtop::detect::DetectionSettings::default().monitor_config(MINUTE);
    assert!(m.detector.glr);
    assert!(!m.leaf_detector.glr);
}

#[test]
fn null_runs_raise_no_more_false_alarms_than_configured() {
    // ARL₀ 2 000 buckets: 400 000 healthy buckets hold ~200 alarms at target.
    let cfg = DetectorConfig {
        arl0_buckets: 2000.0,
        ..DetectorConfig::default()
    };
    for phi in [1.0, 3.0] {
        let spec = SeriesSpec::healthy(0.9, 300, phi);
        let mut alarms = 0;
        for seed in 0..40 {
            let mut d = RatioDetector::new(cfg);
            for (ts, r) in shaped_series(&spec, DropShape::Step, 10_000, 7000 + seed) {
                let before = d.active().is_some();
                d.push(ts, r);
                alarms += usize::from(!before && d.active().is_some());
            }
        }
        let rate = alarms as f64 / 400_000.0;
        assert!(
            rate <= 1.0 / 2000.0,
            "φ {phi}: false alarms per bucket {rate:.2e}"
        );
    }
}
