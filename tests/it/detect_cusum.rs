//! The ratio detector on synthetic series with known change points. Fixed
//! seeds; margins wide enough that a small change of the estimator does not
//! flip them, narrow enough that a broken one fails.

use qualtop::detect::synthetic::{SeriesSpec, ratio_series};
use qualtop::detect::{DetectorConfig, RatioDetector, Status, analyze};
use qualtop::store::Ratio;

const MINUTE: i64 = 60_000;

/// Number of alarms raised replaying `series` (the detector re-arms after
/// each regression ends).
fn count_alarms(cfg: DetectorConfig, series: &[(i64, Option<Ratio>)]) -> usize {
    let mut d = RatioDetector::new(cfg);
    let mut alarms = 0;
    for &(ts, r) in series {
        let before = d.active().is_some();
        d.push(ts, r);
        if !before && d.active().is_some() {
            alarms += 1;
        }
    }
    alarms
}

/// False alarms per bucket over `series` healthy series of `len` buckets.
fn healthy_alarm_rate(cfg: DetectorConfig, spec: SeriesSpec, series: usize, len: usize) -> f64 {
    let alarms: usize = (0..series)
        .map(|s| count_alarms(cfg, &ratio_series(&spec, len, 1000 + s as u64)))
        .sum();
    alarms as f64 / (series * len) as f64
}

/// A short ARL₀ so that 200 000 simulated buckets hold ~100 false alarms
/// at target: enough to measure the rate, fast enough for a debug build.
fn short_arl() -> DetectorConfig {
    DetectorConfig {
        arl0_buckets: 2000.0,
        ..DetectorConfig::default()
    }
}

#[test]
fn healthy_binomial_data_stays_within_the_false_alarm_budget() {
    let rate = healthy_alarm_rate(short_arl(), SeriesSpec::healthy(0.9, 300, 1.0), 40, 5000);
    assert!(rate <= 1.5 / 2000.0, "false alarms per bucket {rate:.2e}");
}

#[test]
fn overdispersed_healthy_data_stays_within_the_false_alarm_budget() {
    // φ = 3: the spread of eval pass rates when the case mix changes.
    let rate = healthy_alarm_rate(short_arl(), SeriesSpec::healthy(0.9, 300, 3.0), 40, 5000);
    assert!(rate <= 1.5 / 2000.0, "false alarms per bucket {rate:.2e}");
}

#[test]
fn naive_binomial_cusum_cries_wolf_on_overdispersed_data() {
    let naive = DetectorConfig {
        estimate_dispersion: false,
        ..short_arl()
    };
    let rate = healthy_alarm_rate(naive, SeriesSpec::healthy(0.9, 300, 3.0), 20, 5000);
    assert!(rate >= 3.0 / 2000.0, "false alarms per bucket {rate:.2e}");
}

#[test]
fn one_point_drop_is_found_within_the_information_limit_with_onset_near_the_change() {
    let cfg = DetectorConfig::default();
    let change = 600;
    let mut onset_errors = Vec::new();
    for seed in 0..8 {
        let spec = SeriesSpec::healthy(0.9, 300, 2.0).with_drop(change, 0.01);
        let v = analyze(cfg, &ratio_series(&spec, 1400, seed));
        let r = v
            .regressions
            .first()
            .unwrap_or_else(|| panic!("seed {seed}: a one-point drop went unseen"));
        let onset = r.onset / MINUTE;
        let delay = r.detected_at / MINUTE - change as i64;
        // ln(43 200) / (300 · KL(0.89‖0.90) / 2) ≈ 132 buckets.
        // (The benchmark's median over 40 runs: 162.)
        assert!((1..=400).contains(&delay), "seed {seed}: delay {delay}");
        onset_errors.push((onset - change as i64).abs());
        assert!(
            (r.delta_pp + 1.0).abs() < 0.8,
            "seed {seed}: delta {}",
            r.delta_pp
        );
        assert!(r.active);
    }
    // A one-point drift is faint: the statistic may already be wandering
    // above zero when it starts, so the onset is looser than for big drops.
    // (Median 16 since the baseline stopped trimming skewed tails at 3 SD.)
    onset_errors.sort_unstable();
    assert!(
        onset_errors[onset_errors.len() / 2] <= 20,
        "{onset_errors:?}"
    );
    assert!(onset_errors.iter().all(|&e| e <= 50), "{onset_errors:?}");
}

#[test]
fn five_point_drop_is_found_within_a_few_buckets() {
    let cfg = DetectorConfig::default();
    for seed in 0..8 {
        let spec = SeriesSpec::healthy(0.9, 300, 2.0).with_drop(600, 0.05);
        let v = analyze(cfg, &ratio_series(&spec, 800, seed));
        let r = v.regressions.first().expect("a five-point drop is found");
        let delay = r.detected_at / MINUTE - 600;
        // Limit ln(43 200)/KL ≈ 6 buckets; the benchmark's median: 14.
        assert!((0..=30).contains(&delay), "seed {seed}: delay {delay}");
        // The profile-likelihood onset pins a large drop to within a few buckets.
        assert!(
            (r.onset / MINUTE - 600).abs() <= 5,
            "seed {seed}: onset {}",
            r.onset / MINUTE
        );
    }
}

#[test]
fn gaps_neither_reset_nor_add_evidence() {
    let cfg = DetectorConfig::default();
    let spec = SeriesSpec::healthy(0.9, 300, 2.0).with_drop(400, 0.03);
    let dense = ratio_series(&spec, 700, 3);
    // The same buckets with a gap after each: time doubles, evidence does not.
    let gappy: Vec<(i64, Option<Ratio>)> = dense
        .iter()
        .flat_map(|&(ts, r)| [(2 * ts, r), (2 * ts + MINUTE, None)])
        .collect();
    let a = analyze(cfg, &dense);
    let b = analyze(cfg, &gappy);
    let (ra, rb) = (a.regressions[0], b.regressions[0]);
    assert_eq!(rb.onset, 2 * ra.onset);
    assert_eq!(rb.detected_at, 2 * ra.detected_at);
    assert_eq!(ra.current, rb.current);
}

#[test]
fn a_long_gap_inside_a_regression_keeps_it_open() {
    let cfg = DetectorConfig::default();
    let spec = SeriesSpec::healthy(0.9, 300, 1.0).with_drop(300, 0.05);
    let mut series = ratio_series(&spec, 400, 5);
    let last = series.last().map_or(0, |p| p.0);
    series.extend((1..=500).map(|i| (last + i * MINUTE, None)));
    let v = analyze(cfg, &series);
    assert!(matches!(v.status, Status::Regression(r) if r.active));
}

#[test]
fn regression_ends_when_the_rate_recovers_and_the_baseline_stays_frozen() {
    let cfg = DetectorConfig::default();
    let spec = SeriesSpec::healthy(0.9, 300, 1.0).with_drop(300, 0.05);
    let mut series = ratio_series(&spec, 500, 9);
    let healthy = ratio_series(&SeriesSpec::healthy(0.9, 300, 1.0), 1000, 10);
    series.extend(healthy.iter().map(|&(ts, r)| (ts + 500 * MINUTE, r)));
    let mut d = RatioDetector::new(cfg);
    let mut baseline_in_regression = Vec::new();
    for &(ts, r) in &series {
        if let Status::Regression(_) = d.push(ts, r) {
            baseline_in_regression.push(d.baseline().map(|b| b.rate));
        }
    }
    let ended = d.last_ended().expect("the regression ended");
    assert!(!ended.active);
    let end = ended.ended_at.unwrap() / MINUTE;
    // Ideal recovery takes cap·h / |drift| ≈ 16 / 0.16 = 100 buckets; an
    // unlucky baseline makes the drift back smaller.
    assert!((500..=1200).contains(&end), "ended at bucket {end}");
    assert!(baseline_in_regression.windows(2).all(|w| w[0] == w[1]));
    assert!((d.baseline().unwrap().rate - 0.9).abs() < 0.005);
    assert_eq!(d.status(), Status::Ok);
}

#[test]
fn evidence_shows_as_watch_before_it_is_significant() {
    let cfg = DetectorConfig::default();
    let spec = SeriesSpec::healthy(0.9, 300, 1.0).with_drop(300, 0.02);
    let mut d = RatioDetector::new(cfg);
    let mut first_watch = None;
    let mut first_alarm = None;
    for (ts, r) in ratio_series(&spec, 500, 11) {
        match d.push(ts, r) {
            Status::Watch { .. } if first_watch.is_none() => first_watch = Some(ts),
            Status::Regression(_) if first_alarm.is_none() => first_alarm = Some(ts),
            _ => {}
        }
    }
    let (w, a) = (
        first_watch.expect("a watch"),
        first_alarm.expect("an alarm"),
    );
    assert!(w >= 300 * MINUTE && w < a);
}

#[test]
fn nothing_is_tested_before_enough_history() {
    let cfg = DetectorConfig::default();
    let mut d = RatioDetector::new(cfg);
    // A terrible rate from the start: there is no baseline to fall from.
    for i in 0..cfg.min_reference_buckets as i64 - 1 {
        assert_eq!(
            d.push(i * MINUTE, Some(Ratio::new(10, 300))),
            Status::Learning
        );
    }
}
