//! The changes a backend reports (deploys, config pushes), applied to the
//! fleet: each is checked against that backend's hello (its dimensions, its
//! clock), merged by id, and the list is kept under [`MAX_CHANGES`] by
//! dropping the oldest. What is refused or dropped is counted, not lost silently.

use crate::protocol::{Change, Millis, validate_change};

use super::fleet::Fleet;

/// Most changes the client holds, over every backend: a day of a busy
/// fleet's deploys is a few hundred; a backend gone mad stops here.
pub const MAX_CHANGES: usize = 5_000;

/// Changes the client did not keep, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeDrops {
    /// Refused by [`validate_change`] (unknown dimension, implausible time,
    /// oversized fields).
    pub invalid: u64,
    /// Dropped, oldest first, to stay under [`MAX_CHANGES`].
    pub evicted: u64,
}

impl ChangeDrops {
    pub fn total(self) -> u64 {
        self.invalid + self.evicted
    }
}

/// Applies changes reported by source `index` (a snapshot's, or one
/// `change` message). Returns whether the fleet's list changed.
pub fn apply_changes(
    fleet: &mut Fleet,
    index: usize,
    changes: impl IntoIterator<Item = Change>,
) -> bool {
    let (dimensions, now) = backend_frame(fleet, index);
    let mut changed = false;
    for change in changes {
        match validate_change(&change, &dimensions, now) {
            Ok(()) => changed |= fleet.merge_change(change),
            Err(e) => {
                fleet.change_drops.invalid += 1;
                let refused = fleet.change_drops.invalid;
                // Powers of two only: a backend gone mad must not flood the log.
                if refused.is_power_of_two() {
                    tracing::warn!(source = index, refused, "change refused: {e}");
                }
            }
        }
    }
    let excess = fleet.changes.len().saturating_sub(MAX_CHANGES);
    if excess > 0 {
        fleet.changes.drain(..excess);
        fleet.change_drops.evicted += excess as u64;
    }
    changed
}

/// The dimensions a change's scope may name and the clock it is checked
/// against: the backend's hello, run on to the newest time the store holds.
fn backend_frame(fleet: &Fleet, index: usize) -> (Vec<String>, Millis) {
    let hello = fleet.sources.get(index).and_then(|s| s.hello.as_ref());
    let dimensions = hello.map(|h| h.dimensions.clone()).unwrap_or_default();
    let now = hello.map_or(0, |h| h.now).max(fleet.store.now());
    (dimensions, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChangeKind, Hello, PROTOCOL_VERSION};
    use std::collections::BTreeMap;

    const NOW: Millis = 1_800_000_000_000;

    fn fleet() -> Fleet {
        let mut f = Fleet::with_sources(["demo"]);
        f.sources[0].hello = Some(Hello {
            protocol: PROTOCOL_VERSION,
            server: "t".into(),
            epoch: "e".into(),
            dimensions: vec!["model".into(), "hardware".into()],
            signals: Vec::new(),
            bucket_ms: 60_000,
            history_ms: 3_600_000,
            now: NOW,
            features: Vec::new(),
        });
        f
    }

    fn change(id: &str, at: Millis, scope: &[(&str, &str)]) -> Change {
        Change {
            id: id.into(),
            at,
            scope: scope
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            kind: ChangeKind::Config,
            title: "t".into(),
            source: "s".into(),
            link: None,
            author: None,
        }
    }

    #[test]
    fn a_change_naming_a_dimension_the_backend_lacks_is_refused_and_counted() {
        let mut f = fleet();
        let changed = apply_changes(
            &mut f,
            0,
            [
                change("ok", NOW - 1, &[("hardware", "tpu")]),
                change("bad", NOW - 2, &[("region", "eu")]),
                change("future", NOW + 2 * 86_400_000, &[]),
            ],
        );
        assert!(changed);
        let ids: Vec<&str> = f.changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ok"]);
        assert_eq!(f.change_drops.invalid, 2);
    }

    #[test]
    fn the_client_holds_at_most_the_cap_dropping_the_oldest() {
        let mut f = fleet();
        let many =
            (0..MAX_CHANGES as i64 + 7).map(|i| change(&format!("c{i}"), NOW - 1_000_000 + i, &[]));
        apply_changes(&mut f, 0, many);
        assert_eq!(f.changes.len(), MAX_CHANGES);
        assert_eq!(f.change_drops.evicted, 7);
        assert_eq!(f.changes[0].id, "c7", "the oldest went first");
    }

    #[test]
    fn the_same_change_again_changes_nothing() {
        let mut f = fleet();
        assert!(apply_changes(&mut f, 0, [change("a", NOW, &[])]));
        assert!(!apply_changes(&mut f, 0, [change("a", NOW, &[])]));
        assert_eq!(f.changes.len(), 1);
    }
}
