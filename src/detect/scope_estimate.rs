//! The one per-leaf estimate the scope search runs on: each leaf's baseline
//! rate, its expected good over the tested window, and the noise of its
//! actual good. `qualtop scope` (from a CSV), the TUI's scope panel and
//! `check` (from the store) all call [`estimate_leaves`], so they give the
//! same causes on the same counts.

/// Pseudo-trials of the overall rate mixed into each leaf's baseline, so a
/// leaf with little history leans on the overall rate.
pub const PRIOR_TRIALS: f64 = 10.0;
/// Median of a χ²₁ variable: turns the median squared residual into φ.
const CHI2_1_MEDIAN: f64 = 0.4549;
/// Most baseline buckets a leaf's rate is learnt from (the latest before the
/// tested window): the store and a CSV file must learn from the same span.
/// 8 hours of minutes, as the detectors' reference: with less, a window of
/// hours carries the baseline's error twice over and hides a real cause.
pub const SCOPE_BASELINE_BUCKETS: usize = 480;

/// One leaf's counts: (good, total) per baseline bucket, and summed over the
/// tested window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafCounts {
    pub history: Vec<(f64, f64)>,
    pub window: (f64, f64),
}

/// What the search needs of one leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeafEstimate {
    /// Window total × the leaf's baseline rate.
    pub expected: f64,
    /// Good in the window.
    pub actual: f64,
    /// Noise variance of `actual`: binomial × the overdispersion φ, plus the
    /// baseline's own error.
    pub variance: f64,
}

/// Per leaf, in the same order, its estimate (`None` when its window has no
/// total): [`LeafBaselines::learn`] from the histories, then
/// [`LeafBaselines::estimate`] of each window. `Err` when no baseline
/// bucket has any total.
pub fn estimate_leaves(leaves: &[LeafCounts]) -> Result<Vec<Option<LeafEstimate>>, String> {
    let baselines = LeafBaselines::learn(leaves.len(), |i| leaves[i].history.iter().copied())?;
    Ok(leaves
        .iter()
        .enumerate()
        .map(|(i, l)| baselines.estimate(i, l.window))
        .collect())
}

/// What the estimate keeps of the baseline buckets: per leaf its pooled
/// good and total, and the overall rate and φ. Learnt once, it outlives the
/// buckets (the monitor learns it when a regression begins, and the store
/// may drop those buckets long before the regression ends).
#[derive(Debug, Clone, PartialEq)]
pub struct LeafBaselines {
    /// Per leaf: pooled good and total of its baseline buckets.
    pooled: Vec<(f64, f64)>,
    overall: f64,
    dispersion: f64,
}

impl LeafBaselines {
    /// From the baseline buckets of leaves `0..leaves` (read twice):
    /// baseline = the leaf's pooled rate shrunk toward the overall rate by
    /// [`PRIOR_TRIALS`]; φ = median squared standardised residual of the
    /// baseline buckets over the median of χ²₁, never below 1 (one φ for
    /// all leaves: a leaf's few buckets cannot estimate its own). `Err`
    /// when no bucket has any total.
    pub fn learn<I: Iterator<Item = (f64, f64)>>(
        leaves: usize,
        history: impl Fn(usize) -> I,
    ) -> Result<LeafBaselines, String> {
        let pooled: Vec<(f64, f64)> = (0..leaves)
            .map(|i| history(i).fold((0.0, 0.0), |(g, t), (bg, bt)| (g + bg, t + bt)))
            .collect();
        let (all_good, all_total) = pooled
            .iter()
            .fold((0.0, 0.0), |(g, t), &(bg, bt)| (g + bg, t + bt));
        if all_total <= 0.0 {
            return Err("no bucket to learn the baseline from".to_owned());
        }
        let mut out = LeafBaselines {
            pooled,
            overall: all_good / all_total,
            dispersion: 1.0,
        };
        let mut squares: Vec<f64> = Vec::new();
        for i in 0..leaves {
            let p = out.rate(i);
            let var_unit = p * (1.0 - p);
            for (g, t) in history(i) {
                if t > 0.0 && var_unit > 0.0 {
                    squares.push((g - t * p).powi(2) / (t * var_unit));
                }
            }
        }
        let mid = squares.len() / 2;
        if mid < squares.len() {
            let (_, m, _) = squares.select_nth_unstable_by(mid, f64::total_cmp);
            out.dispersion = (*m / CHI2_1_MEDIAN).max(1.0);
        }
        Ok(out)
    }

    /// Leaf `i`'s baseline rate (the overall rate for a leaf it never saw).
    fn rate(&self, i: usize) -> f64 {
        let (g, t) = self.pooled.get(i).copied().unwrap_or((0.0, 0.0));
        (g + PRIOR_TRIALS * self.overall) / (t + PRIOR_TRIALS)
    }

    /// Leaf `i`'s estimate over a window of (good, total); `None` when the
    /// window has no total.
    pub fn estimate(&self, i: usize, (good, n): (f64, f64)) -> Option<LeafEstimate> {
        if n <= 0.0 || !n.is_finite() || !good.is_finite() {
            return None;
        }
        let p = self.rate(i);
        let history_total = self.pooled.get(i).map_or(0.0, |&(_, t)| t);
        // A rate of exactly 0 or 1 would claim no noise at all.
        let pv = p.clamp(
            0.5 / (history_total + PRIOR_TRIALS),
            1.0 - 0.5 / (history_total + PRIOR_TRIALS),
        );
        let unit = self.dispersion * pv * (1.0 - pv);
        Some(LeafEstimate {
            expected: n * p,
            actual: good,
            variance: n * unit + n * n * unit / (history_total + PRIOR_TRIALS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_without_history_leans_on_the_overall_rate() {
        let est = estimate_leaves(&[
            LeafCounts {
                history: vec![(80.0, 100.0); 5],
                window: (40.0, 50.0),
            },
            LeafCounts {
                history: vec![],
                window: (10.0, 10.0),
            },
        ])
        .unwrap();
        let new = est[1].unwrap();
        assert!((new.expected - 8.0).abs() < 1e-9, "{new:?}");
        assert!(
            new.variance > 10.0 * 0.8 * 0.2,
            "baseline error adds: {new:?}"
        );
    }

    #[test]
    fn an_empty_window_has_no_estimate_and_no_history_is_an_error() {
        let est = estimate_leaves(&[LeafCounts {
            history: vec![(9.0, 10.0)],
            window: (0.0, 0.0),
        }])
        .unwrap();
        assert_eq!(est, vec![None]);
        assert!(estimate_leaves(&[LeafCounts::default()]).is_err());
    }
}
