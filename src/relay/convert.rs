//! Prometheus answers → protocol buckets, as pure functions.
//!
//! Alignment: bucket `b` covers `[b·bucket_ms, (b+1)·bucket_ms)`. The relay
//! evaluates each expression at the bucket's end, `(b+1)·bucket_ms`, so a
//! range selector as long as the bucket (`increase(x[1m])` for one-minute
//! buckets) counts exactly the events of bucket `b`. A sample at time `t`
//! therefore belongs to bucket `t / bucket_ms - 1`.
//!
//! Counts arrive as floats (Prometheus extrapolates `increase`); they are
//! rounded to whole counts. Series that land on the same slice (labels
//! beyond the dimensions) are summed for ratios, which is the exact rollup,
//! and dropped for gauges, which cannot be summed.

use std::collections::BTreeMap;

use crate::protocol::{BucketValue, MAX_COUNT, Millis};

use super::config::slice_of;
use super::prometheus::PromSeries;

/// A slice as the relay's dimensions in order, and its bucket value.
pub type SliceLabels = Vec<(String, String)>;

/// One bucket of one slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucketed {
    pub slice: SliceLabels,
    pub bucket: i64,
    pub value: BucketValue,
}

/// Samples that could not become a bucket, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skipped {
    /// NaN or infinite.
    pub not_finite: u64,
    pub negative: u64,
    /// `good` above `total` by more than rounding explains.
    pub good_above_total: u64,
    pub too_large: u64,
    /// `good` without a `total` for the same slice and bucket.
    pub no_total: u64,
    /// Gauge series that collide on one slice.
    pub ambiguous: u64,
}

impl Skipped {
    pub fn total(&self) -> u64 {
        self.not_finite
            + self.negative
            + self.good_above_total
            + self.too_large
            + self.no_total
            + self.ambiguous
    }
}

/// The bucket whose end is at or before `t` (see the module docs).
pub fn bucket_ending_at(t: Millis, bucket_ms: Millis) -> i64 {
    t.div_euclid(bucket_ms.max(1)) - 1
}

/// Sums samples per (slice, bucket); `None` where a sample was not finite,
/// so that the bucket is left out rather than summed without it.
fn by_slice(
    series: &[PromSeries],
    dimensions: &[String],
    bucket_ms: Millis,
    skipped: &mut Skipped,
) -> BTreeMap<(SliceLabels, i64), Option<f64>> {
    let mut out: BTreeMap<_, Option<f64>> = BTreeMap::new();
    for s in series {
        let slice = slice_of(&s.labels, dimensions);
        for &(t, v) in &s.samples {
            let sum = out
                .entry((slice.clone(), bucket_ending_at(t, bucket_ms)))
                .or_insert(Some(0.0));
            if v.is_finite() {
                *sum = sum.map(|s| s + v);
            } else {
                skipped.not_finite += 1;
                *sum = None;
            }
        }
    }
    out
}

fn count(v: f64, skipped: &mut Skipped) -> Option<u32> {
    let n = v.round();
    if n < 0.0 {
        skipped.negative += 1;
        None
    } else if n > MAX_COUNT as f64 {
        skipped.too_large += 1;
        None
    } else {
        Some(n as u32)
    }
}

/// Ratio buckets from the `good` and `total` answers. A slice with a total
/// but no good series has zero good: PromQL's `sum` of nothing is absent,
/// and both answers come from the same engine at the same instants.
pub fn ratio_buckets(
    good: &[PromSeries],
    total: &[PromSeries],
    dimensions: &[String],
    bucket_ms: Millis,
) -> (Vec<Bucketed>, Skipped) {
    let mut skipped = Skipped::default();
    let good = by_slice(good, dimensions, bucket_ms, &mut skipped);
    let total = by_slice(total, dimensions, bucket_ms, &mut skipped);
    skipped.no_total += good.keys().filter(|k| !total.contains_key(k)).count() as u64;
    let mut out = Vec::with_capacity(total.len());
    for ((slice, bucket), t) in total {
        let g = good
            .get(&(slice.clone(), bucket))
            .copied()
            .unwrap_or(Some(0.0));
        let (Some(g), Some(t)) = (g, t) else {
            continue;
        };
        let (Some(mut g), Some(t)) = (count(g, &mut skipped), count(t, &mut skipped)) else {
            continue;
        };
        if g > t {
            // Extrapolation rounds good and total separately; one count (or
            // 1 %) over is that, more is a wrong query.
            if g - t > 1.max(t / 100) {
                skipped.good_above_total += 1;
                continue;
            }
            g = t;
        }
        out.push(Bucketed {
            slice,
            bucket,
            value: BucketValue::Ratio { good: g, total: t },
        });
    }
    out.sort_by_key(|b| b.bucket);
    (out, skipped)
}

/// Gauge buckets from one answer.
pub fn gauge_buckets(
    series: &[PromSeries],
    dimensions: &[String],
    bucket_ms: Millis,
) -> (Vec<Bucketed>, Skipped) {
    let mut skipped = Skipped::default();
    let mut seen: BTreeMap<(SliceLabels, i64), Option<f64>> = BTreeMap::new();
    for s in series {
        let slice = slice_of(&s.labels, dimensions);
        for &(t, v) in &s.samples {
            if !v.is_finite() {
                skipped.not_finite += 1;
                continue;
            }
            seen.entry((slice.clone(), bucket_ending_at(t, bucket_ms)))
                .and_modify(|held| *held = None)
                .or_insert(Some(v));
        }
    }
    let mut out = Vec::with_capacity(seen.len());
    for ((slice, bucket), v) in seen {
        match v {
            Some(v) => out.push(Bucketed {
                slice,
                bucket,
                value: BucketValue::Gauge(v),
            }),
            None => skipped.ambiguous += 1,
        }
    }
    out.sort_by_key(|b| b.bucket);
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Millis = 60_000;

    fn series(labels: &[(&str, &str)], samples: &[(Millis, f64)]) -> PromSeries {
        PromSeries {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            samples: samples.to_vec(),
        }
    }

    fn dims() -> Vec<String> {
        vec!["model".into(), "hardware".into()]
    }

    #[test]
    fn a_sample_at_a_bucket_end_belongs_to_the_bucket_that_ended() {
        assert_eq!(bucket_ending_at(10 * B, B), 9);
        assert_eq!(bucket_ending_at(10 * B + 1, B), 9);
        assert_eq!(bucket_ending_at(11 * B - 1, B), 9);
    }

    #[test]
    fn ratio_counts_are_rounded_and_paired_by_slice_and_bucket() {
        let m1 = [("model", "m1"), ("hardware", "tpu")];
        let good = [series(&m1, &[(2 * B, 89.6), (3 * B, 90.2)])];
        let total = [series(&m1, &[(2 * B, 100.4), (3 * B, 100.0)])];
        let (out, skipped) = ratio_buckets(&good, &total, &dims(), B);
        assert_eq!(skipped, Skipped::default());
        let got: Vec<(i64, BucketValue)> = out.iter().map(|b| (b.bucket, b.value)).collect();
        assert_eq!(
            got,
            vec![
                (
                    1,
                    BucketValue::Ratio {
                        good: 90,
                        total: 100
                    }
                ),
                (
                    2,
                    BucketValue::Ratio {
                        good: 90,
                        total: 100
                    }
                ),
            ]
        );
        assert_eq!(out[0].slice[0], ("model".into(), "m1".into()));
    }

    #[test]
    fn series_beyond_the_dimensions_are_summed_never_averaged() {
        let a = [("model", "m1"), ("hardware", "tpu"), ("instance", "a")];
        let b = [("model", "m1"), ("hardware", "tpu"), ("instance", "b")];
        let good = [series(&a, &[(B, 10.0)]), series(&b, &[(B, 80.0)])];
        let total = [series(&a, &[(B, 100.0)]), series(&b, &[(B, 100.0)])];
        let (out, _) = ratio_buckets(&good, &total, &dims(), B);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].value,
            BucketValue::Ratio {
                good: 90,
                total: 200
            }
        );
    }

    #[test]
    fn a_total_without_good_is_zero_good_and_good_without_total_is_skipped() {
        let m1 = [("model", "m1"), ("hardware", "tpu")];
        let m2 = [("model", "m2"), ("hardware", "gpu")];
        let good = [series(&m2, &[(B, 5.0)])];
        let total = [series(&m1, &[(B, 7.0)])];
        let (out, skipped) = ratio_buckets(&good, &total, &dims(), B);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].value, BucketValue::Ratio { good: 0, total: 7 });
        assert_eq!(skipped.no_total, 1);
    }

    #[test]
    fn impossible_counts_are_skipped_and_counted_not_painted_as_zero() {
        let m1 = [("model", "m1"), ("hardware", "tpu")];
        let good = [series(
            &m1,
            &[(B, 150.0), (2 * B, 101.0), (3 * B, f64::NAN), (4 * B, 1.0)],
        )];
        let total = [series(
            &m1,
            &[(B, 100.0), (2 * B, 100.0), (3 * B, 100.0), (4 * B, -3.0)],
        )];
        let (out, skipped) = ratio_buckets(&good, &total, &dims(), B);
        let buckets: Vec<i64> = out.iter().map(|b| b.bucket).collect();
        // Bucket 1 (101 of 100) is rounding, clamped; bucket 2's NaN good
        // leaves the bucket out, not zero good.
        assert_eq!(buckets, vec![1]);
        assert_eq!(
            out[0].value,
            BucketValue::Ratio {
                good: 100,
                total: 100
            }
        );
        assert_eq!(skipped.good_above_total, 1);
        assert_eq!(skipped.not_finite, 1);
        assert_eq!(skipped.negative, 1);
    }

    #[test]
    fn gauges_keep_their_value_and_colliding_series_are_dropped() {
        let a = [("model", "m1"), ("hardware", "tpu"), ("instance", "a")];
        let b = [("model", "m1"), ("hardware", "tpu"), ("instance", "b")];
        let solo = [("model", "m2"), ("hardware", "gpu")];
        let s = [
            series(&a, &[(B, 1.0)]),
            series(&b, &[(B, 2.0)]),
            series(&solo, &[(B, 812.5)]),
        ];
        let (out, skipped) = gauge_buckets(&s, &dims(), B);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].value, BucketValue::Gauge(812.5));
        assert_eq!(skipped.ambiguous, 1);
    }
}
