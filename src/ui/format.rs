//! Figures as short text, the same on screen and in `qualtop snapshot`.

use crate::protocol::Millis;

/// Shown for a figure that has no data; ASCII so `--ascii` output stays ASCII.
pub const MISSING: &str = "-";

/// A rate as a percentage with two decimals: `99.97%`.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.2}%", r * 100.0),
        None => MISSING.to_owned(),
    }
}

/// A change in percentage points, signed: `-2.31pp`.
pub fn points(pp: Option<f64>) -> String {
    match pp {
        // Round first so that -0.004 does not print as "-0.00".
        Some(v) if (v * 100.0).round() == 0.0 => " 0.00pp".to_owned(),
        Some(v) => format!("{v:+.2}pp"),
        None => MISSING.to_owned(),
    }
}

/// A count in at most six characters: `999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
    for (size, unit) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if v < 100.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    n.to_string()
}

/// A gauge value with its unit: `812ms`, `0.93`.
pub fn gauge(value: Option<f64>, unit: Option<&str>) -> String {
    match value {
        None => MISSING.to_owned(),
        Some(v) => {
            let digits = if v.abs() >= 100.0 {
                0
            } else if v.abs() >= 10.0 {
                1
            } else {
                2
            };
            format!("{v:.digits$}{}", unit.unwrap_or(""))
        }
    }
}

/// A duration in its two largest units: `45s`, `12m`, `1h30m`, `3d`.
pub fn duration(ms: Millis) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 if s % 60 == 0 || s >= 600 => format!("{}m", s / 60),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86400),
    }
}

/// Data time of day in UTC: `07:26:58 UTC` (one rendering, in `clock`).
pub use crate::clock::time_of_day as utc_clock;

/// Data time to the minute in UTC: `07:26 UTC`.
pub use crate::clock::hour_minute as utc_minute;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_short_and_signed() {
        assert_eq!(percent(Some(0.9997)), "99.97%");
        assert_eq!(percent(None), MISSING);
        assert_eq!(points(Some(-2.314)), "-2.31pp");
        assert_eq!(points(Some(0.5)), "+0.50pp");
        assert_eq!(points(Some(-0.001)), " 0.00pp");
        assert_eq!(count(999), "999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(456_789), "457k");
        assert_eq!(count(4_500_000), "4.5M");
    }

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(125_000), "2m5s");
        assert_eq!(duration(7_200_000), "2h");
        assert_eq!(duration(5_400_000), "1h30m");
        assert_eq!(duration(3 * 86_400_000), "3d");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn clock_is_time_of_day_in_utc() {
        assert_eq!(utc_clock(0), "00:00:00 UTC");
        assert_eq!(utc_clock(86_400_000 + 3_723_000), "01:02:03 UTC");
    }
}
