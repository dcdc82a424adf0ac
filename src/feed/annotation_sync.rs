//! Keeps the client's annotations in step with the war room: every
//! annotation goes to the outbox first, is sent to the backend that shares
//! annotations, is re-sent after every (re)connect until its echo arrives,
//! and only then leaves the outbox. Where no backend shares annotations they
//! are kept in a local store, and the screen says so.
//!
//! A refusal for good (conflict, invalid, forbidden, too many open) moves
//! the annotation to the outbox's `refused/` with its reason: shown, and not
//! sent again at every reconnect; editing it again makes it pending again.
//!
//! What the screen reads (all in [`Fleet`]): `pending_annotations` (in the
//! outbox, not yet acknowledged), `refused_annotations` (refused for good,
//! with the reason), `annotation_errors` (refusals by id),
//! `annotations_mode` (shared, local only, or not known yet) and
//! `annotations` (everything acknowledged, newest rev of each).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{AnnotationsMode, ConnState, Fleet, RefusedAnnotation, SharedFleet, merge_annotation};
use crate::annotations::{
    AnnotationStore, GrafanaConfig, Outbox, same_content, spawn_grafana_push,
};
use crate::protocol::{Annotate, Annotation, ClientMessage};

/// Refusals worth sending again after a pause: the server may take it then.
const RETRYABLE: [&str; 2] = ["rate_limited:", "storage_failed:"];
/// Pause before sending a refused-but-retryable annotation again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

enum Command {
    Submit(Annotation),
    Discard(String),
    Forward(mpsc::Sender<Annotation>),
}

/// The handle the UI (and `qualtop annotations add`) uses to submit
/// annotations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AnnotationSync {
    commands: mpsc::Sender<Command>,
}

impl AnnotationSync {
    /// Queues a new or edited annotation (an edit is the same `id` with new
    /// content). The sync task writes it to the outbox, then sends it; it
    /// shows in `Fleet::pending_annotations` until the echo arrives. False
    /// if the task has stopped or is 64 commands behind.
    pub fn submit(&self, a: Annotation) -> bool {
        self.commands.try_send(Command::Submit(a)).is_ok()
    }

    /// Gives up on a pending annotation (say, one the backend refused for
    /// good): it leaves the outbox and is not sent again.
    pub fn discard(&self, id: &str) -> bool {
        self.commands
            .try_send(Command::Discard(id.to_owned()))
            .is_ok()
    }

    /// Also hands each annotation of this client, once acknowledged (or
    /// stored locally), to `to`: the Grafana push.
    pub fn forward_acknowledged(&self, to: mpsc::Sender<Annotation>) -> bool {
        self.commands.try_send(Command::Forward(to)).is_ok()
    }
}

/// Where annotations should go, from what the backends said in hello.
pub fn annotations_mode(f: &Fleet) -> AnnotationsMode {
    if let Some(i) = f.sources.iter().position(|s| {
        s.hello
            .as_ref()
            .is_some_and(|h| h.has_feature("annotations"))
    }) {
        return AnnotationsMode::Shared { source: i };
    }
    let all_known = !f.sources.is_empty()
        && f.sources
            .iter()
            .all(|s| s.hello.is_some() || s.state.is_failed());
    if all_known && f.sources.iter().any(|s| s.hello.is_some()) {
        AnnotationsMode::LocalOnly
    } else {
        AnnotationsMode::Unknown
    }
}

struct Sync {
    fleet: SharedFleet,
    outbox: Option<Outbox>,
    local: Option<Arc<dyn AnnotationStore>>,
    senders: HashMap<usize, mpsc::Sender<ClientMessage>>,
    pending: Vec<Annotation>,
    /// Refused for good: kept (in the outbox's `refused/`) and shown, not sent.
    refused: Vec<RefusedAnnotation>,
    /// Snapshots seen per source: a new one means a new connection or resync.
    snapshots_seen: HashMap<usize, u64>,
    local_loaded: bool,
    /// Where acknowledged annotations of this client also go (Grafana).
    forward: Vec<mpsc::Sender<Annotation>>,
    /// When refused-but-retryable annotations are sent again.
    retry_at: Option<Instant>,
}

/// Starts the sync task. `senders` are the feed handles' senders by source
/// index; `local` is where annotations live when no backend shares them.
pub fn spawn_sync(
    fleet: SharedFleet,
    outbox: Option<Outbox>,
    local: Option<Arc<dyn AnnotationStore>>,
    senders: Vec<(usize, mpsc::Sender<ClientMessage>)>,
) -> AnnotationSync {
    let (tx, mut rx) = mpsc::channel::<Command>(64);
    let mut changes = fleet.subscribe();
    let (pending, refused) = outbox.as_ref().map_or_else(Default::default, |o| {
        let (items, mut problems) = o.pending();
        let (refused, more) = o.refused();
        problems.extend(more);
        for p in problems {
            tracing::warn!("outbox: skipped {p}");
        }
        let refused = refused
            .into_iter()
            .map(|(annotation, reason)| RefusedAnnotation { annotation, reason })
            .collect();
        (items, refused)
    });
    let mut sync = Sync {
        fleet,
        outbox,
        local,
        senders: senders.into_iter().collect(),
        pending,
        refused,
        snapshots_seen: HashMap::new(),
        local_loaded: false,
        forward: Vec::new(),
        retry_at: None,
    };
    tokio::spawn(async move {
        sync.publish_pending();
        sync.reconcile();
        loop {
            let retry_at = sync.retry_at;
            tokio::select! {
                command = rx.recv() => match command {
                    Some(Command::Submit(a)) => sync.submit(a),
                    Some(Command::Discard(id)) => sync.discard(&id),
                    Some(Command::Forward(to)) => sync.forward.push(to),
                    None => break,
                },
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    sync.retry_at = None;
                    sync.retry_refused();
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    sync.reconcile();
                }
            }
        }
    });
    AnnotationSync { commands: tx }
}

/// The sync task of a client connected to `urls` (none: the built-in demo),
/// with its outbox and local store in the XDG directories
/// ([`ClientPlaces`](crate::annotations::ClientPlaces)). A directory that cannot be opened is logged,
/// and the sync runs without it rather than not at all.
pub fn start_client_sync(
    fleet: &SharedFleet,
    urls: &[String],
    feeds: &[super::FeedHandle],
) -> AnnotationSync {
    let places = crate::annotations::ClientPlaces::for_backends(urls)
        .inspect_err(|e| tracing::warn!("annotations: {e:#}"))
        .ok();
    let outbox = places.as_ref().and_then(|p| {
        Outbox::open(&p.outbox)
            .inspect_err(|e| tracing::warn!("annotations are not kept in an outbox: {e:#}"))
            .ok()
    });
    let local = places.as_ref().and_then(|p| {
        crate::annotations::SqliteAnnotations::open_in(&p.local)
            .inspect_err(|e| tracing::warn!("no local annotation store: {e:#}"))
            .ok()
            .map(|s| Arc::new(s) as Arc<dyn AnnotationStore>)
    });
    let senders = feeds.iter().map(|f| (f.index(), f.sender())).collect();
    spawn_sync(fleet.clone(), outbox, local, senders)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Whether the source can take a message now; otherwise the next snapshot
/// (a new connection) triggers the send, so nothing waits in a dead queue.
fn connected(f: &Fleet, source: usize) -> bool {
    f.sources
        .get(source)
        .is_some_and(|s| matches!(s.state, ConnState::Live | ConnState::Stale))
}

fn retryable(reason: &str) -> bool {
    RETRYABLE.iter().any(|code| reason.starts_with(code))
}

use crate::clock::wall_ms;

impl Sync {
    fn submit(&mut self, a: Annotation) {
        // A new attempt: an earlier refusal of this id no longer applies.
        let id = a.id.clone();
        self.fleet
            .write(|f| f.annotation_errors.retain(|(held, _)| *held != id));
        if let Some(o) = &self.outbox
            && let Err(e) = o.put(&a)
        {
            // Not durable, but still worth sending: say so instead of dropping it.
            tracing::error!("outbox: cannot save annotation {}: {e:#}", a.id);
            let msg = format!("not saved locally: {e}");
            self.fleet.write(|f| f.annotation_errors.push((id, msg)));
        }
        self.pending.retain(|p| p.id != a.id);
        self.pending.push(a.clone());
        self.refused.retain(|r| r.annotation.id != a.id);
        self.publish_pending();
        let (mode, up) = self.fleet.read(|f| {
            let mode = annotations_mode(f);
            let up = matches!(mode, AnnotationsMode::Shared { source } if connected(f, source));
            (mode, up)
        });
        match mode {
            AnnotationsMode::Shared { source } if up => self.send(source, &a),
            AnnotationsMode::Shared { .. } => {}
            AnnotationsMode::LocalOnly => self.keep_locally(),
            AnnotationsMode::Unknown => {}
        }
    }

    fn send(&self, source: usize, a: &Annotation) {
        if let Some(tx) = self.senders.get(&source) {
            let msg = ClientMessage::Annotate(Annotate {
                annotation: a.clone(),
            });
            if tx.try_send(msg).is_err() {
                tracing::warn!(
                    "annotation {} not queued (feed busy or gone); it stays pending",
                    a.id
                );
            }
        }
    }

    fn discard(&mut self, id: &str) {
        if let Some(o) = &self.outbox
            && let Err(e) = o.remove(id)
        {
            tracing::warn!("outbox: cannot remove discarded {id}: {e:#}");
        }
        self.pending.retain(|p| p.id != id);
        self.refused.retain(|r| r.annotation.id != id);
        self.fleet
            .write(|f| f.annotation_errors.retain(|(held, _)| held != id));
        self.publish_pending();
    }

    /// Moves pending annotations the backend refused for good to `refused/`.
    fn set_aside(&mut self, refusals: Vec<(String, String)>) {
        for (id, reason) in refusals {
            let Some(at) = self.pending.iter().position(|p| p.id == id) else {
                continue;
            };
            let a = self.pending.remove(at);
            if let Some(o) = &self.outbox
                && let Err(e) = o.refuse(&a, &reason)
            {
                tracing::warn!("outbox: cannot set aside refused {id}: {e:#}");
            }
            tracing::info!(id = %id, "annotation refused for good: {reason}");
            self.refused.retain(|r| r.annotation.id != id);
            self.refused.push(RefusedAnnotation {
                annotation: a,
                reason,
            });
        }
        self.publish_pending();
    }

    /// Sends again what the server refused for now (rate limit, storage).
    fn retry_refused(&mut self) {
        let (mode, up, refused) = self.fleet.read(|f| {
            let mode = annotations_mode(f);
            let up = matches!(mode, AnnotationsMode::Shared { source } if connected(f, source));
            let refused: Vec<String> = f
                .annotation_errors
                .iter()
                .filter(|(id, why)| retryable(why) && self.pending.iter().any(|p| p.id == *id))
                .map(|(id, _)| id.clone())
                .collect();
            (mode, up, refused)
        });
        let AnnotationsMode::Shared { source } = mode else {
            return;
        };
        if !up || refused.is_empty() {
            return;
        }
        self.fleet
            .write(|f| f.annotation_errors.retain(|(id, _)| !refused.contains(id)));
        for a in self.pending.iter().filter(|p| refused.contains(&p.id)) {
            self.send(source, a);
        }
    }

    fn forward(&mut self, acknowledged: &[Annotation]) {
        if acknowledged.is_empty() {
            return;
        }
        self.forward.retain(|to| !to.is_closed());
        for to in &self.forward {
            for a in acknowledged {
                if to.try_send(a.clone()).is_err() {
                    tracing::warn!("annotation {} not forwarded: the push queue is full", a.id);
                }
            }
        }
    }

    /// Writes the pending and refused lists where the screen reads them, if
    /// they changed.
    fn publish_pending(&self) {
        let unchanged = self.fleet.read(|f| {
            f.pending_annotations == self.pending && f.refused_annotations == self.refused
        });
        if !unchanged {
            let (pending, refused) = (self.pending.clone(), self.refused.clone());
            self.fleet.write(|f| {
                f.pending_annotations = pending;
                f.refused_annotations = refused;
            });
        }
    }

    fn reconcile(&mut self) {
        let (mode, held_mode, snapshots, acked, refused, for_good) = self.fleet.read(|f| {
            let snapshots: Vec<(usize, u64)> = f
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.snapshots))
                .collect();
            let acked: Vec<Annotation> = self
                .pending
                .iter()
                .filter_map(|p| f.annotations.get(&p.id).filter(|a| same_content(a, p)))
                .cloned()
                .collect();
            let for_good: Vec<(String, String)> = f
                .annotation_errors
                .iter()
                .filter(|(id, why)| !retryable(why) && self.pending.iter().any(|p| p.id == *id))
                .cloned()
                .collect();
            let refused = f
                .annotation_errors
                .iter()
                .any(|(id, why)| retryable(why) && self.pending.iter().any(|p| p.id == *id));
            (
                annotations_mode(f),
                f.annotations_mode.clone(),
                snapshots,
                acked,
                refused,
                for_good,
            )
        });
        if !for_good.is_empty() {
            self.set_aside(for_good);
        }
        if refused && self.retry_at.is_none() {
            self.retry_at = Some(Instant::now() + RETRY_AFTER);
        }
        if mode != held_mode {
            let m = mode.clone();
            self.fleet.write(|f| f.annotations_mode = m);
        }
        for a in &acked {
            if let Some(o) = &self.outbox
                && let Err(e) = o.remove(&a.id)
            {
                tracing::warn!("outbox: cannot remove acknowledged {}: {e:#}", a.id);
            }
        }
        if !acked.is_empty() {
            self.pending.retain(|p| !acked.iter().any(|a| a.id == p.id));
            self.fleet.write(|f| {
                f.annotation_errors
                    .retain(|(id, _)| !acked.iter().any(|a| a.id == *id));
            });
            self.publish_pending();
            self.forward(&acked);
        }
        match mode {
            AnnotationsMode::Shared { source } => {
                let now = snapshots
                    .iter()
                    .find(|(i, _)| *i == source)
                    .map_or(0, |(_, n)| *n);
                let seen = self.snapshots_seen.insert(source, now).unwrap_or(0);
                if now > seen {
                    // A new connection or resync: whatever was in flight may be lost.
                    for a in &self.pending {
                        self.send(source, a);
                    }
                }
            }
            AnnotationsMode::LocalOnly => self.keep_locally(),
            AnnotationsMode::Unknown => {}
        }
    }

    /// No backend shares annotations: store them here and show them.
    fn keep_locally(&mut self) {
        let Some(local) = self.local.clone() else {
            return;
        };
        let mut stored = Vec::new();
        if !self.local_loaded {
            match local.overlapping(i64::MIN, i64::MAX) {
                Ok(all) => stored.extend(all),
                Err(e) => tracing::warn!("local annotations: {e:#}"),
            }
            self.local_loaded = true;
        }
        let mut done = Vec::new();
        let mut mine = Vec::new();
        for a in &self.pending {
            match local.upsert(a, wall_ms()) {
                Ok(s) => {
                    stored.push(s.annotation().clone());
                    mine.push(s.annotation().clone());
                    done.push(a.id.clone());
                }
                Err(e) => tracing::warn!("local annotations: cannot store {}: {e:#}", a.id),
            }
        }
        for id in &done {
            if let Some(o) = &self.outbox {
                let _ = o.remove(id);
            }
        }
        self.pending.retain(|p| !done.contains(&p.id));
        if !stored.is_empty() {
            self.fleet.write(|f| {
                for a in stored {
                    merge_annotation(&mut f.annotations, a);
                }
            });
        }
        self.publish_pending();
        self.forward(&mine);
    }
}

/// `[grafana] url` and `token_env` of the config, wired to the sync task:
/// every annotation created or edited on this client is also posted to
/// Grafana. The token is read from the variable named by `token_env`.
pub fn start_grafana_push(
    sync: &AnnotationSync,
    url: &str,
    token_env: Option<&str>,
) -> anyhow::Result<()> {
    let token = token_env
        .and_then(|var| std::env::var(var).ok())
        .filter(|t| !t.is_empty());
    let push = spawn_grafana_push(GrafanaConfig::new(url, token))?;
    anyhow::ensure!(
        sync.forward_acknowledged(push),
        "the annotation sync task has stopped"
    );
    tracing::info!(url, "annotations are also pushed to Grafana");
    Ok(())
}

#[cfg(test)]
#[path = "annotation_sync_tests.rs"]
mod tests;
