//! The detection service without the async: a [`Monitor`] stepped one
//! bucket at a time in data time, a log of every regression it found
//! (track alarms folded by scope) and of every burn alert, and their
//! publication as plain [`Detections`]. The TUI's detection task and
//! `qualtop check` both drive it, so the screen and the report agree, and a
//! replay of history gives what watching live gave.

use std::collections::HashMap;

use super::cusum::{Regression, Status};
use super::detections::{
    BurnEpisode, DetectedRegression, Detections, ScopeMap, ScopeOrigin, TrackAlarm, TrackFinding,
    TrackLevel, TrackState,
};
use super::drop_table::{Settled, keep_measured};
use super::episode::{BurnLog, Episode, TrackId, end_member, level_of, recovered_parts, retired};
use super::episode_onset::redate;
use super::monitor::{Monitor, TrackKey};
use super::monitor_scope::ScopedRegression;
use super::onset_spread::ONSET_POINTS;
use super::place_back::places_back;
use super::place_undone::{note_own_levels, places_undone};
use super::scope::ScopeConfig;
use super::settings::DetectionSettings;
use super::suspects::ScopeFit;
use crate::protocol::Millis;
use crate::store::{SignalId, Store};

/// While alarms are in progress and none starts or ends, their scopes and
/// figures are refreshed every this many buckets (the scope search reads
/// every leaf since the earliest onset). A count of buckets, not of calls,
/// so a replay folds exactly when watching live did.
const FOLD_EVERY: usize = 5;
/// Ended regressions and burn alerts kept for display and reports; the
/// oldest go first.
const MAX_KEPT_ENDED: usize = 500;

/// Monitor plus the regression log. Create it with the user's settings; the
/// monitor itself is built once the store knows its bucket size.
#[derive(Debug, Clone)]
pub struct DetectionEngine {
    settings: DetectionSettings,
    scope: ScopeConfig,
    monitor: Option<Monitor>,
    /// Track regressions in progress after the last bucket.
    active: HashMap<TrackId, Regression>,
    episodes: Vec<Episode>,
    open_burns: HashMap<TrackId, BurnLog>,
    ended_burns: Vec<BurnLog>,
    /// The first bucket consumed that held data.
    first: Option<Millis>,
    through: Option<Millis>,
    buckets_since_fold: usize,
    /// Where the drop of each place lies, from an onset an hour back.
    settled: Settled,
}

impl DetectionEngine {
    pub fn new(settings: DetectionSettings) -> Self {
        DetectionEngine {
            settings,
            scope: ScopeConfig::default(),
            monitor: None,
            active: HashMap::new(),
            episodes: Vec::new(),
            open_burns: HashMap::new(),
            ended_burns: Vec::new(),
            first: None,
            through: None,
            buckets_since_fold: 0,
            settled: Settled::default(),
        }
    }

    pub fn settings(&self) -> &DetectionSettings {
        &self.settings
    }

    /// The monitor, once the store had a bucket size.
    pub fn monitor(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }

    /// Start of the newest bucket consumed.
    pub fn through(&self) -> Option<Millis> {
        self.through
    }

    /// Consumes at most `max_buckets` complete buckets of `store`, one at a
    /// time, logging alarms as they start and end. Returns how many were
    /// consumed (0: nothing new).
    pub fn step(&mut self, store: &Store, max_buckets: usize) -> usize {
        self.step_through(store, i64::MAX, max_buckets)
    }

    /// Like [`DetectionEngine::step`], consuming no bucket after `complete`
    /// (a bucket index every backend has delivered).
    pub fn step_through(&mut self, store: &Store, complete: i64, max_buckets: usize) -> usize {
        if store.bucket_ms() <= 0 {
            return 0;
        }
        let mut monitor = match self.monitor.take() {
            Some(m) => m,
            None => Monitor::new(self.settings.monitor_config(store.bucket_ms())),
        };
        let mut consumed = 0;
        while consumed < max_buckets && monitor.update_through(store, complete, 1) == 1 {
            consumed += 1;
            let Some(next) = monitor.next_bucket() else {
                break;
            };
            let ts = store.bucket_start(next - 1);
            if self.first.is_none() && has_data(store, next - 1) {
                self.first = Some(ts);
            }
            self.through = Some(ts);
            let changed = self.observe(&monitor, ts);
            self.buckets_since_fold += 1;
            let due = !self.active.is_empty() && self.buckets_since_fold >= FOLD_EVERY;
            if changed || due {
                self.fold(&monitor, store, ts);
                self.buckets_since_fold = 0;
            }
        }
        self.monitor = Some(monitor);
        consumed
    }

    /// Compares every track with the last bucket: alarms that started or
    /// ended, burn alerts that started or ended. Returns whether the set of
    /// alarms changed.
    fn observe(&mut self, monitor: &Monitor, ts: Millis) -> bool {
        let mut changed = false;
        let (active, episodes) = (&mut self.active, &mut self.episodes);
        let (open_burns, ended_burns) = (&mut self.open_burns, &mut self.ended_burns);
        for tracks in &monitor.signals {
            monitor.visit(tracks, |key, track| {
                let id = (tracks.signal, key);
                let now = track.detector.active();
                match (active.get(&id).copied(), now) {
                    (None, None) => {}
                    (None, Some(r)) => {
                        active.insert(id, r);
                        changed = true;
                    }
                    (Some(prev), Some(r)) if prev.detected_at == r.detected_at => {
                        active.insert(id, r);
                    }
                    (Some(prev), now) => {
                        let ended = track
                            .detector
                            .last_ended()
                            .filter(|e| e.detected_at == prev.detected_at)
                            .and_then(|e| e.ended_at)
                            .unwrap_or(ts);
                        end_member(episodes, id, prev.detected_at, ended);
                        match now {
                            Some(r) => active.insert(id, r),
                            None => active.remove(&id),
                        };
                        changed = true;
                    }
                }
                let Some(burn) = track.burn.as_ref() else {
                    return;
                };
                let status = burn.status();
                match (status.alert, open_burns.get_mut(&id)) {
                    (Some(alert), Some(open)) => {
                        open.peak_burn = open.peak_burn.max(alert.long_burn);
                    }
                    (Some(alert), None) => {
                        open_burns.insert(
                            id,
                            BurnLog {
                                signal: tracks.signal,
                                key,
                                since: alert.since,
                                ended_at: None,
                                peak_burn: alert.long_burn,
                                rule_factor: alert.factor,
                            },
                        );
                    }
                    (None, Some(_)) => {
                        if let Some(mut log) = open_burns.remove(&id) {
                            log.ended_at = Some(ts);
                            ended_burns.push(log);
                        }
                    }
                    (None, None) => {}
                }
            });
        }
        if self.ended_burns.len() > MAX_KEPT_ENDED {
            let excess = self.ended_burns.len() - MAX_KEPT_ENDED;
            self.ended_burns.drain(..excess);
        }
        changed
    }

    /// Folds the alarms in progress by scope and matches the result to the
    /// episodes followed so far: an episode continues while any of its
    /// alarms does. A found cause takes over the episodes holding its
    /// alarms that share a slice with it (merging them) and sets their
    /// scope; held by none, it continues the one already at its place, or
    /// starts one. An alarm no cause holds
    /// stays with the episode it was in (the scope search can lose a cause
    /// as a regression fades, its leaf alarms outlasting it), or starts one
    /// scoped to its own track.
    fn fold(&mut self, monitor: &Monitor, store: &Store, ts: Millis) {
        let signals: Vec<SignalId> = monitor.signals.iter().map(|t| t.signal).collect();
        for signal in signals {
            let has_active = self.active.keys().any(|(s, _)| *s == signal);
            let open = |e: &Episode| e.signal == signal && e.ended_at.is_none() && !e.merged;
            if !has_active && !self.episodes.iter().any(open) {
                continue;
            }
            // Where the search placed what is followed: kept while still as good.
            let kept: Vec<&ScopeMap> = self
                .episodes
                .iter()
                .filter(|e| open(e) && e.origin == ScopeOrigin::Cause && !e.scope.is_empty())
                .map(|e| &e.scope)
                .collect();
            let scoped = if has_active {
                monitor.scoped_regressions(store, signal, &self.scope, &kept)
            } else {
                Vec::new()
            };
            // Alarms each open episode held at the last fold.
            let previous: Vec<Vec<(TrackKey, Millis)>> = self
                .episodes
                .iter_mut()
                .map(|e| {
                    if open(e) {
                        std::mem::take(&mut e.current)
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            let holding = |ids: &[(TrackKey, Millis)]| -> Vec<usize> {
                previous
                    .iter()
                    .enumerate()
                    .filter(|(_, held)| held.iter().any(|c| ids.contains(c)))
                    .map(|(i, _)| i)
                    .collect()
            };
            let mut claimed: Vec<usize> = Vec::new();
            // A recovered part's tail (its draining alarms) opens nothing.
            let episodes = &self.episodes;
            let scoped = scoped
                .into_iter()
                .filter(|r| !retired(episodes, signal, &self.alarm_ids(signal, r)));
            let (causes, alone): (Vec<_>, Vec<_>) = scoped.partition(|r| r.from_cause);
            for r in causes {
                let ids = self.alarm_ids(signal, &r);
                // A regression's place narrows, widens or shifts, but never
                // jumps to where it shares no slice: an episode placed
                // elsewhere that held these alarms (a group alarm the fault
                // it followed set off, kept alive by another fault after it
                // ended) does not continue here.
                let matches: Vec<usize> = holding(&ids)
                    .into_iter()
                    .filter(|i| !claimed.contains(i) && !self.episodes[*i].merged)
                    .filter(|&i| {
                        ScopeFit::of(&self.episodes[i].scope, &r.scope) != ScopeFit::Disjoint
                    })
                    .collect();
                // None held them: one already followed at this very place
                // goes on (its alarms moved under another's first), else a
                // new one begins.
                let same_place = || {
                    (0..self.episodes.len()).find(|&i| {
                        let e = &self.episodes[i];
                        open(e) && !claimed.contains(&i) && e.scope == r.scope
                    })
                };
                let index = match matches.split_first() {
                    None => same_place().unwrap_or_else(|| {
                        self.episodes.push(Episode::new(&r));
                        self.episodes.len() - 1
                    }),
                    Some((&keep, others)) => {
                        for &other in others {
                            self.merge(keep, other);
                        }
                        keep
                    }
                };
                self.episodes[index].absorb(&r, &ids, &self.active);
                claimed.push(index);
            }
            for r in alone {
                let ids = self.alarm_ids(signal, &r);
                let held = holding(&ids)
                    .into_iter()
                    .find(|i| !self.episodes[*i].merged);
                match held {
                    Some(i) if claimed.contains(&i) => self.episodes[i].attach(&ids, &self.active),
                    Some(i) if self.episodes[i].origin == ScopeOrigin::Cause => {
                        self.episodes[i].attach(&ids, &self.active);
                        claimed.push(i);
                    }
                    Some(i) => {
                        self.episodes[i].absorb(&r, &ids, &self.active);
                        claimed.push(i);
                    }
                    None => {
                        let mut e = Episode::new(&r);
                        e.absorb(&r, &ids, &self.active);
                        self.episodes.push(e);
                        claimed.push(self.episodes.len() - 1);
                    }
                }
            }
            // Before any ends: an episode's last scope is dated too.
            redate(store, &mut self.episodes, signal);
            for (i, e) in self.episodes.iter_mut().enumerate() {
                if !open(e) || claimed.contains(&i) {
                    continue;
                }
                let held = previous.get(i).map_or(&[][..], Vec::as_slice);
                let last = e
                    .members
                    .iter()
                    .filter(|m| held.contains(&(m.key, m.detected_at)))
                    .filter_map(|m| m.ended_at)
                    .max();
                e.ended_at = Some(last.unwrap_or(ts));
            }
            for (i, end) in recovered_parts(&self.episodes, signal, |k| k.to_map(store)) {
                self.episodes[i].ended_at = Some(end);
            }
            let min_shift = monitor.config().detector.min_shift;
            for (i, end) in places_back(store, &self.episodes, signal, min_shift, ts) {
                self.episodes[i].ended_at = Some(end);
            }
            note_own_levels(store, &mut self.episodes, signal, ts);
            for (i, end) in places_undone(store, &self.episodes, signal, min_shift, ts) {
                self.episodes[i].ended_at = Some(end);
            }
        }
        self.episodes.retain(|e| !e.merged);
        keep_measured(store, &mut self.episodes, &mut self.settled, ts);
        let ended = self
            .episodes
            .iter()
            .filter(|e| e.ended_at.is_some())
            .count();
        if ended > MAX_KEPT_ENDED {
            let mut drop = ended - MAX_KEPT_ENDED;
            self.episodes.retain(|e| {
                if drop > 0 && e.ended_at.is_some() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    /// The fold's keys as alarm identities (key, detected_at).
    fn alarm_ids(&self, signal: SignalId, r: &ScopedRegression) -> Vec<(TrackKey, Millis)> {
        r.keys
            .iter()
            .filter_map(|k| self.active.get(&(signal, *k)).map(|a| (*k, a.detected_at)))
            .collect()
    }

    /// Moves episode `other` into `keep`.
    fn merge(&mut self, keep: usize, other: usize) {
        let o = &mut self.episodes[other];
        o.merged = true;
        let (moved, current, detected_at) = (
            std::mem::take(&mut o.members),
            std::mem::take(&mut o.current),
            o.detected_at,
        );
        let e = &mut self.episodes[keep];
        e.detected_at = e.detected_at.min(detected_at);
        for m in moved {
            if !e.members.iter().any(|x| x.same_alarm(&m)) {
                e.members.push(m);
            }
        }
        for c in current {
            if !e.current.contains(&c) {
                e.current.push(c);
            }
        }
    }

    /// What to publish: every state in names, no store ids.
    pub fn detections(&self, store: &Store) -> Detections {
        let mut out = Detections {
            through: self.through,
            since: self.first,
            bucket_ms: store.bucket_ms(),
            settings: self.settings,
            ..Detections::default()
        };
        let name = |s: SignalId| {
            store
                .signals()
                .get(s.index())
                .map(|x| x.spec.name.clone())
                .unwrap_or_default()
        };
        if let Some(monitor) = &self.monitor {
            for tracks in &monitor.signals {
                let signal = name(tracks.signal);
                monitor.visit(tracks, |key, track| {
                    let state = match track.detector.status() {
                        Status::Learning => TrackState::Learning,
                        Status::Ok => TrackState::Ok,
                        Status::Watch { since, .. } => TrackState::Watch { since },
                        Status::Regression(r) => TrackState::Regression {
                            onset: r.onset,
                            detected_at: r.detected_at,
                        },
                    };
                    let level = level_of(key);
                    if level == TrackLevel::Leaf
                        && matches!(state, TrackState::Ok | TrackState::Learning)
                    {
                        return;
                    }
                    out.tracks.push(TrackFinding {
                        signal: signal.clone(),
                        role: tracks.role,
                        level,
                        scope: key.to_map(store),
                        state,
                        baseline: track.detector.baseline().map(|b| b.rate),
                    });
                });
            }
        }
        let mut regressions: Vec<DetectedRegression> = self
            .episodes
            .iter()
            .map(|e| DetectedRegression {
                signal: name(e.signal),
                role: e.role,
                scope: e.scope.clone(),
                origin: e.origin,
                causes: e.causes.clone(),
                alarms: e
                    .members
                    .iter()
                    .map(|m| TrackAlarm {
                        level: level_of(m.key),
                        scope: m.key.to_map(store),
                        onset: m.onset,
                        detected_at: m.detected_at,
                        ended_at: m.ended_at,
                        delta_pp: m.delta_pp,
                    })
                    .collect(),
                onset: e.onset,
                onset_spread: (e.onset_spread != [e.onset; ONSET_POINTS]).then_some(e.onset_spread),
                detected_at: e.detected_at,
                ended_at: e.ended_at,
                baseline: e.baseline,
                current: e.rate,
                delta_pp: e.delta_pp,
                drop_table: e.drop_table.clone(),
            })
            .collect();
        regressions.sort_by_key(|r| (r.onset, r.detected_at));
        out.regressions = regressions;
        let burn = |b: &BurnLog| BurnEpisode {
            signal: name(b.signal),
            level: level_of(b.key),
            scope: b.key.to_map(store),
            since: b.since,
            ended_at: b.ended_at,
            peak_burn: b.peak_burn,
            rule_factor: b.rule_factor,
        };
        out.burns = self
            .ended_burns
            .iter()
            .chain(self.open_burns.values())
            .map(burn)
            .collect();
        out.burns
            .sort_by(|a, b| (a.since, &a.scope, &a.signal).cmp(&(b.since, &b.scope, &b.signal)));
        out
    }
}

/// Whether any ratio signal holds data in `bucket` (the ring before the
/// first data is empty, and how much of it a first call replays depends on
/// when it is made).
fn has_data(store: &Store, bucket: i64) -> bool {
    store.signals().iter().enumerate().any(|(i, s)| {
        s.spec.kind == crate::protocol::SignalKind::Ratio
            && store
                .slices()
                .ids()
                .any(|slice| store.ratio(SignalId(i as u16), slice, bucket).is_some())
    })
}
