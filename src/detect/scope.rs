//! Where a deficit lives: the fewest dimension-value combinations that
//! explain most of the missing good (expected − actual), after RiskLoc
//! (Kalander, arXiv 2205.10004):
//! 1. each leaf gets a deviation score 2(e − a)/(e + a);
//! 2. leaves are split normal/abnormal at a cutoff mirrored from the
//!    opposite side's noise, and weighted by their distance to it;
//! 3. combinations of 0 (the whole fleet), 1, 2, 3 dimensions are searched
//!    layer by layer — the smallest layer with an answer wins (succinctness) —
//!    for the element with the largest deficit whose risk (share of abnormal
//!    weight minus the residual a uniform drop inside it leaves) passes, and
//!    whose deficit is significant against the noise;
//! 4. its leaves are removed and the search repeats for the next cause.
//!
//! A ratio (good/total) becomes expected = total × baseline rate and
//! actual = good, so the same search serves ratio and additive data.

use std::collections::HashMap;

/// Most dimensions combined in one cause.
pub const MAX_CAUSE_DIMS: usize = 3;
/// Consistency factor of the median absolute deviation for a normal law.
const MAD_TO_SD: f64 = 1.4826;

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
    /// Smallest risk score for an element to be a cause (RiskLoc: 0.5).
    pub risk_threshold: f64,
    /// Search stops when the unexplained abnormal deficit falls below this
    /// share of the abnormal deficit (RiskLoc's pep: 0.02).
    pub min_share: f64,
    /// Smallest z score (deficit over its noise SD) for a cause: guards
    /// against naming noise as a cause.
    pub min_z: f64,
    pub max_causes: usize,
    /// Leaves on the opposite side ignored when mirroring the cutoff, so a
    /// few outliers do not set it.
    pub cutoff_skip: usize,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        ScopeConfig {
            max_dims: MAX_CAUSE_DIMS,
            risk_threshold: 0.5,
            min_share: 0.02,
            min_z: 4.0,
            max_causes: 5,
            cutoff_skip: 5,
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

/// Per-leaf scores the search needs, computed once.
struct Scored {
    deficit: Vec<f64>,
    deviation: Vec<f64>,
    abnormal: Vec<bool>,
    weight: Vec<f64>,
    variance: Vec<f64>,
}

/// Finds the causes of a deficit, best first; empty when the deficit is
/// within noise.
pub fn localize(leaves: &[Leaf], dims: usize, cfg: &ScopeConfig) -> Vec<Cause> {
    let leaves: Vec<&Leaf> = leaves
        .iter()
        .filter(|l| l.expected.is_finite() && l.actual.is_finite() && l.values.len() >= dims)
        .collect();
    if leaves.is_empty() {
        return Vec::new();
    }
    let scored = score(&leaves, cfg);
    let abnormal_deficit: f64 = (0..leaves.len())
        .filter(|&i| scored.abnormal[i])
        .map(|i| scored.deficit[i])
        .sum();
    if abnormal_deficit <= 0.0 {
        return Vec::new();
    }
    let net_deficit: f64 = scored.deficit.iter().sum();
    let min_deficit = cfg.min_share * abnormal_deficit;
    let mut remaining = vec![true; leaves.len()];
    let mut causes = Vec::new();
    while causes.len() < cfg.max_causes {
        let left: f64 = (0..leaves.len())
            .filter(|&i| remaining[i] && scored.abnormal[i])
            .map(|i| scored.deficit[i])
            .sum();
        if left < min_deficit {
            break;
        }
        let Some((scope, members)) = search(&leaves, dims, &scored, &remaining, min_deficit, cfg)
        else {
            break;
        };
        let (mut expected, mut actual, mut variance) = (0.0, 0.0, 0.0);
        for &i in &members {
            remaining[i] = false;
            expected += leaves[i].expected;
            actual += leaves[i].actual;
            variance += scored.variance[i];
        }
        causes.push(Cause {
            scope,
            explains: 0.0, // below, once every cause is known
            expected,
            actual,
            z: z_score(expected - actual, variance),
            leaves: members.len(),
        });
    }
    // Shares of the net deficit (noise cancels out in it), or of the
    // causes' own when surpluses elsewhere offset them: against a net
    // deficit shrunk by a healthy slice doing better, a cause could
    // "explain" 266 %, which tells a reader nothing. So shares sum to ≤ 1.
    let found: f64 = causes.iter().map(|c| c.expected - c.actual).sum();
    let denominator = net_deficit.max(found);
    for c in &mut causes {
        c.explains = share_of(c.expected - c.actual, denominator);
    }
    causes
}

/// `part` as a share of `whole`, in 0..=1 (0 when there is no whole).
pub(crate) fn share_of(part: f64, whole: f64) -> f64 {
    if whole > 0.0 && part.is_finite() {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn z_score(deficit: f64, variance: f64) -> f64 {
    if variance > 0.0 {
        deficit / variance.sqrt()
    } else if deficit > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

fn score(leaves: &[&Leaf], cfg: &ScopeConfig) -> Scored {
    let deficit: Vec<f64> = leaves.iter().map(|l| l.expected - l.actual).collect();
    let deviation: Vec<f64> = leaves
        .iter()
        .map(|l| {
            let sum = l.expected + l.actual;
            if sum.abs() > 0.0 {
                2.0 * (l.expected - l.actual) / sum
            } else {
                0.0
            }
        })
        .collect();
    // Cutoff mirrored from the surplus side: what noise reaches there, it
    // reaches on the deficit side too.
    let mut sorted: Vec<f64> = deviation.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let low = sorted
        .get(cfg.cutoff_skip.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    let cutoff = -low;
    let abnormal: Vec<bool> = deviation.iter().map(|&d| d > cutoff).collect();
    // RiskLoc weighs leaves by |deviation| capped at 1, which suits drops of
    // 20–100 %; quality drops are a few percent. Weights are measured in
    // units of the typical abnormal deviation instead, so a typical abnormal
    // leaf weighs 1 whatever the size of the drop.
    let mut abnormal_devs: Vec<f64> = deviation
        .iter()
        .zip(&abnormal)
        .filter(|&(_, &ab)| ab)
        .map(|(d, _)| d.abs())
        .collect();
    let unit = if abnormal_devs.is_empty() {
        1.0
    } else {
        super::baseline::median(&mut abnormal_devs).max(1e-12)
    };
    let weight: Vec<f64> = leaves
        .iter()
        .zip(&deviation)
        .zip(&abnormal)
        .map(|((l, &d), &ab)| {
            if ab {
                (d.abs() / unit).min(1.0)
            } else if l.expected == 0.0 && l.actual == 0.0 {
                0.0
            } else {
                ((cutoff - d).abs() / unit).min(1.0)
            }
        })
        .collect();
    // Relative noise, robustly: the MAD of the deviation scores ignores a
    // minority of abnormal leaves and a uniform shift alike.
    let mut active: Vec<f64> = leaves
        .iter()
        .zip(&deviation)
        .filter(|(l, _)| l.expected + l.actual > 0.0)
        .map(|(_, &d)| d)
        .collect();
    let relative_sd = if active.is_empty() {
        0.0
    } else {
        let m = super::baseline::median(&mut active);
        let mut dev: Vec<f64> = active.iter().map(|d| (d - m).abs()).collect();
        MAD_TO_SD * super::baseline::median(&mut dev)
    };
    let variance = leaves
        .iter()
        .map(|l| {
            l.variance
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or((relative_sd * l.expected).powi(2))
        })
        .collect();
    Scored {
        deficit,
        deviation,
        abnormal,
        weight,
        variance,
    }
}

/// Accumulated over the leaves of one element.
#[derive(Default)]
struct Element {
    deficit: f64,
    any_abnormal: bool,
    members: Vec<usize>,
}

type Key = [u32; MAX_CAUSE_DIMS];
/// (dimension, value id) pairs of a cause.
type Scope = Vec<(usize, u32)>;

/// The best cause in the lowest layer that has one.
fn search(
    leaves: &[&Leaf],
    dims: usize,
    s: &Scored,
    remaining: &[bool],
    min_deficit: f64,
    cfg: &ScopeConfig,
) -> Option<(Scope, Vec<usize>)> {
    let live: Vec<usize> = (0..leaves.len()).filter(|&i| remaining[i]).collect();
    for layer in 0..=cfg.max_dims.min(dims).min(MAX_CAUSE_DIMS) {
        let mut best: Option<(f64, Scope, Vec<usize>)> = None;
        for cuboid in combinations(dims, layer) {
            let mut elements: HashMap<Key, Element> = HashMap::new();
            for &i in &live {
                let mut key = [u32::MAX; MAX_CAUSE_DIMS];
                for (k, &d) in cuboid.iter().enumerate() {
                    key[k] = leaves[i].values[d];
                }
                let e = elements.entry(key).or_default();
                e.deficit += s.deficit[i];
                e.any_abnormal |= s.abnormal[i];
                e.members.push(i);
            }
            let floor = best.as_ref().map_or(min_deficit, |b| b.0);
            let mut candidates: Vec<(Key, Element)> = elements
                .into_iter()
                .filter(|(_, e)| e.any_abnormal && e.deficit > floor)
                .collect();
            candidates.sort_by(|a, b| b.1.deficit.total_cmp(&a.1.deficit));
            for (key, e) in candidates {
                if risk(leaves, s, &e.members) < cfg.risk_threshold {
                    continue;
                }
                let variance: f64 = e.members.iter().map(|&i| s.variance[i]).sum();
                if z_score(e.deficit, variance) < cfg.min_z {
                    continue;
                }
                let scope = cuboid
                    .iter()
                    .enumerate()
                    .map(|(k, &d)| (d, key[k]))
                    .collect();
                best = Some((e.deficit, scope, e.members));
                break; // sorted by deficit: the first that passes is this cuboid's best
            }
        }
        if let Some((_, scope, members)) = best {
            return Some((scope, members));
        }
    }
    None
}

/// RiskLoc's risk: how purely abnormal the element is, minus how much of
/// its leaves' deviation a uniform drop across it fails to explain.
fn risk(leaves: &[&Leaf], s: &Scored, members: &[usize]) -> f64 {
    let (mut abnormal, mut normal) = (0.0, 1.0);
    for &i in members {
        if s.abnormal[i] {
            abnormal += s.weight[i];
        } else {
            normal += s.weight[i];
        }
    }
    let high = abnormal / (abnormal + normal);
    let nonzero: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| leaves[i].expected != 0.0 && leaves[i].actual != 0.0)
        .collect();
    let low = if nonzero.is_empty() {
        0.0
    } else {
        let expected: f64 = nonzero.iter().map(|&i| leaves[i].expected).sum();
        let actual: f64 = nonzero.iter().map(|&i| leaves[i].actual).sum();
        let scale = actual / expected;
        let residual: f64 = nonzero
            .iter()
            .map(|&i| {
                let uniform = leaves[i].expected * scale;
                let sum = uniform + leaves[i].actual;
                if sum.abs() > 0.0 {
                    (2.0 * (uniform - leaves[i].actual) / sum).abs()
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / nonzero.len() as f64;
        let spread: f64 =
            nonzero.iter().map(|&i| s.deviation[i].abs()).sum::<f64>() / nonzero.len() as f64;
        if spread > 0.0 { residual / spread } else { 0.0 }
    };
    high - low
}

/// Every ascending choice of `k` dimensions out of `n`.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
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
