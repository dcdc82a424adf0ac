//! The ripple (evenness) test of the scope search, and its power: whether
//! an element's children fell alike, and whether that test could have told
//! a coarse element from a finer one inside it. See [`super::scope`].

use std::collections::HashMap;

use super::scope::{ScopeConfig, z_score};
use super::scope_search::{Scope, State, Sums};

/// Children's χ² beyond df + this many of its SDs is uneven (p ≈ 10⁻⁴ at
/// 10 children), before the slack for drops that vary a little by leaf.
const RIPPLE_SDS: f64 = 4.0;

/// One-sided z of the power a ripple test must have (90 %) before a
/// coarser element is preferred to a finer one it holds.
const POWER_Z: f64 = 1.28;

/// Share of an element's deficit that must be its own (beyond what its
/// children's values show elsewhere): a slice through other causes borrows
/// theirs, and composition alone gives it a significant few percent.
const OWN_SHARE: f64 = 0.25;

impl State<'_> {
    /// Whether the ripple test of the coarse element (`scope`, `members`,
    /// z) would refuse it, with [`POWER_Z`] confidence, if the finer
    /// element `fine` inside it were the cause (its relative drop in its
    /// own leaves, none in the coarse element's others). Elements that do
    /// not nest: the test is not about them, so yes.
    pub(super) fn could_refuse(
        &self,
        scope: &[(usize, u32)],
        members: &[usize],
        z: f64,
        fine: &(f64, Scope, Vec<usize>),
        margins: &[Vec<Sums>],
        cfg: &ScopeConfig,
    ) -> bool {
        if !scope.iter().all(|p| fine.1.contains(p)) {
            return true;
        }
        let (f_def, f_exp) = fine.2.iter().fold((0.0, 0.0), |(d, e), &i| {
            (
                d + self.expected[i] - self.leaves[i].actual,
                e + self.expected[i],
            )
        });
        if f_exp <= 0.0 || f_def <= 0.0 {
            return true;
        }
        let theta = f_def / f_exp;
        let in_fine = |i: usize| fine.1.iter().all(|&(d, v)| self.leaves[i].values[d] == v);
        let slack = cfg.ripple_slack * z * z;
        for x in (0..self.dims).filter(|x| scope.iter().all(|&(d, _)| d != *x)) {
            let Some(margin) = margins.get(x) else {
                continue;
            };
            // Per child: expected, deficit under the finer hypothesis,
            // variance and expected of every member (for the outside part).
            let mut children: HashMap<u32, (f64, f64, f64, f64, f64)> = HashMap::new();
            for &i in members {
                let c = children.entry(self.leaves[i].values[x]).or_default();
                c.3 += self.expected[i];
                c.4 += self.variance[i];
                if self.explained[i] {
                    continue;
                }
                c.0 += self.expected[i];
                c.2 += self.variance[i];
                if in_fine(i) {
                    c.1 += theta * self.expected[i];
                }
            }
            // The same variance the test uses: the child's own, plus the
            // error of its value's drop outside the element.
            let rows: Vec<(f64, f64, f64)> = children
                .iter()
                .filter(|(_, c)| c.0 > 0.0)
                .map(|(&v, &(e, d, var, all_e, all_v))| {
                    let extra = margin.get(v as usize).map_or(0.0, |m| {
                        let (oe, ov) = (m.expected - all_e, m.variance - all_v);
                        if oe > 0.0 {
                            e * e * ov.max(0.0) / (oe * oe)
                        } else {
                            0.0
                        }
                    });
                    (e, d, (var + extra).max(1e-12))
                })
                .collect();
            let (sd, se) = rows
                .iter()
                .fold((0.0, 0.0), |(sd, se), r| (sd + r.1, se + r.0));
            if rows.len() < 2 || se <= 0.0 {
                continue;
            }
            let mean = sd / se;
            let lambda: f64 = rows
                .iter()
                .map(|(e, d, v)| (d - mean * e).powi(2) / v)
                .sum();
            let df = (rows.len() - 1) as f64;
            let spread = (2.0 * (df + 2.0 * lambda)).sqrt();
            if lambda - POWER_Z * spread >= RIPPLE_SDS * (2.0 * df).sqrt() + slack {
                return true;
            }
        }
        false
    }

    /// The ripple test: split by each other dimension, do the element's
    /// children (leaves no found cause holds) share one relative drop, once
    /// each child's own drop outside the element is allowed for (a cause
    /// across the other dimension shows inside and outside alike; a union of
    /// a finer cause and healthy leaves shows only inside)? Their χ² about
    /// it must stay within noise plus `ripple_slack` × z².
    pub(super) fn even(
        &self,
        scope: &[(usize, u32)],
        members: &[usize],
        z: f64,
        margins: &[Vec<Sums>],
        cfg: &ScopeConfig,
    ) -> bool {
        let free: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| !self.explained[i])
            .collect();
        if free.is_empty() {
            return true; // a refinement inside found causes: its extra deficit decides
        }
        let inside = self.sums(&free);
        // Partly inside found causes: the rest must hold a deficit of its own,
        // or the element is borrowing the residual of a cause it overlaps.
        if free.len() < members.len() && z_score(inside.deficit, inside.variance) < cfg.min_z {
            return false;
        }
        if inside.expected <= 0.0 {
            return true;
        }
        let slack = cfg.ripple_slack * z * z;
        for x in (0..self.dims).filter(|x| scope.iter().all(|&(d, _)| d != *x)) {
            let Some(margin) = margins.get(x) else {
                continue;
            };
            let mut children: HashMap<u32, (Sums, Sums)> = HashMap::new();
            for &i in members {
                let (d, e, v) = (
                    self.expected[i] - self.leaves[i].actual,
                    self.expected[i],
                    self.variance[i],
                );
                let c = children.entry(self.leaves[i].values[x]).or_default();
                c.1.add(d, e, v);
                if !self.explained[i] {
                    c.0.add(d, e, v);
                }
            }
            // Per child: its own relative drop outside the element (what
            // the rest of the fleet shows for that value), with its error.
            let rows: Vec<(Sums, f64, f64)> = children
                .iter()
                .filter(|(_, (f, _))| f.expected > 0.0)
                .map(|(&v, (free_c, all_c))| {
                    let (oe, od, ov) = margin.get(v as usize).map_or((0.0, 0.0, 0.0), |m| {
                        (
                            m.expected - all_c.expected,
                            m.deficit - all_c.deficit,
                            m.variance - all_c.variance,
                        )
                    });
                    if oe > 0.0 {
                        (
                            *free_c,
                            od / oe,
                            free_c.expected.powi(2) * ov.max(0.0) / (oe * oe),
                        )
                    } else {
                        (*free_c, 0.0, 0.0)
                    }
                })
                .collect();
            // The element's own drop: its deficit beyond what each child's
            // value shows elsewhere. A slice through other causes has none.
            let (mut own, mut own_e, mut own_v) = (0.0, 0.0, 0.0);
            for (c, rho, extra) in &rows {
                own += c.deficit - rho * c.expected;
                own_e += c.expected;
                own_v += c.variance + extra;
            }
            if own_e <= 0.0 || z_score(own, own_v) < cfg.min_z || own < OWN_SHARE * inside.deficit {
                return false;
            }
            let theta = own / own_e;
            let q: f64 = rows
                .iter()
                .map(|(c, rho, extra)| {
                    (c.deficit - (rho + theta) * c.expected).powi(2)
                        / (c.variance + extra).max(1e-12)
                })
                .sum();
            let df = rows.len().saturating_sub(1) as f64;
            if df > 0.0 && q > df + RIPPLE_SDS * (2.0 * df).sqrt() + slack {
                return false;
            }
        }
        true
    }
}
