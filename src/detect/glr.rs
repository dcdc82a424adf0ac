//! The generalized likelihood ratio (GLR) of a drop: the change size is
//! estimated, not assumed. A CUSUM tuned to the smallest drop δ₀ gains only
//! about δ·δ₀ − δ₀²/2 per bucket on a drop δ where δ²/2 is possible; the GLR
//! gains the full δ²/2 whatever δ, because it tests the rate the data
//! actually shows since each candidate onset.
//!
//! Over the buckets of one run (newest first) it maximises, over the onset τ
//! and the new rate p < p₀, the quasi-binomial log-likelihood ratio
//! `T(τ) · KL(p̂(τ) ‖ p₀) / φ`, where p̂(τ) is the pooled rate since τ (its
//! maximum-likelihood value) and T(τ) the trials since τ. The argmax τ is
//! the onset estimate. O(run length) per call.
//!
//! Windows whose pooled rate is not at least the smallest change below p₀
//! are skipped: for them the size-restricted maximum likelihood is the
//! smallest change itself, whose evidence the CUSUM already carries. So the
//! detector's statistic, max(CUSUM, this), is the GLR over sizes ≥ the
//! smallest change, and it never alarms on a drop estimated below it. The
//! detector passes the CUSUM's guarded level as p₀ (see
//! `DetectorConfig::glr_guarded` for what the baseline itself would cost).

use super::config::bernoulli_kl;
use crate::protocol::Millis;

/// The best drop hypothesis over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropGlr {
    /// Log-likelihood ratio at the argmax, already divided by φ, less the
    /// window penalty (see [`drop_glr`]).
    pub statistic: f64,
    /// Buckets with data since the onset.
    pub buckets: usize,
    /// The onset bucket of the argmax.
    pub onset: Millis,
    /// Pooled rate since that onset.
    pub rate: f64,
}

/// The GLR of a drop below `p0` over `buckets` given newest first as
/// (timestamp, good, total), with overdispersion `phi`, over the windows
/// whose pooled rate is at most `max_rate` (`p0` to allow any size); a
/// window of L buckets pays `penalty · ln L` (the maximum over many windows
/// is larger than any one window's, and more so over long ones) and
/// `short_margin / L` (a short window's rate keeps the skewed tail of the
/// overdispersion, which φ does not capture; the detector scales it by that
/// skew, see `DetectorConfig::glr_skew_ref`). `None`
/// when no suffix of the run qualifies. Ties go to the older onset (the
/// profile likelihood is flat only where the older buckets are exactly at
/// the new rate, so they belong to the drop).
pub fn drop_glr(
    buckets: impl Iterator<Item = (Millis, u32, u32)>,
    p0: f64,
    max_rate: f64,
    phi: f64,
    penalty: f64,
    short_margin: f64,
) -> Option<DropGlr> {
    let phi = if phi.is_finite() && phi >= 1.0 {
        phi
    } else {
        1.0
    };
    let (mut good, mut total) = (0u64, 0u64);
    let mut best: Option<DropGlr> = None;
    for (i, (ts, g, t)) in buckets.enumerate() {
        good += u64::from(g.min(t));
        total += u64::from(t);
        if total == 0 {
            continue;
        }
        let p = good as f64 / total as f64;
        if p >= p0 || p > max_rate {
            continue;
        }
        let len = (i + 1) as f64;
        let statistic =
            total as f64 * bernoulli_kl(p, p0) / phi - penalty * len.ln() - short_margin / len;
        if best.is_none_or(|b| statistic >= b.statistic) {
            best = Some(DropGlr {
                statistic,
                buckets: i + 1,
                onset: ts,
                rate: p,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argmax_onset_is_where_the_rate_dropped() {
        // Newest first: five buckets at 80 %, then five at 90 % (= p0).
        let run: Vec<(Millis, u32, u32)> = (0..10)
            .rev()
            .map(|i| (i, if i >= 5 { 240 } else { 270 }, 300))
            .collect();
        let g = drop_glr(run.into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).expect("a drop");
        assert_eq!(g.onset, 5);
        assert!((g.rate - 0.8).abs() < 1e-12);
        let expected = 1500.0 * bernoulli_kl(0.8, 0.9);
        assert!((g.statistic - expected).abs() < 1e-9);
    }

    #[test]
    fn overdispersion_divides_the_evidence() {
        let run = [(0, 80u32, 100u32)];
        let one = drop_glr(run.into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).expect("a drop");
        let three = drop_glr(run.into_iter(), 0.9, 0.9, 3.0, 0.0, 0.0).expect("a drop");
        assert!((one.statistic / three.statistic - 3.0).abs() < 1e-9);
    }

    #[test]
    fn no_drop_no_statistic() {
        assert!(drop_glr([(0, 95u32, 100u32)].into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).is_none());
    }

    #[test]
    fn a_window_of_l_buckets_pays_the_short_margin_over_l() {
        let one = [(0, 80u32, 100u32)];
        let bare = drop_glr(one.into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).expect("a drop");
        let paid = drop_glr(one.into_iter(), 0.9, 0.9, 1.0, 0.0, 4.0).expect("a drop");
        assert!((bare.statistic - paid.statistic - 4.0).abs() < 1e-9);
        let four = [(3, 80u32, 100u32), (2, 80, 100), (1, 80, 100), (0, 80, 100)];
        let bare = drop_glr(four.into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).expect("a drop");
        let paid = drop_glr(four.into_iter(), 0.9, 0.9, 1.0, 0.0, 4.0).expect("a drop");
        assert_eq!(paid.buckets, 4);
        assert!((bare.statistic - paid.statistic - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_drop_estimated_below_the_floor_is_no_glr_evidence() {
        // 89.5 % against 90 %: half a point, below a one-point floor.
        let run = [(0, 179u32, 200u32)];
        assert!(drop_glr(run.into_iter(), 0.9, 0.89, 1.0, 0.0, 0.0).is_none());
        assert!(drop_glr(run.into_iter(), 0.9, 0.9, 1.0, 0.0, 0.0).is_some());
    }
}
