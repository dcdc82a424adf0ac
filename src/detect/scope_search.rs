//! The greedy search behind [`localize`](super::localize): the next cause is
//! the most significant element whose children fell alike, from the
//! coarsest layer that comes close to the best; its drop is fitted, and the
//! search repeats on what is left. See [`super::scope`] for the argument.

use std::collections::{HashMap, HashSet};

use super::scope::{Cause, Leaf, MAX_CAUSE_DIMS, ScopeConfig, combinations, z_score};

/// (dimension, value id) pairs of a cause, ascending by dimension.
pub(super) type Scope = Vec<(usize, u32)>;
/// Value ids of an element on its cuboid's dimensions.
type Key = [u32; MAX_CAUSE_DIMS];

/// Largest dense table of one cuboid's elements; beyond it, a hash map.
const MAX_DENSE: usize = 1 << 22;
/// Candidates tested for evenness per cuboid and step: past them, the
/// cuboid's significant elements are unions, not causes.
const MAX_CHECKS: usize = 32;

#[derive(Clone, Copy, Default)]
pub(super) struct Sums {
    pub(super) deficit: f64,
    pub(super) expected: f64,
    pub(super) variance: f64,
}

impl Sums {
    pub(super) fn add(&mut self, deficit: f64, expected: f64, variance: f64) {
        self.deficit += deficit;
        self.expected += expected;
        self.variance += variance;
    }
}

/// The leaves and what is left to explain in them.
#[derive(Clone)]
pub(super) struct State<'a> {
    pub(super) leaves: &'a [&'a Leaf],
    pub(super) dims: usize,
    pub(super) cards: Vec<usize>,
    /// Leaves per (dimension, value id), to list an element's leaves.
    pub(super) by_value: Vec<Vec<Vec<usize>>>,
    /// Expected after the drops of the causes found so far.
    pub(super) expected: Vec<f64>,
    /// Noise variance, inflated inside a found cause by what its fit left.
    pub(super) variance: Vec<f64>,
    /// Inside a found cause: such leaves may have fallen by more than one
    /// cause, so they do not vote on another element's evenness.
    pub(super) explained: Vec<bool>,
}

/// One cause's fit (see [`State::fit`]): the scale its leaves' expected
/// take, and the factor on the variance of the leaves it was learnt from.
pub(super) struct Fit {
    pub(super) scale: f64,
    pub(super) phi: f64,
    /// The leaves no earlier cause explained, if any: the fit's own.
    free: Option<Vec<usize>>,
}

impl Fit {
    /// The leaves of `members` (those fitted) the drop was learnt from.
    pub(super) fn learnt_from<'m>(&'m self, members: &'m [usize]) -> &'m [usize] {
        self.free.as_deref().unwrap_or(members)
    }
}

/// Every significant cause, in the order found.
/// `kept`: the scopes of causes a previous search found (see
/// [`scope_keep`](super::scope_keep)); none for a one-off search.
pub(crate) fn search(
    leaves: &[&Leaf],
    dims: usize,
    variance: &[f64],
    cfg: &ScopeConfig,
    kept: &[Scope],
) -> Vec<Cause> {
    let mut st = State::new(leaves, dims, variance);
    let cfg = &ScopeConfig {
        min_z: cfg
            .min_z
            .max(bonferroni_z(cfg.alpha, &st.cards, cfg.max_dims)),
        ..*cfg
    };
    let net: f64 = leaves.iter().map(|l| l.expected - l.actual).sum();
    let min_deficit = cfg.min_share * net.max(0.0);
    let mut taken: HashSet<Scope> = HashSet::new();
    let mut causes = Vec::new();
    while cfg.max_causes.is_none_or(|m| causes.len() < m) {
        let Some((scope, members)) = st
            .best(cfg, min_deficit, &taken)
            .map(|best| st.keep(best, kept, cfg, min_deficit, &taken))
        else {
            break;
        };
        let (mut expected, mut actual, mut var) = (0.0, 0.0, 0.0);
        for &i in &members {
            expected += st.expected[i];
            actual += leaves[i].actual;
            var += st.variance[i];
        }
        st.fit(&members);
        taken.insert(scope.clone());
        causes.push(Cause {
            scope,
            explains: 0.0, // by the caller, once every cause is known
            expected,
            actual,
            z: z_score(expected - actual, var),
            leaves: members.len(),
        });
    }
    causes
}

/// The one-sided z whose tail is `alpha` over the number of elements of up
/// to `max_dims` dimensions (by Mills' ratio, refined once).
fn bonferroni_z(alpha: f64, cards: &[usize], max_dims: usize) -> f64 {
    let mut elements = 0.0;
    for layer in 0..=max_dims.min(cards.len()).min(MAX_CAUSE_DIMS) {
        for cuboid in combinations(cards.len(), layer) {
            elements += cuboid
                .iter()
                .map(|&d| cards[d].max(1) as f64)
                .product::<f64>();
        }
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return 0.0;
    }
    let l = (elements.max(1.0) / alpha).ln();
    let mut z = (2.0 * l).sqrt();
    for _ in 0..2 {
        z = (2.0 * l - 2.0 * z.max(1.0).ln() - (2.0 * std::f64::consts::PI).ln())
            .max(0.0)
            .sqrt();
    }
    z
}

impl<'a> State<'a> {
    /// Nothing explained yet; `variance` per leaf.
    pub(super) fn new(leaves: &'a [&'a Leaf], dims: usize, variance: &[f64]) -> Self {
        let cards: Vec<usize> = (0..dims)
            .map(|d| {
                leaves
                    .iter()
                    .map(|l| l.values[d] as usize + 1)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut by_value: Vec<Vec<Vec<usize>>> =
            cards.iter().map(|&c| vec![Vec::new(); c]).collect();
        for (i, l) in leaves.iter().enumerate() {
            for (d, col) in by_value.iter_mut().enumerate() {
                col[l.values[d] as usize].push(i);
            }
        }
        State {
            leaves,
            dims,
            cards,
            by_value,
            expected: leaves.iter().map(|l| l.expected).collect(),
            variance: variance.to_vec(),
            explained: vec![false; leaves.len()],
        }
    }

    /// The cause's uniform drop taken out of its leaves; what is left inside
    /// is a nested cause's extra deficit, tested against the spread the fit
    /// left (so leaf-to-leaf variation of one drop is not a second cause).
    pub(super) fn fit(&mut self, members: &[usize]) {
        let f = self.fit_of(members);
        // Applied to every leaf inside: where causes cross, drops compound.
        for &i in members {
            self.expected[i] *= f.scale;
        }
        for &i in f.learnt_from(members) {
            self.variance[i] *= f.phi;
        }
        for &i in members {
            self.explained[i] = true;
        }
    }

    /// What [`fit`](Self::fit) would do to the leaves `members`, without
    /// doing it.
    pub(super) fn fit_of(&self, members: &[usize]) -> Fit {
        // Leaves a found cause already fitted carry its drop (and this one's,
        // where they cross): the drop is learnt from the others, if any.
        let free: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| !self.explained[i])
            .collect();
        let fitted = if free.is_empty() { members } else { &free[..] };
        let (expected, actual) = fitted.iter().fold((0.0, 0.0), |(e, a), &i| {
            (e + self.expected[i], a + self.leaves[i].actual)
        });
        let scale = if expected > 0.0 {
            actual / expected
        } else {
            1.0
        };
        let chi2: f64 = fitted
            .iter()
            .map(|&i| (self.expected[i] * scale - self.leaves[i].actual).powi(2) / self.variance[i])
            .sum();
        let phi = (chi2 / fitted.len().saturating_sub(1).max(1) as f64).max(1.0);
        Fit {
            scale,
            phi,
            free: (!free.is_empty()).then_some(free),
        }
    }

    /// The next cause: the best even element per layer, then the coarsest
    /// layer whose best comes within `coarse_ratio` of the best overall.
    fn best(
        &self,
        cfg: &ScopeConfig,
        min_deficit: f64,
        taken: &HashSet<Scope>,
    ) -> Option<(f64, Scope, Vec<usize>)> {
        let max_layer = cfg.max_dims.min(self.dims).min(MAX_CAUSE_DIMS);
        let margins = self.margins();
        let mut per_layer: Vec<(f64, Scope, Vec<usize>)> = Vec::new();
        for layer in 0..=max_layer {
            let mut best: Option<(f64, Scope, Vec<usize>)> = None;
            for cuboid in combinations(self.dims, layer) {
                let mut candidates: Vec<(f64, Key)> = self
                    .aggregate(&cuboid)
                    .into_iter()
                    .filter(|(_, s)| s.deficit > 0.0 && s.deficit >= min_deficit)
                    .map(|(k, s)| (z_score(s.deficit, s.variance), k))
                    .filter(|&(z, _)| z >= cfg.min_z)
                    .collect();
                candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
                for (z, key) in candidates.into_iter().take(MAX_CHECKS) {
                    if best.as_ref().is_some_and(|b| b.0 >= z) {
                        break;
                    }
                    let scope: Scope = cuboid
                        .iter()
                        .enumerate()
                        .map(|(k, &d)| (d, key[k]))
                        .collect();
                    // Where two found causes cross, their drops compound in
                    // some way: that is not a third cause.
                    let inside = taken
                        .iter()
                        .filter(|t| t.iter().all(|p| scope.contains(p)))
                        .count();
                    if taken.contains(&scope) || inside >= 2 {
                        continue;
                    }
                    let members = self.members(&scope);
                    if self.even(&scope, &members, z, &margins, cfg) {
                        best = Some((z, scope, members));
                        break;
                    }
                }
            }
            per_layer.extend(best);
        }
        let top = per_layer
            .iter()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|b| (b.0, b.1.clone(), b.2.clone()))?;
        // A coarser element wins only where its ripple test could have
        // refused it had the best (finer) element been the cause; without
        // that power, "its children fell alike" is no evidence.
        per_layer.into_iter().find(|b| {
            b.0 * b.0 >= cfg.coarse_ratio * top.0 * top.0
                && (b.1 == top.1 || self.could_refuse(&b.1, &b.2, b.0, &top, &margins, cfg))
        })
    }

    /// Remaining deficit, expected and variance summed over `members`.
    pub(super) fn sums(&self, members: &[usize]) -> Sums {
        let mut s = Sums::default();
        for &i in members {
            s.add(
                self.expected[i] - self.leaves[i].actual,
                self.expected[i],
                self.variance[i],
            );
        }
        s
    }

    /// Remaining deficit, expected and variance per element of a cuboid.
    fn aggregate(&self, cuboid: &[usize]) -> Vec<(Key, Sums)> {
        let size = cuboid
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(self.cards[d].max(1)));
        let leaf = |i: usize| {
            (
                self.expected[i] - self.leaves[i].actual,
                self.expected[i],
                self.variance[i],
            )
        };
        match size {
            Some(n) if n <= MAX_DENSE => {
                let mut table = vec![Sums::default(); n];
                let mut seen = vec![false; n];
                for (i, l) in self.leaves.iter().enumerate() {
                    let idx = cuboid.iter().fold(0usize, |acc, &d| {
                        acc * self.cards[d].max(1) + l.values[d] as usize
                    });
                    let (d, e, v) = leaf(i);
                    table[idx].add(d, e, v);
                    seen[idx] = true;
                }
                table
                    .into_iter()
                    .enumerate()
                    .filter(|&(idx, _)| seen[idx])
                    .map(|(mut idx, s)| {
                        let mut key = [u32::MAX; MAX_CAUSE_DIMS];
                        for (k, &d) in cuboid.iter().enumerate().rev() {
                            let card = self.cards[d].max(1);
                            key[k] = (idx % card) as u32;
                            idx /= card;
                        }
                        (key, s)
                    })
                    .collect()
            }
            _ => {
                let mut table: HashMap<Key, Sums> = HashMap::new();
                for (i, l) in self.leaves.iter().enumerate() {
                    let mut key = [u32::MAX; MAX_CAUSE_DIMS];
                    for (k, &d) in cuboid.iter().enumerate() {
                        key[k] = l.values[d];
                    }
                    let (d, e, v) = leaf(i);
                    table.entry(key).or_default().add(d, e, v);
                }
                table.into_iter().collect()
            }
        }
    }

    /// The leaves inside a scope.
    pub(super) fn members(&self, scope: &[(usize, u32)]) -> Vec<usize> {
        let Some(&(d0, v0)) = scope
            .iter()
            .min_by_key(|&&(d, v)| self.by_value[d].get(v as usize).map_or(0, Vec::len))
        else {
            return (0..self.leaves.len()).collect();
        };
        self.by_value[d0]
            .get(v0 as usize)
            .map(|list| {
                list.iter()
                    .copied()
                    .filter(|&i| scope.iter().all(|&(d, v)| self.leaves[i].values[d] == v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Remaining deficit, expected and variance per (dimension, value).
    fn margins(&self) -> Vec<Vec<Sums>> {
        let mut m: Vec<Vec<Sums>> = self
            .cards
            .iter()
            .map(|&c| vec![Sums::default(); c])
            .collect();
        for (i, l) in self.leaves.iter().enumerate() {
            for (d, col) in m.iter_mut().enumerate() {
                col[l.values[d] as usize].add(
                    self.expected[i] - l.actual,
                    self.expected[i],
                    self.variance[i],
                );
            }
        }
        m
    }
}
