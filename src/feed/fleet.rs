//! The state the feed writes and the UI reads: the store plus the status of
//! every backend, behind one lock so a frame always sees a consistent view.

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::annotation_set::AnnotationSet;
use super::changes::ChangeDrops;
use super::findings::FindingsState;
use super::status::SourceStatus;
use super::view::ShownView;
use crate::detect::Detections;
use crate::protocol::{Annotation, Change, Millis};
use crate::store::Store;

#[derive(Debug, Default)]
pub struct Fleet {
    pub store: Store,
    pub sources: Vec<SourceStatus>,
    /// Annotations known to the client, by id (newest rev kept), bounded.
    pub annotations: AnnotationSet,
    /// Annotations written to the outbox and not yet acknowledged.
    pub pending_annotations: Vec<Annotation>,
    /// Annotations of this client a backend refused for good (conflict,
    /// invalid, forbidden): kept with the reason, never sent again unless edited.
    pub refused_annotations: Vec<RefusedAnnotation>,
    /// Annotations a backend rejected: (id, the backend's reason), newest last.
    pub annotation_errors: Vec<(String, String)>,
    pub annotations_mode: AnnotationsMode,
    /// Deploys and config changes the backends reported, oldest first (by
    /// `at`, then id); the same id again replaces the change.
    pub changes: Vec<Change>,
    /// Changes refused or dropped to stay under the cap (see `feed::changes`).
    pub change_drops: ChangeDrops,
    /// What the detection service concluded from `store` (empty until it
    /// runs; written only when it changed).
    pub detections: Detections,
    /// Backends' findings, and whether `detections` are theirs.
    pub findings: FindingsState,
    /// Times the time axis was started again because a backend's clock
    /// jumped; feeds and detection watch it to start over with it.
    pub timeline: u64,
}

/// Where annotations go, as the screen should say it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AnnotationsMode {
    /// No backend has said hello yet.
    #[default]
    Unknown,
    /// Shared through this source (it lists the `annotations` feature).
    Shared { source: usize },
    /// No backend stores annotations: they stay on this machine.
    LocalOnly,
}

/// An annotation of this client the backend refused for good, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedAnnotation {
    pub annotation: Annotation,
    /// `code: message`, raw (sanitise before drawing).
    pub reason: String,
}

/// Most rejected-annotation errors kept for display.
pub const MAX_ANNOTATION_ERRORS: usize = 20;

impl Fleet {
    /// An empty fleet with one status per source, in index order.
    pub fn with_sources<I, S>(labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Fleet {
            sources: labels.into_iter().map(SourceStatus::new).collect(),
            ..Fleet::default()
        }
    }

    /// Starts the time axis again at `now`: the store, every source's data
    /// figures and the detections are emptied, to be refilled by snapshots.
    pub fn restart_timeline(&mut self, now: Millis) {
        self.store.restart_clock(now);
        for s in &mut self.sources {
            s.newest_data = None;
            s.data_lag_ms = None;
        }
        self.detections = Detections::default();
        self.timeline += 1;
    }

    /// Adds or replaces a change by id, keeping the list in time order.
    /// Returns whether the list changed.
    pub fn merge_change(&mut self, change: Change) -> bool {
        if let Some(at) = self.changes.iter().position(|held| held.id == change.id) {
            if self.changes[at] == change {
                return false;
            }
            self.changes.remove(at);
        }
        let at = self
            .changes
            .partition_point(|held| (held.at, held.id.as_str()) <= (change.at, change.id.as_str()));
        self.changes.insert(at, change);
        true
    }

    /// Keeps `a` unless an annotation with its id and a newer rev is held.
    pub fn merge_annotation(&mut self, a: Annotation) -> bool {
        merge_annotation(&mut self.annotations, a)
    }
}

/// Adds or replaces an annotation by id in O(1); an update with an older
/// rev than the one held is ignored (messages of two backends may cross).
/// Returns whether the set changed.
pub fn merge_annotation(set: &mut AnnotationSet, a: Annotation) -> bool {
    set.merge(a)
}

/// The fleet behind a lock, plus a change counter the UI loop waits on.
#[derive(Debug, Clone)]
pub struct SharedFleet {
    inner: Arc<RwLock<Fleet>>,
    changed: watch::Sender<u64>,
    /// What the screen shows, for sources in scale mode to subscribe to.
    shown: watch::Sender<ShownView>,
}

impl SharedFleet {
    pub fn new(fleet: Fleet) -> Self {
        let (changed, _) = watch::channel(0);
        let (shown, _) = watch::channel(ShownView::default());
        SharedFleet {
            inner: Arc::new(RwLock::new(fleet)),
            changed,
            shown,
        }
    }

    /// The app's drill path and level changed: sources in scale mode
    /// subscribe to it. Returns whether it differs from the last one.
    pub fn show(&self, view: ShownView) -> bool {
        self.shown.send_if_modified(|held| {
            let changed = *held != view;
            *held = view;
            changed
        })
    }

    /// The view last shown, and a receiver that wakes when it changes.
    pub fn shown(&self) -> watch::Receiver<ShownView> {
        self.shown.subscribe()
    }

    /// Reads the fleet. A panic in another holder does not poison the data
    /// for readers: the last written state is still the best we have.
    pub fn read<R>(&self, f: impl FnOnce(&Fleet) -> R) -> R {
        let guard = self.inner.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Changes the fleet and tells the UI something changed.
    pub fn write<R>(&self, f: impl FnOnce(&mut Fleet) -> R) -> R {
        let r = {
            let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        };
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        r
    }

    /// Changes the fleet, and tells the UI only if `f` says something it
    /// shows changed (a heartbeat that only refreshes "heard 0s ago" can
    /// wait for the next clock tick: an idle screen stays idle).
    pub fn write_then_notify_if(&self, f: impl FnOnce(&mut Fleet) -> bool) -> bool {
        let notify = {
            let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        };
        if notify {
            self.changed.send_modify(|n| *n = n.wrapping_add(1));
        }
        notify
    }

    /// A receiver that wakes whenever the fleet changed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_with_sources_has_one_status_per_label() {
        let f = Fleet::with_sources(["metrics", "evals"]);
        assert_eq!(f.sources.len(), 2);
        assert_eq!(f.sources[1].label, "evals");
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use crate::protocol::ChangeKind;

    fn change(id: &str, at: Millis, title: &str) -> Change {
        Change {
            id: id.into(),
            at,
            scope: std::collections::BTreeMap::new(),
            kind: ChangeKind::Deploy,
            title: title.into(),
            source: "test".into(),
            link: None,
            author: None,
        }
    }

    #[test]
    fn changes_stay_in_time_order_and_an_id_again_replaces() {
        let mut fleet = Fleet::default();
        assert!(fleet.merge_change(change("b", 20, "two")));
        assert!(fleet.merge_change(change("a", 10, "one")));
        assert!(fleet.merge_change(change("c", 30, "three")));
        assert!(
            !fleet.merge_change(change("a", 10, "one")),
            "same change again"
        );
        assert!(fleet.merge_change(change("a", 40, "one, moved")));
        let order: Vec<&str> = fleet.changes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(order, ["b", "c", "a"]);
        assert_eq!(fleet.changes[2].title, "one, moved");
    }
}
