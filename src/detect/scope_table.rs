//! Leaves named by strings: interns dimension values to the ids the scope
//! search works on, and names its causes back.

use std::collections::{BTreeMap, HashMap};

use super::scope::{Cause, Leaf, ScopeConfig, localize};

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
