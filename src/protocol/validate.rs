//! Rules every data point must pass before it reaches the store.

use super::message::{Hello, Millis, SignalKind};

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
    #[error("refused: memory budget reached")]
    MemoryBudget,
}

impl PointError {
    pub const ALL: [PointError; 12] = [
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
        PointError::MemoryBudget,
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
            PointError::MemoryBudget => "refused: memory budget",
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

/// Most signals one hello may declare: real fleets serve a handful.
pub const MAX_SIGNALS: usize = 256;
/// Most dimensions one hello may declare.
pub const MAX_HELLO_DIMENSIONS: usize = 16;
/// Most buckets of history a hello may declare (the store keeps at most a
/// week of minutes whatever is declared; beyond this the hello is broken).
pub const MAX_HISTORY_BUCKETS: i64 = 1_000_000;
/// Longest signal or dimension name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Checks what a hello declares before anything is allocated for it: a
/// hostile backend declaring 5,000 signals is refused with a reason.
pub fn validate_hello(h: &Hello) -> Result<(), String> {
    if h.bucket_ms <= 0 || h.history_ms <= 0 {
        return Err("bucket_ms and history_ms must be positive".into());
    }
    if !PLAUSIBLE_TIME.contains(&h.now) {
        return Err(format!("clock {} ms is not a plausible time", h.now));
    }
    if h.signals.len() > MAX_SIGNALS {
        return Err(format!(
            "declares {} signals; qualtop holds at most {MAX_SIGNALS} per backend",
            h.signals.len()
        ));
    }
    if h.dimensions.len() > MAX_HELLO_DIMENSIONS {
        return Err(format!(
            "declares {} dimensions; qualtop holds at most {MAX_HELLO_DIMENSIONS}",
            h.dimensions.len()
        ));
    }
    let buckets = h.history_ms / h.bucket_ms;
    if buckets > MAX_HISTORY_BUCKETS {
        return Err(format!(
            "declares {buckets} buckets of history ({} ms / {} ms); at most {MAX_HISTORY_BUCKETS}",
            h.history_ms, h.bucket_ms
        ));
    }
    let mut names = h.signals.iter().map(|s| &s.name).chain(&h.dimensions);
    if let Some(n) = names.find(|n| n.len() > MAX_NAME_BYTES) {
        return Err(format!(
            "a signal or dimension name is {} bytes long; at most {MAX_NAME_BYTES}",
            n.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = h.signals.iter().find(|s| !seen.insert(&s.name)) {
        return Err(format!("signal {:?} declared twice", dup.name));
    }
    Ok(())
}
