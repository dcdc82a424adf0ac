//! The engine's bookkeeping: one followed regression (an episode: track
//! alarms folded into one scope, with its history) and one burn alert.

use std::collections::HashMap;

use super::cusum::Regression;
use super::detections::{CauseShare, ScopeMap, ScopeOrigin, TrackLevel};
use super::monitor::TrackKey;
use super::monitor_scope::ScopedRegression;
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
    pub(super) detected_at: Millis,
    pub(super) ended_at: Option<Millis>,
    pub(super) baseline: f64,
    pub(super) rate: f64,
    pub(super) delta_pp: f64,
    /// Merged into another episode; removed after the fold.
    pub(super) merged: bool,
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
            detected_at: r.detected_at,
            ended_at: None,
            baseline: r.baseline,
            rate: r.current,
            delta_pp: r.delta_pp,
            merged: false,
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
        self.update_members(ids, active);
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
        self.onset = self.onset.min(r.onset);
        self.detected_at = self.detected_at.min(r.detected_at);
        self.baseline = r.baseline;
        self.rate = r.current;
        self.delta_pp = r.delta_pp;
        self.current = ids.to_vec();
        self.update_members(ids, active);
    }

    /// Adds new alarms to the members, refreshes the figures of known ones.
    fn update_members(
        &mut self,
        ids: &[(TrackKey, Millis)],
        active: &HashMap<TrackId, Regression>,
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
                Some(m) => m.delta_pp = reg.delta_pp,
                None => self.members.push(Member {
                    key,
                    onset: reg.onset,
                    detected_at,
                    ended_at: None,
                    delta_pp: reg.delta_pp,
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

pub(super) fn level_of(key: TrackKey) -> TrackLevel {
    match key {
        TrackKey::Fleet => TrackLevel::Fleet,
        TrackKey::Group { .. } => TrackLevel::Group,
        TrackKey::Slice(_) => TrackLevel::Leaf,
    }
}
