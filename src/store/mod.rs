//! The in-memory store: interned slices and, per (slice, signal), a ring of
//! integer counts on one shared time axis. Knows nothing of network or terminal.

mod column;
mod drops;
mod intern;
mod rollup;

use std::collections::HashMap;

pub use column::{Cell, CellKind, Column, MISSING, PAGE, Ratio, cell_ratio, ratio_cell};
pub use drops::Drops;
pub use intern::{MAX_DIMENSIONS, MAX_SLICES, SERVES_SCAN, SliceId, SliceInterner};
pub use rollup::{BucketRange, GroupRollup};

use crate::protocol::{
    BucketValue, Hello, MAX_SIGNALS, Millis, PLAUSIBLE_TIME, Point, PointError, Series, SignalKind,
    SignalSpec, SliceMap, validate_counts, validate_hello,
};

/// Fewest and most buckets a ring may hold, whatever a backend declares.
pub const MIN_CAPACITY: usize = 16;
pub const MAX_CAPACITY: usize = 7 * 24 * 60;
/// Bytes the rings may hold in all, unless set otherwise: far below what
/// would make an allocation fail, so a hostile backend is refused first.
pub const DEFAULT_BUDGET: usize = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalId(pub u16);

impl SignalId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug, Clone)]
pub struct StoredSignal {
    pub spec: SignalSpec,
    /// Index of the backend that serves it.
    pub source: usize,
    column: Column,
}

/// What one backend's hello registered: its dimensions and signals.
#[derive(Debug, Clone, Default)]
pub struct SourceBinding {
    pub source: usize,
    dims: Vec<usize>,
    signals: HashMap<String, (SignalId, SignalKind)>,
}

impl SourceBinding {
    pub fn signal(&self, name: &str) -> Option<(SignalId, SignalKind)> {
        self.signals.get(name).copied()
    }
    pub fn signal_ids(&self) -> impl Iterator<Item = SignalId> + '_ {
        self.signals.values().map(|(id, _)| *id)
    }

    /// This binding for series rolled up to `group_by` (scale mode): their
    /// slices name only those dimensions, the others are held empty.
    pub fn grouped(&self, store: &Store, group_by: &[String]) -> SourceBinding {
        let dims = group_by
            .iter()
            .filter_map(|d| store.interner.dimension_index(d))
            .filter(|i| self.dims.contains(i))
            .collect();
        SourceBinding {
            dims,
            ..self.clone()
        }
    }
}

#[derive(Debug, Default)]
pub struct Store {
    interner: SliceInterner,
    signals: Vec<StoredSignal>,
    bucket_ms: Millis,
    capacity: usize,
    /// Newest bucket index held (`ts / bucket_ms`).
    head: Option<i64>,
    now: Millis,
    /// Byte budget of the rings; `None` is [`DEFAULT_BUDGET`].
    budget: Option<usize>,
    /// Bytes the rings hold now.
    used: usize,
    /// Points refused because the budget was reached.
    refused: u64,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose rings may hold at most `bytes`.
    pub fn with_budget(bytes: usize) -> Self {
        let mut s = Self::default();
        s.set_budget(bytes);
        s
    }
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = Some(bytes);
    }
    pub fn budget(&self) -> usize {
        self.budget.unwrap_or(DEFAULT_BUDGET)
    }
    /// Bytes the rings hold now.
    pub fn used_bytes(&self) -> usize {
        self.used
    }
    /// Bytes the rings of one backend's signals hold.
    pub fn source_bytes(&self, binding: &SourceBinding) -> usize {
        binding
            .signal_ids()
            .filter_map(|id| self.signals.get(id.index()))
            .map(|s| s.column.heap_bytes())
            .sum()
    }
    /// Points refused so far because the memory budget was reached.
    pub fn refused_for_budget(&self) -> u64 {
        self.refused
    }
    fn recount(&mut self) {
        self.used = self.signals.iter().map(|s| s.column.heap_bytes()).sum();
    }

    pub fn slices(&self) -> &SliceInterner {
        &self.interner
    }
    pub fn signals(&self) -> &[StoredSignal] {
        &self.signals
    }
    pub fn signal(&self, id: SignalId) -> &StoredSignal {
        &self.signals[id.index()]
    }
    pub fn signal_by_name(&self, name: &str) -> Option<SignalId> {
        self.signals
            .iter()
            .position(|s| s.spec.name == name)
            .map(|i| SignalId(i as u16))
    }
    pub fn bucket_ms(&self) -> Millis {
        self.bucket_ms
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Newest bucket index held, if any data or clock arrived yet.
    pub fn head(&self) -> Option<i64> {
        self.head
    }
    /// The backends' clock, as last reported.
    pub fn now(&self) -> Millis {
        self.now
    }
    pub fn bucket_of(&self, ts: Millis) -> i64 {
        ts.div_euclid(self.bucket_ms.max(1))
    }
    pub fn bucket_start(&self, bucket: i64) -> Millis {
        bucket * self.bucket_ms
    }

    /// Registers a backend's dimensions and signals. A signal name that
    /// another backend already serves is left to that backend.
    pub fn bind_source(&mut self, source: usize, hello: &Hello) -> Result<SourceBinding, String> {
        validate_hello(hello)?;
        if self.signals.len() + hello.signals.len() > MAX_SIGNALS * 4 {
            return Err(format!(
                "{} signals are held already; {} more is beyond what qualtop holds",
                self.signals.len(),
                hello.signals.len()
            ));
        }
        if self.bucket_ms == 0 {
            self.bucket_ms = hello.bucket_ms;
            let want = (hello.history_ms / hello.bucket_ms) as usize;
            self.capacity = want.clamp(MIN_CAPACITY, MAX_CAPACITY);
        } else if self.bucket_ms != hello.bucket_ms {
            return Err(format!(
                "bucket_ms {} differs from the other backend's {}",
                hello.bucket_ms, self.bucket_ms
            ));
        }
        let mut dims = Vec::with_capacity(hello.dimensions.len());
        for d in &hello.dimensions {
            let i = self.interner.add_dimension(d)?;
            if dims.contains(&i) {
                return Err(format!("dimension {d:?} declared twice"));
            }
            dims.push(i);
        }
        let mut signals = HashMap::new();
        for spec in &hello.signals {
            let existing = self.signal_by_name(&spec.name);
            let id = match existing {
                Some(id) if self.signals[id.index()].source != source => continue,
                Some(id) => {
                    let s = &mut self.signals[id.index()];
                    if s.spec.kind != spec.kind {
                        s.column = new_column(spec.kind);
                    }
                    s.spec = spec.clone();
                    id
                }
                None => {
                    if self.signals.len() >= u16::MAX as usize {
                        return Err("too many signals".into());
                    }
                    self.signals.push(StoredSignal {
                        spec: spec.clone(),
                        source,
                        column: new_column(spec.kind),
                    });
                    SignalId(self.signals.len() as u16 - 1)
                }
            };
            signals.insert(spec.name.clone(), (id, spec.kind));
        }
        self.recount();
        self.set_now(hello.now);
        Ok(SourceBinding {
            source,
            dims,
            signals,
        })
    }

    /// Moves the clock on; the head follows so that silence shows as gaps.
    pub fn set_now(&mut self, now: Millis) {
        // A clock beyond any real one would wipe the rings: ignore it.
        if self.bucket_ms == 0 || !PLAUSIBLE_TIME.contains(&now) {
            return;
        }
        self.now = self.now.max(now);
        let b = self.bucket_of(now);
        self.advance_to(b);
    }

    /// Starts the time axis again at `now`, empty: a backend's clock jumped
    /// (a restarted demo), and data on the old axis would only be dropped.
    pub fn restart_clock(&mut self, now: Millis) {
        for s in &mut self.signals {
            s.column.clear_all();
        }
        self.head = None;
        self.now = 0;
        self.set_now(now);
    }

    /// Empties a backend's signals before it resends a snapshot.
    pub fn reset_source(&mut self, binding: &SourceBinding) {
        for id in binding.signal_ids() {
            self.signals[id.index()].column.clear_all();
        }
        self.recount();
    }

    fn advance_to(&mut self, bucket: i64) {
        let cap = self.capacity as i64;
        match self.head {
            None => self.head = Some(bucket),
            Some(h) if bucket > h => {
                if bucket.saturating_sub(h) >= cap {
                    for s in &mut self.signals {
                        s.column.clear_all();
                    }
                    self.used = 0;
                } else {
                    for b in h + 1..=bucket {
                        let pos = b.rem_euclid(cap) as usize;
                        for s in &mut self.signals {
                            s.column.clear_position(pos);
                        }
                    }
                }
                self.head = Some(bucket);
            }
            Some(_) => {}
        }
    }

    fn intern(
        &mut self,
        binding: &SourceBinding,
        slice: &SliceMap<'_>,
    ) -> Result<SliceId, PointError> {
        // Rings are allocated on a slice's first point, not here.
        self.interner.intern(slice, &binding.dims)
    }

    /// Where bucket `b` lives in each ring, or why it may not be stored.
    fn position(&self, bucket: i64) -> Result<usize, PointError> {
        let head = self.head.ok_or(PointError::OutOfWindow)?;
        let newest_allowed = self.bucket_of(self.now).saturating_add(1);
        if bucket > newest_allowed || bucket <= head.saturating_sub(self.capacity as i64) {
            return Err(PointError::OutOfWindow);
        }
        Ok(bucket.rem_euclid(self.capacity as i64) as usize)
    }

    /// Buckets at or before this have fallen out of the ring: a snapshot longer
    /// than the ring is expected to reach back there, so they are skipped quietly.
    fn oldest_allowed(&self) -> i64 {
        self.head
            .map_or(i64::MIN, |h| h.saturating_sub(self.capacity as i64))
    }

    fn write(
        &mut self,
        sig: SignalId,
        slice: SliceId,
        bucket: i64,
        value: BucketValue,
    ) -> Result<(), PointError> {
        self.position(bucket)?;
        let column = &self.signals[sig.index()].column;
        let cell = match (column.kind, value) {
            (CellKind::Ratio, BucketValue::Ratio { good, total }) => ratio_cell(good, total),
            (CellKind::Gauge, BucketValue::Gauge(v)) => v.to_bits(),
            _ => return Err(PointError::UnknownSignal),
        };
        let pos = bucket.rem_euclid(self.capacity as i64) as usize;
        // The head moves first: a jump past the ring frees what it held.
        self.advance_to(bucket);
        let room = self.budget().saturating_sub(self.used);
        let column = &mut self.signals[sig.index()].column;
        let before = column.heap_bytes();
        let stored = column.set(slice.index(), pos, self.capacity, cell, room);
        self.used = (self.used + column.heap_bytes()).saturating_sub(before);
        stored.map_err(|_| {
            self.refused += 1;
            PointError::MemoryBudget
        })
    }

    /// Applies one live point; a point for a bucket already held replaces it.
    pub fn apply_point(
        &mut self,
        binding: &SourceBinding,
        p: &Point<'_>,
    ) -> Result<(), PointError> {
        let (sig, kind) = binding
            .signal(p.signal.as_str())
            .ok_or(PointError::UnknownSignal)?;
        let value = validate_counts(kind, p.good, p.total, p.value)?;
        let bucket = self.bucket_of(p.ts);
        self.position(bucket)?;
        let slice = self.intern(binding, &p.slice)?;
        self.write(sig, slice, bucket, value)
    }

    /// Applies one columnar series of a snapshot. Bad buckets are dropped one
    /// by one (counted in `drops`); a bad slice or signal drops the series.
    pub fn apply_series(&mut self, binding: &SourceBinding, s: &Series<'_>, drops: &mut Drops) {
        let result = (|| {
            let (sig, kind) = binding
                .signal(s.signal.as_str())
                .ok_or(PointError::UnknownSignal)?;
            let len = match kind {
                SignalKind::Ratio => {
                    let (g, t) = (s.good.as_ref(), s.total.as_ref());
                    match (g, t) {
                        (Some(g), Some(t)) if g.len() == t.len() => g.len(),
                        _ => return Err(PointError::MissingCounts),
                    }
                }
                SignalKind::Gauge => s.values.as_ref().ok_or(PointError::MissingValue)?.len(),
            };
            if len > MAX_CAPACITY * 4 {
                return Err(PointError::SeriesTooLong);
            }
            let slice = self.intern(binding, &s.slice)?;
            let first = self.bucket_of(s.start);
            for i in 0..len {
                let value = match kind {
                    SignalKind::Ratio => {
                        // Both columns are `len` long (checked above).
                        let at = |c: &Option<Vec<Option<i64>>>| {
                            c.as_deref().and_then(|c| c.get(i)).copied().flatten()
                        };
                        let (g, t) = (at(&s.good), at(&s.total));
                        if g.is_none() && t.is_none() {
                            continue;
                        }
                        validate_counts(kind, g, t, None)
                    }
                    SignalKind::Gauge => match s
                        .values
                        .as_deref()
                        .and_then(|c| c.get(i))
                        .copied()
                        .flatten()
                    {
                        None => continue,
                        v => validate_counts(kind, None, None, v),
                    },
                };
                // A start near i64::MAX (a broken backend) must not overflow.
                let Some(bucket) = first.checked_add(i as i64) else {
                    drops.add(PointError::OutOfWindow);
                    continue;
                };
                match value {
                    Ok(v) => match self.write(sig, slice, bucket, v) {
                        Ok(()) => {}
                        Err(PointError::OutOfWindow) if bucket <= self.oldest_allowed() => {}
                        Err(e) => drops.add(e),
                    },
                    Err(e) => drops.add(e),
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            drops.add(e);
        }
    }

    /// One ratio bucket of one slice.
    pub fn ratio(&self, sig: SignalId, slice: SliceId, bucket: i64) -> Option<Ratio> {
        let pos = self.index_of(slice, bucket)?;
        let column = &self.signals[sig.index()].column;
        if column.kind != CellKind::Ratio {
            return None;
        }
        let (good, total) = cell_ratio(column.get(slice.index(), pos)?);
        Some(Ratio::new(u64::from(good), u64::from(total)))
    }

    /// One gauge bucket of one slice.
    pub fn gauge(&self, sig: SignalId, slice: SliceId, bucket: i64) -> Option<f64> {
        let pos = self.index_of(slice, bucket)?;
        let column = &self.signals[sig.index()].column;
        if column.kind != CellKind::Gauge {
            return None;
        }
        column.get(slice.index(), pos).map(f64::from_bits)
    }

    fn index_of(&self, slice: SliceId, bucket: i64) -> Option<usize> {
        let head = self.head?;
        if bucket > head
            || bucket <= head.saturating_sub(self.capacity as i64)
            || slice.index() >= self.interner.len()
        {
            return None;
        }
        Some(bucket.rem_euclid(self.capacity as i64) as usize)
    }

    /// Where bucket `bucket` lives in every ring (see [`Column::get`]).
    pub fn position_of(&self, bucket: i64) -> usize {
        bucket.rem_euclid(self.capacity.max(1) as i64) as usize
    }

    /// Bytes of heap the rings hold, and bytes per stored bucket.
    pub fn memory(&self) -> (usize, usize) {
        let heap = self.signals.iter().map(|s| s.column.heap_bytes()).sum();
        let per = self
            .signals
            .iter()
            .map(|s| s.column.bytes_per_bucket())
            .max()
            .unwrap_or(0);
        (heap, per)
    }
}

fn new_column(kind: SignalKind) -> Column {
    match kind {
        SignalKind::Ratio => Column::new_ratio(),
        SignalKind::Gauge => Column::new_gauge(),
    }
}
