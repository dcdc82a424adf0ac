//! Annotations on the server side: each `annotate` is validated, rate-limited
//! per connection, written through an [`AnnotationStore`], and relayed to
//! every subscribed connection of every endpoint that shares the hub.
//!
//! ```text
//! annotate ─▶ validate ─▶ rate limit ─▶ store.upsert ─▶ relay (broadcast) ─▶ each connection
//! ```
//!
//! The store is injected (SQLite for the demo; a relay may bring its own), so
//! this file knows nothing of where annotations live.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::broadcast;

use crate::annotations::{
    AnnotationStore, RateLimit, SqliteAnnotations, Stored, validate_annotation,
};
use crate::protocol::{Annotation, Millis};

/// Feature name a server lists in `hello` when it stores and relays annotations.
pub const ANNOTATIONS_FEATURE: &str = "annotations";

/// Relayed annotations a connection may fall behind before it is dropped.
const RELAY_BACKLOG: usize = 1024;

/// How fast one connection may send annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationRate {
    /// Sent at once (an outbox flushed after an outage is a burst).
    pub burst: u32,
    /// Then this many a minute.
    pub per_minute: u32,
}

impl Default for AnnotationRate {
    fn default() -> Self {
        // A person writes a few a minute; a client flushing its outbox after an
        // outage sends its backlog at once, and retries what is refused.
        AnnotationRate {
            burst: 20,
            per_minute: 30,
        }
    }
}

impl AnnotationRate {
    pub fn limiter(self) -> RateLimit {
        RateLimit::new(self.burst, self.per_minute)
    }
}

/// Why an `annotate` was refused: the `error` frame's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `invalid_annotation`, `rate_limited` or `storage_failed`.
    pub code: &'static str,
    pub message: String,
}

/// The store plus the relay to every connection. One per war room: share it
/// (via [`super::ServerConfig::annotations`]) between every endpoint, and
/// between servers that serve the same room.
pub struct AnnotationHub {
    store: Arc<dyn AnnotationStore>,
    relay: broadcast::Sender<Arc<Annotation>>,
    rate: AnnotationRate,
}

impl std::fmt::Debug for AnnotationHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnotationHub")
            .field("rate", &self.rate)
            .field("connections", &self.relay.receiver_count())
            .finish()
    }
}

impl AnnotationHub {
    pub fn new(store: Arc<dyn AnnotationStore>, rate: AnnotationRate) -> Arc<AnnotationHub> {
        let (relay, _) = broadcast::channel(RELAY_BACKLOG);
        Arc::new(AnnotationHub { store, relay, rate })
    }

    /// A hub over `dir/annotations.sqlite3` (created if missing), default rate.
    pub fn sqlite_in(dir: &Path) -> anyhow::Result<Arc<AnnotationHub>> {
        let store = SqliteAnnotations::open_in(dir)
            .with_context(|| format!("opening the annotation store in {}", dir.display()))?;
        Ok(AnnotationHub::new(
            Arc::new(store),
            AnnotationRate::default(),
        ))
    }

    pub fn store(&self) -> &Arc<dyn AnnotationStore> {
        &self.store
    }

    pub fn rate(&self) -> AnnotationRate {
        self.rate
    }

    /// A receiver of every annotation created or changed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Annotation>> {
        self.relay.subscribe()
    }

    /// Annotations overlapping `[from, to]`, read off the async threads.
    pub async fn overlapping(&self, from: Millis, to: Millis) -> anyhow::Result<Vec<Annotation>> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.overlapping(from, to))
            .await
            .context("the annotation store task failed")?
    }

    /// Checks, stores and relays one annotation. `dimensions` are those of the
    /// endpoint it arrived on; `data_now` is the source's clock (the wall
    /// clock is accepted too: "from" may be either). Created and updated
    /// annotations go to every subscriber; an identical resend changes
    /// nothing and is relayed to no one (the caller still echoes it).
    pub async fn accept(
        &self,
        a: Annotation,
        dimensions: &[String],
        limit: &mut RateLimit,
        data_now: Millis,
    ) -> Result<Stored, Refusal> {
        let wall = wall_ms();
        validate_annotation(&a, dimensions, data_now.max(wall)).map_err(|e| Refusal {
            code: "invalid_annotation",
            message: e.to_string(),
        })?;
        if !limit.allow(Instant::now()) {
            let wait = limit.retry_after().as_secs_f64().ceil().max(1.0);
            return Err(Refusal {
                code: "rate_limited",
                message: format!(
                    "annotation {:?}: too many annotations from this connection ({} at once, {} a minute); retry in {wait:.0} s",
                    a.id, self.rate.burst, self.rate.per_minute
                ),
            });
        }
        let store = Arc::clone(&self.store);
        let id = a.id.clone();
        let stored = tokio::task::spawn_blocking(move || store.upsert(&a, wall))
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
            .map_err(|e| {
                tracing::error!(id = %id, "annotation store: {e:#}");
                Refusal {
                    code: "storage_failed",
                    message: format!(
                        "annotation {id:?}: the server could not store it; retry later"
                    ),
                }
            })?;
        match &stored {
            Stored::Created(a) | Stored::Updated(a) => {
                tracing::info!(id = %a.id, rev = ?a.rev, "annotation stored");
                // No receiver (no connection) is fine: the store has it.
                let _ = self.relay.send(Arc::new(a.clone()));
            }
            Stored::Unchanged(a) => tracing::debug!(id = %a.id, "annotation resent unchanged"),
        }
        Ok(stored)
    }
}

/// The `features` a hello should list: the server, not the source, decides
/// whether annotations are stored, so it adds or removes the name.
pub fn hello_features(mut features: Vec<String>, annotations: bool) -> Vec<String> {
    features.retain(|f| f != ANNOTATIONS_FEATURE);
    if annotations {
        features.push(ANNOTATIONS_FEATURE.to_owned());
    }
    features
}

/// The id named by a frame that tried to be an `annotate` but did not decode
/// (an unknown state, a missing field), so the refusal can name it.
pub fn id_of_broken_annotate(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("type")?.as_str()? != "annotate" {
        return None;
    }
    let id = v.get("annotation")?.get("id")?.as_str()?;
    // Echoed back as data only, but never echo a megabyte.
    Some(id.chars().take(64).collect())
}

use crate::clock::wall_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_lists_annotations_only_when_the_server_stores_them() {
        let from_source = vec!["annotations".to_owned(), "other".to_owned()];
        assert_eq!(hello_features(from_source.clone(), false), ["other"]);
        assert_eq!(
            hello_features(vec!["other".into()], true),
            ["other", "annotations"]
        );
        assert_eq!(hello_features(from_source, true), ["other", "annotations"]);
    }

    #[test]
    fn a_broken_annotate_is_named_by_its_id() {
        let frame = r#"{"type":"annotate","annotation":{"id":"a-1","state":"bogus"}}"#;
        assert_eq!(id_of_broken_annotate(frame).as_deref(), Some("a-1"));
        assert_eq!(
            id_of_broken_annotate(r#"{"type":"subscribe","annotation":{"id":"x"}}"#),
            None
        );
        let long = format!(
            r#"{{"type":"annotate","annotation":{{"id":"{}"}}}}"#,
            "x".repeat(500)
        );
        assert_eq!(id_of_broken_annotate(&long).map(|s| s.len()), Some(64));
        assert_eq!(id_of_broken_annotate("not json"), None);
    }
}
