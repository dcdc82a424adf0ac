//! Times as people read them, in UTC (calendar arithmetic from the `time` crate).

use time::OffsetDateTime;

use crate::protocol::Millis;

/// Wall-clock now, in milliseconds since the Unix epoch (0 if the clock
/// reads before 1970).
pub fn wall_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

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
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
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
    }
}
