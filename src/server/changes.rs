//! Changes on the server side: what a source reports (the demo's deploys,
//! the relay's ingested and PromQL-found changes) is checked, written
//! through a [`ChangeStore`], and relayed to every subscribed connection as
//! a `change` message; a snapshot carries the ones in its window.
//!
//! ```text
//! source (demo ticker, POST /v1/changes, PromQL poll) ─▶ ChangeHub::publish ─▶ store ─▶ relay ─▶ each connection
//! ```
//!
//! A source that has a hub lists the hello feature `changes`.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::protocol::{Change, ChangeInvalid, Millis, Subscribe, validate_change};

/// Relayed changes a connection may fall behind before it is dropped.
const RELAY_BACKLOG: usize = 1024;

/// Most changes one snapshot carries (the newest of its window).
pub const MAX_SNAPSHOT_CHANGES: usize = 2_000;

/// Where a server keeps changes. In memory for the demo (its changes are a
/// pure function of the seed); SQLite for the relay.
pub trait ChangeStore: Send + Sync {
    /// Creates or replaces by id; returns whether anything changed.
    fn upsert(&self, c: &Change) -> anyhow::Result<bool>;
    /// Changes with `from <= at <= to`, oldest first, at most `limit` (the newest).
    fn between(&self, from: Millis, to: Millis, limit: usize) -> anyhow::Result<Vec<Change>>;
}

/// Changes held in memory, in time order.
#[derive(Debug, Default)]
pub struct MemoryChanges {
    list: Mutex<Vec<Change>>,
}

impl ChangeStore for MemoryChanges {
    fn upsert(&self, c: &Change) -> anyhow::Result<bool> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = list.iter().position(|h| h.id == c.id) {
            if list[held] == *c {
                return Ok(false);
            }
            list.remove(held);
        }
        let at = list.partition_point(|h| (h.at, h.id.as_str()) <= (c.at, c.id.as_str()));
        list.insert(at, c.clone());
        Ok(true)
    }

    fn between(&self, from: Millis, to: Millis, limit: usize) -> anyhow::Result<Vec<Change>> {
        let list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let inside: Vec<&Change> = list
            .iter()
            .filter(|c| (from..=to).contains(&c.at))
            .collect();
        let skip = inside.len().saturating_sub(limit);
        Ok(inside.into_iter().skip(skip).cloned().collect())
    }
}

/// Why a change was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Invalid(#[from] ChangeInvalid),
    #[error("the change store failed: {0:#}")]
    Storage(anyhow::Error),
}

/// The store plus the relay to every connection of the sources that share it.
pub struct ChangeHub {
    store: Arc<dyn ChangeStore>,
    relay: broadcast::Sender<Arc<Change>>,
    /// The dimensions a scope may name (the sources' hello dimensions).
    dimensions: Vec<String>,
}

impl std::fmt::Debug for ChangeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeHub")
            .field("dimensions", &self.dimensions)
            .field("connections", &self.relay.receiver_count())
            .finish_non_exhaustive()
    }
}

impl ChangeHub {
    pub fn new(store: Arc<dyn ChangeStore>, dimensions: Vec<String>) -> Arc<ChangeHub> {
        let (relay, _) = broadcast::channel(RELAY_BACKLOG);
        Arc::new(ChangeHub {
            store,
            relay,
            dimensions,
        })
    }

    /// A hub over changes held in memory.
    pub fn in_memory(dimensions: Vec<String>) -> Arc<ChangeHub> {
        ChangeHub::new(Arc::new(MemoryChanges::default()), dimensions)
    }

    pub fn dimensions(&self) -> &[String] {
        &self.dimensions
    }

    /// A receiver of every change published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.relay.subscribe()
    }

    /// Checks, stores and relays one change; `now` is the source's clock.
    /// Returns whether it was new or different (an identical resend is
    /// stored once and relayed to no one). Blocking: call it off the async
    /// threads when the store is a file.
    pub fn publish(&self, change: Change, now: Millis) -> Result<bool, PublishError> {
        validate_change(&change, &self.dimensions, now)?;
        let changed = self.store.upsert(&change).map_err(PublishError::Storage)?;
        if changed {
            tracing::debug!(id = %change.id, at = change.at, "change published");
            // No receiver (no connection) is fine: the store has it.
            let _ = self.relay.send(Arc::new(change));
        }
        Ok(changed)
    }

    /// The changes a snapshot of `[from, to]` for `sub` carries, read off
    /// the async threads. A store that fails leaves them out (logged): the
    /// data still flows.
    pub async fn for_snapshot(
        self: &Arc<Self>,
        sub: &Subscribe,
        from: Millis,
        to: Millis,
    ) -> Vec<Change> {
        let store = Arc::clone(&self.store);
        let read =
            tokio::task::spawn_blocking(move || store.between(from, to, MAX_SNAPSHOT_CHANGES))
                .await;
        match read {
            Ok(Ok(list)) => list.into_iter().filter(|c| c.meets(sub)).collect(),
            Ok(Err(e)) => {
                tracing::error!("changes left out of a snapshot: {e:#}");
                Vec::new()
            }
            Err(e) => {
                tracing::error!("changes left out of a snapshot: {e}");
                Vec::new()
            }
        }
    }
}

/// The next change relayed to a connection; never ready without a hub.
pub async fn next_change(
    relayed: &mut Option<broadcast::Receiver<Arc<Change>>>,
) -> Result<Arc<Change>, broadcast::error::RecvError> {
    match relayed {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChangeKind;

    fn change(id: &str, at: Millis) -> Change {
        Change {
            id: id.into(),
            at,
            scope: [("hardware".to_string(), "tpu".to_string())].into(),
            kind: ChangeKind::Deploy,
            title: "t".into(),
            source: "s".into(),
            link: None,
            author: None,
        }
    }

    #[test]
    fn a_published_change_is_relayed_once_and_a_resend_not_at_all() {
        let hub = ChangeHub::in_memory(vec!["hardware".into()]);
        let mut rx = hub.subscribe();
        assert!(hub.publish(change("a", 10), 100).expect("valid"));
        assert!(!hub.publish(change("a", 10), 100).expect("valid"));
        assert_eq!(rx.try_recv().expect("relayed").id, "a");
        assert!(rx.try_recv().is_err(), "the resend is not relayed");
    }

    #[test]
    fn an_invalid_change_is_neither_stored_nor_relayed() {
        let hub = ChangeHub::in_memory(vec!["model".into()]);
        let mut rx = hub.subscribe();
        assert!(matches!(
            hub.publish(change("a", 10), 100),
            Err(PublishError::Invalid(_))
        ));
        assert!(rx.try_recv().is_err());
        assert!(hub.store.between(0, 100, 10).expect("reads").is_empty());
    }

    #[test]
    fn the_store_returns_the_newest_of_a_window_in_time_order() {
        let store = MemoryChanges::default();
        for (id, at) in [("c", 30), ("a", 10), ("b", 20), ("d", 40)] {
            store.upsert(&change(id, at)).expect("stored");
        }
        let ids = |list: Vec<Change>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.between(10, 30, 10).expect("reads")),
            ["a", "b", "c"]
        );
        assert_eq!(ids(store.between(0, 100, 2).expect("reads")), ["c", "d"]);
    }
}
