//! Detectors over a whole store: every leaf slice, every single-dimension
//! group (hardware=tpu) and the fleet, for every ratio signal. Call
//! [`Monitor::update`] once per new bucket; each complete bucket is consumed
//! once, in data time, so a replay of history gives what watching live gave.

use std::collections::BTreeMap;

use super::burn::{BurnRateConfig, BurnRateTracker, BurnStatus};
use super::config::DetectorConfig;
use super::cusum::{RatioDetector, Regression, Status};
use super::monitor_baseline::ScopeBaseline;
use crate::protocol::{Millis, SignalRole};
use crate::store::{Ratio, SignalId, SliceId, Store};

/// What a detector watches: the fleet, one dimension value, or one slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackKey {
    Fleet,
    /// All slices with value id `value` of dimension `dim`.
    Group {
        dim: usize,
        value: u32,
    },
    Slice(SliceId),
}

impl TrackKey {
    /// The key as dimension → value (`{}` for the fleet).
    pub fn to_map(self, store: &Store) -> BTreeMap<String, String> {
        let slices = store.slices();
        match self {
            TrackKey::Fleet => BTreeMap::new(),
            TrackKey::Group { dim, value } => {
                let name = slices.dimensions().get(dim).cloned().unwrap_or_default();
                let v = slices
                    .values_of(dim)
                    .get(value as usize)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                // The slices that do not name the dimension: no place of their own.
                if v.is_empty() {
                    return BTreeMap::new();
                }
                BTreeMap::from([(name, v)])
            }
            TrackKey::Slice(id) if id.index() < slices.len() => slices
                .pairs(id)
                .map(|(d, v)| (d.to_owned(), v.to_owned()))
                .collect(),
            TrackKey::Slice(_) => BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// Detector of the fleet and of each group (one dimension value).
    pub detector: DetectorConfig,
    /// Detector of each leaf slice. Leaves are many (89 in the demo, tens of
    /// thousands in a real fleet), so by default they share one false-alarm
    /// budget per signal instead of one each: see [`LEAF_ARL0_FACTOR`].
    pub leaf_detector: DetectorConfig,
    /// Burn-rate rules for signals whose role is availability.
    pub burn: BurnRateConfig,
    /// A bucket is consumed once the head is this many buckets past it
    /// (the head bucket is still filling).
    pub settle_buckets: i64,
    pub track_groups: bool,
    pub track_fleet: bool,
}

/// Leaf tracks wait this many times longer between false alarms than fleet
/// and group tracks (ARL₀ × 100, i.e. a threshold higher by ln 100 ≈ 4.6):
/// one budget shared by up to 100 leaves per signal (Bonferroni), so the
/// leaf level raises about as many false alarms as one group does. Costs a
/// leaf-only regression about 40 % more delay; regressions wider than one
/// leaf are caught by the group tracks first.
pub const LEAF_ARL0_FACTOR: f64 = 100.0;

/// The guard of leaf baselines, in standard errors (groups and fleet: 1),
/// and the largest standard error a leaf baseline may have, as a share of
/// the minimum shift (groups and fleet: ¼). Hundreds of leaf baselines are
/// estimated at once, so one is off by 3–4 standard errors now and then
/// (the demo's 6-hour history holds a leaf 3.8 standard errors above its
/// true rate); a baseline frozen that high makes the statistic creep into a
/// false alarm however high the threshold. A creep needs an error of
/// guard + ½ shift / error = 2 + 2.5 = 4.5 standard errors here.
pub const LEAF_BASELINE_GUARD: f64 = 2.0;
pub const LEAF_MAX_BASELINE_ERROR: f64 = 0.2;

/// A leaf's detector: the group detector with ARL₀ × `factor`, the leaf
/// guard, and the CUSUM alone: a leaf's few failures a bucket give the
/// GLR's short windows heavy-tailed noise, and a fast leaf alarm folds a
/// wide regression into one slice's scope (the groups carry the speed).
pub fn leaf_detector(detector: DetectorConfig, factor: f64) -> DetectorConfig {
    DetectorConfig {
        arl0_buckets: detector.arl0_buckets * factor.max(1.0),
        baseline_guard: detector.baseline_guard.max(LEAF_BASELINE_GUARD),
        max_baseline_error: detector.max_baseline_error.min(LEAF_MAX_BASELINE_ERROR),
        glr: false,
        ..detector
    }
}

impl MonitorConfig {
    pub fn for_bucket_ms(bucket_ms: Millis) -> Self {
        let detector = DetectorConfig::for_bucket_ms(bucket_ms);
        MonitorConfig {
            detector,
            leaf_detector: leaf_detector(detector, LEAF_ARL0_FACTOR),
            burn: BurnRateConfig::sre_workbook(super::burn::DEFAULT_SLO, bucket_ms),
            settle_buckets: 1,
            track_groups: true,
            track_fleet: true,
        }
    }
}

/// The state of one key and signal, as the UI shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub key: TrackKey,
    pub signal: SignalId,
    pub role: SignalRole,
    pub status: Status,
    /// Error-budget burn (availability signals only).
    pub burn: Option<BurnStatus>,
}

impl Finding {
    /// Anything but OK/learning: a watch, a regression, or a burn alert.
    pub fn needs_attention(&self) -> bool {
        matches!(self.status, Status::Watch { .. } | Status::Regression(_))
            || self.burn.is_some_and(|b| b.alert.is_some())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub(crate) detector: RatioDetector,
    pub(crate) burn: Option<BurnRateTracker>,
}

impl Track {
    fn new(cfg: &MonitorConfig, role: SignalRole) -> Self {
        Self::with_detector(cfg, cfg.detector, role)
    }
    fn leaf(cfg: &MonitorConfig, role: SignalRole) -> Self {
        Self::with_detector(cfg, cfg.leaf_detector, role)
    }
    fn with_detector(cfg: &MonitorConfig, detector: DetectorConfig, role: SignalRole) -> Self {
        Track {
            detector: RatioDetector::new(detector),
            // Burn rate is an SLO on availability; quality has no budget to burn.
            burn: match role {
                SignalRole::Availability => Some(BurnRateTracker::new(cfg.burn.clone())),
                SignalRole::Quality | SignalRole::Latency | SignalRole::Other => None,
            },
        }
    }
    fn push(&mut self, ts: Millis, r: Option<Ratio>) {
        self.detector.push(ts, r);
        if let Some(b) = self.burn.as_mut() {
            b.push(ts, r);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SignalTracks {
    pub(crate) signal: SignalId,
    pub(crate) role: SignalRole,
    pub(crate) fleet: Track,
    /// Per dimension, per value id (id 0, the empty value, stays `None`).
    pub(crate) groups: Vec<Vec<Option<Track>>>,
    pub(crate) slices: Vec<Track>,
    /// What the scope search tests this signal's leaves against.
    pub(crate) scope_baseline: Option<ScopeBaseline>,
}

#[derive(Debug, Clone)]
pub struct Monitor {
    cfg: MonitorConfig,
    pub(crate) signals: Vec<SignalTracks>,
    next_bucket: Option<i64>,
    /// Scratch sums per dimension and value, reused every bucket.
    group_sums: Vec<Vec<Option<Ratio>>>,
}

impl Monitor {
    pub fn new(cfg: MonitorConfig) -> Self {
        Monitor {
            cfg,
            signals: Vec::new(),
            next_bucket: None,
            group_sums: Vec::new(),
        }
    }

    pub fn config(&self) -> &MonitorConfig {
        &self.cfg
    }

    /// The next bucket index to be consumed.
    pub fn next_bucket(&self) -> Option<i64> {
        self.next_bucket
    }

    /// Consumes every complete bucket not consumed yet (on the first call,
    /// the whole ring: a replay). Returns how many buckets were consumed.
    pub fn update(&mut self, store: &Store) -> usize {
        self.update_at_most(store, usize::MAX)
    }

    /// Like [`Monitor::update`], but stops after `max_buckets` buckets, so a
    /// caller can replay history in steps (short lock holds, or a look at
    /// the state after every bucket).
    pub fn update_at_most(&mut self, store: &Store, max_buckets: usize) -> usize {
        self.update_through(store, i64::MAX, max_buckets)
    }

    /// Like [`Monitor::update_at_most`], but consumes no bucket after
    /// `complete`: the caller knows every backend has sent its data up to
    /// there (the head alone can run ahead of a slower backend's batch).
    pub fn update_through(&mut self, store: &Store, complete: i64, max_buckets: usize) -> usize {
        let Some(head) = store.head() else {
            return 0;
        };
        let last = (head - self.cfg.settle_buckets.max(0)).min(complete);
        let oldest = head - store.capacity() as i64 + 1;
        let mut b = self.next_bucket.unwrap_or(oldest).max(oldest);
        self.add_signals(store);
        let mut consumed = 0;
        while b <= last && consumed < max_buckets {
            self.consume(store, b);
            b += 1;
            consumed += 1;
        }
        self.next_bucket = Some(self.next_bucket.map_or(b, |n| n.max(b)));
        consumed
    }

    fn add_signals(&mut self, store: &Store) {
        for (i, s) in store.signals().iter().enumerate() {
            let id = SignalId(i as u16);
            // The detectors test counts; a gauge has none to test.
            if !s.spec.kind.is_counted() || self.signals.iter().any(|t| t.signal == id) {
                continue;
            }
            self.signals.push(SignalTracks {
                signal: id,
                role: s.spec.role,
                fleet: Track::new(&self.cfg, s.spec.role),
                groups: Vec::new(),
                slices: Vec::new(),
                scope_baseline: None,
            });
        }
    }

    fn consume(&mut self, store: &Store, bucket: i64) {
        let ts = store.bucket_start(bucket);
        let interner = store.slices();
        let dims = interner.dimensions().len();
        let cfg = &self.cfg;
        for tracks in &mut self.signals {
            let role = tracks.role;
            while tracks.slices.len() < interner.len() {
                tracks.slices.push(Track::leaf(cfg, role));
            }
            self.group_sums.resize(dims, Vec::new());
            for (d, sums) in self.group_sums.iter_mut().enumerate() {
                sums.clear();
                sums.resize(interner.values_of(d).len(), None);
            }
            let mut fleet: Option<Ratio> = None;
            for (i, track) in tracks.slices.iter_mut().enumerate() {
                let slice = SliceId(i as u32);
                let r = store.ratio(tracks.signal, slice, bucket);
                track.push(ts, r);
                let Some(r) = r else { continue };
                fleet.get_or_insert_default().add(r);
                if cfg.track_groups {
                    for (d, sums) in self.group_sums.iter_mut().enumerate() {
                        let v = interner.value_id(slice, d) as usize;
                        if let Some(cell) = sums.get_mut(v) {
                            cell.get_or_insert_default().add(r);
                        }
                    }
                }
            }
            if cfg.track_fleet {
                tracks.fleet.push(ts, fleet);
            }
            if cfg.track_groups {
                tracks.groups.resize_with(dims, Vec::new);
                for (d, sums) in self.group_sums.iter().enumerate() {
                    let row = &mut tracks.groups[d];
                    row.resize_with(sums.len(), || None);
                    // Value id 0 is "not declared by this slice's backend".
                    for (v, sum) in sums.iter().enumerate().skip(1) {
                        match (&mut row[v], sum) {
                            (Some(t), r) => t.push(ts, *r),
                            (slot @ None, Some(r)) => {
                                let mut t = Track::new(cfg, role);
                                t.push(ts, Some(*r));
                                *slot = Some(t);
                            }
                            (None, None) => {}
                        }
                    }
                }
            }
            tracks.keep_scope_baseline(store);
        }
    }

    fn finding(&self, tracks: &SignalTracks, key: TrackKey, track: &Track) -> Finding {
        Finding {
            key,
            signal: tracks.signal,
            role: tracks.role,
            status: track.detector.status(),
            burn: track.burn.as_ref().map(|b| b.status()),
        }
    }

    /// Every key and signal: fleet first, then groups, then slices.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for tracks in &self.signals {
            self.visit(tracks, |key, track| {
                out.push(self.finding(tracks, key, track));
            });
        }
        out
    }

    /// Only what needs attention (watch, regression, burn alert).
    pub fn alerts(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for tracks in &self.signals {
            self.visit(tracks, |key, track| {
                let f = self.finding(tracks, key, track);
                if f.needs_attention() {
                    out.push(f);
                }
            });
        }
        out
    }

    /// The state of one key and signal, if tracked.
    pub fn finding_for(&self, key: TrackKey, signal: SignalId) -> Option<Finding> {
        let tracks = self.signals.iter().find(|t| t.signal == signal)?;
        let track = self.track(tracks, key)?;
        Some(self.finding(tracks, key, track))
    }

    /// Regressions, active or ended, of one key and signal (latest first).
    pub fn regressions_for(&self, key: TrackKey, signal: SignalId) -> Vec<Regression> {
        let Some(tracks) = self.signals.iter().find(|t| t.signal == signal) else {
            return Vec::new();
        };
        let Some(t) = self.track(tracks, key) else {
            return Vec::new();
        };
        t.detector
            .active()
            .into_iter()
            .chain(t.detector.last_ended())
            .collect()
    }

    pub(crate) fn track<'a>(&self, tracks: &'a SignalTracks, key: TrackKey) -> Option<&'a Track> {
        match key {
            TrackKey::Fleet => self.cfg.track_fleet.then_some(&tracks.fleet),
            TrackKey::Group { dim, value } => tracks.groups.get(dim)?.get(value as usize)?.as_ref(),
            TrackKey::Slice(id) => tracks.slices.get(id.index()),
        }
    }

    pub(crate) fn visit<'a>(
        &self,
        tracks: &'a SignalTracks,
        mut f: impl FnMut(TrackKey, &'a Track),
    ) {
        if self.cfg.track_fleet {
            f(TrackKey::Fleet, &tracks.fleet);
        }
        for (dim, row) in tracks.groups.iter().enumerate() {
            for (value, t) in row.iter().enumerate() {
                if let Some(t) = t {
                    f(
                        TrackKey::Group {
                            dim,
                            value: value as u32,
                        },
                        t,
                    );
                }
            }
        }
        for (i, t) in tracks.slices.iter().enumerate() {
            f(TrackKey::Slice(SliceId(i as u32)), t);
        }
    }
}
