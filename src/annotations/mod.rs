//! Annotations the whole war room sees: validation, the server's durable
//! store, and the client's outbox of annotations not yet acknowledged.

mod grafana;
mod grafana_push;
mod outbox;
mod places;
mod rate;
mod sqlite;
mod validate;

pub use grafana::{GrafanaClient, GrafanaConfig, grafana_body};
pub use grafana_push::spawn_grafana_push;
pub use outbox::Outbox;
pub use places::{ClientPlaces, backends_key};
pub use rate::RateLimit;
pub use sqlite::{SqliteAnnotations, SyncMode};
pub use validate::{AnnotationInvalid, validate_annotation};

use crate::protocol::{Annotation, Millis};

/// A seed for a client's annotation ids (`crate::app::AnnotationIds`),
/// from the OS random source.
pub fn random_id_seed() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// A fresh annotation id (a UUID v4), as the client chooses it.
pub fn new_annotation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Who is writing, as an annotation's `author`: `$USER`, else "unknown".
pub fn local_author() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty() && u.len() <= 64)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What storing an annotation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// New id, rev 1.
    Created(Annotation),
    /// Known id with a change: rev bumped.
    Updated(Annotation),
    /// Known id, identical content (a resend): nothing changed.
    Unchanged(Annotation),
}

impl Stored {
    pub fn annotation(&self) -> &Annotation {
        match self {
            Stored::Created(a) | Stored::Updated(a) | Stored::Unchanged(a) => a,
        }
    }
}

/// Who writes, and what the store checks before it takes a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditRules {
    /// The writer's token name. `None`: no identity (a server without
    /// tokens, or the client's local store), so anyone may edit anything.
    pub editor: Option<String>,
    /// An `admin` token may edit annotations of others.
    pub admin: bool,
    /// Optimistic concurrency: an edit must name (in `rev`) the rev it edits.
    pub check_rev: bool,
    /// Most open (not resolved) annotations; a new open one past it is refused.
    pub max_open: Option<usize>,
}

impl EditRules {
    /// The rules of a shared server for one writer.
    pub fn server(editor: Option<String>, admin: bool, max_open: usize) -> Self {
        EditRules {
            editor,
            admin,
            check_rev: true,
            max_open: Some(max_open),
        }
    }
}

/// Why a store did not take a write (the store itself worked).
#[derive(Debug, Clone, PartialEq)]
pub enum EditRefused {
    /// The edit named a rev other than the stored one (or none, for a known
    /// id): someone else wrote in between. `current` is what is stored.
    Conflict { current: Box<Annotation> },
    /// Only the author, or an `admin` token, may edit.
    NotAuthor { current: Box<Annotation> },
    /// The store already holds `max` open annotations.
    TooManyOpen { max: usize },
}

impl EditRefused {
    /// The `error` frame code.
    pub fn code(&self) -> &'static str {
        match self {
            EditRefused::Conflict { .. } => "conflict",
            EditRefused::NotAuthor { .. } => "forbidden",
            EditRefused::TooManyOpen { .. } => "too_many_open",
        }
    }

    /// One sentence for the writer's screen.
    pub fn message(&self, id: &str, base: Option<u64>) -> String {
        match self {
            EditRefused::Conflict { current } => format!(
                "annotation {id:?}: edited {} but the server holds rev {} (by {}); both are shown, edit again to keep yours",
                base.map_or_else(|| "without a base rev".to_owned(), |r| format!("rev {r}")),
                current.rev.unwrap_or(0),
                current.author.chars().take(64).collect::<String>(),
            ),
            EditRefused::NotAuthor { current } => format!(
                "annotation {id:?}: only its author ({}) or an admin token may edit it",
                current.author.chars().take(64).collect::<String>(),
            ),
            EditRefused::TooManyOpen { max } => format!(
                "annotation {id:?}: the server already holds {max} open annotations; resolve some, or ask an admin to purge (qualtop annotations purge)"
            ),
        }
    }
}

/// One version of an annotation, as the edit history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub annotation: Annotation,
    /// The token that wrote it (`None`: a server without tokens).
    pub editor: Option<String>,
    pub at: Millis,
}

/// The annotations a snapshot carries: those overlapping its window, the
/// most recently written first, bounded in count and bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowAnnotations {
    /// Oldest `from` first.
    pub annotations: Vec<Annotation>,
    /// How many overlapping ones were left out by the bounds.
    pub left_out: usize,
}

/// What `qualtop annotations purge` deletes: rows matching every given term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purge {
    pub author: Option<String>,
    /// Created at or after this (server wall clock, ms).
    pub created_since: Option<Millis>,
    /// Only those not resolved.
    pub open_only: bool,
    pub ids: Vec<String>,
}

impl Purge {
    /// Whether no author, time or id narrows it (the CLI then asks for `--all`).
    pub fn is_unbounded(&self) -> bool {
        self.author.is_none() && self.created_since.is_none() && self.ids.is_empty()
    }
}

/// Where a server keeps annotations. SQLite today; a networked database can
/// implement the same trait.
pub trait AnnotationStore: Send + Sync {
    /// Creates or updates by id under `rules`; an identical resend changes
    /// nothing. The outer error is the store failing, the inner a refusal.
    fn write(
        &self,
        a: &Annotation,
        rules: &EditRules,
        now: Millis,
    ) -> anyhow::Result<Result<Stored, EditRefused>>;
    /// Annotations whose time range overlaps `[from, to]`, oldest first.
    fn overlapping(&self, from: Millis, to: Millis) -> anyhow::Result<Vec<Annotation>>;
    /// Overlapping `[from, to]`, at most `max_count` and about `max_bytes`
    /// of JSON: the most recently written are kept.
    fn window(
        &self,
        from: Millis,
        to: Millis,
        max_count: usize,
        max_bytes: usize,
    ) -> anyhow::Result<WindowAnnotations> {
        let all = self.overlapping(from, to)?;
        Ok(bound_window(all, max_count, max_bytes))
    }

    /// Creates or updates by id with no checks (a client's local store).
    fn upsert(&self, a: &Annotation, now: Millis) -> anyhow::Result<Stored> {
        self.write(a, &EditRules::default(), now)?
            .map_err(|r| anyhow::anyhow!(r.message(&a.id, a.rev)))
    }
}

/// Keeps the most recently written of `all` within `max_count` and
/// `max_bytes` (JSON), returned oldest `from` first.
pub fn bound_window(
    mut all: Vec<Annotation>,
    max_count: usize,
    max_bytes: usize,
) -> WindowAnnotations {
    let total = all.len();
    all.sort_by_key(|a| std::cmp::Reverse((a.updated.or(a.created).unwrap_or(a.from), a.from)));
    let mut bytes = 0usize;
    let mut kept = Vec::with_capacity(total.min(max_count));
    for a in all {
        if kept.len() >= max_count {
            break;
        }
        let size = serde_json::to_vec(&a).map_or(usize::MAX, |v| v.len());
        if bytes.saturating_add(size) > max_bytes {
            break;
        }
        bytes += size;
        kept.push(a);
    }
    kept.sort_by(|a, b| (a.from, &a.id).cmp(&(b.from, &b.id)));
    WindowAnnotations {
        left_out: total - kept.len(),
        annotations: kept,
    }
}

/// Whether two annotations say the same thing (ignoring server-set fields
/// and the author, which the server owns once an annotation exists).
pub fn same_content(a: &Annotation, b: &Annotation) -> bool {
    a.id == b.id
        && a.scope == b.scope
        && a.signal == b.signal
        && a.from == b.from
        && a.to == b.to
        && a.state == b.state
        && a.text == b.text
}
