//! A snapshot sent in parts (feature `snapshot_parts`): each part is
//! checked as it arrives and kept as text; the last one applies them all in
//! one write, so the screen never shows half a snapshot.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::{
    MAX_SNAPSHOT_PARTS, Millis, PLAUSIBLE_TIME, ServerMessage, Snapshot, SnapshotPart,
    decode_server,
};
use crate::store::{MAX_SLICES, SourceBinding, Store};

use super::fleet::SharedFleet;
use super::session::{Session, Step, status_mut};

/// How long the client waits for the next part before it gives the
/// snapshot up and subscribes again.
pub const SNAPSHOT_PART_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes one bucket of one (slice, signal) takes in the store.
const CELL_BYTES: u64 = 8;

/// The parts of one snapshot received so far.
#[derive(Debug)]
pub struct PendingSnapshot {
    pub id: u64,
    pub seq: u64,
    pub count: u32,
    pub texts: Vec<String>,
    /// When the snapshot is given up if no further part has come.
    pub deadline: Instant,
}

impl PendingSnapshot {
    pub fn received(&self) -> u32 {
        u32::try_from(self.texts.len()).unwrap_or(u32::MAX)
    }

    /// Whether `part` (of snapshot `seq`) is the next one of this snapshot.
    pub fn is_next(&self, seq: u64, part: SnapshotPart) -> bool {
        part.id == self.id
            && seq == self.seq
            && part.count == self.count
            && part.index == self.received() + 1
    }
}

/// Why a snapshot of `slices` slices cannot be held, when it cannot: over
/// the slice cap or over the store's memory budget (this source's own data,
/// which the snapshot replaces, counted as free).
pub fn over_capacity(
    store: &Store,
    binding: &SourceBinding,
    slices: u64,
    (from, to): (Millis, Millis),
) -> Option<String> {
    let signals = binding.signal_ids().count() as u64;
    let bucket_ms = store.bucket_ms().max(1);
    let buckets = (((to - from) / bucket_ms).max(1) as u64).min(store.capacity() as u64);
    let needed = slices
        .saturating_mul(signals)
        .saturating_mul(buckets)
        .saturating_mul(CELL_BYTES);
    let free = store
        .budget()
        .saturating_sub(store.used_bytes())
        .saturating_add(store.source_bytes(binding)) as u64;
    let mib = |b: u64| b.div_ceil(1 << 20);
    let held = if slices > MAX_SLICES as u64 {
        format!("over this client's cap of {MAX_SLICES} slices")
    } else if needed > free {
        format!(
            "about {} MiB for {signals} signals × {buckets} buckets, over the {} MiB this client's memory budget has free",
            mib(needed),
            mib(free)
        )
    } else {
        return None;
    };
    Some(format!(
        "the backend's snapshot holds {slices} slices, {held}: narrow the subscription with a filter (`/` in the TUI, e.g. model=NAME) or serve it through a relay that groups the slices"
    ))
}

impl Session {
    /// When the snapshot loading in parts is given up, if one is.
    pub fn part_deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// The next part did not come in time: drop the parts (the state held
    /// stays as it was) and subscribe again.
    pub fn part_timed_out(&mut self, fleet: &SharedFleet) -> Step {
        let Some(p) = self.pending.take() else {
            return Step::Continue;
        };
        let why = format!(
            "snapshot stopped at part {} of {}: no part for {} s; subscribing again",
            p.received(),
            p.count,
            self.part_timeout.as_secs()
        );
        tracing::warn!(source = self.index, "{why}");
        self.give_up_parts(fleet, why)
    }

    /// Drops a snapshot in parts and asks for a new one; `why` shows in
    /// the source's status.
    pub(super) fn give_up_parts(&mut self, fleet: &SharedFleet, why: String) -> Step {
        self.pending = None;
        self.awaiting_snapshot = true;
        fleet.write(|f| {
            if let Some(s) = status_mut(f, self.index) {
                s.snapshot_progress = None;
                s.last_error = Some(why);
                s.resyncs += 1;
            }
        });
        Step::Resubscribe
    }

    /// One part of a snapshot in parts: checked, kept, and the snapshot
    /// applied when it is the last.
    pub(super) fn on_part(
        &mut self,
        fleet: &SharedFleet,
        snap: Snapshot<'_>,
        text: &str,
        now: Millis,
    ) -> Step {
        let Some(part) = snap.part else {
            return Step::Continue;
        };
        if part.count > MAX_SNAPSHOT_PARTS || part.index == 0 || part.index > part.count {
            let why = format!(
                "snapshot part {} of {} is out of range (at most {MAX_SNAPSHOT_PARTS} parts)",
                part.index, part.count
            );
            self.drop_frame(fleet, &why, now);
            return self.give_up_parts(fleet, why);
        }
        if !PLAUSIBLE_TIME.contains(&snap.to) {
            let why = "snapshot \"to\" is not a plausible time".to_owned();
            self.drop_frame(fleet, &why, now);
            return self.give_up_parts(fleet, why);
        }
        if part.index == 1 {
            if let Some(step) = self.scale_step(part) {
                self.pending = None;
                return step;
            }
            if let Some(refused) = self.refusal(fleet, &snap, part) {
                self.pending = None;
                return Step::Refuse(refused);
            }
            self.pending = Some(PendingSnapshot {
                id: part.id,
                seq: snap.seq,
                count: part.count,
                texts: Vec::new(),
                deadline: Instant::now(),
            });
        }
        let next = self
            .pending
            .as_ref()
            .is_some_and(|p| p.is_next(snap.seq, part));
        if !next {
            let why = format!(
                "snapshot part {} of {} (id {}) does not follow the parts received; subscribing again",
                part.index, part.count, part.id
            );
            return self.give_up_parts(fleet, why);
        }
        let (seq, to) = (snap.seq, snap.to);
        drop(snap);
        let timeout = self.part_timeout;
        let Some(pending) = self.pending.as_mut() else {
            return Step::Continue;
        };
        pending.texts.push(text.to_owned());
        pending.deadline = Instant::now() + timeout;
        let progress = (pending.received(), pending.count);
        if progress.0 < progress.1 {
            fleet.write(|f| {
                if let Some(s) = status_mut(f, self.index) {
                    s.last_message_at = Some(now);
                    s.snapshot_progress = Some(progress);
                }
            });
            return Step::Continue;
        }
        let Some(done) = self.pending.take() else {
            return Step::Continue;
        };
        // Each part decoded already on arrival: decoding again cannot fail.
        let parts = done.texts.iter().filter_map(|t| match decode_server(t) {
            Ok(Some(ServerMessage::Snapshot(s))) => Some(s),
            _ => None,
        });
        self.apply_whole(fleet, (seq, to, None), parts, now);
        Step::Continue
    }

    /// Why the snapshot whose first part this is cannot be held, if so.
    fn refusal(
        &self,
        fleet: &SharedFleet,
        snap: &Snapshot<'_>,
        part: SnapshotPart,
    ) -> Option<String> {
        let slices = part.slices?;
        let why =
            fleet.read(|f| over_capacity(&f.store, &self.binding, slices, (snap.from, snap.to)))?;
        fleet.write(|f| {
            if let Some(s) = status_mut(f, self.index) {
                s.snapshot_progress = None;
                s.last_error = Some(why.clone());
            }
        });
        Some(why)
    }
}
