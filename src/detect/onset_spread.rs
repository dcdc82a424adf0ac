//! How sure an onset is: the onsets a regression's series holds about as
//! well as the one the engine chose. A large drop is dated to a bucket; a
//! small one, on few cases, could have begun a quarter of an hour either
//! way, and ranking changes against its point estimate alone gives a
//! change just before that estimate all the credit (a follow-up deploy
//! twenty minutes into a fault beats the deploy that caused it, when the
//! drop was too faint to date closer than that).

use super::onset::{Bucket, dispersion, split_profile};
use crate::protocol::Millis;

/// How far below the best split near the onset (dispersion-judged nats) a
/// split may fit and still join the run of splits around it: past that,
/// another step of the series (an earlier fault) is another question.
pub const SPAN_LLR: f64 = 4.0;

/// How many points stand for the onset's distribution: the middles of its
/// fifths (the 10th, 30th, 50th, 70th and 90th percentiles).
pub const ONSET_POINTS: usize = 5;

/// An onset and where its series places it: [`ONSET_POINTS`] onsets, each
/// as likely (see [`onset_spread`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    pub at: Millis,
    pub spread: [Millis; ONSET_POINTS],
}

impl Dated {
    /// An onset known to the bucket (no series to judge it by).
    pub fn at(at: Millis) -> Self {
        Dated {
            at,
            spread: [at; ONSET_POINTS],
        }
    }
}

/// Where `series` (oldest first) places a drop it was dated to at `at`:
/// the likelihood of a single step down at each split, over the series'
/// `dispersion` at `at` (a flat prior over splits), on the run of splits
/// contiguous with `at`'s that come within [`SPAN_LLR`] of it; the
/// percentiles of that distribution stand for it. All `at` when `at` is
/// not a split of the series with a worse after.
pub fn onset_spread(series: &[Bucket], at: Millis) -> [Millis; ONSET_POINTS] {
    let point = [at; ONSET_POINTS];
    let n = series.len();
    let k_at = series.iter().take_while(|b| b.at < at).count();
    if k_at == 0 || k_at >= n || series[k_at].at != at {
        return point;
    }
    let profile = split_profile(series, false);
    let Some(here) = profile[k_at] else {
        return point;
    };
    let disp = dispersion(series, k_at);
    let fits = |k: usize| profile[k].is_some_and(|l| l >= here - SPAN_LLR * disp);
    let mut lo = k_at;
    while lo > 1 && fits(lo - 1) {
        lo -= 1;
    }
    let mut hi = k_at;
    while hi + 1 < n && fits(hi + 1) {
        hi += 1;
    }
    let best = (lo..=hi).filter_map(|k| profile[k]).fold(here, f64::max);
    let mass: Vec<f64> = (lo..=hi)
        .map(|k| profile[k].map_or(0.0, |l| ((l - best) / disp).exp()))
        .collect();
    let total: f64 = mass.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return point;
    }
    let mut out = point;
    let mut seen = 0.0;
    let mut q = 0;
    for (i, m) in mass.iter().enumerate() {
        seen += m / total;
        while q < ONSET_POINTS && seen >= (q as f64 + 0.5) / ONSET_POINTS as f64 {
            out[q] = series[lo + i].at;
            q += 1;
        }
    }
    for slot in out.iter_mut().skip(q) {
        *slot = series[hi].at;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    /// `len` buckets of `total` cases at `before` until `step`, then `after`.
    fn stepped(len: usize, step: usize, total: f64, before: f64, after: f64) -> Vec<Bucket> {
        (0..len)
            .map(|i| Bucket {
                at: i as Millis * MIN,
                good: total * if i < step { before } else { after },
                total,
            })
            .collect()
    }

    #[test]
    fn a_large_drop_is_dated_to_its_bucket() {
        let s = stepped(120, 60, 3000.0, 0.95, 0.80);
        assert_eq!(onset_spread(&s, 60 * MIN), [60 * MIN; ONSET_POINTS]);
    }

    #[test]
    fn a_faint_drop_spreads_over_many_buckets_around_its_onset() {
        // 0.5 points on 100 cases a minute: a few nats over an hour.
        let s = stepped(240, 120, 100.0, 0.95, 0.945);
        let q = onset_spread(&s, 120 * MIN);
        assert!(q[0] <= 110 * MIN && q[4] >= 125 * MIN, "{q:?}");
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
        assert!(q[2] >= 110 * MIN && q[2] <= 130 * MIN, "{q:?}");
    }

    #[test]
    fn an_onset_off_the_best_split_spreads_towards_it() {
        let s = stepped(120, 60, 3000.0, 0.95, 0.80);
        let q = onset_spread(&s, 70 * MIN);
        assert_eq!(q, [60 * MIN; ONSET_POINTS]);
    }

    #[test]
    fn an_onset_outside_the_series_or_on_a_rise_is_a_point() {
        let s = stepped(120, 60, 3000.0, 0.80, 0.95);
        assert_eq!(onset_spread(&s, 60 * MIN), [60 * MIN; ONSET_POINTS]);
        assert_eq!(onset_spread(&s, 500 * MIN), [500 * MIN; ONSET_POINTS]);
        assert_eq!(onset_spread(&[], 5), [5; ONSET_POINTS]);
    }
}
