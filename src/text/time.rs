//! Times as people read them, in UTC (calendar arithmetic from the `time`
//! crate). Every surface formats a time here.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::protocol::Millis;

const DAY_MS: Millis = 86_400_000;

fn civil(ms: Millis) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()
}

/// `2025-09-02T14:05:00Z`; out-of-range times as raw milliseconds.
pub fn rfc3339_utc(ms: Millis) -> String {
    match civil(ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => format!("{ms} ms"),
    }
}

/// `2025-09-02T14:05:00.250Z`: RFC 3339, fractions only when there are
/// milliseconds (what exports print and `--since` reads back).
pub fn rfc3339_ms(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `14:05:09 UTC`: the time of day, for the header's clock.
pub fn time_of_day(ms: Millis) -> String {
    match civil(ms) {
        Some(t) => format!("{:02}:{:02}:{:02} UTC", t.hour(), t.minute(), t.second()),
        None => format!("{ms} ms"),
    }
}

/// `14:05 UTC`: the time of day to the minute, for cursors and axes.
pub fn hour_minute(ms: Millis) -> String {
    match civil(ms) {
        Some(t) => format!("{:02}:{:02} UTC", t.hour(), t.minute()),
        None => format!("{ms} ms"),
    }
}

/// `2025-09-02 14:05` (UTC, to the minute).
pub fn utc_minute(ms: Millis) -> String {
    match civil(ms) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        None => format!("{ms} ms"),
    }
}

/// `14:05`: the time of day to the minute, UTC, where the column is narrow
/// (status text, the annotation dialog's start field).
pub fn hh_mm(ms: Millis) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// `14:05` when `ms` falls on the same UTC day as `reference`, else
/// `2025-09-02 14:05`.
pub fn short_time(ms: Millis, reference: Millis) -> String {
    let (full, day) = (utc_minute(ms), utc_minute(reference));
    match (full.split_once(' '), day.split_once(' ')) {
        (Some((date, time)), Some((ref_date, _))) if date == ref_date => time.to_owned(),
        _ => full,
    }
}

/// How an editable start time shows `from`: `HH:MM` on `now`'s UTC day (and
/// not after it), else RFC 3339.
pub fn start_words(from: Millis, now: Millis) -> String {
    if from.div_euclid(DAY_MS) == now.div_euclid(DAY_MS) && from <= now {
        return hh_mm(from);
    }
    OffsetDateTime::from_unix_timestamp(from.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| from.to_string())
}

/// `6h`, `90m`, `45s`: a span as the window names read.
pub fn span_words(ms: Millis) -> String {
    const HOUR: Millis = 3_600_000;
    const MINUTE: Millis = 60_000;
    if ms >= HOUR && ms % HOUR == 0 {
        format!("{}h", ms / HOUR)
    } else if ms >= MINUTE {
        format!("{}m", ms / MINUTE)
    } else {
        format!("{}s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_leap_day_and_negative_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_756_771_200_000), "2025-09-02T00:00:00Z");
        assert_eq!(
            rfc3339_utc(951_782_400_000 + 3_723_000),
            "2000-02-29T01:02:03Z"
        );
        assert_eq!(utc_minute(1_756_822_500_000), "2025-09-02 14:15");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(i64::MAX), format!("{} ms", i64::MAX));
        assert_eq!(rfc3339_ms(1_756_771_200_250), "2025-09-02T00:00:00.25Z");
        assert_eq!(time_of_day(86_400_000 + 3_723_000), "01:02:03 UTC");
        assert_eq!(hour_minute(-60_000), "23:59 UTC");
        assert_eq!(hh_mm(-60_000), "23:59");
    }

    #[test]
    fn short_forms_name_the_day_only_when_it_differs() {
        let noon = 1_756_771_200_000 + 12 * 3_600_000;
        assert_eq!(short_time(noon + 300_000, noon), "12:05");
        assert_eq!(short_time(noon - 13 * 3_600_000, noon), "2025-09-01 23:00");
        assert_eq!(start_words(noon - 60_000, noon), "11:59");
        assert_eq!(start_words(noon + 60_000, noon), "2025-09-02T12:01:00Z");
        assert_eq!(span_words(6 * 3_600_000), "6h");
        assert_eq!(span_words(90 * 60_000), "90m");
        assert_eq!(span_words(45_000), "45s");
    }
}
