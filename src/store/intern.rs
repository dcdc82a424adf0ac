//! Slice keys interned once: each distinct dimension value gets a small id,
//! each distinct combination of values a [`SliceId`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::protocol::{PointError, SliceMap};

#[path = "intern_served.rs"]
mod served;
use served::Place;
pub use served::SERVES_SCAN;

/// Most dimensions a fleet may declare; a hello with more is refused.
pub const MAX_DIMENSIONS: usize = 16;

/// Most slices the store holds, so a broken or hostile backend cannot grow
/// memory without bound (50,000 slices × 6 signals × 6 h ≈ 860 MB).
pub const MAX_SLICES: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SliceId(pub u32);

impl SliceId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Value id 0 of every dimension is the empty string: the value of a
/// dimension that the slice's own backend does not declare.
const EMPTY_VALUE: u32 = 0;

#[derive(Debug, Default)]
struct ValueTable {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    /// By value id: the slices with that value, ascending.
    slices: Vec<Vec<u32>>,
}

impl ValueTable {
    fn new() -> Self {
        let mut t = ValueTable::default();
        t.intern("");
        t
    }
    fn intern(&mut self, v: &str) -> u32 {
        if let Some(&id) = self.ids.get(v) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(v.into());
        self.slices.push(Vec::new());
        self.ids.insert(v.into(), id);
        id
    }
}

/// Dimension names, their values and the slices made of them.
#[derive(Debug, Default)]
pub struct SliceInterner {
    dims: Vec<String>,
    values: Vec<ValueTable>,
    keys: HashMap<Box<[u32]>, SliceId>,
    slices: Vec<Box<[u32]>>,
    /// [`SliceInterner::serves`]'s answers by place (dimension index, value
    /// id), until a slice or dimension is added: every surface asks the same
    /// few thousand places on every frame.
    served: Mutex<HashMap<Place, Option<bool>>>,
}

impl SliceInterner {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn dimensions(&self) -> &[String] {
        &self.dims
    }

    pub fn len(&self) -> usize {
        self.slices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    pub fn dimension_index(&self, name: &str) -> Option<usize> {
        self.dims.iter().position(|d| d == name)
    }

    /// Adds a dimension (no-op if known) and returns its index. Slices that
    /// exist already take the empty value for it.
    pub fn add_dimension(&mut self, name: &str) -> Result<usize, String> {
        if let Some(i) = self.dimension_index(name) {
            return Ok(i);
        }
        if self.dims.len() >= MAX_DIMENSIONS {
            return Err(format!("more than {MAX_DIMENSIONS} dimensions"));
        }
        self.forget_served();
        self.dims.push(name.to_owned());
        let mut table = ValueTable::new();
        table.slices[EMPTY_VALUE as usize] = (0..self.slices.len() as u32).collect();
        self.values.push(table);
        if !self.slices.is_empty() {
            for key in &mut self.slices {
                let mut v = key.to_vec();
                v.push(EMPTY_VALUE);
                *key = v.into_boxed_slice();
            }
            self.keys = self
                .slices
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), SliceId(i as u32)))
                .collect();
        }
        Ok(self.dims.len() - 1)
    }

    /// Finds or creates the slice for a wire slice. `declared` lists the
    /// dimension indices the sending backend declared: each must be present,
    /// and no other may be.
    pub fn intern(
        &mut self,
        slice: &SliceMap<'_>,
        declared: &[usize],
    ) -> Result<SliceId, PointError> {
        let n = self.dims.len();
        let mut key = [EMPTY_VALUE; MAX_DIMENSIONS];
        let mut seen = 0u32;
        for (k, v) in slice.iter() {
            let Some(d) = self.dims.iter().position(|name| name == k) else {
                return Err(PointError::UnknownDimension);
            };
            if !declared.contains(&d) {
                return Err(PointError::UnknownDimension);
            }
            seen |= 1 << d;
            key[d] = match self.values[d].ids.get(v) {
                Some(&id) => id,
                None => u32::MAX, // new value: interned below, once we know the slice is valid
            };
        }
        if declared.iter().any(|&d| seen & (1 << d) == 0) {
            return Err(PointError::IncompleteSlice);
        }
        let has_new_value = key[..n].contains(&u32::MAX);
        if !has_new_value && let Some(&id) = self.keys.get(&key[..n]) {
            return Ok(id);
        }
        if self.slices.len() >= MAX_SLICES {
            return Err(PointError::TooManySlices);
        }
        if has_new_value {
            for (k, v) in slice.iter() {
                if let Some(d) = self.dimension_index(k) {
                    key[d] = self.values[d].intern(v);
                }
            }
        }
        let boxed: Box<[u32]> = key[..n].into();
        let id = SliceId(self.slices.len() as u32);
        for (table, &v) in self.values.iter_mut().zip(&key[..n]) {
            table.slices[v as usize].push(id.0);
        }
        self.forget_served();
        self.slices.push(boxed.clone());
        self.keys.insert(boxed, id);
        Ok(id)
    }

    /// The value of dimension `dim` in `slice`.
    pub fn value(&self, slice: SliceId, dim: usize) -> &str {
        let vid = self.slices[slice.index()][dim];
        &self.values[dim].names[vid as usize]
    }

    /// The value id of dimension `dim` in `slice` (cheap to compare).
    pub fn value_id(&self, slice: SliceId, dim: usize) -> u32 {
        self.slices[slice.index()][dim]
    }

    /// The id of a value of a dimension, if any slice has it.
    pub fn lookup_value(&self, dim: usize, value: &str) -> Option<u32> {
        self.values.get(dim)?.ids.get(value).copied()
    }

    /// All known values of a dimension, by id (id 0 is the empty value).
    pub fn values_of(&self, dim: usize) -> &[Box<str>] {
        &self.values[dim].names
    }

    /// Each dimension, in order, with its known values by id, the empty
    /// value left out: what a picker or a scope can name.
    pub fn named_values(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &str>)> {
        self.dims.iter().enumerate().map(|(d, name)| {
            let values = self.values_of(d).iter().map(|v| &**v);
            (name.as_str(), values.filter(|v| !v.is_empty()))
        })
    }

    /// A slice as (dimension, value) pairs, leaving out empty values.
    pub fn pairs(&self, slice: SliceId) -> impl Iterator<Item = (&str, &str)> {
        self.dims
            .iter()
            .enumerate()
            .map(move |(d, name)| (name.as_str(), self.value(slice, d)))
            .filter(|(_, v)| !v.is_empty())
    }

    pub fn ids(&self) -> impl Iterator<Item = SliceId> + use<> {
        (0..self.slices.len() as u32).map(SliceId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm(pairs: &[(&str, &str)]) -> SliceMap<'static> {
        SliceMap::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn same_values_in_any_order_intern_to_one_slice() {
        let mut i = SliceInterner::new();
        i.add_dimension("model").unwrap();
        i.add_dimension("hw").unwrap();
        let a = i
            .intern(&sm(&[("model", "m1"), ("hw", "tpu")]), &[0, 1])
            .unwrap();
        let b = i
            .intern(&sm(&[("hw", "tpu"), ("model", "m1")]), &[0, 1])
            .unwrap();
        let c = i
            .intern(&sm(&[("hw", "gpu"), ("model", "m1")]), &[0, 1])
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.len(), 2);
        assert_eq!(i.value(c, 1), "gpu");
    }

    #[test]
    fn unknown_and_missing_dimensions_are_refused_without_interning() {
        let mut i = SliceInterner::new();
        i.add_dimension("model").unwrap();
        i.add_dimension("hw").unwrap();
        assert_eq!(
            i.intern(&sm(&[("model", "m1"), ("colour", "red")]), &[0, 1]),
            Err(PointError::UnknownDimension)
        );
        assert_eq!(
            i.intern(&sm(&[("model", "m1")]), &[0, 1]),
            Err(PointError::IncompleteSlice)
        );
        assert!(i.is_empty());
        assert_eq!(
            i.lookup_value(0, "m1"),
            None,
            "a refused slice leaves no value behind"
        );
    }

    #[test]
    fn dimension_added_later_gives_existing_slices_the_empty_value() {
        let mut i = SliceInterner::new();
        i.add_dimension("model").unwrap();
        let a = i.intern(&sm(&[("model", "m1")]), &[0]).unwrap();
        i.add_dimension("region").unwrap();
        assert_eq!(i.value(a, 1), "");
        // The first backend's slices still resolve to the same id.
        assert_eq!(i.intern(&sm(&[("model", "m1")]), &[0]).unwrap(), a);
        let b = i
            .intern(&sm(&[("model", "m1"), ("region", "eu")]), &[0, 1])
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(i.pairs(a).count(), 1);
    }

    #[test]
    fn named_values_list_dimensions_in_order_without_the_empty_value() {
        let mut i = SliceInterner::new();
        i.add_dimension("model").unwrap();
        i.intern(&sm(&[("model", "m2")]), &[0]).unwrap();
        i.add_dimension("region").unwrap();
        i.intern(&sm(&[("model", "m1"), ("region", "eu")]), &[0, 1])
            .unwrap();
        let named: Vec<(&str, Vec<&str>)> = i
            .named_values()
            .map(|(name, values)| (name, values.collect()))
            .collect();
        assert_eq!(named, [("model", vec!["m2", "m1"]), ("region", vec!["eu"])]);
    }

    #[test]
    fn slices_beyond_the_limit_are_refused_but_known_ones_still_resolve() {
        let mut i = SliceInterner::new();
        i.add_dimension("id").unwrap();
        for n in 0..MAX_SLICES {
            i.intern(&sm(&[("id", &n.to_string())]), &[0]).unwrap();
        }
        assert_eq!(
            i.intern(&sm(&[("id", "one-too-many")]), &[0]),
            Err(PointError::TooManySlices)
        );
        assert_eq!(
            i.lookup_value(0, "one-too-many"),
            None,
            "no value interned for a refused slice"
        );
        assert_eq!(i.intern(&sm(&[("id", "7")]), &[0]), Ok(SliceId(7)));
    }
}
