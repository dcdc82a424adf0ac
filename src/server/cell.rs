//! One (slice, signal, bucket) as a hub holds it: 8 bytes, where an
//! `Option<BucketValue>` takes 16. A hub holds `max_slices × signals ×
//! buckets` of them, so at 50,000 slices this halves the relay's window.
//! The signal's kind (known per column) says how to read the bits.

use crate::protocol::{BucketValue, SignalKind};

/// Counts `good << 32 | total`, or a gauge's `f64` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell(u64);

impl Cell {
    /// No data. As counts it reads good = `u32::MAX` > total = 0, which no
    /// validated point can be; as a gauge it is a NaN with a payload no
    /// arithmetic produces, and a NaN gauge is stored as the canonical NaN.
    pub const EMPTY: Cell = Cell(0xFFFF_FFFF_0000_0000);

    pub fn of(value: BucketValue) -> Cell {
        match value {
            // Every entry validates good ≤ total; clamping keeps a stray
            // value from ever reading as EMPTY.
            BucketValue::Ratio { good, total } => {
                Cell((u64::from(good.min(total)) << 32) | u64::from(total))
            }
            BucketValue::Gauge(v) if v.is_nan() => Cell(f64::NAN.to_bits()),
            BucketValue::Gauge(v) => Cell(v.to_bits()),
        }
    }

    pub fn is_empty(self) -> bool {
        self == Cell::EMPTY
    }

    pub fn get(self, kind: SignalKind) -> Option<BucketValue> {
        if self.is_empty() {
            return None;
        }
        Some(match kind {
            SignalKind::Ratio => BucketValue::Ratio {
                good: (self.0 >> 32) as u32,
                total: self.0 as u32,
            },
            SignalKind::Gauge => BucketValue::Gauge(f64::from_bits(self.0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_half_an_optional_bucket_value() {
        assert_eq!(size_of::<Cell>(), 8);
        assert_eq!(size_of::<Option<BucketValue>>(), 16);
    }

    #[test]
    fn every_value_reads_back_as_itself_and_never_as_empty() {
        let ratios = [(0, 0), (0, 1), (7, 9), (u32::MAX, u32::MAX), (0, u32::MAX)];
        for (good, total) in ratios {
            let v = BucketValue::Ratio { good, total };
            let c = Cell::of(v);
            assert!(!c.is_empty());
            assert_eq!(c.get(SignalKind::Ratio), Some(v));
        }
        for g in [0.0, -0.0, 812.5, -1e300, f64::INFINITY, f64::MIN_POSITIVE] {
            let c = Cell::of(BucketValue::Gauge(g));
            assert!(!c.is_empty());
            assert_eq!(c.get(SignalKind::Gauge), Some(BucketValue::Gauge(g)));
        }
        assert!(!Cell::of(BucketValue::Gauge(f64::NAN)).is_empty());
        assert_eq!(Cell::EMPTY.get(SignalKind::Ratio), None);
        assert_eq!(Cell::EMPTY.get(SignalKind::Gauge), None);
    }

    #[test]
    fn counts_with_more_good_than_total_are_clamped_not_lost() {
        let c = Cell::of(BucketValue::Ratio {
            good: u32::MAX,
            total: 0,
        });
        assert_eq!(
            c.get(SignalKind::Ratio),
            Some(BucketValue::Ratio { good: 0, total: 0 })
        );
    }
}
