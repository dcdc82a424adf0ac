//! The annotations a client holds: indexed by id, so merging one is O(1)
//! (a stream of 200,000 was O(n²) as a list), and bounded: past the cap the
//! one that ended longest ago goes first, open ones last, and the screen
//! says how many were let go.

use std::collections::{BTreeSet, HashMap};

use crate::protocol::{Annotation, AnnotationState, Millis};

/// Annotations a client holds at most (a snapshot carries at most 500).
pub const MAX_HELD_ANNOTATIONS: usize = 2_000;

/// Which to let go first: ended before open, then the earliest.
type EvictKey = (bool, Millis, String);

fn evict_key(a: &Annotation) -> EvictKey {
    let open = a.to.is_none() && a.state != AnnotationState::Resolved;
    let when = a.to.or(a.updated).unwrap_or(a.from);
    (open, when, a.id.clone())
}

#[derive(Debug, Clone)]
pub struct AnnotationSet {
    items: Vec<Annotation>,
    by_id: HashMap<String, usize>,
    order: BTreeSet<EvictKey>,
    cap: usize,
    let_go: u64,
}

impl Default for AnnotationSet {
    fn default() -> Self {
        AnnotationSet::with_cap(MAX_HELD_ANNOTATIONS)
    }
}

impl PartialEq for AnnotationSet {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items && self.let_go == other.let_go
    }
}

impl AnnotationSet {
    pub fn with_cap(cap: usize) -> Self {
        AnnotationSet {
            items: Vec::new(),
            by_id: HashMap::new(),
            order: BTreeSet::new(),
            cap: cap.max(1),
            let_go: 0,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Annotation> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Annotation> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// How many were let go to stay under the cap.
    pub fn let_go(&self) -> u64 {
        self.let_go
    }

    pub fn to_vec(&self) -> Vec<Annotation> {
        self.items.clone()
    }

    /// Adds or replaces by id; an older rev than the one held is ignored
    /// (messages of two backends may cross). Returns whether it changed.
    pub fn merge(&mut self, a: Annotation) -> bool {
        if let Some(&at) = self.by_id.get(&a.id) {
            let held = &self.items[at];
            let newer = match (held.rev, a.rev) {
                (Some(old), Some(new)) => new > old,
                (Some(_), None) => false,
                (None, _) => true,
            };
            if newer {
                self.order.remove(&evict_key(held));
                self.order.insert(evict_key(&a));
                self.items[at] = a;
            }
            return newer;
        }
        self.order.insert(evict_key(&a));
        self.by_id.insert(a.id.clone(), self.items.len());
        self.items.push(a);
        while self.items.len() > self.cap {
            let Some(first) = self.order.pop_first() else {
                break;
            };
            self.remove(&first.2);
            self.let_go += 1;
        }
        true
    }

    /// Takes one out by id (its eviction key must already be gone).
    fn remove(&mut self, id: &str) {
        let Some(at) = self.by_id.remove(id) else {
            return;
        };
        self.items.swap_remove(at);
        if let Some(moved) = self.items.get(at) {
            self.by_id.insert(moved.id.clone(), at);
        }
    }
}

impl FromIterator<Annotation> for AnnotationSet {
    fn from_iter<I: IntoIterator<Item = Annotation>>(iter: I) -> Self {
        let mut set = AnnotationSet::default();
        for a in iter {
            set.merge(a);
        }
        set
    }
}

impl<'a> IntoIterator for &'a AnnotationSet {
    type Item = &'a Annotation;
    type IntoIter = std::slice::Iter<'a, Annotation>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: &str, rev: Option<u64>, from: Millis, to: Option<Millis>) -> Annotation {
        Annotation {
            id: id.into(),
            scope: std::collections::BTreeMap::new(),
            signal: None,
            from,
            to,
            state: AnnotationState::Suspected,
            text: format!("{id} rev {rev:?}"),
            author: "oncall".into(),
            rev,
            created: None,
            updated: None,
        }
    }

    #[test]
    fn newer_rev_replaces_older_is_ignored_and_lookup_is_by_id() {
        let mut set = AnnotationSet::default();
        assert!(set.merge(note("a", Some(2), 0, None)));
        assert!(set.merge(note("b", Some(1), 0, None)));
        assert!(!set.merge(note("a", Some(1), 0, None)));
        assert!(!set.merge(note("a", Some(2), 5, None)));
        assert_eq!(set.get("a").map(|a| a.from), Some(0));
        assert!(set.merge(note("a", Some(3), 7, None)));
        assert_eq!(set.len(), 2);
        assert_eq!(set.get("a").map(|a| a.rev), Some(Some(3)));
    }

    #[test]
    fn past_the_cap_the_longest_ended_go_first_and_are_counted() {
        let mut set = AnnotationSet::with_cap(3);
        set.merge(note("open-old", Some(1), 1, None));
        set.merge(note("ended-late", Some(1), 5, Some(50)));
        set.merge(note("ended-early", Some(1), 5, Some(10)));
        set.merge(note("open-new", Some(1), 90, None));
        assert!(!set.contains("ended-early"));
        set.merge(note("open-newer", Some(1), 95, None));
        assert!(!set.contains("ended-late"));
        assert!(set.contains("open-old"), "open ones stay longest");
        assert_eq!((set.len(), set.let_go()), (3, 2));
        for a in &set {
            assert_eq!(set.get(&a.id), Some(a), "the index follows every move");
        }
    }
}
