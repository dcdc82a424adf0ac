//! The postmortem timeline of every annotation in time order, with the
//! quality of its scope at its start and now: what `qualtop annotations
//! export` prints (as JSON or Markdown, in `cli`). Pure: annotations and
//! store in, plain data out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect::rank_at;
use crate::protocol::{Annotation, Change, Millis};
use crate::store::{BucketRange, SignalId, SliceId, Store};

/// Buckets each figure sums over: the annotation's start ± 2, or the last 5.
pub const FIGURE_BUCKETS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The backends' clock when the timeline was taken.
    pub now: Millis,
    /// Annotations ending before this were left out.
    pub since: Option<Millis>,
    pub entries: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub id: String,
    pub from: Millis,
    pub to: Option<Millis>,
    /// `{}` is the whole fleet.
    pub scope: BTreeMap<String, String>,
    pub signal: Option<String>,
    pub state: &'static str,
    pub author: String,
    /// As written (JSON escapes control characters; markdown strips them).
    pub text: String,
    pub rev: Option<u64>,
    pub updated: Option<Millis>,
    /// One per quality signal (or the annotation's own signal).
    pub quality: Vec<QualityFigure>,
    /// The reported change that best explains a drop starting where and
    /// when the annotation does (see [`cite_suspects`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspect: Option<TimelineSuspect>,
}

/// The top suspect of an annotation: the change's id and the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineSuspect {
    pub change: String,
    pub score: f64,
    /// Sanitised words (`detect::rank_suspects`).
    pub why: String,
}

/// Gives every entry its top suspect among `changes`, ranked against the
/// annotation's scope and start as against a regression's, among the
/// slices the fleet serves and their data (`store`).
pub fn cite_suspects(timeline: &mut Timeline, changes: &[Change], store: &Store) {
    for e in &mut timeline.entries {
        e.suspect = rank_at(&e.scope, e.from, changes, store)
            .into_iter()
            .next()
            .map(|s| TimelineSuspect {
                change: s.change.id.clone(),
                score: (s.score * 1000.0).round() / 1000.0,
                why: s.why,
            });
    }
}

/// A quality signal rolled up over every slice in the scope: counts summed,
/// then divided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityFigure {
    pub signal: String,
    /// Over the buckets around the annotation's start; `None`: no data held.
    pub at_start: Option<f64>,
    /// Over the newest buckets held.
    pub now: Option<f64>,
    /// Slices the scope matches.
    pub slices: usize,
}

/// The timeline of `annotations` overlapping `[since, ∞)`, oldest first.
pub fn build_timeline(
    annotations: &[Annotation],
    store: &Store,
    since: Option<Millis>,
) -> Timeline {
    let mut chosen: Vec<&Annotation> = annotations
        .iter()
        .filter(|a| since.is_none_or(|s| a.to.is_none_or(|to| to >= s)))
        .collect();
    chosen.sort_by(|a, b| (a.from, a.created, &a.id).cmp(&(b.from, b.created, &b.id)));
    let entries = chosen
        .into_iter()
        .map(|a| TimelineEntry {
            id: a.id.clone(),
            from: a.from,
            to: a.to,
            scope: a.scope.clone(),
            signal: a.signal.clone(),
            state: a.state.as_str(),
            author: a.author.clone(),
            text: a.text.clone(),
            rev: a.rev,
            updated: a.updated,
            quality: quality_figures(store, a),
            suspect: None,
        })
        .collect();
    Timeline {
        now: store.now(),
        since,
        entries,
    }
}

/// Slices whose every scope dimension has the scope's value.
fn slices_in_scope(store: &Store, scope: &BTreeMap<String, String>) -> Vec<SliceId> {
    let interner = store.slices();
    let wanted: Option<Vec<(usize, &str)>> = scope
        .iter()
        .map(|(d, v)| interner.dimension_index(d).map(|i| (i, v.as_str())))
        .collect();
    // A dimension the backends do not have matches nothing.
    let Some(wanted) = wanted else {
        return Vec::new();
    };
    interner
        .ids()
        .filter(|&s| wanted.iter().all(|&(d, v)| interner.value(s, d) == v))
        .collect()
}

/// The annotation's signal if it is a ratio; else every quality ratio.
fn figure_signals(store: &Store, a: &Annotation) -> Vec<SignalId> {
    let ratio = |id: &SignalId| store.signal(*id).spec.kind.is_counted();
    if let Some(id) = a.signal.as_deref().and_then(|s| store.signal_by_name(s)) {
        return [id].into_iter().filter(ratio).collect();
    }
    (0..store.signals().len())
        .map(|i| SignalId(i as u16))
        .filter(|id| store.signal(*id).spec.is_quality_rate())
        .collect()
}

fn quality_figures(store: &Store, a: &Annotation) -> Vec<QualityFigure> {
    let slices = slices_in_scope(store, &a.scope);
    let start = BucketRange::ending_at(store.bucket_of(a.from) + 2, FIGURE_BUCKETS);
    let latest = store
        .head()
        .map(|h| BucketRange::ending_at(h, FIGURE_BUCKETS));
    figure_signals(store, a)
        .into_iter()
        .map(|signal| QualityFigure {
            signal: store.signal(signal).spec.name.clone(),
            at_start: rate(store, signal, &slices, Some(start)),
            now: rate(store, signal, &slices, latest),
            slices: slices.len(),
        })
        .collect()
}

fn rate(
    store: &Store,
    signal: SignalId,
    slices: &[SliceId],
    range: Option<BucketRange>,
) -> Option<f64> {
    if slices.is_empty() {
        return None;
    }
    let (good, total) = store
        .rollup_ratio(signal, slices, range?)
        .into_iter()
        .flatten()
        .fold((0u64, 0u64), |(g, t), r| (g + r.good, t + r.total));
    (total > 0).then(|| good as f64 / total as f64)
}
