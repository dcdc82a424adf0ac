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
/// total). Baseline = the leaf's pooled rate shrunk toward the overall rate
/// by [`PRIOR_TRIALS`]; φ = median squared standardised residual of the
/// baseline buckets over the median of χ²₁, never below 1 (one φ for all
/// leaves: a leaf's few buckets cannot estimate its own). `Err` when no
/// baseline bucket has any total.
pub fn estimate_leaves(leaves: &[LeafCounts]) -> Result<Vec<Option<LeafEstimate>>, String> {
    let (all_good, all_total) = leaves
        .iter()
        .flat_map(|l| l.history.iter())
        .fold((0.0, 0.0), |(g, t), &(bg, bt)| (g + bg, t + bt));
    if all_total <= 0.0 {
        return Err("no bucket to learn the baseline from".to_owned());
    }
    let overall = all_good / all_total;
    let rate_of = |l: &LeafCounts| {
        let (g, t) = l
            .history
            .iter()
            .fold((0.0, 0.0), |(g, t), &(bg, bt)| (g + bg, t + bt));
        ((g + PRIOR_TRIALS * overall) / (t + PRIOR_TRIALS), t)
    };
    let rates: Vec<(f64, f64)> = leaves.iter().map(rate_of).collect();
    let mut squares: Vec<f64> = Vec::new();
    for (l, &(p, _)) in leaves.iter().zip(&rates) {
        let var_unit = p * (1.0 - p);
        for &(g, t) in &l.history {
            if t > 0.0 && var_unit > 0.0 {
                squares.push((g - t * p).powi(2) / (t * var_unit));
            }
        }
    }
    squares.sort_by(f64::total_cmp);
    let dispersion = squares
        .get(squares.len() / 2)
        .map_or(1.0, |m| (m / CHI2_1_MEDIAN).max(1.0));
    Ok(leaves
        .iter()
        .zip(&rates)
        .map(|(l, &(p, history_total))| {
            let (good, n) = l.window;
            if n <= 0.0 || !n.is_finite() || !good.is_finite() {
                return None;
            }
            // A rate of exactly 0 or 1 would claim no noise at all.
            let pv = p.clamp(
                0.5 / (history_total + PRIOR_TRIALS),
                1.0 - 0.5 / (history_total + PRIOR_TRIALS),
            );
            let unit = dispersion * pv * (1.0 - pv);
            Some(LeafEstimate {
                expected: n * p,
                actual: good,
                variance: n * unit + n * n * unit / (history_total + PRIOR_TRIALS),
            })
        })
        .collect())
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
