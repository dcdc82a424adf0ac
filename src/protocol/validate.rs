//! Rules every data point must pass before it reaches the store.

use super::message::{Millis, SignalKind};

/// Why a point was dropped. Each reason has its own counter on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum PointError {
    #[error("good exceeds total")]
    GoodExceedsTotal,
    #[error("negative count or value")]
    Negative,
    #[error("ratio point without both good and total")]
    MissingCounts,
    #[error("gauge point without a finite value")]
    MissingValue,
    #[error("count too large")]
    TooLarge,
    #[error("unknown dimension")]
    UnknownDimension,
    #[error("slice lacks a declared dimension")]
    IncompleteSlice,
    #[error("unknown signal")]
    UnknownSignal,
    #[error("timestamp outside the window")]
    OutOfWindow,
    #[error("series longer than the window")]
    SeriesTooLong,
    #[error("more slices than qualtop holds")]
    TooManySlices,
}

impl PointError {
    pub const ALL: [PointError; 11] = [
        PointError::GoodExceedsTotal,
        PointError::Negative,
        PointError::MissingCounts,
        PointError::MissingValue,
        PointError::TooLarge,
        PointError::UnknownDimension,
        PointError::IncompleteSlice,
        PointError::UnknownSignal,
        PointError::OutOfWindow,
        PointError::SeriesTooLong,
        PointError::TooManySlices,
    ];

    /// A short word for counters and logs.
    pub fn word(self) -> &'static str {
        match self {
            PointError::GoodExceedsTotal => "good>total",
            PointError::Negative => "negative",
            PointError::MissingCounts => "no-counts",
            PointError::MissingValue => "no-value",
            PointError::TooLarge => "too-large",
            PointError::UnknownDimension => "unknown-dim",
            PointError::IncompleteSlice => "missing-dim",
            PointError::UnknownSignal => "unknown-signal",
            PointError::OutOfWindow => "out-of-window",
            PointError::SeriesTooLong => "too-long",
            PointError::TooManySlices => "too-many-slices",
        }
    }
}

/// Largest count one bucket may hold; the store keeps counts as `u32`.
pub const MAX_COUNT: i64 = u32::MAX as i64 - 1;

/// A validated bucket value, ready for the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BucketValue {
    Ratio { good: u32, total: u32 },
    Gauge(f64),
}

/// Checks the counts or value of one bucket against the signal's kind.
pub fn validate_counts(
    kind: SignalKind,
    good: Option<i64>,
    total: Option<i64>,
    value: Option<f64>,
) -> Result<BucketValue, PointError> {
    match kind {
        SignalKind::Ratio => {
            let (Some(good), Some(total)) = (good, total) else {
                return Err(PointError::MissingCounts);
            };
            if good < 0 || total < 0 {
                return Err(PointError::Negative);
            }
            if good > total {
                return Err(PointError::GoodExceedsTotal);
            }
            if total > MAX_COUNT {
                return Err(PointError::TooLarge);
            }
            Ok(BucketValue::Ratio {
                good: good as u32,
                total: total as u32,
            })
        }
        SignalKind::Gauge => match value {
            Some(v) if v.is_finite() => Ok(BucketValue::Gauge(v)),
            _ => Err(PointError::MissingValue),
        },
    }
}

/// Whether `ts` is acceptable given the server's clock: not older than the
/// window the store keeps and not in the future beyond a little clock skew.
pub fn timestamp_in_window(ts: Millis, now: Millis, window_ms: Millis, bucket_ms: Millis) -> bool {
    ts >= now.saturating_sub(window_ms).saturating_sub(bucket_ms)
        && ts <= now.saturating_add(2 * bucket_ms)
}

/// Clocks a backend may report: 1970 to the end of the year 9999. Beyond
/// that no real clock is, and bucket arithmetic could overflow.
pub const PLAUSIBLE_TIME: std::ops::RangeInclusive<Millis> = 0..=253_402_300_799_999;
