//! Multi-window multi-burn-rate SLO alerting on hand-made series.

use qualtop::detect::{BurnRateConfig, BurnRateTracker};
use qualtop::store::Ratio;

const MINUTE: i64 = 60_000;

fn tracker() -> BurnRateTracker {
    BurnRateTracker::new(BurnRateConfig::sre_workbook(0.999, MINUTE))
}

/// 1000 requests a minute with `bad` errors.
fn minute(bad: u64) -> Option<Ratio> {
    Some(Ratio::new(1000 - bad, 1000))
}

#[test]
fn fast_burn_pages_once_both_the_hour_and_five_minutes_burn() {
    let mut t = tracker();
    // Six hours at budget (1 error per 1000), then 2 % errors = 20× burn.
    for i in 0..360 {
        assert!(t.push(i * MINUTE, minute(1)).alert.is_none());
    }
    let mut fired_at = None;
    for i in 360..480 {
        if t.push(i * MINUTE, minute(20)).alert.is_some() && fired_at.is_none() {
            fired_at = Some(i);
        }
    }
    // The hour's burn reaches 14.4× when (k·20 + (60−k)·1)/60 ≥ 14.4, k ≥ 43.
    // (The 6-hour rule would need k ≥ 95.)
    assert_eq!(fired_at, Some(360 + 42));
    let alert = t.status().alert.unwrap();
    assert_eq!(alert.rule, 0);
    assert_eq!(alert.since, 402 * MINUTE);
}

#[test]
fn alert_stops_within_the_short_windows_of_the_burn_stopping() {
    let mut t = tracker();
    for i in 0..120 {
        t.push(i * MINUTE, minute(33));
    }
    assert!(t.status().alert.is_some());
    let mut cleared_at = None;
    for i in 120..200 {
        if t.push(i * MINUTE, minute(0)).alert.is_none() && cleared_at.is_none() {
            cleared_at = Some(i);
        }
    }
    // The long windows still burn. The 5-minute window clears the 14.4×
    // rule at once; the 30-minute window holds the 6× rule until its burn
    // after j clean minutes, 33·(30 − j)/30, falls under 6: j = 25, the
    // minute 120 + 24.
    assert_eq!(cleared_at, Some(120 + 24));
}

#[test]
fn slow_burn_pages_on_the_six_hour_rule_only() {
    let mut t = tracker();
    // 0.8 % errors = 8× burn: under 14.4×, over 6×.
    let mut rules = Vec::new();
    for i in 0..400 {
        if let Some(a) = t.push(i * MINUTE, minute(8)).alert {
            rules.push(a.rule);
        }
    }
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|&r| r == 1));
}

#[test]
fn budget_level_errors_never_page() {
    let mut t = tracker();
    for i in 0..1000 {
        assert!(t.push(i * MINUTE, minute(1)).alert.is_none());
    }
    let burn = t.status().burn_long.unwrap();
    assert!((burn - 1.0).abs() < 1e-9, "burn {burn}");
}

#[test]
fn missing_minutes_count_as_time_without_requests() {
    let mut t = tracker();
    for i in 0..60 {
        t.push(i * MINUTE, minute(30));
    }
    assert!(t.status().alert.is_some());
    assert_eq!(t.status().alert.map(|a| a.rule), Some(0));
    // Ten silent minutes skipped over: the 5-minute window holds only the
    // clean minute now, so the fast rule stops; the 30-minute one still burns.
    let s = t.push(70 * MINUTE, Some(Ratio::new(1000, 1000)));
    assert_eq!(s.alert.map(|a| a.rule), Some(1));
}

#[test]
fn a_handful_of_requests_is_not_a_burn() {
    let mut t = tracker();
    for i in 0..60 {
        t.push(i * MINUTE, Some(Ratio::new(0, 1)));
    }
    assert!(t.status().alert.is_none());
}
