//! Leaves named by strings: interns dimension values to the ids the scope
//! search works on, and names its causes back.

use std::collections::{BTreeMap, HashMap};

use super::scope::{Cause, Leaf, ScopeConfig, localize};
use super::scope_estimate::{LeafCounts, estimate_leaves};

/// Dimension names, their interned values, and the leaves.
#[derive(Debug, Clone, Default)]
pub struct ScopeTable {
    dims: Vec<String>,
    values: Vec<Vec<String>>,
    ids: Vec<HashMap<String, u32>>,
    leaves: Vec<Leaf>,
    /// Leaf values → index in `leaves`, to merge repeated rows.
    index: HashMap<Vec<u32>, usize>,
}

impl ScopeTable {
    pub fn new(dims: Vec<String>) -> Self {
        let n = dims.len();
        ScopeTable {
            dims,
            values: vec![Vec::new(); n],
            ids: vec![HashMap::new(); n],
            ..Default::default()
        }
    }

    pub fn dims(&self) -> &[String] {
        &self.dims
    }
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The ids of a leaf's values, interning new ones. `values` must have
    /// one entry per dimension.
    pub fn intern(&mut self, values: &[&str]) -> Vec<u32> {
        values
            .iter()
            .enumerate()
            .take(self.dims.len())
            .map(|(d, v)| {
                if let Some(&id) = self.ids[d].get(*v) {
                    return id;
                }
                let id = self.values[d].len() as u32;
                self.values[d].push((*v).to_owned());
                self.ids[d].insert((*v).to_owned(), id);
                id
            })
            .collect()
    }

    /// Adds to the leaf with these values (rows for one leaf are summed).
    pub fn add(&mut self, values: &[&str], expected: f64, actual: f64, variance: Option<f64>) {
        let key = self.intern(values);
        if let Some(&i) = self.index.get(&key) {
            let leaf = &mut self.leaves[i];
            leaf.expected += expected;
            leaf.actual += actual;
            leaf.variance = match (leaf.variance, variance) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        } else {
            self.index.insert(key.clone(), self.leaves.len());
            self.leaves.push(Leaf {
                values: key,
                expected,
                actual,
                variance,
            });
        }
    }

    pub fn localize(&self, cfg: &ScopeConfig) -> Vec<Cause> {
        localize(&self.leaves, self.dims.len(), cfg)
    }

    /// A cause's scope as dimension → value.
    pub fn name(&self, cause: &Cause) -> BTreeMap<String, String> {
        cause
            .scope
            .iter()
            .filter_map(|&(d, v)| {
                Some((
                    self.dims.get(d)?.clone(),
                    self.values.get(d)?.get(v as usize)?.clone(),
                ))
            })
            .collect()
    }

    /// The same leaves with expected and actual swapped: a rise becomes a
    /// deficit, for searching the other direction.
    pub fn swapped(&self) -> ScopeTable {
        let mut t = self.clone();
        for l in &mut t.leaves {
            std::mem::swap(&mut l.expected, &mut l.actual);
        }
        t
    }

    /// Total expected and actual over all leaves.
    pub fn totals(&self) -> (f64, f64) {
        self.leaves
            .iter()
            .fold((0.0, 0.0), |(e, a), l| (e + l.expected, a + l.actual))
    }
}

/// One leaf's counts: (good, total) per baseline bucket, and in the tested
/// window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeafHistory {
    /// The leaf's value for each dimension, in the table's order.
    pub values: Vec<String>,
    pub history: Vec<(f64, f64)>,
    pub at: (f64, f64),
}

impl ScopeTable {
    /// The table for one tested window from each leaf's history, through the
    /// estimator the monitor uses too ([`estimate_leaves`]). `Err` when no
    /// baseline bucket has any total.
    pub fn from_history(
        dims: Vec<String>,
        mut leaves: Vec<LeafHistory>,
    ) -> Result<ScopeTable, String> {
        leaves.sort_by(|a, b| a.values.cmp(&b.values));
        let counts: Vec<LeafCounts> = leaves
            .iter()
            .map(|l| LeafCounts {
                history: l.history.clone(),
                window: l.at,
            })
            .collect();
        let estimates = estimate_leaves(&counts)?;
        let mut table = ScopeTable::new(dims);
        for (l, e) in leaves.iter().zip(estimates) {
            let Some(e) = e else { continue };
            let refs: Vec<&str> = l.values.iter().map(String::as_str).collect();
            table.add(&refs, e.expected, e.actual, Some(e.variance));
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(values: &[&str], history: &[(f64, f64)], at: (f64, f64)) -> LeafHistory {
        LeafHistory {
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            history: history.to_vec(),
            at,
        }
    }

    #[test]
    fn expected_is_the_leaf_baseline_and_leaves_sort_by_values() {
        let t = ScopeTable::from_history(
            vec!["hw".into()],
            vec![
                leaf(&["tpu"], &[(90.0, 100.0); 4], (50.0, 100.0)),
                leaf(&["gpu"], &[(90.0, 100.0); 4], (90.0, 100.0)),
            ],
        )
        .unwrap();
        let (expected, actual) = t.totals();
        // Both baselines are 0.9 (the prior is the same 0.9): 90 expected each.
        assert!((expected - 180.0).abs() < 1e-9, "{expected}");
        assert!((actual - 140.0).abs() < 1e-9, "{actual}");
        assert_eq!(t.leaves().len(), 2);
    }

    #[test]
    fn no_baseline_bucket_is_an_error_not_a_table() {
        let r = ScopeTable::from_history(vec!["hw".into()], vec![leaf(&["tpu"], &[], (5.0, 10.0))]);
        assert!(r.is_err());
    }
}
