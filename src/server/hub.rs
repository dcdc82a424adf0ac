//! One endpoint's fan-out: the source publishes each new bucket once; the hub
//! keeps the recent window for snapshots and hands every connection the same
//! shared update. A source built on it only has to say what is new.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::protocol::{
    BucketValue, ErrorMessage, Millis, Point, SignalKind, SignalSpec, SliceMap, Subscribe,
};

use super::cell::Cell;
use super::source::{Subscription, Update, UpdatePoint, Window};

// A child, not a sibling: it reads `HubState`'s private fields.
#[path = "hub_rollup.rs"]
mod hub_rollup;

use hub_rollup::to_series;

/// What a hub holds at most, so that a publisher (say an eval job that puts
/// a request id in a label) cannot grow it, or the snapshots, without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// Distinct slices held; a point for a new slice past it is refused.
    pub max_slices: usize,
    /// Longest label value of a slice, in bytes.
    pub max_label_value_bytes: usize,
}

impl Default for HubLimits {
    /// No caps: the demo's slices are fixed by its scenario.
    fn default() -> Self {
        HubLimits {
            max_slices: usize::MAX,
            max_label_value_bytes: usize::MAX,
        }
    }
}

/// Why a hub would not take a new slice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SliceRefused {
    #[error(
        "label {dimension:?} is {len} bytes, over the cap of {max} (limits.max_label_value_bytes)"
    )]
    LabelTooLong {
        dimension: String,
        len: usize,
        max: usize,
    },
    #[error(
        "new slice refused: the endpoint holds {max} slices, its cap (limits.max_slices); is a label unbounded, like a request id?"
    )]
    Full { max: usize },
}

/// Key of the standing notice raised while a hub refuses new slices.
const FULL_NOTICE: &str = "slice_cap";

/// The recent window of every (slice, signal), plus the broadcast of updates.
#[derive(Debug)]
pub struct Hub {
    state: Mutex<HubState>,
    updates: broadcast::Sender<Arc<Update>>,
}

#[derive(Debug)]
struct HubState {
    signals: Vec<(Arc<str>, SignalKind)>,
    bucket_ms: Millis,
    /// Buckets held per (slice, signal).
    capacity: usize,
    /// Newest bucket index held (`ts / bucket_ms`).
    head: Option<i64>,
    rows: Vec<Row>,
    /// Canonical text of a slice → row.
    by_content: HashMap<String, usize>,
    /// Address of a row's shared slice → row: the fast path for publishers
    /// that reuse the `Arc` from [`Hub::intern`]. The row keeps the `Arc`
    /// alive, so an address cannot be reused while it is in this map.
    by_address: HashMap<usize, usize>,
    /// Notices every new subscriber gets after its snapshot, by key.
    standing: Vec<(String, ErrorMessage)>,
    limits: HubLimits,
}

#[derive(Debug)]
struct Row {
    slice: Arc<SliceMap<'static>>,
    /// `signals × capacity` cells, ring-indexed by bucket.
    cells: Vec<Cell>,
}

impl Hub {
    /// `backlog` is how many updates a connection may fall behind before it is
    /// disconnected: memory stays bounded whatever a client does.
    pub fn new(
        signals: &[SignalSpec],
        bucket_ms: Millis,
        history_ms: Millis,
        backlog: usize,
    ) -> Hub {
        let bucket_ms = bucket_ms.max(1);
        let capacity = (history_ms / bucket_ms).clamp(1, 1 << 20) as usize;
        let (updates, _) = broadcast::channel(backlog.max(1));
        Hub {
            state: Mutex::new(HubState {
                signals: signals
                    .iter()
                    .map(|s| (Arc::from(s.name.as_str()), s.kind))
                    .collect(),
                bucket_ms,
                capacity,
                head: None,
                rows: Vec::new(),
                by_content: HashMap::new(),
                by_address: HashMap::new(),
                standing: Vec::new(),
                limits: HubLimits::default(),
            }),
            updates,
        }
    }

    /// The same hub with these caps on what it holds.
    pub fn with_limits(self, limits: HubLimits) -> Hub {
        self.lock().limits = limits;
        self
    }

    /// Slices held now.
    pub fn slices(&self) -> usize {
        self.lock().rows.len()
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // serving it beats taking the endpoint down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hub's shared copy of a slice; publishing with it skips a lookup.
    /// A new slice over the hub's caps is refused (and raises a standing
    /// notice when the hub is full, so every screen sees why data is missing).
    pub fn admit(&self, slice: SliceMap<'static>) -> Result<Arc<SliceMap<'static>>, SliceRefused> {
        let mut st = self.lock();
        match st.row_of(&Arc::new(slice)) {
            Ok(row) => Ok(Arc::clone(&st.rows[row].slice)),
            Err(refused) => {
                self.on_refused_locked(&mut st, &refused);
                Err(refused)
            }
        }
    }

    /// [`Hub::admit`] for publishers whose slices are fixed and few (the
    /// demo): the caps are not applied.
    pub fn intern(&self, slice: SliceMap<'static>) -> Arc<SliceMap<'static>> {
        let mut st = self.lock();
        let slice = Arc::new(slice);
        let row = st.row_of_uncapped(&slice);
        Arc::clone(&st.rows[row].slice)
    }

    fn on_refused_locked(&self, st: &mut HubState, refused: &SliceRefused) {
        let SliceRefused::Full { max } = refused else {
            return;
        };
        if st.standing.iter().any(|(k, _)| k == FULL_NOTICE) {
            return;
        }
        tracing::warn!(
            max,
            "hub full: new slices are refused until old ones age out"
        );
        let notice = ErrorMessage {
            code: FULL_NOTICE.into(),
            message: format!(
                "the relay holds {max} slices on this endpoint, its cap; points for new slices are dropped until old ones age out of the window"
            ),
            id: None,
        };
        st.standing.push((FULL_NOTICE.to_owned(), notice.clone()));
        self.notify_locked(notice);
    }

    /// The hub's shared name of a signal it serves.
    pub fn signal(&self, name: &str) -> Option<Arc<str>> {
        self.lock()
            .signals
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(n, _)| Arc::clone(n))
    }

    /// Newest bucket start held, if any.
    pub fn head(&self) -> Option<Millis> {
        let st = self.lock();
        st.head.map(|h| h * st.bucket_ms)
    }

    /// Connections currently receiving updates.
    pub fn receivers(&self) -> usize {
        self.updates.receiver_count()
    }

    /// Stores points and sends them to every subscriber as one update. Points
    /// for unknown signals, of the wrong kind, or older than the window are
    /// dropped. A point for a bucket already held replaces it.
    pub fn publish(&self, points: Vec<UpdatePoint>) {
        let mut st = self.lock();
        let mut kept = Vec::with_capacity(points.len());
        for mut p in points {
            let Some(signal) = st.signals.iter().position(|(n, _)| *n == p.signal) else {
                tracing::debug!(signal = %p.signal, "hub: point for an unknown signal dropped");
                continue;
            };
            let kind_ok = matches!(
                (st.signals[signal].1, p.value),
                (SignalKind::Ratio, BucketValue::Ratio { .. })
                    | (SignalKind::Gauge, BucketValue::Gauge(_))
            );
            if !kind_ok {
                tracing::debug!(signal = %p.signal, "hub: point of the wrong kind dropped");
                continue;
            }
            let bucket = p.ts.div_euclid(st.bucket_ms);
            if !st.advance_to(bucket) {
                continue;
            }
            let row = match st.row_of(&p.slice) {
                Ok(row) => row,
                Err(refused) => {
                    self.on_refused_locked(&mut st, &refused);
                    continue;
                }
            };
            let cell = st.cell(signal, bucket);
            st.rows[row].cells[cell] = Cell::of(p.value);
            p.slice = Arc::clone(&st.rows[row].slice);
            p.signal = Arc::clone(&st.signals[signal].0);
            p.ts = bucket * st.bucket_ms;
            kept.push(p);
        }
        if !kept.is_empty() {
            // Sent under the lock, so a subscriber's snapshot and its updates
            // meet exactly. No receivers is not an error.
            let _ = self.updates.send(Arc::new(Update {
                points: kept,
                notices: Vec::new(),
            }));
        }
    }

    /// Sends `notice` to every subscriber now, and to every later one after
    /// its snapshot, until [`Hub::lift`] with the same key. Raising a key
    /// again replaces its notice.
    pub fn raise(&self, key: &str, notice: ErrorMessage) {
        let mut st = self.lock();
        st.standing.retain(|(k, _)| k != key);
        st.standing.push((key.to_owned(), notice.clone()));
        self.notify_locked(notice);
    }

    /// Ends a standing notice; `farewell`, if given, is sent once to every
    /// subscriber (e.g. "upstream recovered").
    pub fn lift(&self, key: &str, farewell: Option<ErrorMessage>) {
        let mut st = self.lock();
        st.standing.retain(|(k, _)| k != key);
        if let Some(notice) = farewell {
            self.notify_locked(notice);
        }
    }

    /// The notices standing now, oldest first.
    pub fn standing(&self) -> Vec<ErrorMessage> {
        self.lock()
            .standing
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// Broadcasts while the caller holds the lock, so notices and points
    /// keep their order and meet snapshots exactly.
    fn notify_locked(&self, notice: ErrorMessage) {
        let _ = self.updates.send(Arc::new(Update {
            points: Vec::new(),
            notices: vec![notice],
        }));
    }

    /// The current rolled-up buckets of the groups (of `sub.group_by`) that
    /// the points of one update touched; empty for a leaf subscription.
    pub fn rolled_points(&self, sub: &Subscribe, touched: &[UpdatePoint]) -> Vec<Point<'static>> {
        match &sub.group_by {
            Some(group_by) => self.lock().rolled_points(sub, group_by, touched),
            None => Vec::new(),
        }
    }

    /// The window `sub` asks for, ending at `now`, and every update after it.
    pub fn subscribe(&self, sub: &Subscribe, now: Millis) -> Subscription {
        let st = self.lock();
        let updates = self.updates.subscribe();
        Subscription {
            window: st.window(sub, now),
            updates,
            notices: st.standing.iter().map(|(_, n)| n.clone()).collect(),
        }
    }
}

impl HubState {
    /// The row of a slice, made if new and within the caps.
    fn row_of(&mut self, slice: &Arc<SliceMap<'static>>) -> Result<usize, SliceRefused> {
        if let Some(row) = self.by_address.get(&(Arc::as_ptr(slice) as usize)) {
            return Ok(*row);
        }
        // Checked before the lookup: no row holds a value this long.
        let max = self.limits.max_label_value_bytes;
        if let Some((dimension, v)) = slice.iter().find(|(_, v)| v.len() > max) {
            return Err(SliceRefused::LabelTooLong {
                dimension: crate::text::sanitize::sanitize(dimension)
                    .chars()
                    .take(64)
                    .collect(),
                len: v.len(),
                max,
            });
        }
        if self.rows.len() >= self.limits.max_slices
            && !self.by_content.contains_key(&canonical(slice))
        {
            return Err(SliceRefused::Full {
                max: self.limits.max_slices,
            });
        }
        Ok(self.row_of_uncapped(slice))
    }

    fn row_of_uncapped(&mut self, slice: &Arc<SliceMap<'static>>) -> usize {
        let address = Arc::as_ptr(slice) as usize;
        if let Some(row) = self.by_address.get(&address) {
            return *row;
        }
        let key = canonical(slice);
        if let Some(row) = self.by_content.get(&key) {
            return *row;
        }
        let row = self.rows.len();
        self.rows.push(Row {
            slice: Arc::clone(slice),
            cells: vec![Cell::EMPTY; self.signals.len() * self.capacity],
        });
        self.by_content.insert(key, row);
        self.by_address.insert(address, row);
        row
    }

    /// Where bucket `bucket` of a signal lives in a row's cells.
    fn cell(&self, signal: usize, bucket: i64) -> usize {
        signal * self.capacity + bucket.rem_euclid(self.capacity as i64) as usize
    }

    /// Moves the head to `bucket` if it is newer, clearing the buckets it
    /// passes over. False if `bucket` has already fallen out of the window.
    fn advance_to(&mut self, bucket: i64) -> bool {
        let cap = self.capacity as i64;
        match self.head {
            Some(head) if bucket <= head => bucket > head - cap,
            Some(head) => {
                if bucket - head >= cap {
                    self.rows.iter_mut().for_each(|r| r.cells.fill(Cell::EMPTY));
                } else {
                    for b in head + 1..=bucket {
                        for s in 0..self.signals.len() {
                            let i = self.cell(s, b);
                            self.rows.iter_mut().for_each(|r| r.cells[i] = Cell::EMPTY);
                        }
                    }
                }
                self.head = Some(bucket);
                self.forget_empty_rows();
                true
            }
            None => {
                self.head = Some(bucket);
                true
            }
        }
    }

    /// Drops the slices that no longer hold any bucket of the window, so a
    /// burst of one-off slices is freed once it ages out.
    fn forget_empty_rows(&mut self) {
        if self
            .rows
            .iter()
            .all(|r| r.cells.iter().any(|c| !c.is_empty()))
        {
            return;
        }
        self.rows.retain(|r| r.cells.iter().any(|c| !c.is_empty()));
        self.by_content.clear();
        self.by_address.clear();
        for (i, r) in self.rows.iter().enumerate() {
            self.by_content.insert(canonical(&r.slice), i);
            self.by_address.insert(Arc::as_ptr(&r.slice) as usize, i);
        }
        if self.rows.len() < self.limits.max_slices {
            self.standing.retain(|(k, _)| k != FULL_NOTICE);
        }
    }

    fn window(&self, sub: &Subscribe, now: Millis) -> Window {
        let cap = self.capacity as i64;
        let span = sub.window_ms.clamp(0, cap * self.bucket_ms);
        let Some(head) = self.head else {
            return Window {
                from: now - span,
                to: now,
                series: Vec::new(),
            };
        };
        let first = (now - span).div_euclid(self.bucket_ms).max(head - cap + 1);
        if let Some(group_by) = &sub.group_by {
            return Window {
                from: first * self.bucket_ms,
                to: now,
                series: self.grouped_series(sub, group_by, first, head),
            };
        }
        let mut series = Vec::new();
        for row in self.rows.iter().filter(|r| sub.matches(&r.slice)) {
            for (s, (name, kind)) in self.signals.iter().enumerate() {
                let cells: Vec<Option<BucketValue>> = (first..=head)
                    .map(|b| row.cells[self.cell(s, b)].get(*kind))
                    .collect();
                if cells.iter().all(Option::is_none) {
                    continue;
                }
                series.push(to_series(
                    &row.slice,
                    name,
                    *kind,
                    first * self.bucket_ms,
                    &cells,
                ));
            }
        }
        Window {
            from: first * self.bucket_ms,
            to: now,
            series,
        }
    }
}

/// A slice as text, independent of the order its dimensions came in.
fn canonical(slice: &SliceMap<'_>) -> String {
    let mut pairs: Vec<(&str, &str)> = slice.iter().collect();
    pairs.sort_unstable();
    let mut key = String::new();
    for (k, v) in pairs {
        key.push_str(k);
        key.push('\u{1f}');
        key.push_str(v);
        key.push('\u{1e}');
    }
    key
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
