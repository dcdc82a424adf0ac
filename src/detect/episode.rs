//! The engine's bookkeeping: one followed regression (an episode: track
//! alarms folded into one scope, with its history) and one burn alert.

use std::collections::HashMap;

use super::bugs::{places_apart, scope_includes};
use super::cusum::Regression;
use super::detections::{CauseShare, ScopeMap, ScopeOrigin, TrackLevel};
use super::drop_table::DropTable;
use super::monitor::TrackKey;
use super::monitor_scope::ScopedRegression;
use super::onset_spread::ONSET_POINTS;
use super::place_undone::OwnLevel;
use crate::protocol::{Millis, SignalRole};
use crate::store::SignalId;

/// One detector: a signal and a scope.
pub(super) type TrackId = (SignalId, TrackKey);

/// A track alarm inside an episode.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Member {
    pub(super) key: TrackKey,
    pub(super) onset: Millis,
    pub(super) detected_at: Millis,
    pub(super) ended_at: Option<Millis>,
    pub(super) delta_pp: f64,
    /// Folded in with the episode's scope (the scope search tied it to
    /// this place), not only attached: its start may date the episode.
    pub(super) own: bool,
}

impl Member {
    pub(super) fn same_alarm(&self, other: &Member) -> bool {
        self.key == other.key && self.detected_at == other.detected_at
    }
}

/// One regression being followed: the track alarms folded into one scope.
#[derive(Debug, Clone)]
pub(super) struct Episode {
    pub(super) signal: SignalId,
    pub(super) role: SignalRole,
    /// Track alarms folded in at the last fold: (key, detected_at).
    pub(super) current: Vec<(TrackKey, Millis)>,
    pub(super) members: Vec<Member>,
    pub(super) scope: ScopeMap,
    pub(super) origin: ScopeOrigin,
    pub(super) causes: Vec<CauseShare>,
    pub(super) onset: Millis,
    /// Where its series places the onset (see `onset_spread`).
    pub(super) onset_spread: [Millis; ONSET_POINTS],
    /// What `onset` was last dated from: the scope and the earliest start
    /// of the alarms inside it (see `episode_onset::redate`).
    pub(super) dated: Option<(ScopeMap, Millis)>,
    /// Its place's rate over its first hour, with the place, onset and
    /// baseline it was read for (see `place_undone`).
    pub(super) own_level: Option<OwnLevel>,
    pub(super) detected_at: Millis,
    pub(super) ended_at: Option<Millis>,
    pub(super) baseline: f64,
    pub(super) rate: f64,
    pub(super) delta_pp: f64,
    /// Merged into another episode; removed after the fold.
    pub(super) merged: bool,
    /// Where its drop lies (see `drop_table::keep_measured`).
    pub(super) drop_table: Option<DropTable>,
    /// The place and onset `drop_table` was measured for, and whether the
    /// hour after that onset was all in then (it is kept from then on).
    pub(super) drop_measured: Option<(ScopeMap, Millis, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct BurnLog {
    pub(super) signal: SignalId,
    pub(super) key: TrackKey,
    pub(super) since: Millis,
    pub(super) ended_at: Option<Millis>,
    pub(super) peak_burn: f64,
    pub(super) rule_factor: f64,
}

impl Episode {
    pub(super) fn new(r: &ScopedRegression) -> Self {
        Episode {
            signal: r.signal,
            role: r.role,
            current: Vec::new(),
            members: Vec::new(),
            scope: r.scope.clone(),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            onset: r.onset,
            onset_spread: [r.onset; ONSET_POINTS],
            dated: None,
            own_level: None,
            detected_at: r.detected_at,
            ended_at: None,
            baseline: r.baseline,
            rate: r.current,
            delta_pp: r.delta_pp,
            merged: false,
            drop_table: None,
            drop_measured: None,
        }
    }

    /// Adds alarms to the episode without touching its scope or figures.
    pub(super) fn attach(
        &mut self,
        ids: &[(TrackKey, Millis)],
        active: &HashMap<TrackId, Regression>,
    ) {
        for &id in ids {
            if !self.current.contains(&id) {
                self.current.push(id);
            }
        }
        self.update_members(ids, active, false);
    }

    /// Takes the fold's view of this regression: its scope, causes and
    /// figures now, and the alarms in it.
    pub(super) fn absorb(
        &mut self,
        r: &ScopedRegression,
        ids: &[(TrackKey, Millis)],
        active: &HashMap<TrackId, Regression>,
    ) {
        self.scope = r.scope.clone();
        self.origin = if r.from_cause {
            ScopeOrigin::Cause
        } else {
            ScopeOrigin::Track(r.keys.first().map_or(TrackLevel::Fleet, |k| level_of(*k)))
        };
        self.causes = r
            .causes
            .iter()
            .map(|c| CauseShare {
                scope: c.scope.clone(),
                explains: c.explains,
            })
            .collect();
        self.detected_at = self.detected_at.min(r.detected_at);
        self.baseline = r.baseline;
        self.rate = r.current;
        self.delta_pp = r.delta_pp;
        self.current = ids.to_vec();
        self.update_members(ids, active, true);
    }

    /// Adds new alarms to the members, refreshes the figures of known ones;
    /// `own`: folded in with the scope (see [`Member::own`]).
    fn update_members(
        &mut self,
        ids: &[(TrackKey, Millis)],
        active: &HashMap<TrackId, Regression>,
        own: bool,
    ) {
        for &(key, detected_at) in ids {
            let Some(reg) = active.get(&(self.signal, key)) else {
                continue;
            };
            match self
                .members
                .iter_mut()
                .find(|m| m.key == key && m.detected_at == detected_at)
            {
                Some(m) => {
                    m.delta_pp = reg.delta_pp;
                    m.own |= own;
                }
                None => self.members.push(Member {
                    key,
                    onset: reg.onset,
                    detected_at,
                    ended_at: None,
                    delta_pp: reg.delta_pp,
                    own,
                }),
            }
        }
    }
}

/// Marks the alarm `(id, detected_at)` ended in whichever episode holds it.
pub(super) fn end_member(
    episodes: &mut [Episode],
    id: TrackId,
    detected_at: Millis,
    ended: Millis,
) {
    for e in episodes.iter_mut().filter(|e| e.signal == id.0) {
        for m in &mut e.members {
            if m.key == id.1 && m.detected_at == detected_at {
                m.ended_at = Some(ended);
            }
        }
    }
}

/// Open episodes of `signal` that are a recovered part of a fault whose
/// other parts go on, with when they recovered. An episode is such a part
/// when its scope came from a cause, is disjoint from every other part
/// still in force, and its own alarms all ended: the group alarms that
/// single it out from the other parts (`model=atlas-l` beside atlas-m's),
/// or, without any, the alarms inside its scope. Leaf alarms inside it
/// that still drain their capped statistic do not hold it when its group
/// detectors, pooling far more cases, are back; broad alarms it held
/// (`hardware=tpu`) do not hold it either while another part explains
/// them. A lone episode never recovers this way: nothing else explains
/// its broad alarms, so it ends as before, when none is left.
pub(super) fn recovered_parts(
    episodes: &[Episode],
    signal: SignalId,
    to_map: impl Fn(TrackKey) -> ScopeMap,
) -> Vec<(usize, Millis)> {
    let open: Vec<usize> = (0..episodes.len())
        .filter(|&i| {
            let e = &episodes[i];
            e.signal == signal && e.ended_at.is_none() && !e.merged
        })
        .collect();
    let scoped: Vec<(usize, Vec<(ScopeMap, &Member)>)> = open
        .iter()
        .map(|&i| {
            let maps = episodes[i].members.iter().map(|m| (to_map(m.key), m));
            (i, maps.collect())
        })
        .collect();
    // Own alarms of each open episode: the end of the last, once all ended.
    let own_end: Vec<Option<Millis>> = scoped
        .iter()
        .map(|(i, members)| {
            let e = &episodes[*i];
            if e.origin != ScopeOrigin::Cause {
                return None;
            }
            let others = || {
                open.iter()
                    .filter(|&&j| j != *i)
                    .map(|&j| &episodes[j].scope)
            };
            let singles_out = |m: &(ScopeMap, &Member)| {
                matches!(m.1.key, TrackKey::Group { .. })
                    && scope_includes(&m.0, &e.scope)
                    && others().all(|o| disjoint(&m.0, o))
            };
            let specific: Vec<&Member> = members
                .iter()
                .filter(|m| singles_out(m))
                .map(|m| m.1)
                .collect();
            let own = if specific.is_empty() {
                let inside = members.iter().filter(|m| scope_includes(&e.scope, &m.0));
                inside.map(|m| m.1).collect()
            } else {
                specific
            };
            own.iter()
                .map(|m| m.ended_at)
                .try_fold(None::<Millis>, |last, end| {
                    end.map(|end| Some(last.map_or(end, |l| l.max(end))))
                })
                .flatten()
        })
        .collect();
    // Parts still in force: they explain the broad alarms of the others.
    let going_on: Vec<&ScopeMap> = scoped
        .iter()
        .zip(&own_end)
        .filter(|(_, end)| end.is_none())
        .map(|((i, _), _)| &episodes[*i].scope)
        .collect();
    if going_on.is_empty() {
        return Vec::new();
    }
    scoped
        .iter()
        .zip(&own_end)
        .filter_map(|((i, members), end)| {
            let end = (*end)?;
            let scope = &episodes[*i].scope;
            let apart = going_on.iter().all(|o| disjoint(scope, o));
            let explained = members
                .iter()
                .filter(|(map, m)| m.ended_at.is_none() && !scope_includes(scope, map))
                .all(|(map, _)| going_on.iter().any(|o| !disjoint(map, o)));
            (apart && explained).then_some((*i, end))
        })
        .collect()
}

/// Whether a scope regression of `signal` folds only alarms a recovered
/// part still holds (`ids` all in the `current` of an episode that ended
/// while holding them): it is that part's tail, not a new regression.
pub(super) fn retired(episodes: &[Episode], signal: SignalId, ids: &[(TrackKey, Millis)]) -> bool {
    !ids.is_empty()
        && ids.iter().all(|id| {
            episodes.iter().any(|e| {
                e.signal == signal && e.ended_at.is_some() && !e.merged && e.current.contains(id)
            })
        })
}

/// Whether two scopes fix one dimension to different values (share no slice).
fn disjoint(a: &ScopeMap, b: &ScopeMap) -> bool {
    places_apart(a, b) > 0
}

pub(super) fn level_of(key: TrackKey) -> TrackLevel {
    match key {
        TrackKey::Fleet => TrackLevel::Fleet,
        TrackKey::Group { .. } => TrackLevel::Group,
        TrackKey::Slice(_) => TrackLevel::Leaf,
    }
}

#[cfg(test)]
#[path = "episode_tests.rs"]
mod tests;
