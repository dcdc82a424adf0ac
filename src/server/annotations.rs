//! Annotations on the server side: each `annotate` is validated,
//! rate-limited (per peer address, per token and server-wide), checked by the
//! store (base rev, author, open cap), written through an
//! [`AnnotationStore`], and relayed to every subscribed connection of every
//! endpoint that shares the hub.
//!
//! ```text
//! annotate ─▶ validate ─▶ rate limits ─▶ store.write ─▶ relay (broadcast) ─▶ each connection
//! ```
//!
//! The store is injected (SQLite for the demo; a relay may bring its own), so
//! this file knows nothing of where annotations live.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use tokio::sync::broadcast;

use crate::annotations::{
    AnnotationStore, EditRules, RateLimit, SqliteAnnotations, Stored, WindowAnnotations,
    validate_annotation,
};
use crate::protocol::{Annotation, Millis};

/// Feature name a server lists in `hello` when it stores and relays annotations.
pub const ANNOTATIONS_FEATURE: &str = "annotations";

/// Relayed annotations a connection may fall behind before it is dropped.
const RELAY_BACKLOG: usize = 1024;

/// How fast one writer (a peer, a token, the whole server) may send annotations.
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

    fn at_least(self, other: AnnotationRate) -> AnnotationRate {
        AnnotationRate {
            burst: self.burst.max(other.burst),
            per_minute: self.per_minute.max(other.per_minute),
        }
    }
}

/// Every bound on annotations a server enforces (docs/security-limits.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnotationLimits {
    /// Per peer IP address, whatever its connections or tokens.
    pub per_peer: AnnotationRate,
    /// Per token (several engineers may share one).
    pub per_token: AnnotationRate,
    /// The whole server: what many addresses together may write.
    pub global: AnnotationRate,
    /// Open (not resolved) annotations held; new open ones are refused past it.
    pub max_open: usize,
    /// Annotations one snapshot carries, the most recently written first.
    pub snapshot_max: usize,
    /// And their bytes of JSON.
    pub snapshot_max_bytes: usize,
    /// Peers and tokens whose budgets are remembered; past it idle ones are
    /// forgotten, and if none is idle new writers are refused.
    pub max_writers: usize,
}

impl Default for AnnotationLimits {
    fn default() -> Self {
        AnnotationLimits {
            per_peer: AnnotationRate::default(),
            per_token: AnnotationRate {
                burst: 40,
                per_minute: 60,
            },
            global: AnnotationRate {
                burst: 100,
                per_minute: 300,
            },
            max_open: 1_000,
            snapshot_max: 500,
            snapshot_max_bytes: 1024 * 1024,
            max_writers: 10_000,
        }
    }
}

impl From<AnnotationRate> for AnnotationLimits {
    /// `rate` per peer and per token; the server-wide rate never below it.
    fn from(rate: AnnotationRate) -> Self {
        let d = AnnotationLimits::default();
        AnnotationLimits {
            per_peer: rate,
            per_token: rate,
            global: d.global.at_least(rate),
            ..d
        }
    }
}

/// Who sends an `annotate`: where from, under which token, with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub peer: IpAddr,
    /// The token's name; `None` on a server without tokens.
    pub token: Option<String>,
    pub admin: bool,
}

/// Why an `annotate` was refused: the `error` frame's code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// `invalid_annotation`, `rate_limited`, `conflict`, `forbidden`,
    /// `too_many_open` or `storage_failed`.
    pub code: &'static str,
    pub message: String,
    /// On a conflict: the stored version, sent to the writer after the error.
    pub current: Option<Box<Annotation>>,
}

impl Refusal {
    fn new(code: &'static str, message: String) -> Refusal {
        Refusal {
            code,
            message,
            current: None,
        }
    }
}

/// The rate budgets of every writer, and of the server.
struct Budgets {
    writers: HashMap<String, RateLimit>,
    global: RateLimit,
}

/// The store plus the relay to every connection. One per war room: share it
/// (via [`super::ServerConfig::annotations`]) between every endpoint, and
/// between servers that serve the same room.
pub struct AnnotationHub {
    store: Arc<dyn AnnotationStore>,
    relay: broadcast::Sender<Arc<Annotation>>,
    limits: AnnotationLimits,
    budgets: Mutex<Budgets>,
}

impl std::fmt::Debug for AnnotationHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnotationHub")
            .field("limits", &self.limits)
            .field("connections", &self.relay.receiver_count())
            .finish()
    }
}

impl AnnotationHub {
    pub fn new(
        store: Arc<dyn AnnotationStore>,
        limits: impl Into<AnnotationLimits>,
    ) -> Arc<AnnotationHub> {
        let limits = limits.into();
        let (relay, _) = broadcast::channel(RELAY_BACKLOG);
        Arc::new(AnnotationHub {
            store,
            relay,
            budgets: Mutex::new(Budgets {
                writers: HashMap::new(),
                global: limits.global.limiter(),
            }),
            limits,
        })
    }

    /// A hub over `dir/annotations.sqlite3` (created if missing), default limits.
    pub fn sqlite_in(dir: &Path) -> anyhow::Result<Arc<AnnotationHub>> {
        let store = SqliteAnnotations::open_in(dir)
            .with_context(|| format!("opening the annotation store in {}", dir.display()))?;
        Ok(AnnotationHub::new(
            Arc::new(store),
            AnnotationLimits::default(),
        ))
    }

    pub fn store(&self) -> &Arc<dyn AnnotationStore> {
        &self.store
    }

    pub fn limits(&self) -> AnnotationLimits {
        self.limits
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

    /// What a snapshot of `[from, to]` carries: bounded by the snapshot limits.
    pub async fn window(&self, from: Millis, to: Millis) -> anyhow::Result<WindowAnnotations> {
        let store = Arc::clone(&self.store);
        let (count, bytes) = (self.limits.snapshot_max, self.limits.snapshot_max_bytes);
        tokio::task::spawn_blocking(move || store.window(from, to, count, bytes))
            .await
            .context("the annotation store task failed")?
    }

    /// Charges one annotation to the writer's peer, its token and the
    /// server, all or none; the refusal says which budget ran out.
    fn charge(&self, who: &Writer, id: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut b = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys = vec![(format!("peer {}", who.peer), self.limits.per_peer)];
        if let Some(token) = &who.token {
            keys.push((format!("token {token}"), self.limits.per_token));
        }
        let missing = keys
            .iter()
            .filter(|(k, _)| !b.writers.contains_key(k))
            .count();
        if b.writers.len() + missing > self.limits.max_writers {
            b.writers.retain(|_, r| !r.is_full(now));
        }
        let refuse = |what: String, rate: AnnotationRate, wait: f64| {
            Refusal::new(
                "rate_limited",
                format!(
                    "annotation {id:?}: too many annotations {what} ({} at once, {} a minute); retry in {:.0} s",
                    rate.burst,
                    rate.per_minute,
                    wait.ceil().max(1.0)
                ),
            )
        };
        if b.writers.len() + missing > self.limits.max_writers {
            return Err(refuse("from new writers".into(), self.limits.global, 60.0));
        }
        for (key, rate) in &keys {
            let limit = b
                .writers
                .entry(key.clone())
                .or_insert_with(|| rate.limiter());
            if !limit.ready(now) {
                let wait = limit.retry_after().as_secs_f64();
                let what = if key.starts_with("peer") {
                    "from this address".to_owned()
                } else {
                    "under this token".to_owned()
                };
                return Err(refuse(what, *rate, wait));
            }
        }
        if !b.global.ready(now) {
            let wait = b.global.retry_after().as_secs_f64();
            return Err(refuse("on this server".into(), self.limits.global, wait));
        }
        b.global.take();
        for (key, _) in &keys {
            if let Some(limit) = b.writers.get_mut(key) {
                limit.take();
            }
        }
        Ok(())
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
        who: &Writer,
        data_now: Millis,
    ) -> Result<Stored, Refusal> {
        let wall = wall_ms();
        validate_annotation(&a, dimensions, data_now.max(wall))
            .map_err(|e| Refusal::new("invalid_annotation", e.to_string()))?;
        self.charge(who, &a.id)?;
        let store = Arc::clone(&self.store);
        let id = a.id.clone();
        let base = a.rev;
        let rules = EditRules::server(who.token.clone(), who.admin, self.limits.max_open);
        let written = tokio::task::spawn_blocking(move || store.write(&a, &rules, wall))
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
            .map_err(|e| {
                tracing::error!(id = %id, "annotation store: {e:#}");
                Refusal::new(
                    "storage_failed",
                    format!("annotation {id:?}: the server could not store it; retry later"),
                )
            })?;
        let stored = written.map_err(|refused| {
            tracing::info!(id = %id, code = refused.code(), "annotation refused");
            Refusal {
                code: refused.code(),
                message: refused.message(&id, base),
                current: match refused {
                    crate::annotations::EditRefused::Conflict { current } => Some(current),
                    _ => None,
                },
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

    fn hub(limits: AnnotationLimits, name: &str) -> (Arc<AnnotationHub>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("qualtop-hub-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteAnnotations::open_in(&dir).unwrap();
        (AnnotationHub::new(Arc::new(store), limits), dir)
    }

    fn note(id: &str) -> Annotation {
        Annotation {
            id: id.into(),
            scope: std::collections::BTreeMap::new(),
            signal: None,
            from: wall_ms() - 60_000,
            to: None,
            state: crate::protocol::AnnotationState::Suspected,
            text: "t".into(),
            author: "a".into(),
            rev: None,
            created: None,
            updated: None,
        }
    }

    fn writer(peer: [u8; 4], token: Option<&str>) -> Writer {
        Writer {
            peer: IpAddr::from(peer),
            token: token.map(str::to_owned),
            admin: false,
        }
    }

    #[tokio::test]
    async fn a_token_budget_spans_its_addresses() {
        let limits = AnnotationLimits {
            per_token: AnnotationRate {
                burst: 3,
                per_minute: 1,
            },
            ..AnnotationLimits::default()
        };
        let (hub, dir) = hub(limits, "token");
        let mut codes = Vec::new();
        for i in 0..5u8 {
            let who = writer([10, 0, 0, i], Some("shared"));
            let r = hub.accept(note(&format!("n{i}")), &[], &who, 0).await;
            codes.push(
                r.err()
                    .map(|e| (e.code, e.message.contains("under this token"))),
            );
        }
        assert_eq!(
            codes,
            [
                None,
                None,
                None,
                Some(("rate_limited", true)),
                Some(("rate_limited", true))
            ]
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn past_the_writer_table_idle_writers_are_forgotten() {
        let limits = AnnotationLimits {
            per_peer: AnnotationRate {
                burst: 1,
                per_minute: 600,
            },
            max_writers: 2,
            ..AnnotationLimits::default()
        };
        let (hub, dir) = hub(limits, "writers");
        for (i, peer) in [[10, 0, 0, 1], [10, 0, 0, 2]].into_iter().enumerate() {
            let r = hub
                .accept(note(&format!("w{i}")), &[], &writer(peer, None), 0)
                .await;
            assert!(r.is_ok(), "{r:?}");
        }
        let third = writer([10, 0, 0, 3], None);
        let busy = hub.accept(note("w3"), &[], &third, 0).await.unwrap_err();
        assert!(busy.message.contains("new writers"), "{}", busy.message);
        // Both budgets refill within 100 ms: idle writers make room.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        assert!(hub.accept(note("w3"), &[], &third, 0).await.is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }
}
