//! Where a deficit lives: the combinations of dimension values that explain
//! the missing good (expected − actual), found greedily (see
//! [`scope_search`](super::scope_search) for the search itself):
//! 1. every element (a combination of 0, 1, 2 or 3 dimension values) gets
//!    the z score of its remaining deficit against its noise;
//! 2. an element is a candidate only if a uniform relative drop explains it:
//!    split by any other dimension, its children all fell alike (the ripple
//!    effect of the localisation literature: a cause at `e=e2` shows the same
//!    drop in every `e=e2 ∧ a=…`; a union of a cause and healthy leaves does
//!    not);
//! 3. the best candidate of the coarsest layer whose best is within
//!    [`ScopeConfig::coarse_ratio`] of the overall best is the next cause: a
//!    coarse cause is preferred to its refinements;
//! 4. its uniform drop is fitted (its leaves' expected scaled to its actual),
//!    so what is left inside it is the extra deficit of any finer, nested
//!    cause, and the search repeats.
//!
//! It stops when no element's remaining deficit is significant (z below
//! [`ScopeConfig::min_z`]) or large enough ([`ScopeConfig::min_share`] of the
//! net deficit): no fixed number of causes. `max_causes` is only an option.
//!
//! A ratio (good/total) becomes expected = total × baseline rate and
//! actual = good, so the same search serves ratio and additive data.

/// Most dimensions combined in one cause.
pub const MAX_CAUSE_DIMS: usize = 3;
/// Consistency factor of the median absolute deviation for a normal law.
const MAD_TO_SD: f64 = 1.4826;
/// Relative noise assumed at least (0.1 %): exact data would otherwise make
/// every rounding a significant cause.
const MIN_RELATIVE_SD: f64 = 1e-3;

/// One leaf: a full combination of dimension values.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Value id per dimension, in the caller's dimension order.
    pub values: Vec<u32>,
    pub expected: f64,
    pub actual: f64,
    /// Noise variance of `actual`, when known (ratio data: φ·n·p(1−p)).
    /// Without it the noise is taken as relative, its size estimated
    /// robustly from all leaves' deviation scores.
    pub variance: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScopeConfig {
    /// Largest number of dimensions in one cause (1..=3).
    pub max_dims: usize,
    /// Smallest z score (remaining deficit over its noise SD) for a cause:
    /// the stopping rule, and the guard against naming noise as a cause.
    pub min_z: f64,
    /// Chance per step of naming noise as a cause over every element the
    /// search tests (Bonferroni): the z threshold is the larger of `min_z`
    /// and the one this sets (4.6 on 28,800 leaves of 5 dimensions).
    pub alpha: f64,
    /// Smallest share of the net deficit a cause must hold (a significant
    /// but negligible remainder is not a cause).
    pub min_share: f64,
    /// How unevenly an element's children may have fallen, as a share of
    /// its own z²: beyond it, the element is a union, not a cause.
    pub ripple_slack: f64,
    /// A coarser layer's best wins when its z² is at least this share of
    /// the best finer one's.
    pub coarse_ratio: f64,
    /// Most causes reported; `None`: every significant one.
    pub max_causes: Option<usize>,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        ScopeConfig {
            max_dims: MAX_CAUSE_DIMS,
            min_z: 4.0,
            alpha: 0.01,
            min_share: 0.01,
            ripple_slack: 0.05,
            coarse_ratio: 0.5,
            max_causes: None,
        }
    }
}

/// A combination of dimension values and how much of the deficit it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// (dimension index, value id), ascending by dimension; empty = everything.
    pub scope: Vec<(usize, u32)>,
    /// Share of the deficit it explains, 0..=1 (0.91 = 91 %): of the net
    /// deficit, or of all causes' when surpluses elsewhere offset it.
    pub explains: f64,
    pub expected: f64,
    pub actual: f64,
    /// Deficit over its noise SD.
    pub z: f64,
    /// Leaves inside it.
    pub leaves: usize,
}

impl Cause {
    /// Whether a leaf with these values lies inside the cause's scope.
    pub fn contains(&self, values: &[u32]) -> bool {
        self.scope
            .iter()
            .all(|&(d, v)| values.get(d).is_some_and(|&x| x == v))
    }
}

/// The first (best) cause whose scope holds the leaf, if any: groups leaf
/// alarms into one regression per cause.
pub fn cause_of(values: &[u32], causes: &[Cause]) -> Option<usize> {
    causes.iter().position(|c| c.contains(values))
}

/// Finds the causes of a deficit, most significant first; empty when the
/// deficit is within noise.
pub fn localize(leaves: &[Leaf], dims: usize, cfg: &ScopeConfig) -> Vec<Cause> {
    localize_keeping(leaves, dims, cfg, &[])
}

/// [`localize`] for a search repeated as data arrive: `kept` are the
/// scopes (as [`Cause::scope`]) a previous search found, and one of them
/// stays a cause over another reading of the same deficit that is only
/// as good within noise (see `scope_search::KEEP_RATIO`), so that a
/// regression's place does not trade between two overlapping scopes from
/// one search to the next.
pub fn localize_keeping(
    leaves: &[Leaf],
    dims: usize,
    cfg: &ScopeConfig,
    kept: &[Vec<(usize, u32)>],
) -> Vec<Cause> {
    let leaves: Vec<&Leaf> = leaves
        .iter()
        .filter(|l| l.expected.is_finite() && l.actual.is_finite() && l.values.len() >= dims)
        .collect();
    if leaves.is_empty() {
        return Vec::new();
    }
    let variance = noise(&leaves);
    let mut causes = super::scope_search::search(&leaves, dims, &variance, cfg, kept);
    // Shares of the net deficit (noise cancels out in it), or of the
    // causes' own when surpluses elsewhere offset them: against a net
    // deficit shrunk by a healthy slice doing better, a cause could
    // "explain" 266 %, which tells a reader nothing. So shares sum to ≤ 1.
    let net_deficit: f64 = leaves.iter().map(|l| l.expected - l.actual).sum();
    let found: f64 = causes.iter().map(|c| c.expected - c.actual).sum();
    let denominator = net_deficit.max(found);
    for c in &mut causes {
        c.explains = share_of(c.expected - c.actual, denominator);
    }
    causes
}

/// Noise variance of each leaf's actual: the given one, or relative noise
/// whose size is estimated robustly (MAD of the deviation scores
/// 2(e − a)/(e + a), which ignores a minority of abnormal leaves and a
/// uniform shift alike). Floored so a noise-free input still has a scale.
fn noise(leaves: &[&Leaf]) -> Vec<f64> {
    let mut active: Vec<f64> = leaves
        .iter()
        .filter(|l| l.expected + l.actual > 0.0)
        .map(|l| 2.0 * (l.expected - l.actual) / (l.expected + l.actual))
        .collect();
    let relative_sd = if active.is_empty() {
        0.0
    } else {
        let m = super::baseline::median(&mut active);
        let mut dev: Vec<f64> = active.iter().map(|d| (d - m).abs()).collect();
        MAD_TO_SD * super::baseline::median(&mut dev)
    }
    .max(MIN_RELATIVE_SD);
    leaves
        .iter()
        .map(|l| {
            let floor = (MIN_RELATIVE_SD * l.expected).powi(2) + 1e-9;
            l.variance
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or((relative_sd * l.expected).powi(2))
                .max(floor)
        })
        .collect()
}

/// `part` as a share of `whole`, in 0..=1 (0 when there is no whole).
pub(crate) fn share_of(part: f64, whole: f64) -> f64 {
    if whole > 0.0 && part.is_finite() {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

pub(crate) fn z_score(deficit: f64, variance: f64) -> f64 {
    if variance > 0.0 {
        deficit / variance.sqrt()
    } else if deficit > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// Every ascending choice of `k` dimensions out of `n`.
pub(crate) fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn rec(start: usize, n: usize, k: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for d in start..n {
            current.push(d);
            rec(d + 1, n, k, current, out);
            current.pop();
        }
    }
    rec(0, n, k, &mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_of_three_out_of_four() {
        assert_eq!(combinations(4, 3).len(), 4);
        assert_eq!(combinations(4, 0), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn a_surplus_elsewhere_does_not_push_a_share_past_one() {
        // Value 1 of dimension 0 misses 100 good; value 2 does 90 better:
        // the net deficit is 10, the cause's share still at most 100 %.
        let mut leaves = Vec::new();
        for a in 1..=3u32 {
            for b in 1..=6u32 {
                let actual = match a {
                    1 => 900.0,
                    2 => 1015.0,
                    _ => 1000.0 + f64::from(b % 3) - 1.0,
                };
                leaves.push(Leaf {
                    values: vec![a, b],
                    expected: 1000.0,
                    actual,
                    variance: Some(25.0),
                });
            }
        }
        let causes = localize(&leaves, 2, &ScopeConfig::default());
        assert_eq!(causes.first().map(|c| c.scope.clone()), Some(vec![(0, 1)]));
        assert!(
            causes.iter().all(|c| (0.0..=1.0).contains(&c.explains)),
            "{causes:?}"
        );
        assert!(causes.iter().map(|c| c.explains).sum::<f64>() <= 1.0 + 1e-9);
    }

    #[test]
    fn empty_scope_contains_every_leaf() {
        let c = Cause {
            scope: vec![],
            explains: 1.0,
            expected: 0.0,
            actual: 0.0,
            z: 0.0,
            leaves: 0,
        };
        assert!(c.contains(&[3, 4]));
        assert_eq!(cause_of(&[1], &[c]), Some(0));
    }
}
