//! The leaf baselines the scope search tests a signal's deficit against:
//! learnt from the [`SCOPE_BASELINE_BUCKETS`] buckets before the onset of
//! the oldest regression in force, once, when that regression begins. They
//! are then kept while it lasts, so the search still has a healthy
//! reference hours later, when the store (6 h by default) no longer holds
//! a bucket from before the fault, and never learns the fault itself as
//! the healthy rate.

use std::borrow::Cow;

use super::monitor::SignalTracks;
use super::scope_estimate::{LeafBaselines, SCOPE_BASELINE_BUCKETS};
use crate::protocol::Millis;
use crate::store::{SignalId, SliceId, Store};

/// Leaf baselines learnt before one bucket.
#[derive(Debug, Clone)]
pub(crate) struct ScopeBaseline {
    /// The bucket they were learnt before: the oldest onset's.
    pub(crate) before: i64,
    /// `None` when the store held no bucket with a total before it.
    pub(crate) leaves: Option<LeafBaselines>,
}

impl SignalTracks {
    /// Onset of the oldest regression in force on any key of this signal.
    pub(crate) fn oldest_onset(&self) -> Option<Millis> {
        let fleet = std::iter::once(&self.fleet);
        let groups = self.groups.iter().flatten().flatten();
        fleet
            .chain(groups)
            .chain(&self.slices)
            .filter_map(|t| t.detector.active())
            .map(|r| r.onset)
            .min()
    }

    /// After each bucket: learns the baselines anew when the oldest onset
    /// in force moves (a first regression, an earlier one, or the oldest
    /// ended), and forgets them when none is in force.
    pub(crate) fn keep_scope_baseline(&mut self, store: &Store) {
        let Some(onset) = self.oldest_onset() else {
            self.scope_baseline = None;
            return;
        };
        let before = store.bucket_of(onset);
        if self
            .scope_baseline
            .as_ref()
            .is_some_and(|b| b.before == before)
        {
            return;
        }
        self.scope_baseline = Some(ScopeBaseline {
            before,
            leaves: learn(store, self.signal, self.slices.len(), before),
        });
    }

    /// The baselines before bucket `before`: the ones kept, if learnt
    /// before it, else learnt from the store now.
    pub(crate) fn scope_baseline_before(
        &self,
        store: &Store,
        before: i64,
    ) -> Option<Cow<'_, LeafBaselines>> {
        match &self.scope_baseline {
            Some(kept) if kept.before == before => kept.leaves.as_ref().map(Cow::Borrowed),
            _ => learn(store, self.signal, self.slices.len(), before).map(Cow::Owned),
        }
    }
}

/// The baselines of leaves `0..slices` from the store's buckets before
/// `before`; `None` when none of them has a total.
fn learn(store: &Store, signal: SignalId, slices: usize, before: i64) -> Option<LeafBaselines> {
    LeafBaselines::learn(slices, |i| {
        (before - SCOPE_BASELINE_BUCKETS as i64..before)
            .filter_map(move |b| store.ratio(signal, SliceId(i as u32), b))
            .filter(|r| r.total > 0)
            .map(|r| (r.good as f64, r.total as f64))
    })
    .ok()
}
