//! Where a regression most likely began, estimated offline from its own
//! scope's rolled-up series up to its detection: the single split of the
//! series into a before and a (worse) after that the binomial likelihood
//! prefers. A CUSUM onset is the start of the run that crossed the
//! threshold; when the drop is small against the noise that run restarts
//! many times, and the onset it gives lands hours into the fault. Ranking
//! changes against such an onset picks whatever changed just before it.

use super::detections::ScopeMap;
pub use super::onset_spread::{Dated, ONSET_POINTS, SPAN_LLR, onset_spread};
use crate::protocol::Millis;
use crate::store::{BucketRange, SignalId, SliceId, Store};

/// One bucket of a rolled-up ratio series: its start, good and total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub at: Millis,
    pub good: f64,
    pub total: f64,
}

/// A split the data must prefer by at least this log-likelihood ratio to be
/// believed (ln of the demo's 30-day ARL₀, as the detectors use).
pub const MIN_LLR: f64 = 10.7;

/// What the data before a regression's CUSUM onset must give, on their own,
/// for a step there to date it (the same dispersion-judged ratio as
/// [`MIN_LLR`]): the alarm has already shown a drop, so this is a one-off
/// test of where it began, not a running detector's, and ln ARL₀ is not its
/// bar. At 3 nats (a likelihood ratio of 20) a regression that began where
/// its CUSUM run did is dated more than 5 buckets early in 1–3 of 200
/// seeded synthetic steps (1–3 points at 60–3,000 trials), 0–2 at 5 nats;
/// at 10.7 in none, but late sightings of a slow fault kept their CUSUM onset
/// and ranked nearer decoys first (`cargo bench --bench changes_replay`:
/// 85.9 % / 81.8 % against 91.0 % / 84.0 %).
pub const HOLD_LLR: f64 = 3.0;

/// How far before its CUSUM onset a regression's onset may be re-estimated.
pub const REACH_MS: Millis = 8 * 60 * 60_000;

/// The estimate: the first bucket of the worse part, and the log-likelihood
/// ratio of the split against no split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOnset {
    pub at: Millis,
    pub llr: f64,
}

/// The good and total cases of `buckets`, pooled.
pub(super) fn pooled(buckets: &[Bucket]) -> (f64, f64) {
    buckets
        .iter()
        .fold((0.0, 0.0), |(g, t), b| (g + b.good, t + b.total))
}

/// Binomial log-likelihood of `good` of `total` at its own rate.
fn loglik(good: f64, total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let bad = total - good;
    let term = |k: f64| if k > 0.0 { k * (k / total).ln() } else { 0.0 };
    term(good) + term(bad)
}

/// The most likely single drop in `series` (oldest first): `None` when no
/// split into a better before and a worse after reaches [`MIN_LLR`]. Each
/// part holds at least `min_len` buckets. One split, not the latest of
/// several: on the demo replay, dating a fault by the last step it finds
/// ranked 5 points worse (noise and a fault's own ramp make later steps).
pub fn step_onset(series: &[Bucket], min_len: usize) -> Option<StepOnset> {
    step_onset_parts(series, min_len, min_len)
}

/// [`step_onset`] with a before-part of at least `min_before` buckets and
/// an after-part of at least `min_after`.
fn step_onset_parts(series: &[Bucket], min_before: usize, min_after: usize) -> Option<StepOnset> {
    best_step(series, min_before, min_after, false)
}

/// The most likely single step in `series`, down (`rise` false) or up,
/// with parts of at least `min_before` and `min_after` buckets, if its
/// dispersion-judged log-likelihood ratio reaches [`MIN_LLR`].
pub(super) fn best_step(
    series: &[Bucket],
    min_before: usize,
    min_after: usize,
    rise: bool,
) -> Option<StepOnset> {
    let n = series.len();
    let (min_before, min_after) = (min_before.max(1), min_after.max(1));
    if n < min_before + min_after {
        return None;
    }
    let profile = split_profile(series, rise);
    let mut best: Option<StepOnset> = None;
    for k in min_before..=n - min_after {
        let Some(llr) = profile[k] else { continue };
        if best.is_none_or(|s| llr > s.llr) {
            best = Some(StepOnset {
                at: series[k].at,
                llr,
            });
        }
    }
    // Judged against the series' own wobble, not binomial noise alone.
    best.map(|s| StepOnset {
        llr: s.llr / dispersion(series, series.iter().take_while(|b| b.at < s.at).count()),
        ..s
    })
    .filter(|s| s.llr >= MIN_LLR)
}

/// The binomial log-likelihood ratio of splitting `series` before each
/// index, for a step down (`rise` false) or up; `None` at index 0 and
/// where the after-part does not move that way.
pub(super) fn split_profile(series: &[Bucket], rise: bool) -> Vec<Option<f64>> {
    let (g_all, t_all) = pooled(series);
    let whole = loglik(g_all, t_all);
    let mut out = vec![None; series.len()];
    let (mut g, mut t) = (0.0, 0.0);
    for k in 1..series.len() {
        g += series[k - 1].good;
        t += series[k - 1].total;
        let (g2, t2) = (g_all - g, t_all - t);
        if t <= 0.0 || t2 <= 0.0 {
            continue;
        }
        let wrong_way = if rise {
            g2 / t2 <= g / t
        } else {
            g2 / t2 >= g / t
        };
        if !wrong_way {
            out[k] = Some(loglik(g, t) + loglik(g2, t2) - whole);
        }
    }
    out
}

/// How much more the buckets of `series` split before index `k` vary
/// around their part's rate than binomial noise would (Pearson's χ² per
/// degree of freedom, at least 1): real and demo series wobble (batches,
/// traffic mix), and a binomial likelihood ratio alone takes a wobble for
/// a step.
pub(super) fn dispersion(series: &[Bucket], k: usize) -> f64 {
    let chi2 = |part: &[Bucket]| {
        let (g, t) = pooled(part);
        let p = if t > 0.0 { g / t } else { return 0.0 };
        let var = p * (1.0 - p);
        if var <= 0.0 {
            return 0.0;
        }
        part.iter()
            .filter(|b| b.total > 0.0)
            .map(|b| (b.good - b.total * p).powi(2) / (b.total * var))
            .sum()
    };
    let dof = series.len().saturating_sub(2).max(1) as f64;
    ((chi2(&series[..k]) + chi2(&series[k..])) / dof).max(1.0)
}

/// A regression's onset given its CUSUM estimate and the series of its
/// scope from [`REACH_MS`] before that onset to its detection: the step
/// estimate when it lies earlier; a later step when the run began on noise
/// (the data from its start to the step are no worse than before it, and
/// more than `min_len` buckets follow the step); else the CUSUM onset (a
/// run that began with a drop of its own: a ramp). The before-part holds
/// at least `min_len` buckets; the after-part at least `min_len` or every
/// bucket since the CUSUM onset, whichever is fewer: the alarm confirmed
/// those, and a young regression forced into `min_len` would be dated early.
pub fn earliest_onset(cusum_onset: Millis, series: &[Bucket], min_len: usize) -> Millis {
    let since = series.iter().filter(|b| b.at >= cusum_onset).count();
    let Some(step) = step_onset_parts(series, min_len, since.min(min_len)) else {
        return cusum_onset;
    };
    let split = series.iter().take_while(|b| b.at < step.at).count();
    if step.at >= cusum_onset {
        // A run that began before the step on data no worse than before it
        // began on noise: the step dates the drop, once more than a part
        // follows it (a split at exactly `min_len` from the end is where a
        // younger step is forced to).
        let run = series.iter().take_while(|b| b.at < cusum_onset).count();
        let noise = split_llr(&series[..split], run) < MIN_LLR;
        let held = series.len() - split > min_len;
        return if step.at > cusum_onset && noise && held {
            step.at
        } else {
            cusum_onset
        };
    }
    // The drop must hold before the CUSUM onset on its own (at
    // `HOLD_LLR`): evidence borrowed from the alarm's run would date a young
    // regression at any earlier dip the run's few bad buckets tip over the
    // threshold.
    let before = &series[..series.len() - since];
    if split_llr(before, split) >= HOLD_LLR {
        step.at
    } else {
        cusum_onset
    }
}

/// Log-likelihood ratio of splitting `series` before index `k` over its
/// [`dispersion`] (a drop only: 0 when the after-part is no worse).
fn split_llr(series: &[Bucket], k: usize) -> f64 {
    let ((g1, t1), (g2, t2)) = (pooled(&series[..k]), pooled(&series[k..]));
    if t1 <= 0.0 || t2 <= 0.0 || g2 / t2 >= g1 / t1 {
        return 0.0;
    }
    (loglik(g1, t1) + loglik(g2, t2) - loglik(g1 + g2, t1 + t2)) / dispersion(series, k)
}

/// Buckets each part of a split holds at least (a step, not a blip), as
/// the replay measured it.
pub const MIN_PART: usize = 10;

/// [`earliest_onset`] on `store`: the series of `signal` summed over the
/// slices inside `scope`, from [`REACH_MS`] before `cusum_onset` (or
/// from `not_before`, if later) to `detected_at` (its bucket included:
/// the alarm read it), with where that series places it
/// ([`onset_spread`]). The engine sets every new episode's onset with it,
/// so every surface shows this onset and ranks against this spread.
pub fn dated_in_store(
    store: &Store,
    signal: SignalId,
    scope: &ScopeMap,
    cusum_onset: Millis,
    detected_at: Millis,
    not_before: Millis,
) -> Dated {
    let from = (cusum_onset - REACH_MS).max(not_before);
    let Some(series) = place_series(store, signal, scope, from, detected_at) else {
        return Dated::at(cusum_onset);
    };
    let at = earliest_onset(cusum_onset, &series, MIN_PART);
    Dated {
        at,
        spread: onset_spread(&series, at),
    }
}

/// The series of `signal` summed over the slices inside `scope`, from the
/// bucket of `from` to that of `to` (both included), buckets without data
/// left out; `None` when `to` is before `from`.
pub(super) fn place_series(
    store: &Store,
    signal: SignalId,
    scope: &ScopeMap,
    from: Millis,
    to: Millis,
) -> Option<Vec<Bucket>> {
    let slices: Vec<SliceId> = store
        .slices()
        .ids()
        .filter(|&s| {
            let pairs: Vec<(&str, &str)> = store.slices().pairs(s).collect();
            scope
                .iter()
                .all(|(d, v)| pairs.iter().any(|(pd, pv)| pd == d && pv == v))
        })
        .collect();
    let (first, last) = (store.bucket_of(from), store.bucket_of(to));
    let len = usize::try_from(last - first + 1).ok()?;
    let range = BucketRange::ending_at(last, len);
    let series = store
        .rollup_ratio(signal, &slices, range)
        .into_iter()
        .zip(range.iter())
        .filter_map(|(r, b)| {
            let r = r?;
            Some(Bucket {
                at: store.bucket_start(b),
                good: r.good as f64,
                total: r.total as f64,
            })
        })
        .collect();
    Some(series)
}
