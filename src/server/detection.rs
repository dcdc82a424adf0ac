//! A server's own detection (the relay's, and `demo-server`'s): a task that
//! keeps its own [`Store`] of every endpoint's window (fed by the hubs like
//! any subscriber, so the hot path never waits on it) and, once per bucket,
//! steps the same [`DetectionEngine`] the TUI and `check` run, with the
//! server's `[detection]`. What it concludes is published here for clients
//! (`findings` frames), the relay's `/metrics.prom` and its Alertmanager
//! poster.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::findings_wire::{WireIdentity, encode_capped};
use super::{DataClock, FindingsFrames, Hub, Update, Window};
use crate::detect::{DetectedRegression, DetectionEngine, DetectionSettings, Detections, ScopeMap};
use crate::protocol::{BucketValue, CowStr, Hello, Millis, Point, Subscribe};
use crate::store::{Drops, SourceBinding, Store};

/// Buckets stepped per trip to the blocking pool: a first replay of a long
/// window is cut into pieces, so a shutdown or a new snapshot gets in.
const BUCKETS_PER_STEP: usize = 60;
/// Updates queued between the hubs' forwarders and the detection task; past
/// it the forwarder waits, its hub receiver lags, and it resubscribes.
const QUEUE: usize = 256;

/// One regression as the page and the Alertmanager see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionRow {
    pub signal: String,
    pub scope: ScopeMap,
    pub onset: Millis,
    pub detected_at: Millis,
    pub ended_at: Option<Millis>,
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
}

impl RegressionRow {
    fn of(r: &DetectedRegression) -> Self {
        RegressionRow {
            signal: r.signal.clone(),
            scope: r.scope.clone(),
            onset: r.onset,
            detected_at: r.detected_at,
            ended_at: r.ended_at,
            baseline: r.baseline,
            current: r.current,
            delta_pp: r.delta_pp,
        }
    }

    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// What the detection task publishes, and what it cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    /// Active regressions, and those ended within the keep window.
    pub rows: Vec<RegressionRow>,
    /// Start of the newest bucket tested.
    pub through: Option<Millis>,
    pub buckets: u64,
    /// Time spent stepping the detectors (on the blocking pool).
    pub busy: Duration,
    pub store_bytes: usize,
    /// Snapshots taken again after falling behind a hub.
    pub resyncs: u64,
    /// Everything the run concluded, as sent to clients in `findings`
    /// frames (`rows` is its regressions within the keep window).
    pub detections: Arc<Detections>,
}

/// Shared between the detection task, the page and the poster.
#[derive(Debug)]
pub struct RelayFindings {
    state: Mutex<Published>,
    changed: watch::Sender<u64>,
    /// Ended regressions stay on the page (at 0) this long after their end.
    pub keep_ended_ms: Millis,
    /// The newest `findings` frame for clients, encoded once per change.
    frames: watch::Sender<Option<Arc<str>>>,
    identity: WireIdentity,
}

impl RelayFindings {
    pub fn new(keep_ended_ms: Millis) -> Self {
        RelayFindings {
            state: Mutex::new(Published::default()),
            changed: watch::channel(0).0,
            keep_ended_ms,
            frames: watch::channel(None).0,
            identity: WireIdentity::default(),
        }
    }

    /// Names the relay's run (`epoch`) and the endpoint paths detected
    /// over, as every `findings` frame says them.
    #[must_use]
    pub fn with_identity(mut self, epoch: &str, endpoints: Vec<String>) -> Self {
        self.identity = WireIdentity {
            epoch: epoch.to_owned(),
            endpoints,
        };
        self
    }

    /// The `findings` frames, for the protocol server's connections.
    pub fn frames(&self) -> FindingsFrames {
        self.frames.subscribe()
    }

    /// Keeps the whole of a run's detections and, when they changed,
    /// encodes the frame clients get.
    pub fn publish_detections(&self, d: Detections) {
        let mut st = self.lock();
        if *st.detections == d {
            return;
        }
        let frame: Arc<str> = encode_capped(&d, &self.identity).into();
        st.detections = Arc::new(d);
        drop(st);
        self.frames.send_replace(Some(frame));
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> Published {
        self.lock().clone()
    }

    /// Ticks whenever the set of regressions or their figures change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Replaces the rows (from a [`DetectionEngine`]'s regressions at data
    /// time `now`), notifying only when they changed.
    pub fn publish(&self, regressions: &[DetectedRegression], now: Millis) {
        let keep = self.keep_ended_ms;
        let rows: Vec<RegressionRow> = regressions
            .iter()
            .filter(|r| r.ended_at.is_none_or(|e| now - e <= keep))
            .map(RegressionRow::of)
            .collect();
        let mut st = self.lock();
        if st.rows != rows {
            st.rows = rows;
            drop(st);
            self.changed.send_modify(|n| *n += 1);
        }
    }

    fn account(&self, through: Option<Millis>, buckets: usize, busy: Duration, bytes: usize) {
        let mut st = self.lock();
        st.through = through;
        st.buckets += buckets as u64;
        st.busy += busy;
        st.store_bytes = bytes;
    }

    fn resynced(&self) {
        self.lock().resyncs += 1;
    }
}

/// One endpoint the detectors read: its hello (dimensions, signals, bucket)
/// and its hub.
pub struct Watched {
    pub hello: Hello,
    pub hub: Arc<Hub>,
}

enum Message {
    Snapshot(usize, Window),
    Update(usize, Arc<Update>),
}

/// The running task and the hub forwarders; dropping it stops them.
pub struct DetectionTask {
    handles: Vec<JoinHandle<()>>,
}

impl DetectionTask {
    /// Its tasks, for an owner that stops them itself (a source they feed
    /// is dropped, or aborts them).
    pub fn into_handles(mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.handles)
    }
}

impl Drop for DetectionTask {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Starts detection over `watched`, on data time `clock` (the relay's wall
/// clock, or the demo's compressed one). Buckets are tested `delay` after
/// they close (when the poller has fetched them). Must run inside the
/// runtime.
pub fn spawn(
    watched: Vec<Watched>,
    settings: DetectionSettings,
    delay: Duration,
    findings: Arc<RelayFindings>,
    clock: Arc<dyn DataClock>,
) -> DetectionTask {
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut handles: Vec<JoinHandle<()>> = watched
        .iter()
        .enumerate()
        .map(|(i, w)| {
            tokio::spawn(forward(
                i,
                Arc::clone(&w.hub),
                tx.clone(),
                Arc::clone(&findings),
                Arc::clone(&clock),
            ))
        })
        .collect();
    let hellos = watched.into_iter().map(|w| w.hello).collect();
    handles.push(tokio::spawn(run(
        hellos, settings, delay, findings, clock, rx,
    )));
    DetectionTask { handles }
}

/// Subscribes to one hub and passes its snapshot and updates on; after
/// falling behind it subscribes again (a fresh snapshot replaces the data).
async fn forward(
    i: usize,
    hub: Arc<Hub>,
    tx: mpsc::Sender<Message>,
    findings: Arc<RelayFindings>,
    clock: Arc<dyn DataClock>,
) {
    let everything = Subscribe {
        window_ms: Millis::MAX / 4,
        ..Subscribe::default()
    };
    loop {
        let sub = hub.subscribe(&everything, clock.now());
        let mut updates = sub.updates;
        if tx.send(Message::Snapshot(i, sub.window)).await.is_err() {
            return;
        }
        loop {
            match updates.recv().await {
                Ok(u) => {
                    if tx.send(Message::Update(i, u)).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "detection fell behind a hub; taking its window again"
                    );
                    findings.resynced();
                    break;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// An endpoint whose newest data is this many buckets older than the
/// clock says is due no longer holds detection back: its silence is a gap.
const SILENT_AFTER_BUCKETS: i64 = 3;

/// The store and engine, moved to the blocking pool for each step.
struct Detector {
    store: Store,
    engine: DetectionEngine,
    bindings: Vec<Option<SourceBinding>>,
    /// Newest bucket each endpoint has delivered.
    newest: Vec<Option<i64>>,
    /// Whether each endpoint's window has been applied.
    synced: Vec<bool>,
    delay_ms: Millis,
    /// Data time the detectors started: an endpoint that has delivered
    /// nothing yet holds them back for a while after it (its backfill).
    started: Millis,
    clock: Arc<dyn DataClock>,
}

impl Detector {
    fn apply_window(&mut self, i: usize, window: &Window) {
        // An endpoint the store refused (logged at start) must not hold the others back.
        if let Some(s) = self.synced.get_mut(i) {
            *s = true;
        }
        let Some(Some(binding)) = self.bindings.get(i) else {
            return;
        };
        self.store.set_now(self.clock.now());
        self.store.reset_source(binding);
        let mut drops = Drops::default();
        for s in &window.series {
            self.store.apply_series(binding, s, &mut drops);
        }
        self.newest[i] = window
            .series
            .iter()
            .filter_map(|s| {
                let len = s
                    .good
                    .as_ref()
                    .or(s.total.as_ref())
                    .map_or_else(|| s.values.as_ref().map_or(0, Vec::len), Vec::len);
                (len > 0).then(|| self.store.bucket_of(s.start) + len as i64 - 1)
            })
            .max();
    }

    /// The newest bucket to test at `now`: closed `delay` ago, and delivered
    /// by every endpoint that is not silent. Testing a bucket before the
    /// poller published it would read it as a gap for good.
    fn complete(&self, now: Millis) -> i64 {
        if !self.synced.iter().all(|s| *s) {
            // Before every window is in, the history would read as gaps.
            return i64::MIN;
        }
        let due = self.store.bucket_of(now - self.delay_ms) - 1;
        // Right after a start, an endpoint with no data yet is still
        // backfilling: testing past it would read its whole history as gaps
        // and never test it again. Past the grace it is silent like any other.
        let waking =
            self.store.bucket_of(now) - self.store.bucket_of(self.started) <= SILENT_AFTER_BUCKETS;
        if waking && self.newest.iter().any(Option::is_none) {
            return i64::MIN;
        }
        self.newest
            .iter()
            .flatten()
            .filter(|&&b| b >= due - SILENT_AFTER_BUCKETS)
            .fold(due, |c, &b| c.min(b))
    }

    fn apply_update(&mut self, i: usize, update: &Update) {
        let Some(Some(binding)) = self.bindings.get(i) else {
            return;
        };
        self.store.set_now(self.clock.now());
        let mut newest = self.newest[i];
        for p in &update.points {
            let (good, total, value) = match p.value {
                BucketValue::Ratio { good, total } => {
                    (Some(i64::from(good)), Some(i64::from(total)), None)
                }
                BucketValue::Gauge(v) => (None, None, Some(v)),
            };
            let point = Point {
                slice: (*p.slice).clone(),
                signal: CowStr::from(&*p.signal),
                ts: p.ts,
                good,
                total,
                value,
            };
            // Out of the window or over budget: the hub already held it, the
            // detectors read a gap.
            if self.store.apply_point(binding, &point).is_ok() {
                newest = newest.max(Some(self.store.bucket_of(p.ts)));
            }
        }
        self.newest[i] = newest;
    }
}

async fn run(
    hellos: Vec<Hello>,
    settings: DetectionSettings,
    delay: Duration,
    findings: Arc<RelayFindings>,
    clock: Arc<dyn DataClock>,
    mut rx: mpsc::Receiver<Message>,
) {
    let now = || clock.now();
    let mut store = Store::new();
    let bindings = hellos
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut h = h.clone();
            h.now = now();
            store
                .bind_source(i, &h)
                .inspect_err(|e| tracing::error!("detection cannot read endpoint {i}: {e}"))
                .ok()
        })
        .collect();
    let bucket_ms = store.bucket_ms().max(1);
    let delay_ms = delay.as_millis() as Millis;
    let mut detector = Some(Detector {
        newest: vec![None; hellos.len()],
        synced: vec![false; hellos.len()],
        store,
        engine: DetectionEngine::new(settings),
        bindings,
        delay_ms,
        started: now(),
        clock: Arc::clone(&clock),
    });
    let mut tested = i64::MIN;
    // Wakes `delay` after each bucket closes, as the poller publishes it.
    // In real time: data time may run faster (the demo's clock).
    let scale = clock
        .scale()
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0);
    let real = |data_ms: Millis| Duration::from_secs_f64(data_ms as f64 / 1000.0 / scale);
    let first = (now() - delay_ms).div_euclid(bucket_ms) * bucket_ms + bucket_ms + delay_ms;
    let start = tokio::time::Instant::now() + real((first - now()).clamp(0, bucket_ms));
    let mut tick = tokio::time::interval_at(start, real(bucket_ms).max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let Some(d) = detector.as_mut() else {
            return;
        };
        // An update that completes a bucket is tested at once; the tick
        // tests past endpoints that went silent.
        let due = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Message::Snapshot(i, w)) => {
                    d.apply_window(i, &w);
                    d.complete(now()) > tested
                }
                Some(Message::Update(i, u)) => {
                    d.apply_update(i, &u);
                    d.complete(now()) > tested
                }
                None => return,
            },
            _ = tick.tick() => true,
        };
        if due && d.complete(now()) > i64::MIN {
            tested = d.complete(now());
            let Some(d) = detector.take() else { return };
            match step(d, &findings).await {
                Some(d) => detector = Some(d),
                None => return,
            }
        }
    }
}

/// Tests every complete bucket that was not tested yet, off the
/// async workers, then publishes. `None` if the blocking pool failed.
async fn step(mut d: Detector, findings: &Arc<RelayFindings>) -> Option<Detector> {
    loop {
        let started = Instant::now();
        let (back, n) = tokio::task::spawn_blocking(move || {
            let now = d.clock.now();
            d.store.set_now(now);
            let complete = d.complete(now);
            let n = d.engine.step_through(&d.store, complete, BUCKETS_PER_STEP);
            (d, n)
        })
        .await
        .inspect_err(|e| tracing::error!("relay detection stopped: {e}"))
        .ok()?;
        d = back;
        findings.account(
            d.engine.through(),
            n,
            started.elapsed(),
            d.store.used_bytes(),
        );
        if n > 0 {
            let detections = d.engine.detections(&d.store);
            findings.publish(&detections.regressions, d.clock.now());
            findings.publish_detections(detections);
        }
        if n < BUCKETS_PER_STEP {
            return Some(d);
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
#[path = "detection_tests.rs"]
mod tests;
