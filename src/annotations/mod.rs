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
pub use sqlite::SqliteAnnotations;
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

/// Where a server keeps annotations. SQLite today; a networked database can
/// implement the same trait.
pub trait AnnotationStore: Send + Sync {
    /// Creates or updates by id; an identical resend changes nothing.
    fn upsert(&self, a: &Annotation, now: Millis) -> anyhow::Result<Stored>;
    /// Annotations whose time range overlaps `[from, to]`, oldest first.
    fn overlapping(&self, from: Millis, to: Millis) -> anyhow::Result<Vec<Annotation>>;
}

/// Whether two annotations say the same thing (ignoring server-set fields).
pub fn same_content(a: &Annotation, b: &Annotation) -> bool {
    a.id == b.id
        && a.scope == b.scope
        && a.signal == b.signal
        && a.from == b.from
        && a.to == b.to
        && a.state == b.state
        && a.text == b.text
        && a.author == b.author
}
