//! Applying a whole snapshot (one frame, or every part of one) to the
//! fleet under one write: the screen sees the old state or the new one.

use crate::protocol::{Millis, PLAUSIBLE_TIME, Snapshot};

use super::clocks::judge_clocks;
use super::fleet::{Fleet, SharedFleet, merge_annotation};
use super::session::{Session, status_mut};
use super::status::ConnState;

impl Session {
    pub(super) fn apply_snapshot(&mut self, fleet: &SharedFleet, snap: Snapshot<'_>, now: Millis) {
        if !PLAUSIBLE_TIME.contains(&snap.to) {
            self.drop_frame(fleet, "snapshot \"to\" is not a plausible time", now);
            return;
        }
        self.pending = None;
        let (seq, to) = (snap.seq, snap.to);
        self.apply_whole(fleet, (seq, to, Some(now)), std::iter::once(snap), now);
    }

    /// Replaces this source's data with a whole snapshot (its parts, in
    /// order) under one write. `said_at`: when the backend said `to`; `None`
    /// (parts) keeps the clock reading held (hello, heartbeat), as `to` is
    /// as old as the first part and a slow load at the demo's ×60 would read
    /// as a clock minutes behind.
    pub(super) fn apply_whole<'a>(
        &mut self,
        fleet: &SharedFleet,
        (seq, to, said_at): (u64, Millis, Option<Millis>),
        parts: impl Iterator<Item = Snapshot<'a>>,
        now: Millis,
    ) {
        let bucket_ms = self.bucket_ms.max(1);
        fleet.write(|f| {
            let reading = status_mut(f, self.index).map(|s| {
                let reading = match (said_at, s.backend_now) {
                    (None, Some(held)) => held,
                    _ => (to, said_at.unwrap_or(now)),
                };
                s.backend_now = Some(reading);
                reading
            });
            let (clock, clock_at) = reading.unwrap_or((to, now));
            let agreed = judge_clocks(f, self.index, now);
            // This snapshot refills the axis if it started again just now.
            self.timeline = f.timeline;
            let Fleet {
                store,
                sources,
                annotations,
                ..
            } = f;
            let Some(status) = sources.get_mut(self.index) else {
                return;
            };
            // The clock first, so the newest buckets are inside the window.
            if agreed {
                store.set_now(to.max(clock));
            }
            store.reset_source(&self.binding);
            let newest_allowed = store.bucket_of(store.now()) + 1;
            let mut newest = None;
            let mut changes = Vec::new();
            for snap in parts {
                for series in &snap.series {
                    store.apply_series(&self.binding, series, &mut status.drops);
                }
                newest = snap
                    .series
                    .iter()
                    .filter_map(|s| last_filled_bucket(s, bucket_ms))
                    .filter(|&b| b <= newest_allowed)
                    .max()
                    .max(newest);
                for a in snap.annotations {
                    merge_annotation(annotations, a);
                }
                changes.extend(snap.changes);
            }
            status.newest_data = newest.map(|b| b.saturating_mul(bucket_ms));
            status.note_backend_now(clock, clock_at, bucket_ms);
            status.snapshot_progress = None;
            if let Some(scale) = &mut status.scale {
                scale.loading = false;
            }
            super::changes::apply_changes(f, self.index, changes);
            let Some(status) = f.sources.get_mut(self.index) else {
                return;
            };
            status.snapshots += 1;
            status.last_message_at = Some(now);
            status.state = ConnState::Live;
        });
        self.snapshots += 1;
        self.last_seq = Some(seq);
        self.awaiting_snapshot = false;
        tracing::debug!(source = self.index, seq, "snapshot applied");
    }
}

/// The bucket of the newest non-empty entry of a snapshot series.
fn last_filled_bucket(s: &crate::protocol::Series<'_>, bucket_ms: Millis) -> Option<i64> {
    let last = match (&s.good, &s.total, &s.values) {
        (_, _, Some(values)) => values.iter().rposition(Option::is_some),
        (Some(good), Some(total), None) => good
            .iter()
            .zip(total)
            .rposition(|(g, t)| g.is_some() || t.is_some()),
        _ => None,
    }?;
    s.start
        .div_euclid(bucket_ms)
        .checked_add(i64::try_from(last).ok()?)
}
