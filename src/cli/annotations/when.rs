//! Times as people type them on the command line: RFC 3339
//! (`2025-08-31T14:00:00Z`) or a duration back from now (`6h`), and the
//! RFC 3339 the timeline prints.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::parse_duration;
use crate::protocol::Millis;

/// RFC 3339, or a duration (`90s`, `15m`, `6h`, `2d`) before `now`.
pub fn parse_time(s: &str, now: Millis) -> Result<Millis, String> {
    let t = s.trim();
    if t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('-') {
        let at = OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
            format!("{s:?} is not an RFC 3339 time ({e}); e.g. 2025-08-31T14:00:00Z")
        })?;
        return Ok((at.unix_timestamp_nanos() / 1_000_000) as Millis);
    }
    let back = parse_duration(t).map_err(|e| {
        format!("{e}; a time is RFC 3339 (2025-08-31T14:00:00Z) or a duration back from now (6h)")
    })?;
    Ok(now.saturating_sub(back.as_millis() as Millis))
}

pub use crate::text::time::rfc3339_ms as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_756_771_200_000; // 2025-09-02T00:00:00Z

    #[test]
    fn rfc3339_with_zone_or_offset_is_read_exactly() {
        assert_eq!(parse_time("2025-09-02T00:00:00Z", 0), Ok(NOW));
        assert_eq!(parse_time("2025-09-02T02:00:00+02:00", 0), Ok(NOW));
        assert_eq!(parse_time("2025-09-01T23:59:59.5Z", 0), Ok(NOW - 500));
        assert!(parse_time("2025-13-01T00:00:00Z", 0).is_err());
        assert!(parse_time("2025-09-02 00:00", 0).is_err());
    }

    #[test]
    fn a_duration_counts_back_from_now() {
        assert_eq!(parse_time("6h", NOW), Ok(NOW - 6 * 3_600_000));
        assert_eq!(parse_time("90s", NOW), Ok(NOW - 90_000));
        assert!(parse_time("yesterday", NOW).is_err());
    }

    #[test]
    fn printed_times_read_back() {
        assert_eq!(rfc3339(NOW), "2025-09-02T00:00:00Z");
        assert_eq!(parse_time(&rfc3339(NOW + 61_250), 0), Ok(NOW + 61_250));
    }
}
