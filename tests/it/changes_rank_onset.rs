//! The onset the engine gives a new regression (`detect::earliest_onset`,
//! `dated_in_store`): one change point in its scope's series, kept when
//! it lies before the CUSUM onset and the data believe it.

use qualtop::detect::{Bucket, earliest_onset, step_onset};

const MIN: i64 = 60_000;

/// `rates[i]` good of 1000 per bucket, one bucket a minute from 0.
fn series(rates: &[(usize, f64)]) -> Vec<Bucket> {
    rates
        .iter()
        .flat_map(|&(n, rate)| std::iter::repeat_n(rate, n))
        .enumerate()
        .map(|(i, rate)| Bucket {
            at: i as i64 * MIN,
            good: (rate * 1000.0).round(),
            total: 1000.0,
        })
        .collect()
}

#[test]
fn a_drop_is_dated_at_its_first_worse_bucket() {
    let s = series(&[(120, 0.99), (60, 0.97)]);
    let found = step_onset(&s, 10).expect("a 2-point drop over an hour");
    assert_eq!(found.at, 120 * MIN);
}

#[test]
fn a_flat_series_or_a_recovery_has_no_onset() {
    assert_eq!(step_onset(&series(&[(180, 0.98)]), 10), None);
    // Quality that rises is no regression's start.
    assert_eq!(step_onset(&series(&[(90, 0.97), (90, 0.99)]), 10), None);
    // A drop the noise could make (a tenth of a point for ten minutes).
    assert_eq!(step_onset(&series(&[(120, 0.990), (10, 0.989)]), 10), None);
}

#[test]
fn of_two_drops_the_likelier_split_dates_the_onset() {
    // A large drop from 60, a smaller one from 200: one split, at the large one.
    let s = series(&[(60, 0.99), (140, 0.95), (80, 0.94)]);
    assert_eq!(step_onset(&s, 10).map(|f| f.at), Some(60 * MIN));
}

#[test]
fn a_late_cusum_onset_moves_back_to_the_step() {
    let s = series(&[(120, 0.99), (200, 0.98)]);
    // CUSUM restarted for hours on a one-point drop: the step is the onset.
    assert_eq!(earliest_onset(260 * MIN, &s, 10), 120 * MIN);
    // No step the data believes: kept.
    assert_eq!(
        earliest_onset(260 * MIN, &series(&[(320, 0.98)]), 10),
        260 * MIN
    );
}

#[test]
fn a_run_that_began_on_noise_before_the_step_is_dated_at_the_step() {
    // The run began at 100 on data no worse than before it: the drop is
    // the step at 120 (the compiler bug read 12 min before its deploy).
    let s = series(&[(120, 0.99), (200, 0.98)]);
    assert_eq!(earliest_onset(100 * MIN, &s, 10), 120 * MIN);
    // A run that began with a drop of its own (a ramp's first half) keeps
    // its start.
    let ramp = series(&[(100, 0.99), (20, 0.985), (200, 0.98)]);
    assert_eq!(earliest_onset(100 * MIN, &ramp, 10), 100 * MIN);
    // A step with fewer than ten buckets after it does not move it.
    let young = series(&[(120, 0.99), (6, 0.95)]);
    assert_eq!(earliest_onset(100 * MIN, &young, 10), 100 * MIN);
}

#[test]
fn a_young_regression_keeps_its_cusum_onset_rather_than_a_split_min_part_early() {
    // A three-point drop from 200, detected at 204 with the CUSUM onset at
    // 200: an after-part forced to ten buckets would date it at 195.
    let s = series(&[(200, 0.99), (5, 0.96)]);
    assert_eq!(earliest_onset(200 * MIN, &s, 10), 200 * MIN);
    // The same drop from 200 with a CUSUM onset at 202: moved back to the step.
    assert_eq!(earliest_onset(202 * MIN, &s, 10), 200 * MIN);
}

#[test]
fn an_old_regression_is_dated_at_its_step_not_at_a_blip_inside_it() {
    // A blip at 300 within a later regression that CUSUM dates at 290:
    // the five-bucket blip can't be the split (the after-part needs ten),
    // and a step from 250 is found before the CUSUM onset.
    let s = series(&[(250, 0.99), (50, 0.975), (5, 0.90), (15, 0.975)]);
    assert_eq!(earliest_onset(290 * MIN, &s, 10), 250 * MIN);
}

#[test]
fn a_step_must_beat_the_series_own_wobble_not_binomial_noise_alone() {
    // A half-point dip after buckets that swing three points apart: the
    // binomial likelihood ratio alone (44) would date it at the dip.
    let mut wobbly: Vec<(usize, f64)> = (0..100).flat_map(|_| [(1, 0.995), (1, 0.965)]).collect();
    wobbly.push((20, 0.97));
    assert_eq!(earliest_onset(215 * MIN, &series(&wobbly), 10), 215 * MIN);
    // The same dip on a steady series is a step.
    let steady = series(&[(200, 0.98), (20, 0.97)]);
    assert_eq!(earliest_onset(215 * MIN, &steady, 10), 200 * MIN);
}

#[test]
fn a_step_before_the_cusum_onset_must_hold_on_the_data_before_it() {
    // A quarter-point dip of 8 buckets from 200 (LLR 1.5 before 208, under
    // `HOLD_LLR`; 13 with the alarm's buckets, over `MIN_LLR`) the alarm's
    // buckets (from 208) tip over the threshold: before 208 alone it is no
    // step, so the CUSUM onset stays.
    let weak = series(&[(200, 0.99), (8, 0.9875), (20, 0.9855)]);
    assert!(step_onset(&weak, 1).is_some_and(|s| s.at == 200 * MIN));
    assert_eq!(earliest_onset(208 * MIN, &weak, 10), 208 * MIN);
    // A dip that holds on its own (LLR about 9 before 225) moves the onset
    // back.
    let held = series(&[(200, 0.99), (25, 0.9868), (10, 0.9855)]);
    assert_eq!(earliest_onset(225 * MIN, &held, 10), 200 * MIN);
}

/// The hold is a one-off test of where a shown drop began: on seeded
/// beta-binomial steps, a regression whose CUSUM run began at the step is
/// rarely dated before it, and one whose run began two hours late is moved
/// back to the step.
#[test]
fn the_hold_rarely_dates_a_young_regression_early_and_moves_an_old_one_back() {
    use qualtop::detect::synthetic::{SeriesSpec, ratio_buckets, ratio_series};
    let buckets =
        |s: &[(i64, Option<qualtop::store::Ratio>)], upto: usize| ratio_buckets(&s[..=upto]);
    for (n, phi, shift) in [(300u64, 2.0, 0.02), (60, 1.5, 0.03), (3000, 3.0, 0.01)] {
        let (mut early, mut back) = (0, 0);
        for seed in 0..200 {
            let spec = SeriesSpec::healthy(0.9, n, phi).with_drop(360, shift);
            let s = ratio_series(&spec, 520, seed);
            let young = earliest_onset(360 * MIN, &buckets(&s, 375), 10) / MIN;
            early += usize::from(young < 355);
            let old = earliest_onset(480 * MIN, &buckets(&s, 500), 10) / MIN;
            back += usize::from((old - 360).abs() <= 5);
        }
        // Measured at 3 nats: 3, 3 and 1 of 200 early; 142, 103 and 173 back.
        assert!(early <= 10, "{n} trials: {early} of 200 dated early");
        assert!(back >= 90, "{n} trials: {back} of 200 moved back");
    }
}

#[test]
fn on_the_demo_a_late_onset_of_the_tpu_fault_moves_back_to_its_step_in_the_store() {
    use crate::support::detect::{ANCHOR, DemoReplay};
    use qualtop::demo::Scenario;
    use qualtop::detect::dated_in_store;
    // The TPU misconfiguration steps up from +60 to +64 on the API's TPUs.
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 1, -120, 240);
    for _ in 0..120 + 110 {
        replay.feed_bucket();
    }
    let signal = replay
        .store
        .signal_by_name("language-consistency")
        .expect("a demo signal");
    let scope = [
        ("hardware", "tpu"),
        ("model", "atlas-l"),
        ("platform", "api"),
    ]
    .iter()
    .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
    .collect();
    // A CUSUM onset 40 min late, detected at +110.
    let dated = dated_in_store(
        &replay.store,
        signal,
        &scope,
        ANCHOR + 100 * MIN,
        ANCHOR + 110 * MIN,
        i64::MIN,
    );
    let onset = dated.at;
    assert!(
        (ANCHOR + 59 * MIN..=ANCHOR + 66 * MIN).contains(&onset),
        "{:+} min",
        (onset - ANCHOR) / MIN
    );
    // A step of several points on the API's TPUs: its data pin it.
    assert!(
        dated
            .spread
            .iter()
            .all(|p| (ANCHOR + 57 * MIN..=ANCHOR + 68 * MIN).contains(p)),
        "{:?}",
        dated.spread.map(|p| (p - ANCHOR) / MIN)
    );
}
