//! Whether any slice the fleet serves lies in a place: what a change can
//! have touched ([`SliceInterner::serves`]), from the slices of each value,
//! with its answers kept until a slice is added.

use std::sync::PoisonError;

use super::{EMPTY_VALUE, SliceId, SliceInterner};

/// Most slices [`SliceInterner::serves`] looks at for one place before it
/// gives up (`None`: the dimensions decide), so that a hostile backend's
/// 50,000 slices and 5,000 changes cost a bounded first frame.
pub const SERVES_SCAN: usize = 4096;

/// Most places whose answers are kept; beyond, they are all forgotten.
const SERVES_KEPT: usize = 65_536;

/// A place as [`SliceInterner::serves`] keeps it: (dimension index, value
/// id; `u32::MAX`: a value no slice has), by dimension.
pub(super) type Place = Box<[(u32, u32)]>;

/// A place as the scans read it: (dimension index, value id; `None`: a
/// value no slice has), by dimension.
type Wanted = Vec<(usize, Option<u32>)>;

impl SliceInterner {
    /// Whether any slice held lies in the place `scope` names ((dimension,
    /// value) pairs, all of which must hold; none: the whole fleet). A
    /// slice without a value for a dimension named (its backend does not
    /// split by it) may lie in it, and counts. `None` when it cannot tell:
    /// no slice is held, or a dimension named is unknown. Scans the slices
    /// of the rarest value named, stopping at the first that fits, and at
    /// [`SERVES_SCAN`] of them (`None`); the answer is kept until a slice
    /// is added.
    pub fn serves<'s>(&self, scope: impl IntoIterator<Item = (&'s str, &'s str)>) -> Option<bool> {
        if self.slices.is_empty() {
            return None;
        }
        let mut wanted = self.wanted(scope)?;
        wanted.sort_unstable();
        wanted.dedup();
        let place: Place = wanted
            .iter()
            .map(|&(d, v)| (d as u32, v.unwrap_or(u32::MAX)))
            .collect();
        let kept = || self.served.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&answer) = kept().get(&place) {
            return answer;
        }
        let answer = self.scan(&wanted);
        let mut kept = kept();
        if kept.len() >= SERVES_KEPT {
            kept.clear();
        }
        kept.insert(place, answer);
        answer
    }

    /// [`Self::serves`] without the answers kept.
    fn scan(&self, wanted: &[(usize, Option<u32>)]) -> Option<bool> {
        let Some((_, candidates)) = self.rarest(wanted) else {
            return Some(true);
        };
        let mut looked = 0;
        for id in candidates {
            if self.fits(wanted, id) {
                return Some(true);
            }
            looked += 1;
            if looked >= SERVES_SCAN {
                return None;
            }
        }
        Some(false)
    }

    /// The slices held that lie in the place `scope` names (as for
    /// [`Self::serves`], a slice without a value for a named dimension
    /// counts), found from the slices of its rarest value. `None` when a
    /// dimension named is unknown, or when more than `most` slices would
    /// have to be looked at.
    pub fn slices_in<'s>(
        &self,
        scope: impl IntoIterator<Item = (&'s str, &'s str)>,
        most: usize,
    ) -> Option<Vec<SliceId>> {
        let wanted = self.wanted(scope)?;
        let Some((count, candidates)) = self.rarest(&wanted) else {
            return (self.slices.len() <= most)
                .then(|| (0..self.slices.len() as u32).map(SliceId).collect());
        };
        if count > most {
            return None;
        }
        Some(
            candidates
                .filter(|&id| self.fits(&wanted, id))
                .map(SliceId)
                .collect(),
        )
    }

    /// `scope` by dimension index and value id; `None` when a dimension
    /// named is unknown.
    fn wanted<'s>(&self, scope: impl IntoIterator<Item = (&'s str, &'s str)>) -> Option<Wanted> {
        scope
            .into_iter()
            .map(|(name, value)| {
                let d = self.dimension_index(name)?;
                let id = self.lookup_value(d, value).filter(|&v| v != EMPTY_VALUE);
                Some((d, id))
            })
            .collect()
    }

    /// The slices that may lie in `wanted`, from its rarest value: those
    /// with that value or none for its dimension, and how many. `None`:
    /// `wanted` names no dimension (every slice may).
    fn rarest<'a>(
        &'a self,
        wanted: &[(usize, Option<u32>)],
    ) -> Option<(usize, impl Iterator<Item = u32> + 'a)> {
        let with = |&(d, v): &(usize, Option<u32>)| {
            let table = &self.values[d];
            let named = v.map_or(&[][..], |v| &table.slices[v as usize][..]);
            let without = &table.slices[EMPTY_VALUE as usize][..];
            (
                without.len() + named.len(),
                without.iter().chain(named).copied(),
            )
        };
        wanted.iter().map(with).min_by_key(|(count, _)| *count)
    }

    /// Whether slice `id` lies in `wanted` (a slice without a value for a
    /// dimension counts).
    fn fits(&self, wanted: &[(usize, Option<u32>)], id: u32) -> bool {
        let key = &self.slices[id as usize];
        wanted
            .iter()
            .all(|&(d, v)| key[d] == EMPTY_VALUE || Some(key[d]) == v)
    }

    pub(super) fn forget_served(&mut self) {
        self.served
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::SliceInterner;
    use super::SERVES_SCAN;
    use crate::protocol::SliceMap;

    fn sm(pairs: &[(&str, &str)]) -> SliceMap<'static> {
        SliceMap::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn serves_tells_whether_any_slice_lies_in_a_place() {
        let mut i = SliceInterner::new();
        assert_eq!(i.serves([("hw", "tpu")]), None, "nothing held: cannot tell");
        i.add_dimension("platform").unwrap();
        i.add_dimension("hw").unwrap();
        for (p, h) in [
            ("api", "gpu"),
            ("api", "tpu"),
            ("nimbus", "tpu"),
            ("stratus", "trn"),
        ] {
            i.intern(&sm(&[("platform", p), ("hw", h)]), &[0, 1])
                .unwrap();
        }
        assert_eq!(i.serves([]), Some(true));
        assert_eq!(
            i.serves([("hw", "tpu"), ("platform", "nimbus")]),
            Some(true)
        );
        assert_eq!(
            i.serves([("hw", "trn"), ("platform", "nimbus")]),
            Some(false)
        );
        assert_eq!(
            i.serves([("hw", "fpga")]),
            Some(false),
            "a value no slice has"
        );
        assert_eq!(i.serves([("colour", "red")]), None, "an unknown dimension");
        // A backend that does not split by region: its slices may lie in
        // any region.
        i.add_dimension("region").unwrap();
        assert_eq!(i.serves([("hw", "trn"), ("region", "eu")]), Some(true));
        i.intern(
            &sm(&[("platform", "api"), ("hw", "gpu"), ("region", "us")]),
            &[0, 1, 2],
        )
        .unwrap();
        assert_eq!(
            i.serves([("platform", "api"), ("region", "us")]),
            Some(true)
        );
        assert_eq!(
            i.serves([("platform", "nimbus"), ("hw", "trn"), ("region", "us")]),
            Some(false)
        );
        // An answer kept is forgotten when a slice arrives that changes it.
        assert_eq!(
            i.serves([("hw", "trn"), ("platform", "nimbus")]),
            Some(false)
        );
        i.intern(
            &sm(&[("platform", "nimbus"), ("hw", "trn"), ("region", "us")]),
            &[0, 1, 2],
        )
        .unwrap();
        assert_eq!(
            i.serves([("hw", "trn"), ("platform", "nimbus")]),
            Some(true)
        );
    }

    #[test]
    fn serves_gives_up_rather_than_scan_without_bound() {
        let mut i = SliceInterner::new();
        i.add_dimension("a").unwrap();
        i.add_dimension("b").unwrap();
        // Two common values that never meet: each in more slices than a
        // scan looks at.
        for n in 0..=SERVES_SCAN {
            i.intern(&sm(&[("a", "x"), ("b", &format!("y{n}"))]), &[0, 1])
                .unwrap();
            i.intern(&sm(&[("a", &format!("x{n}")), ("b", "y")]), &[0, 1])
                .unwrap();
        }
        assert_eq!(
            i.serves([("a", "x"), ("b", "y")]),
            None,
            "the dimensions decide"
        );
        assert_eq!(i.serves([("a", "x"), ("b", "y7")]), Some(true));
        assert_eq!(
            i.serves([("a", "x3"), ("b", "y7")]),
            Some(false),
            "a rare value: exact"
        );
    }

    #[test]
    fn slices_in_lists_a_places_slices_or_gives_up_past_the_bound() {
        let mut i = SliceInterner::new();
        i.add_dimension("platform").unwrap();
        i.add_dimension("hw").unwrap();
        for (p, h) in [("api", "gpu"), ("api", "tpu"), ("nimbus", "tpu")] {
            i.intern(&sm(&[("platform", p), ("hw", h)]), &[0, 1])
                .unwrap();
        }
        let ids = |scope: &[(&str, &str)], most| {
            i.slices_in(scope.iter().copied(), most)
                .map(|v| v.iter().map(|s| s.0).collect::<Vec<_>>())
        };
        assert_eq!(ids(&[("hw", "tpu")], 10), Some(vec![1, 2]));
        assert_eq!(
            ids(&[("hw", "tpu"), ("platform", "api")], 10),
            Some(vec![1])
        );
        assert_eq!(ids(&[("hw", "fpga")], 10), Some(vec![]));
        assert_eq!(ids(&[], 10), Some(vec![0, 1, 2]));
        assert_eq!(ids(&[], 2), None, "three to look at, two allowed");
        assert_eq!(ids(&[("colour", "red")], 10), None);
    }
}
