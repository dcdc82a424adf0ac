//! The one baseline per (scope, signal) that every `vs base`, chart
//! reference line, copy, snapshot and `check` reads.
//!
//! Where the detector tests that scope and signal, it is the detector's own
//! healthy rate (trailing, frozen while evidence builds, so a regression
//! never becomes its own base). Elsewhere (a combination of dimensions, a
//! filtered group, a leaf the detector is not reporting on) it is the same
//! robust estimator over the scope's own trailing history, up to the
//! recent part of the window the current figure covers.

use std::collections::HashMap;

use crate::detect::{DetectorConfig, ScopeMap, estimate_baseline};
use crate::feed::Fleet;
use crate::store::{BucketRange, Ratio, SignalId};

use super::trend::RECENT_DIVISOR;

/// Where baselines of one view come from.
pub struct Baselines<'a> {
    fleet: &'a Fleet,
    /// The detector's baseline per (signal name, scope), first track of each
    /// kept as a search would find it: one lookup per row, not a scan.
    tracks: HashMap<(&'a str, &'a ScopeMap), Option<f64>>,
    /// A filter is active: the slices of a scope are not the detector's.
    filtered: bool,
    /// The trailing history the estimator reads when the detector has no
    /// baseline: up to the window's recent part.
    reference: Option<BucketRange>,
}

impl<'a> Baselines<'a> {
    pub fn new(fleet: &'a Fleet, filtered: bool, window: BucketRange) -> Self {
        let store = &fleet.store;
        let recent = (window.len / RECENT_DIVISOR).max(1).min(window.len);
        let last = window.last() - recent as i64;
        let span = DetectorConfig::for_bucket_ms(store.bucket_ms())
            .reference_buckets
            .min(store.capacity());
        let reference = (span > 0).then(|| BucketRange::ending_at(last, span));
        let mut tracks = HashMap::new();
        if !filtered {
            for t in &fleet.detections.tracks {
                tracks
                    .entry((t.signal.as_str(), &t.scope))
                    .or_insert(t.baseline);
            }
        }
        Baselines {
            fleet,
            tracks,
            filtered,
            reference,
        }
    }

    /// Whether a row's scope can matter: the detector answers for some
    /// scope. When not, callers need not build the scope at all.
    pub fn consults_detector(&self) -> bool {
        !self.tracks.is_empty()
    }

    /// The buckets a row's figures need: its reference history and the
    /// window, read in one pass.
    pub fn span(&self, window: BucketRange) -> BucketRange {
        match self.reference {
            Some(r) if r.first < window.first => BucketRange {
                first: r.first,
                len: (window.last() - r.first + 1) as usize,
            },
            _ => window,
        }
    }

    /// The healthy rate of `signal` over `scope`, for a row whose summed
    /// counts over `span` (see [`Baselines::span`]) are `history`.
    pub fn of_history(
        &self,
        signal: SignalId,
        scope: &ScopeMap,
        history: &[Option<Ratio>],
        span: BucketRange,
    ) -> Option<f64> {
        if !self.filtered
            && let Some(rate) = self.detector(signal, scope)
        {
            return Some(rate);
        }
        let r = self.reference?;
        let from = usize::try_from(r.first - span.first).ok()?;
        let part = history.get(from..(from + r.len).min(history.len()))?;
        estimate(part)
    }

    /// The detector's own, when it tests this scope and signal.
    fn detector(&self, signal: SignalId, scope: &ScopeMap) -> Option<f64> {
        let name = &self.fleet.store.signals().get(signal.index())?.spec.name;
        *self.tracks.get(&(name.as_str(), scope))?
    }
}

/// The detector's estimator over some buckets.
fn estimate(series: &[Option<Ratio>]) -> Option<f64> {
    let buckets = series
        .iter()
        .flatten()
        .map(|r| crate::detect::compact_counts(*r));
    estimate_baseline(buckets).map(|b| b.rate)
}
