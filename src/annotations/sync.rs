//! Keeps the client's annotations in step with the war room: every
//! annotation goes to the outbox first, is sent to the backend that shares
//! annotations, is re-sent after every (re)connect until its echo arrives,
//! and only then leaves the outbox. Where no backend shares annotations they
//! are kept in a local store, and the screen says so.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{AnnotationStore, Outbox, same_content};
use crate::feed::{AnnotationsMode, Fleet, SharedFleet, merge_annotation};
use crate::protocol::{Annotate, Annotation, ClientMessage, Millis};

/// Submits annotations (new or edited) to the sync task.
#[derive(Debug, Clone)]
pub struct AnnotationSync {
    submit: mpsc::Sender<Annotation>,
}

impl AnnotationSync {
    /// Queues an annotation; it is in the outbox before it is sent.
    pub fn submit(&self, a: Annotation) -> bool {
        self.submit.try_send(a).is_ok()
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
    /// Snapshots seen per source: a new one means a new connection or resync.
    snapshots_seen: HashMap<usize, u64>,
    local_loaded: bool,
}

/// Starts the sync task. `senders` are the feed handles' senders by source
/// index; `local` is where annotations live when no backend shares them.
pub fn spawn_sync(
    fleet: SharedFleet,
    outbox: Option<Outbox>,
    local: Option<Arc<dyn AnnotationStore>>,
    senders: Vec<(usize, mpsc::Sender<ClientMessage>)>,
) -> AnnotationSync {
    let (tx, mut rx) = mpsc::channel::<Annotation>(64);
    let mut changes = fleet.subscribe();
    let pending = outbox.as_ref().map_or_else(Vec::new, |o| {
        let (items, problems) = o.pending();
        for p in problems {
            tracing::warn!("outbox: skipped {p}");
        }
        items
    });
    let mut sync = Sync {
        fleet,
        outbox,
        local,
        senders: senders.into_iter().collect(),
        pending,
        snapshots_seen: HashMap::new(),
        local_loaded: false,
    };
    tokio::spawn(async move {
        sync.publish_pending();
        sync.reconcile();
        loop {
            tokio::select! {
                a = rx.recv() => match a {
                    Some(a) => sync.submit(a),
                    None => break,
                },
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    sync.reconcile();
                }
            }
        }
    });
    AnnotationSync { submit: tx }
}

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

impl Sync {
    fn submit(&mut self, a: Annotation) {
        if let Some(o) = &self.outbox
            && let Err(e) = o.put(&a)
        {
            // Not durable, but still worth sending: say so instead of dropping it.
            tracing::error!("outbox: cannot save annotation {}: {e:#}", a.id);
            let msg = format!("not saved locally: {e}");
            let id = a.id.clone();
            self.fleet.write(|f| f.annotation_errors.push((id, msg)));
        }
        self.pending.retain(|p| p.id != a.id);
        self.pending.push(a.clone());
        self.publish_pending();
        let mode = self.fleet.read(annotations_mode);
        match mode {
            AnnotationsMode::Shared { source } => self.send(source, &a),
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

    /// Writes the pending list where the screen reads it, if it changed.
    fn publish_pending(&self) {
        let pending = self.pending.clone();
        let unchanged = self.fleet.read(|f| f.pending_annotations == pending);
        if !unchanged {
            self.fleet.write(|f| f.pending_annotations = pending);
        }
    }

    fn reconcile(&mut self) {
        let (mode, held_mode, snapshots, acked) = self.fleet.read(|f| {
            let snapshots: Vec<(usize, u64)> = f
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.snapshots))
                .collect();
            let acked: Vec<String> = self
                .pending
                .iter()
                .filter(|p| f.annotations.iter().any(|a| same_content(a, p)))
                .map(|p| p.id.clone())
                .collect();
            (
                annotations_mode(f),
                f.annotations_mode.clone(),
                snapshots,
                acked,
            )
        });
        if mode != held_mode {
            let m = mode.clone();
            self.fleet.write(|f| f.annotations_mode = m);
        }
        for id in &acked {
            if let Some(o) = &self.outbox
                && let Err(e) = o.remove(id)
            {
                tracing::warn!("outbox: cannot remove acknowledged {id}: {e:#}");
            }
        }
        if !acked.is_empty() {
            self.pending.retain(|p| !acked.contains(&p.id));
            self.publish_pending();
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
        for a in &self.pending {
            match local.upsert(a, now_ms()) {
                Ok(s) => {
                    stored.push(s.annotation().clone());
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
    }
}
