//! One connection after the handshake: checks the hello, then applies each
//! frame to the fleet. Frames are decoded before the lock is taken, and each
//! message is applied under one short write.

use crate::protocol::{
    AnnotationMessage, Batch, Heartbeat, Hello, Millis, PLAUSIBLE_TIME, ServerMessage, Subscribe,
    decode_server,
};
use crate::store::SourceBinding;

use super::clocks::judge_clocks;
use super::config::FeedOptions;
use super::connect::Ending;
use super::fleet::{Fleet, SharedFleet, merge_annotation};
use super::parts::PendingSnapshot;
use super::status::{ConnState, SourceStatus};

/// Wall-clock milliseconds, for `last_message_at` and `retry_at`.
use crate::clock::{freshest, wall_ms};

/// Longest a backend's clock is run on from its last report (then it is
/// stale anyway): a silent backend's points cannot move the clock far.
const MAX_CLOCK_RUN_MS: Millis = 15_000;

/// Real time a message may take to reach us, in which a fast (demo) clock
/// runs on: a batch's points may be this far ahead of the clock we hold.
const DELIVERY_SLACK_MS: Millis = 1_000;

/// What the connection must do after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// Our state is stale: send `subscribe` again and wait for a snapshot.
    Resubscribe,
    /// The backend sends more than this client can hold: hang up and say why.
    Refuse(String),
    /// The fleet declares this many leaves: dial again in scale mode.
    Scale(u64),
}

/// The per-connection protocol state: the store binding and the seq count.
#[derive(Debug)]
pub struct Session {
    pub(super) index: usize,
    pub(super) binding: SourceBinding,
    pub(super) bucket_ms: Millis,
    subscribe: Subscribe,
    pub(super) last_seq: Option<u64>,
    pub(super) awaiting_snapshot: bool,
    pub(super) snapshots: u64,
    /// `Fleet::timeline` this session's data belongs to.
    pub(super) timeline: u64,
    /// A snapshot in parts, until its last part.
    pub(super) pending: Option<PendingSnapshot>,
    pub(super) part_timeout: std::time::Duration,
    /// Scale mode (see `feed::view`): the view subscribed, its leaves.
    pub(super) scale: Option<super::scale::ScaleMode>,
    /// Leaves over which a full snapshot switches to scale mode (0: never).
    pub(super) scale_leaves: u64,
    /// The hello's dimensions and features, to build view subscriptions.
    pub(super) hello: Hello,
}

pub(super) fn kind_of(msg: &ServerMessage<'_>) -> &'static str {
    match msg {
        ServerMessage::Hello(_) => "hello",
        ServerMessage::Snapshot(_) => "snapshot",
        ServerMessage::Batch(_) => "batch",
        ServerMessage::Heartbeat(_) => "heartbeat",
        ServerMessage::Error(_) => "error",
        ServerMessage::Annotation(_) => "annotation",
        ServerMessage::Change(_) => "change",
        ServerMessage::Findings(_) => "findings",
    }
}

/// Whether a restarted backend's clock (`hello`, a new epoch) left the time
/// axis the store holds: back by more than two buckets, or on past its history.
fn clock_jumped(f: &Fleet, index: usize, hello: &Hello) -> bool {
    let restarted = f
        .sources
        .get(index)
        .and_then(|s| s.hello.as_ref())
        .is_some_and(|h| h.epoch != hello.epoch);
    let held = f.store.now();
    restarted
        && f.store.head().is_some()
        && (hello.now < held - 2 * hello.bucket_ms || hello.now > held + hello.history_ms)
}

/// Each source's refused clock as the screen words it, to tell whether a
/// verdict changed (its offset moves by milliseconds every heartbeat).
fn refused_clocks(f: &Fleet) -> Vec<Option<String>> {
    f.sources
        .iter()
        .map(|s| s.clock_refused_ms.map(crate::clock::disagreement_words))
        .collect()
}

pub(super) fn status_mut(f: &mut Fleet, index: usize) -> Option<&mut SourceStatus> {
    f.sources.get_mut(index)
}

impl Session {
    /// Binds the backend's hello into the store and prepares the subscription:
    /// `wanted` (the last one the user asked for) or else the options'; with
    /// `scale` (the leaves declared), the view the screen shows.
    pub fn start(
        fleet: &SharedFleet,
        index: usize,
        (hello, time_scale): (Hello, Option<f64>),
        opts: &FeedOptions,
        (wanted, scale): (Option<&Subscribe>, Option<u64>),
    ) -> Result<Session, Ending> {
        let now = wall_ms();
        let (bound, timeline) = fleet.write(|f| {
            if let Some(s) = status_mut(f, index) {
                s.time_scale = time_scale;
                s.backend_now = Some((hello.now, now));
                s.clock_current = true;
            }
            let agreed = judge_clocks(f, index, now);
            if agreed && clock_jumped(f, index, &hello) {
                tracing::info!(
                    source = index,
                    held = f.store.now(),
                    backend = hello.now,
                    "the backend restarted on another clock: starting the time axis again"
                );
                f.restart_timeline(hello.now);
            }
            // A refused clock binds at the shared clock, which it must not move.
            let binding = if agreed {
                f.store.bind_source(index, &hello)
            } else {
                let at_shared = Hello {
                    now: f.store.now(),
                    ..hello.clone()
                };
                f.store.bind_source(index, &at_shared)
            };
            let timeline = f.timeline;
            super::findings::forget_findings(f, index);
            if let Some(s) = status_mut(f, index) {
                s.last_message_at = Some(now);
                match &binding {
                    Ok(_) => {
                        s.connections += 1;
                        if s.connections > 1 {
                            // A new connection (and maybe a new epoch): the
                            // next snapshot replaces everything we hold.
                            s.resyncs += 1;
                        }
                        s.state = ConnState::Connecting;
                        s.hello = Some(hello.clone());
                    }
                    Err(_) => s.hello = Some(hello.clone()),
                }
            }
            (binding, timeline)
        });
        let binding =
            bound.map_err(|e| Ending::Failed(format!("backend's hello cannot be used: {e}")))?;
        let history = hello.history_ms;
        let (window, filter) = match wanted {
            Some(w) => (Some(w.window_ms), w.filter.clone()),
            None => (opts.window_ms, opts.filter.clone()),
        };
        let window_ms = window.map_or(history, |w| w.min(history)).max(0);
        let mut session = Session {
            index,
            binding,
            bucket_ms: hello.bucket_ms,
            subscribe: Subscribe {
                window_ms,
                filter,
                group_by: None,
                snapshot_parts: true,
            },
            last_seq: None,
            awaiting_snapshot: true,
            snapshots: 0,
            timeline,
            pending: None,
            part_timeout: opts.snapshot_part_timeout,
            scale: None,
            scale_leaves: opts.scale_leaves,
            hello,
        };
        if let Some(leaves) = scale {
            session.enter_scale_mode(fleet, leaves);
        }
        Ok(session)
    }

    /// The `subscribe` to send now (first, or again after a gap).
    pub fn subscription(&self) -> &Subscribe {
        &self.subscribe
    }

    /// Replaces the subscription (a new filter from the user); the caller
    /// sends it, and the state is replaced by the snapshot that follows.
    pub fn resubscribe_with(&mut self, subscribe: Subscribe) {
        self.subscribe = Subscribe {
            snapshot_parts: true,
            ..subscribe
        };
        self.awaiting_snapshot = true;
    }

    /// Snapshots applied on this connection.
    pub fn snapshots(&self) -> u64 {
        self.snapshots
    }

    fn state(&self) -> ConnState {
        if self.snapshots > 0 {
            ConnState::Live
        } else {
            ConnState::Connecting
        }
    }

    /// Marks a message received (it also ends a stale spell).
    fn touch(&self, s: &mut SourceStatus, now: Millis) {
        s.last_message_at = Some(now);
        s.state = self.state();
    }

    /// Handles one text frame.
    pub fn on_text(&mut self, fleet: &SharedFleet, text: &str) -> Step {
        let now = wall_ms();
        // Another backend started the time axis again: our data went with it.
        let timeline = fleet.read(|f| f.timeline);
        if timeline != self.timeline {
            self.timeline = timeline;
            self.awaiting_snapshot = true;
            return Step::Resubscribe;
        }
        match decode_server(text) {
            // The answer to a view left since (scale mode): not ours to apply.
            Ok(Some(ServerMessage::Snapshot(snap))) if self.skip_stale(snap.part) => {
                fleet.write(|f| status_mut(f, self.index).map(|s| self.touch(s, now)));
                Step::Continue
            }
            Ok(Some(ServerMessage::Snapshot(snap))) if snap.part.is_some_and(|p| p.count > 1) => {
                self.on_part(fleet, snap, text, now)
            }
            Ok(Some(msg)) => {
                // Parts come back to back: data of the stream between them
                // means the sequence broke (see docs/protocol.md).
                let breaks = matches!(
                    msg,
                    ServerMessage::Batch(_)
                        | ServerMessage::Annotation(_)
                        | ServerMessage::Change(_)
                        | ServerMessage::Snapshot(_)
                );
                if breaks && let Some(p) = &self.pending {
                    let why = format!(
                        "a {} came between snapshot parts {} and {} of {}; subscribing again",
                        kind_of(&msg),
                        p.received(),
                        p.received() + 1,
                        p.count
                    );
                    let _ = self.on_message(fleet, msg, now);
                    return self.give_up_parts(fleet, why);
                }
                self.on_message(fleet, msg, now)
            }
            Ok(None) => {
                // Protocol 1: unknown message types are ignored.
                fleet.write(|f| status_mut(f, self.index).map(|s| self.touch(s, now)));
                Step::Continue
            }
            Err(e) => {
                self.drop_frame(fleet, &e.to_string(), now);
                Step::Continue
            }
        }
    }

    /// Counts a frame that could not be used, and carries on.
    pub fn drop_frame(&self, fleet: &SharedFleet, why: &str, now: Millis) {
        count_dropped_frame(fleet, self.index, why, now, Some(self.state()));
    }

    fn on_message(&mut self, fleet: &SharedFleet, msg: ServerMessage<'_>, now: Millis) -> Step {
        match msg {
            ServerMessage::Snapshot(s) => {
                self.apply_snapshot(fleet, s, now);
                Step::Continue
            }
            ServerMessage::Batch(b) => self.apply_batch(fleet, b, now),
            ServerMessage::Heartbeat(h) => self.apply_heartbeat(fleet, h, now),
            ServerMessage::Annotation(a) => self.apply_annotation(fleet, a, now),
            ServerMessage::Change(c) => {
                // Like an annotation: in the seq, and safe to apply out of order (merged by id).
                let step = self.seq_step(fleet, c.seq, now);
                fleet.write(|f| {
                    super::changes::apply_changes(f, self.index, [c.change]);
                    status_mut(f, self.index).map(|s| self.touch(s, now))
                });
                step
            }
            ServerMessage::Findings(m) => {
                super::findings::on_findings(fleet, self.index, *m, now);
                Step::Continue
            }
            ServerMessage::Error(e) => {
                tracing::warn!(source = self.index, code = %e.code, "backend error: {}", e.message);
                fleet.write(|f| {
                    if let Some(id) = &e.id {
                        // A rejected annotation: keep the reason by id for the screen.
                        f.annotation_errors.retain(|(held, _)| held != id);
                        f.annotation_errors
                            .push((id.clone(), format!("{}: {}", e.code, e.message)));
                        let excess = f
                            .annotation_errors
                            .len()
                            .saturating_sub(super::fleet::MAX_ANNOTATION_ERRORS);
                        f.annotation_errors.drain(..excess);
                    }
                    if let Some(s) = status_mut(f, self.index) {
                        self.touch(s, now);
                        s.last_error = Some(format!("{}: {}", e.code, e.message));
                    }
                });
                Step::Continue
            }
            ServerMessage::Hello(_) => {
                self.drop_frame(fleet, "a second hello on one connection", now);
                Step::Continue
            }
        }
    }

    /// Whether `seq` follows the last one; a gap asks for a resubscribe.
    fn next_seq(&mut self, seq: u64) -> bool {
        let in_order = self.last_seq.and_then(|l| l.checked_add(1)) == Some(seq);
        if in_order {
            self.last_seq = Some(seq);
        }
        in_order
    }

    fn gap(&mut self, fleet: &SharedFleet, seen: u64, now: Millis) -> Step {
        tracing::info!(
            source = self.index,
            expected = ?self.last_seq.map(|l| l.saturating_add(1)),
            seen,
            "seq gap: resubscribing"
        );
        self.awaiting_snapshot = true;
        fleet.write(|f| {
            if let Some(s) = status_mut(f, self.index) {
                self.touch(s, now);
                s.resyncs += 1;
            }
        });
        Step::Resubscribe
    }

    fn apply_batch(&mut self, fleet: &SharedFleet, batch: Batch<'_>, now: Millis) -> Step {
        if self.awaiting_snapshot {
            // Data of a stream we have given up on: the snapshot replaces it.
            fleet.write(|f| status_mut(f, self.index).map(|s| self.touch(s, now)));
            return Step::Continue;
        }
        if !self.next_seq(batch.seq) {
            return self.gap(fleet, batch.seq, now);
        }
        fleet.write(|f| {
            let Some(status) = f.sources.get_mut(self.index) else {
                return;
            };
            // A fast clock (the demo's 60x) ran on since the backend last
            // said its time: without this, its newest points look ahead of it.
            let agreed = status.clock_refused_ms.is_none();
            if let (true, Some((data, at)), Some(scale)) =
                (agreed, status.backend_now, status.time_scale)
            {
                let ran = (now - at).clamp(0, MAX_CLOCK_RUN_MS) as f64 * scale;
                let clock = data.saturating_add(ran as Millis);
                // What it said reached us late: allow a real second of delivery.
                let slack = (DELIVERY_SLACK_MS as f64 * scale) as Millis;
                let newest_end = batch.points.iter().map(|p| p.ts).max().map(|t| {
                    t.saturating_add(self.bucket_ms)
                        .clamp(clock, clock.saturating_add(slack))
                });
                f.store.set_now(newest_end.unwrap_or(clock));
            }
            let mut newest = status.newest_data;
            for p in &batch.points {
                match f.store.apply_point(&self.binding, p) {
                    Ok(()) => newest = newest.max(Some(p.ts)),
                    Err(e) => status.drops.add(e),
                }
            }
            status.newest_data = newest;
            self.touch(status, now);
        });
        Step::Continue
    }

    fn apply_heartbeat(&mut self, fleet: &SharedFleet, hb: Heartbeat, now: Millis) -> Step {
        let plausible = PLAUSIBLE_TIME.contains(&hb.now);
        fleet.write_then_notify_if(|f| {
            let head = f.store.head();
            let (refused, timeline) = (refused_clocks(f), f.timeline);
            // A heartbeat handled late (a loaded host) must not read as a
            // clock gone back: the last reading run on is kept then.
            let mut reading = (hb.now, now);
            if plausible {
                if let Some(s) = status_mut(f, self.index) {
                    reading = freshest(s.backend_now, reading, s.time_scale.unwrap_or(1.0));
                    s.backend_now = Some(reading);
                }
                if judge_clocks(f, self.index, now) {
                    f.store.set_now(reading.0);
                }
            }
            let mut visible = f.store.head() != head
                || !plausible
                || refused != refused_clocks(f)
                || timeline != f.timeline;
            if let Some(s) = status_mut(f, self.index) {
                let (state, lag) = (s.state.clone(), s.data_lag_ms);
                self.touch(s, now);
                if plausible {
                    s.note_backend_now(reading.0, reading.1, self.bucket_ms);
                }
                // The header shows the lag to the second ("data 3m old"); a
                // lag that moved by milliseconds changes nothing on screen.
                let shown = |lag| SourceStatus::lag_words(lag, self.bucket_ms);
                visible |= s.state != state || shown(s.data_lag_ms) != shown(lag);
                if !plausible {
                    s.drops.frames += 1;
                }
            }
            visible
        });
        // A heartbeat ahead of us means messages were lost on the way.
        let missed = !self.awaiting_snapshot && self.last_seq.is_some_and(|l| hb.seq > l);
        if missed {
            return self.gap(fleet, hb.seq, now);
        }
        Step::Continue
    }

    /// A message that carries a seq but no data of the stream: a gap asks
    /// for a resubscribe, but the message itself is still applied.
    fn seq_step(&mut self, fleet: &SharedFleet, seq: u64, now: Millis) -> Step {
        if self.awaiting_snapshot || self.next_seq(seq) {
            Step::Continue
        } else {
            self.gap(fleet, seq, now)
        }
    }

    fn apply_annotation(
        &mut self,
        fleet: &SharedFleet,
        msg: AnnotationMessage,
        now: Millis,
    ) -> Step {
        let step = self.seq_step(fleet, msg.seq, now);
        // Annotations carry their own rev, so applying one out of order is safe.
        fleet.write(|f| {
            merge_annotation(&mut f.annotations, msg.annotation);
            if let Some(s) = status_mut(f, self.index) {
                self.touch(s, now);
            }
        });
        step
    }
}

/// Counts a frame dropped whole (not JSON, malformed, binary, oversize) and
/// notes that the backend was heard from; `state` replaces a stale state.
pub fn count_dropped_frame(
    fleet: &SharedFleet,
    index: usize,
    why: &str,
    now: Millis,
    state: Option<ConnState>,
) {
    let dropped = fleet.write(|f| {
        status_mut(f, index).map_or(0, |s| {
            s.last_message_at = Some(now);
            if let Some(state) = state {
                s.state = state;
            }
            s.drops.frames += 1;
            s.drops.frames
        })
    });
    // Powers of two only: a backend gone mad must not flood the log.
    if dropped.is_power_of_two() {
        tracing::warn!(source = index, dropped, "dropped a frame: {why}");
    } else {
        tracing::debug!(source = index, dropped, "dropped a frame: {why}");
    }
}
