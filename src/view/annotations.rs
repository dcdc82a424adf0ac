//! Annotations as the screens need them: every one the client knows (shared,
//! pending in the outbox, or refused), newest first, and per table row how
//! many touch it and in which bucket each starts.

use super::detail::annotation_applies;
use super::query::DrillStep;
use crate::feed::{AnnotationsMode, Fleet};
use crate::protocol::Annotation;
use crate::store::BucketRange;

/// Where an annotation stands between this client and the war room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryStatus {
    /// Acknowledged by the backend (or kept in the local store).
    Shared,
    /// In the outbox, not yet acknowledged.
    Pending,
    /// A backend refused it; its reason (raw: sanitise before drawing).
    Refused(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationEntry {
    pub annotation: Annotation,
    pub status: EntryStatus,
}

/// Every annotation the client knows, newest first, and whether they stay
/// on this machine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnnotationFacts {
    pub entries: Vec<AnnotationEntry>,
    /// No backend shares annotations: they stay on this machine.
    pub local_only: bool,
    /// Annotations let go to keep the client's memory bounded (the oldest
    /// ended ones first): said on screen, so a short list is not mistaken
    /// for the whole board.
    pub not_held: u64,
}

impl AnnotationFacts {
    pub fn of(fleet: &Fleet) -> Self {
        let refused = |id: &str| {
            fleet
                .annotation_errors
                .iter()
                .rev()
                .find(|(e, _)| e == id)
                .map(|(_, reason)| reason.clone())
        };
        let pending = fleet.pending_annotations.iter().map(|a| AnnotationEntry {
            annotation: a.clone(),
            status: refused(&a.id).map_or(EntryStatus::Pending, EntryStatus::Refused),
        });
        // A refused one shows beside the server's version (a conflict shows both).
        let refused_for_good = fleet.refused_annotations.iter().map(|r| AnnotationEntry {
            annotation: r.annotation.clone(),
            status: EntryStatus::Refused(r.reason.clone()),
        });
        let pending_ids: std::collections::HashSet<&str> = fleet
            .pending_annotations
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        let shared = fleet
            .annotations
            .iter()
            .filter(|a| !pending_ids.contains(a.id.as_str()))
            .map(|a| AnnotationEntry {
                annotation: a.clone(),
                status: EntryStatus::Shared,
            });
        let mut entries: Vec<AnnotationEntry> =
            pending.chain(refused_for_good).chain(shared).collect();
        // Not yet acknowledged ones have no server time: they are the newest.
        entries.sort_by_key(|e| {
            std::cmp::Reverse(match e.status {
                EntryStatus::Shared => {
                    let a = &e.annotation;
                    a.updated.or(a.created).unwrap_or(a.from)
                }
                _ => i64::MAX,
            })
        });
        AnnotationFacts {
            entries,
            local_only: fleet.annotations_mode == AnnotationsMode::LocalOnly,
            not_held: fleet.annotations.let_go(),
        }
    }
}

/// The annotations touching one table row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowAnnotations {
    /// How many touch the row (see [`annotation_applies`]).
    pub count: usize,
    /// Buckets of the window (0 = oldest shown) where one of them starts.
    pub starts: Vec<usize>,
}

/// Annotations (shared, and pending ones not yet shared) touching the group
/// at `path`, with where in `range` each starts.
pub fn row_annotations(
    fleet: &Fleet,
    path: &[DrillStep],
    range: BucketRange,
    bucket_ms: i64,
) -> RowAnnotations {
    let pending = fleet
        .pending_annotations
        .iter()
        .filter(|p| !fleet.annotations.contains(&p.id));
    let mut out = RowAnnotations::default();
    for a in fleet.annotations.iter().chain(pending) {
        if !annotation_applies(&a.scope, path) {
            continue;
        }
        out.count += 1;
        let bucket = a.from.div_euclid(bucket_ms.max(1));
        if let Some(offset) = bucket
            .checked_sub(range.first)
            .filter(|&o| o >= 0 && (o as usize) < range.len)
        {
            out.starts.push(offset as usize);
        }
    }
    out.starts.sort_unstable();
    out.starts.dedup();
    out
}

/// Which of `cells` sparkline cells (see `RatioTrend::cells`) shows bucket
/// `bucket` of a window of `buckets`, counted from the left of the cells.
pub fn cell_of_bucket(bucket: usize, buckets: usize, cells: usize) -> Option<usize> {
    if bucket >= buckets || cells == 0 {
        return None;
    }
    if buckets <= cells {
        return Some(bucket);
    }
    // Cell i covers buckets [i*n/cells, (i+1)*n/cells).
    (0..cells).find(|&i| bucket < (i + 1) * buckets / cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_map_to_the_cell_that_merges_them() {
        assert_eq!(cell_of_bucket(3, 10, 20), Some(3));
        assert_eq!(cell_of_bucket(0, 120, 40), Some(0));
        assert_eq!(cell_of_bucket(119, 120, 40), Some(39));
        assert_eq!(cell_of_bucket(61, 120, 40), Some(20));
        assert_eq!(cell_of_bucket(120, 120, 40), None);
    }
}
