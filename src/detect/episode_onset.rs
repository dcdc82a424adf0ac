//! When a followed regression began. Its onset is dated on its own scope's
//! series ([`dated_in_store`](super::onset::dated_in_store)) from the earliest start of its own alarms
//! inside that scope (those the scope search tied to it), and dated again
//! when either changes while the scope stays inside the place last dated.
//! The alarm that opens an episode is often a broad one (`hardware=tpu`)
//! whose series holds another fault that began earlier there: dated on it,
//! the compiler bug on `hardware=tpu ∧ model=atlas-s` read `since` the TPU
//! misconfiguration's start, an hour before its own deploy. Once the scope
//! search places it, it is dated on its place; an alarm outside the place
//! that a merge or a broad fold brings along does not date it either. Nor
//! does an alarm that began before the store's window, once the window
//! shows the place's own step (see [`dated_in_window`]), or one that began
//! long before it in a place it moved to.

use super::bugs::{ONSET_SPREAD_MS, scope_includes};
use super::detections::{ScopeMap, ScopeOrigin};
use super::episode::{Episode, Member};
use super::onset::{Dated, MIN_PART, dated_in_store, onset_spread, place_series, step_onset};
use super::suspects::ScopeFit;
use crate::protocol::Millis;
use crate::store::{SignalId, Store};

/// Dates every open episode of `signal` whose scope, or the earliest onset
/// of its own alarms inside that scope, changed since it was last dated (a
/// new episode: never dated), as the fold leaves it and before any ends.
/// A re-fire on a scope and signal already followed reaches back no
/// further than that regression's onset: the drop before it is that one's.
/// Every surface shows the onset set here.
pub(super) fn redate(store: &Store, episodes: &mut [Episode], signal: SignalId) {
    for i in 0..episodes.len() {
        let e = &episodes[i];
        if e.signal != signal || e.ended_at.is_some() || e.merged || e.members.is_empty() {
            continue;
        }
        // The alarms the scope search tied to this place, inside it; else
        // those it tied; else every alarm it holds.
        let inside: Vec<bool> = e
            .members
            .iter()
            .map(|m| ScopeFit::of(&m.key.to_map(store), &e.scope) != ScopeFit::Disjoint)
            .collect();
        let pick = |keep: &dyn Fn(usize, &Member) -> bool| -> Vec<&Member> {
            e.members
                .iter()
                .enumerate()
                .filter(|&(k, m)| keep(k, m))
                .map(|(_, m)| m)
                .collect()
        };
        let from = [
            pick(&|k, m| m.own && inside[k]),
            pick(&|_, m| m.own),
            pick(&|_, _| true),
        ]
        .into_iter()
        .find(|v| !v.is_empty())
        .unwrap_or_default();
        let (Some(start), Some(detected)) = (
            from.iter().map(|m| m.onset).min(),
            from.iter().map(|m| m.detected_at).min(),
        ) else {
            continue;
        };
        if e.dated
            .as_ref()
            .is_some_and(|(was, at)| *was == e.scope && *at == start)
        {
            continue;
        }
        let scope = e.scope.clone();
        // Inside the place it was last dated on (or never dated): dated on
        // its own series. Wider or elsewhere: that series holds other
        // faults' drops (the TPU misconfiguration in `model=atlas-m ∧
        // region=us-west` beside the routing fault there), so it keeps its
        // onset, earlier only if an alarm of its own inside the new place
        // started earlier.
        let narrowed = e
            .dated
            .as_ref()
            .is_none_or(|(was, _)| scope_includes(was, &scope));
        let onset = if narrowed {
            let not_before = episodes
                .iter()
                .enumerate()
                .filter(|&(j, o)| j != i && o.signal == signal && !o.merged && o.onset < start)
                .filter(|(_, o)| ScopeFit::of(&o.scope, &scope) == ScopeFit::Same)
                .map(|(_, o)| o.onset)
                .max()
                .unwrap_or(Millis::MIN);
            let placed = e.origin == ScopeOrigin::Cause;
            match placed
                .then(|| dated_in_window(store, signal, &scope, start))
                .flatten()
            {
                Some(within) => within,
                None => dated_in_store(store, signal, &scope, start, detected, not_before),
            }
        } else {
            // Earlier only by an alarm's start: a point, as sure as that;
            // and by no more than [`ONSET_SPREAD_MS`]. An alarm that began
            // long before this regression in the place it moved to began
            // with another fault there, which keeps it in alarm: routing's
            // regression moving to `model=atlas-m ∧ platform=api ∧
            // region=us-west` at +377 took a TPU leaf alarm's +63 and held
            // the TPU bug in force after its fix.
            let at = if e.onset - start <= ONSET_SPREAD_MS {
                e.onset.min(start)
            } else {
                e.onset
            };
            if at == e.onset {
                Dated {
                    at,
                    spread: e.onset_spread,
                }
            } else {
                Dated::at(at)
            }
        };
        let e = &mut episodes[i];
        e.onset = onset.at;
        e.onset_spread = onset.spread;
        e.dated = Some((scope, start));
    }
}

/// A regression placed or narrowed where its alarms began before the store's
/// oldest bucket (`start`): dated at the step its place's series shows
/// inside the window, when that series shows one ([`step_onset`], parts of
/// [`MIN_PART`]); `None` when the store holds `start`, or no step. The
/// scope search places a cause at one of routing's regions hours into it
/// (+550 on the demo) from alarms running since the TPU misconfiguration
/// (+60): what the window holds of that place is routing's step at +300,
/// not a drop from +60 no series here can show.
fn dated_in_window(
    store: &Store,
    signal: SignalId,
    scope: &ScopeMap,
    start: Millis,
) -> Option<Dated> {
    let head = store.head()?;
    let oldest = head - i64::try_from(store.capacity()).ok()? + 1;
    if store.bucket_of(start) >= oldest {
        return None;
    }
    let from = store.bucket_start(oldest);
    let to = store.bucket_start(head);
    let series = place_series(store, signal, scope, from, to)?;
    let step = step_onset(&series, MIN_PART)?;
    Some(Dated {
        at: step.at,
        spread: onset_spread(&series, step.at),
    })
}
