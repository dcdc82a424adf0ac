//! When a followed regression's own fault is over while another fault
//! keeps its place down. Two faults stacked on the same slices hold the
//! same alarms: the TPU misconfiguration on `hardware=tpu ∧ model=atlas-m ∧
//! platform=api` (from +57) and the routing bug on `model=atlas-m ∧
//! platform=api` (from +299). When the TPU configuration was rolled back
//! (+425) the place rose, but not to its baseline: the routing bug still
//! held its detectors in alarm, so the TPU regression read in force until
//! +760, and a change ranker took it as an earlier sighting of every later
//! routing regression there.
//!
//! Each episode remembers its own level: its place's rate over the first
//! [`OWN_LEVEL_MS`] from its onset. Its fault is undone at a significant
//! rise (the step test of the onsets, [`MIN_LLR`](super::onset::MIN_LLR)
//! judged against the series' own wobble) that is followed by at least
//! [`BACK_FOR_MS`](super::place_back::BACK_FOR_MS) of the higher level,
//! when before the rise the place had gone at least half the smallest
//! change below its own level (something came on top of it, its step down
//! beginning with a group or fleet alarm it holds or held that reaches
//! outside its place), and the rise matches its own drop (baseline − own
//! level) better than that later, deeper drop (own level − the level just
//! before the rise). A fault that deepened and then eased back is not
//! over: its rise matches the deepening. Of two stacked faults, the one
//! whose size the rise matches ended; when they are as large, nothing
//! tells which, and the older one is taken as ended.

use super::bugs::{ONSET_SPREAD_MS, scope_includes};
use super::detections::ScopeMap;
use super::episode::Episode;
use super::monitor::TrackKey;
use super::onset::{Bucket, MIN_PART, REACH_MS, best_step, place_series, pooled};
use super::place_back::{back_for_buckets, open_episodes};
use crate::protocol::Millis;
use crate::store::{SignalId, Store};

/// An episode's own level is its place's rate over this long from its
/// onset.
pub const OWN_LEVEL_MS: Millis = 60 * 60_000;

/// The rise is looked for in the last this long of a place's series: one
/// step up in a window that holds the deeper level before it and the
/// higher one after, not in hours that hold the fault's own level too
/// (against which the later, deeper one's end is no rise).
const READ_MS: Millis = 3 * 60 * 60_000;

/// An episode's own level, with the place, onset and baseline it was read
/// for. A regression that moves on keeps the level of the place it began
/// in once the store no longer holds its onset, and is then judged there.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OwnLevel {
    pub(super) place: ScopeMap,
    pub(super) onset: Millis,
    pub(super) baseline: f64,
    pub(super) rate: f64,
}

/// Notes the own level of every open episode of `signal` whose place or
/// onset changed since it was last noted, once [`OWN_LEVEL_MS`] have passed
/// since its onset, while the store still holds its onset (else the level
/// noted before stays).
pub(super) fn note_own_levels(
    store: &Store,
    episodes: &mut [Episode],
    signal: SignalId,
    now: Millis,
) {
    let bucket = store.bucket_ms().max(1);
    for e in episodes.iter_mut() {
        if e.signal != signal || e.ended_at.is_some() || e.merged {
            continue;
        }
        if now < e.onset + OWN_LEVEL_MS {
            continue;
        }
        if e.own_level
            .as_ref()
            .is_some_and(|l| l.place == e.scope && l.onset == e.onset)
        {
            continue;
        }
        // A place that changed after the store dropped its onset keeps the
        // level noted before, with no read of every slice at each fold.
        let oldest = store.bucket_of(now) - store.capacity() as i64 + 1;
        if store.bucket_of(e.onset) < oldest {
            continue;
        }
        let Some(series) =
            place_series(store, signal, &e.scope, e.onset, e.onset + OWN_LEVEL_MS - 1)
        else {
            continue;
        };
        let held = series.first().is_some_and(|b| b.at < e.onset + bucket)
            && series.len() as Millis * bucket * 2 >= OWN_LEVEL_MS;
        let (good, total) = pooled(&series);
        if held && total > 0.0 && e.baseline.is_finite() {
            e.own_level = Some(OwnLevel {
                place: e.scope.clone(),
                onset: e.onset,
                baseline: e.baseline,
                rate: good / total,
            });
        }
    }
}

/// Where `series` (a place's, from an hour after its regression's onset,
/// oldest first) shows the end of a fault that took the place from
/// `baseline` to `own` while another fault, begun at one of `later`, goes
/// on there (see the module): the first bucket of the higher level, if
/// any. The rise is looked for in the buckets from `rise_from` on, and
/// must be followed by `min_len` of them.
pub fn undone_since(
    series: &[Bucket],
    rise_from: Millis,
    (baseline, own): (f64, f64),
    later: &[Millis],
    min_shift: f64,
    min_len: usize,
) -> Option<Millis> {
    let own_drop = baseline - own;
    if !(own_drop > 0.0 && min_shift > 0.0) || later.is_empty() {
        return None;
    }
    let skip = series.iter().take_while(|b| b.at < rise_from).count();
    let step = best_step(&series[skip..], MIN_PART, min_len, true);
    let step = step?;
    let k = series.iter().take_while(|b| b.at < step.at).count();
    // Where the place went deeper than its own level: another fault's
    // start, when one of the alarms seen outside this place began then.
    let down = best_step(&series[..k], MIN_PART, MIN_PART, false);
    let down = down?;
    if !later
        .iter()
        .any(|&t| (t - down.at).abs() <= ONSET_SPREAD_MS)
    {
        return None;
    }
    let d = series.iter().take_while(|b| b.at < down.at).count();
    let rate = |part: &[Bucket]| {
        let (g, t) = pooled(part);
        (t > 0.0).then(|| g / t)
    };
    let before = rate(&series[d..k])?;
    let after = rate(&series[k..])?;
    let deeper = own - before;
    if deeper < min_shift / 2.0 {
        return None;
    }
    let rise = after - before;
    ((rise - own_drop).abs() <= (rise - deeper).abs()).then_some(step.at)
}

/// Open episodes of `signal` whose own fault is undone (see
/// [`undone_since`]), with when, judged on the place its own level was
/// read for. The faults on top are the group and fleet alarms it holds or
/// held that began after its first hour and reach outside that place (one
/// may have ended by the time the rise is sure); the series is read from
/// an hour after its onset (at most [`REACH_MS`] back), the rise in its
/// last [`READ_MS`].
pub(super) fn places_undone(
    store: &Store,
    episodes: &[Episode],
    signal: SignalId,
    min_shift: f64,
    now: Millis,
) -> Vec<(usize, Millis)> {
    let min_len = back_for_buckets(store);
    open_episodes(episodes, signal)
        .filter_map(|(i, e)| {
            let own = e.own_level.as_ref()?;
            let place = &own.place;
            let first_hour = e.onset + OWN_LEVEL_MS;
            let later: Vec<Millis> = e
                .members
                .iter()
                .filter(|m| m.onset >= first_hour)
                .filter(|m| !matches!(m.key, TrackKey::Slice(_)))
                .filter(|m| !scope_includes(place, &m.key.to_map(store)))
                .map(|m| m.onset)
                .collect();
            if later.is_empty() {
                return None;
            }
            let from = first_hour.max(now - REACH_MS);
            let series = place_series(store, signal, place, from, now)?;
            let rise_from = from.max(now - READ_MS);
            let scale = (own.baseline, own.rate);
            let at = undone_since(&series, rise_from, scale, &later, min_shift, min_len)?;
            Some((i, at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels of 1,000 trials a bucket, one a minute, with a fixed wobble
    /// of ±0.2 points.
    fn series(parts: &[(usize, f64)]) -> Vec<Bucket> {
        let mut out = Vec::new();
        for &(n, rate) in parts {
            for _ in 0..n {
                let i = out.len();
                let wobble = if i % 2 == 0 { 0.002 } else { -0.002 };
                out.push(Bucket {
                    at: i as Millis * 60_000,
                    good: 1000.0 * (rate + wobble),
                    total: 1000.0,
                });
            }
        }
        out
    }

    /// [`undone_since`] over all of `s`, faults on top at minutes `later`.
    fn undone(s: &[Bucket], levels: (f64, f64), later: &[Millis]) -> Option<Millis> {
        let later: Vec<Millis> = later.iter().map(|m| m * 60_000).collect();
        undone_since(s, 0, levels, &later, 0.01, 60)
    }

    #[test]
    fn a_fault_undone_under_a_later_one_ends_at_the_rise() {
        // Baseline 0.90; its own fault took it to 0.87; a second fault on
        // top to 0.84; the first ends: 0.87 (the second's level) from 150.
        let s = series(&[(60, 0.87), (90, 0.84), (70, 0.87)]);
        assert_eq!(undone(&s, (0.90, 0.87), &[60]), Some(150 * 60_000));
    }

    #[test]
    fn a_later_fault_ending_first_leaves_the_earlier_in_force() {
        // Its own drop is 5 points, the later one's 2: a 2-point rise is
        // the later fault's end.
        let s = series(&[(60, 0.85), (90, 0.83), (70, 0.85)]);
        assert_eq!(undone(&s, (0.90, 0.85), &[60]), None);
    }

    #[test]
    fn a_fault_that_deepened_and_eased_back_is_not_over() {
        let s = series(&[(60, 0.87), (90, 0.80), (70, 0.86)]);
        assert_eq!(undone(&s, (0.90, 0.87), &[60]), None);
    }

    #[test]
    fn a_rise_without_a_fault_on_top_is_for_the_other_tests() {
        // Never below its own level: the place coming back is place_back's.
        let s = series(&[(150, 0.87), (70, 0.90)]);
        assert_eq!(undone(&s, (0.90, 0.87), &[60]), None);
    }

    #[test]
    fn a_deeper_level_no_alarm_outside_the_place_began_with_is_not_a_fault_on_top() {
        // An intermittent fault's worse spell: no other alarm began then.
        let s = series(&[(60, 0.87), (90, 0.84), (70, 0.87)]);
        assert_eq!(undone(&s, (0.90, 0.87), &[]), None);
        assert_eq!(undone(&s, (0.90, 0.87), &[20]), None);
        assert_eq!(undone(&s, (0.90, 0.87), &[68]), Some(150 * 60_000));
    }

    #[test]
    fn not_yet_an_hour_at_the_higher_level_is_not_over() {
        let s = series(&[(60, 0.87), (90, 0.84), (40, 0.87)]);
        assert_eq!(undone(&s, (0.90, 0.87), &[60]), None);
    }
}
