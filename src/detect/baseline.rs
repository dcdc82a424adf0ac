//! A robust baseline from a trailing reference window: the healthy rate and
//! how much more than binomially the rate varies from bucket to bucket.

use std::collections::VecDeque;

use crate::store::Ratio;

/// Consistency factor of the median absolute deviation for a normal law.
const MAD_TO_SD: f64 = 1.4826;
/// Buckets further than this many robust SDs from the median are left out
/// of the pooled rate (they are outliers, not the healthy level). Not 3:
/// pass rates near 1 are skewed (a long lower tail), and buckets of a few
/// trials are coarse, so a 3-SD cut drops ordinary low buckets and lifts
/// the baseline by a few tenths of a point — enough to make the CUSUM
/// creep up on healthy data whatever its threshold (measured on the demo:
/// leaf false alarms 100× over budget).
const TRIM_SDS: f64 = 5.0;
/// Buckets within this many robust SDs count towards the Pearson φ.
const PEARSON_TRIM: f64 = 5.0;
/// Never assume less spread than binomial, nor absurdly more.
const MIN_DISPERSION: f64 = 1.0;
const MAX_DISPERSION: f64 = 1e4;

/// The healthy level a series is tested against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Healthy rate good/total.
    pub rate: f64,
    /// Overdispersion φ: variance of a bucket's rate over the binomial
    /// p(1−p)/n. 1 for pure binomial noise; eval pass rates are often 2–5
    /// because the case mix differs from bucket to bucket.
    pub dispersion: f64,
    /// Median trials per bucket, to size the threshold.
    pub typical_total: f64,
    /// Trials the pooled rate is made of (its standard error follows).
    pub pooled_total: f64,
}

impl Baseline {
    /// Standard error of `rate`, overdispersion included.
    pub fn standard_error(&self) -> f64 {
        if self.pooled_total <= 0.0 {
            return f64::INFINITY;
        }
        (self.dispersion * self.rate * (1.0 - self.rate) / self.pooled_total).sqrt()
    }
}

/// The last `capacity` healthy buckets, as compact counts.
#[derive(Debug, Clone, Default)]
pub struct ReferenceWindow {
    buckets: VecDeque<(u32, u32)>,
    capacity: usize,
}

impl ReferenceWindow {
    pub fn new(capacity: usize) -> Self {
        ReferenceWindow {
            buckets: VecDeque::with_capacity(capacity.min(64)),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn push(&mut self, r: Ratio) {
        if self.buckets.len() == self.capacity {
            self.buckets.pop_front();
        }
        self.buckets.push_back(compact(r));
    }

    /// Median-based estimate of the rate and of φ; `None` when empty.
    pub fn estimate(&self) -> Option<Baseline> {
        estimate(self.buckets.iter().copied())
    }
}

/// Counts kept as u32 to halve memory; a bucket with more than 4·10⁹
/// trials is scaled down, which keeps its rate.
pub fn compact(r: Ratio) -> (u32, u32) {
    if u32::try_from(r.total).is_ok() {
        (r.good.min(r.total) as u32, r.total as u32)
    } else {
        let scale = r.total as f64 / f64::from(u32::MAX);
        ((r.good as f64 / scale) as u32, u32::MAX)
    }
}

/// Robust baseline of some (good, total) buckets:
/// 1. median of the bucket rates (robust level);
/// 2. φ = (1.4826 · MAD of the standardised residuals)², floored at 1;
/// 3. rate = pooled good/total over buckets within 5 robust SDs of the
///    median (efficient and unbiased like a mean, robust to wild buckets).
pub fn estimate(buckets: impl Iterator<Item = (u32, u32)> + Clone) -> Option<Baseline> {
    // One buffer for the four medians (a median does not depend on order):
    // this runs once per row and signal of a view, 50,000 times for a flat one.
    let mut v: Vec<f64> = buckets
        .clone()
        .filter(|&(_, t)| t > 0)
        .map(|(g, t)| f64::from(g) / f64::from(t))
        .collect();
    if v.is_empty() {
        return None;
    }
    let median_rate = median(&mut v);
    for (x, (_, t)) in v.iter_mut().zip(buckets.clone().filter(|&(_, t)| t > 0)) {
        *x = f64::from(t);
    }
    let typical_total = median(&mut v);
    // Residuals are standardised with a rate kept off 0 and 1, so a perfect
    // history still yields a finite spread.
    let p = median_rate.clamp(
        0.5 / typical_total.max(1.0),
        1.0 - 0.5 / typical_total.max(1.0),
    );
    for (x, (g, t)) in v.iter_mut().zip(buckets.clone().filter(|&(_, t)| t > 0)) {
        let n = f64::from(t);
        *x = (f64::from(g) - n * p) / (n * p * (1.0 - p)).sqrt();
    }
    // Kept in bucket order for the pooled rate below, not computed twice.
    let z = v.clone();
    let z_median = median(&mut v);
    for x in &mut v {
        *x = (*x - z_median).abs();
    }
    let robust_sd = MAD_TO_SD * median(&mut v);
    let dispersion = (robust_sd * robust_sd).clamp(MIN_DISPERSION, MAX_DISPERSION);
    let sd = dispersion.sqrt();
    let (mut good, mut total) = (0u64, 0u64);
    for ((g, t), &zi) in buckets.clone().filter(|&(_, t)| t > 0).zip(&z) {
        if (zi - z_median).abs() <= TRIM_SDS * sd {
            good += u64::from(g);
            total += u64::from(t);
        }
    }
    let rate = if total > 0 {
        good as f64 / total as f64
    } else {
        median_rate
    };
    // The MAD sees the core of the spread only; the quasi-binomial Pearson
    // estimate (mean squared residual) also sees the tails that beta-binomial
    // case mix gives, which is what drives false alarms. Outliers beyond
    // PEARSON_TRIM robust SDs stay out of it.
    let q = rate.clamp(
        0.5 / typical_total.max(1.0),
        1.0 - 0.5 / typical_total.max(1.0),
    );
    let (mut sum_sq, mut kept) = (0.0, 0usize);
    for (g, t) in buckets.filter(|&(_, t)| t > 0) {
        let n = f64::from(t);
        let zi = (f64::from(g) - n * q) / (n * q * (1.0 - q)).sqrt();
        if (zi - z_median).abs() <= PEARSON_TRIM * sd {
            sum_sq += zi * zi;
            kept += 1;
        }
    }
    let pearson = if kept > 1 {
        sum_sq / (kept - 1) as f64
    } else {
        dispersion
    };
    let dispersion = dispersion
        .max(pearson)
        .clamp(MIN_DISPERSION, MAX_DISPERSION);
    Some(Baseline {
        rate,
        dispersion,
        typical_total,
        pooled_total: total as f64,
    })
}

/// Median by selection, O(n); reorders `v`. `v` must not be empty.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (lower, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *m;
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        f64::midpoint(below, upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_lengths() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn one_wild_bucket_does_not_move_the_baseline() {
        let mut w = ReferenceWindow::new(100);
        for i in 0..60 {
            // 90 % ± a little, then one bucket at 10 %.
            let g = if i % 2 == 0 { 268 } else { 272 };
            w.push(Ratio::new(g, 300));
        }
        w.push(Ratio::new(30, 300));
        let b = w.estimate().unwrap();
        assert!((b.rate - 0.9).abs() < 0.002, "rate {}", b.rate);
        assert!(b.dispersion < 1.5, "phi {}", b.dispersion);
    }

    #[test]
    fn oldest_bucket_leaves_a_full_window() {
        let mut w = ReferenceWindow::new(3);
        for g in [10, 20, 30, 40] {
            w.push(Ratio::new(g, 100));
        }
        assert_eq!(w.len(), 3);
        assert!((w.estimate().unwrap().rate - 0.3).abs() < 1e-9);
    }

    #[test]
    fn huge_totals_keep_their_rate_when_compacted() {
        let (g, t) = compact(Ratio::new(9_000_000_000, 10_000_000_000));
        assert_eq!(t, u32::MAX);
        assert!((f64::from(g) / f64::from(t) - 0.9).abs() < 1e-6);
    }
}
