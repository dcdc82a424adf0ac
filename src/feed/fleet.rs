//! The state the feed writes and the UI reads: the store plus the status of
//! every backend, behind one lock so a frame always sees a consistent view.

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::status::SourceStatus;
use crate::protocol::Annotation;
use crate::store::Store;

#[derive(Debug, Default)]
pub struct Fleet {
    pub store: Store,
    pub sources: Vec<SourceStatus>,
    /// Annotations known to the client, by id (newest rev kept).
    pub annotations: Vec<Annotation>,
}

/// The fleet behind a lock, plus a change counter the UI loop waits on.
#[derive(Debug, Clone)]
pub struct SharedFleet {
    inner: Arc<RwLock<Fleet>>,
    changed: watch::Sender<u64>,
}

impl SharedFleet {
    pub fn new(fleet: Fleet) -> Self {
        let (changed, _) = watch::channel(0);
        SharedFleet {
            inner: Arc::new(RwLock::new(fleet)),
            changed,
        }
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

    /// A receiver that wakes whenever the fleet changed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
