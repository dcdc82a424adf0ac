//! The task that keeps one backend connected: dial, hello, subscribe, read
//! frames until the connection ends, then wait and dial again.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::backoff::Backoff;
use super::config::{FeedOptions, SourceConfig};
use super::connect::{Ending, WsStream, describe, is_oversize, open};
use super::fleet::SharedFleet;
use super::flood::{MAX_PINGS_PER_SECOND, PingBudget, ResubscribeBackoff};
use super::hello::{decode_hello, hello_slices, hello_time_scale};
use super::session::{Session, Step, count_dropped_frame};
use super::status::{ConnState, SourceStatus};
use super::view::wants_scale_mode;
use crate::clock::wall_ms;
use crate::protocol::{ClientMessage, Subscribe};

/// Client messages waiting for a connection; more are refused, not buffered.
const OUTGOING_QUEUE: usize = 64;

/// Why a client message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("{OUTGOING_QUEUE} messages already wait for the backend")]
    QueueFull,
    #[error("the feed task has stopped")]
    Stopped,
}

/// A running feed task. Dropping the handle leaves the task running; call
/// [`FeedHandle::abort`] to stop it.
#[derive(Debug)]
pub struct FeedHandle {
    index: usize,
    outgoing: mpsc::Sender<ClientMessage>,
    task: JoinHandle<()>,
}

impl FeedHandle {
    /// The source's index in `Fleet::sources`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Queues a message (`annotate`, or `subscribe` with a new filter) for the
    /// backend; it leaves as soon as a connection is up.
    pub fn send(&self, msg: ClientMessage) -> Result<(), SendError> {
        self.outgoing.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SendError::Stopped,
        })
    }

    /// A sender for another task to use.
    pub fn sender(&self) -> mpsc::Sender<ClientMessage> {
        self.outgoing.clone()
    }

    /// Stops the task; the source keeps its last state and data.
    pub fn abort(&self) {
        self.task.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Starts the task for source `index` (must be called inside a tokio
/// runtime). Makes sure `Fleet::sources` has a status at `index`.
pub fn spawn_feed(
    fleet: SharedFleet,
    index: usize,
    cfg: SourceConfig,
    opts: FeedOptions,
) -> FeedHandle {
    fleet.write(|f| {
        while f.sources.len() <= index {
            let label = if f.sources.len() == index {
                cfg.label.clone()
            } else {
                String::new()
            };
            f.sources.push(SourceStatus::new(label));
        }
        super::findings::note_endpoint(f, index, &cfg.url);
    });
    let (outgoing, rx) = mpsc::channel(OUTGOING_QUEUE);
    let task = tokio::spawn(run(fleet, index, cfg, opts, rx));
    FeedHandle {
        index,
        outgoing,
        task,
    }
}

/// Starts one task per source, source `i` at index `i`.
pub fn spawn_feeds(
    fleet: &SharedFleet,
    sources: Vec<SourceConfig>,
    opts: &FeedOptions,
) -> Vec<FeedHandle> {
    sources
        .into_iter()
        .enumerate()
        .map(|(i, cfg)| spawn_feed(fleet.clone(), i, cfg, opts.clone()))
        .collect()
}

/// Waits until every source is live or has given up for now (failed or
/// disconnected), for one-shot commands. Returns false on timeout.
pub async fn wait_until_settled(fleet: &SharedFleet, timeout: Duration) -> bool {
    let mut changed = fleet.subscribe();
    let deadline = Instant::now() + timeout;
    loop {
        changed.borrow_and_update();
        if fleet.read(|f| f.sources.iter().all(SourceStatus::is_settled)) {
            return true;
        }
        match tokio::time::timeout_at(deadline, changed.changed()).await {
            Ok(Ok(())) => {}
            // Timed out, or (impossible while `fleet` lives) the sender is gone.
            Ok(Err(_)) | Err(_) => {
                return fleet.read(|f| f.sources.iter().all(SourceStatus::is_settled));
            }
        }
    }
}

fn set_state(fleet: &SharedFleet, index: usize, state: ConnState) {
    fleet.write(|f| {
        if let Some(s) = f.sources.get_mut(index) {
            s.state = state;
        }
    });
}

async fn run(
    fleet: SharedFleet,
    index: usize,
    cfg: SourceConfig,
    opts: FeedOptions,
    mut outgoing: mpsc::Receiver<ClientMessage>,
) {
    let mut backoff = Backoff::new(opts.backoff_min, opts.backoff_max, index as u64);
    // The last subscription the user asked for outlives the connection.
    let mut wanted: Option<Subscribe> = None;
    // Scale mode, once chosen, outlives it too: the leaves declared.
    let mut scale: Option<u64> = None;
    loop {
        // A failed source keeps showing why until a retry gets a good hello.
        fleet.write(|f| {
            if let Some(s) = f.sources.get_mut(index) {
                // Its clock went with the last connection.
                s.clock_current = false;
                if !s.state.is_failed() {
                    s.state = ConnState::Connecting;
                }
            }
        });
        let was_scaled = scale.is_some();
        let (ending, healthy) = connect_and_serve(
            &fleet,
            index,
            &cfg,
            &opts,
            &mut outgoing,
            (&mut wanted, &mut scale),
        )
        .await;
        if !was_scaled && scale.is_some() {
            // Hung up on a fleet too large to hold: dial again at once, in scale mode.
            continue;
        }
        if healthy {
            backoff.reset();
        }
        match ending {
            Ending::Failed(reason) => {
                tracing::error!(source = index, label = %cfg.label, "{reason}");
                set_state(&fleet, index, ConnState::Failed { reason });
                let Some(wait) = opts.failed_retry else {
                    return;
                };
                tokio::time::sleep(wait).await;
            }
            Ending::Lost(reason) => {
                let delay = backoff.next_delay();
                tracing::info!(
                    source = index,
                    label = %cfg.label,
                    retry_in_ms = delay.as_millis() as u64,
                    "disconnected: {reason}"
                );
                let retry_at = wall_ms().saturating_add(delay.as_millis() as i64);
                set_state(&fleet, index, ConnState::Disconnected { reason, retry_at });
                tokio::time::sleep(delay).await;
            }
        }
    }
}

async fn send(ws: &mut WsStream, msg: &ClientMessage) -> Result<(), Ending> {
    ws.send(Message::text(msg.to_json()))
        .await
        .map_err(|e| Ending::Lost(format!("cannot send: {}", describe(&e))))
}

/// Tells the backend why we hang up on its frame: close 1009 with a reason.
async fn close_oversize(ws: &mut WsStream) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let frame = CloseFrame {
        code: CloseCode::Size,
        reason: format!("frame over {} bytes", crate::protocol::MAX_FRAME_BYTES).into(),
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(Some(frame))).await;
}

/// Why a source whose snapshot cannot arrive in one frame is given up.
fn snapshot_too_large(what: &str) -> String {
    format!(
        "{what} while waiting for the snapshot: this backend sends its whole snapshot in one frame (no snapshot_parts); narrow the subscription with a filter (`/` in the TUI), or serve the fleet through a relay, which sends snapshots in parts"
    )
}

/// Sleeps until `at` (forever when `None`; the caller's guard skips that).
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Politely closes a connection we give up on, without waiting long.
async fn close(ws: &mut WsStream) {
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
}

/// Waits for the first data frame of a connection, which must be text.
async fn first_frame(
    ws: &mut WsStream,
    fleet: &SharedFleet,
    index: usize,
    silence: Duration,
) -> Result<String, Ending> {
    let deadline = Instant::now() + silence;
    let mut pings = PingBudget::new(Instant::now());
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| Ending::Lost(format!("no hello within {} ms", silence.as_millis())))?;
        match frame {
            None => return Err(Ending::Lost("connection closed before hello".into())),
            Some(Err(e)) => {
                if is_oversize(&e) {
                    count_dropped_frame(fleet, index, &describe(&e), wall_ms(), None);
                    close_oversize(ws).await;
                }
                return Err(Ending::Lost(describe(&e)));
            }
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Binary(_))) => {
                return Err(Ending::Failed(
                    "backend's first message is binary, not a hello".into(),
                ));
            }
            Some(Ok(Message::Close(_))) => {
                return Err(Ending::Lost(
                    "backend closed the connection before hello".into(),
                ));
            }
            Some(Ok(Message::Ping(_))) if !pings.allow(Instant::now()) => {
                return Err(Ending::Lost(format!(
                    "ping flood before hello: over {MAX_PINGS_PER_SECOND} pings in a second"
                )));
            }
            Some(Ok(_)) => {} // ping/pong: tungstenite answers pings itself
        }
    }
}

/// One connection from dial to end. Also says whether it was healthy
/// (live for `healthy_after`), which resets the backoff.
async fn connect_and_serve(
    fleet: &SharedFleet,
    index: usize,
    cfg: &SourceConfig,
    opts: &FeedOptions,
    outgoing: &mut mpsc::Receiver<ClientMessage>,
    (wanted, scale): (&mut Option<Subscribe>, &mut Option<u64>),
) -> (Ending, bool) {
    let mut ws = match open(cfg, opts.connect_timeout).await {
        Ok(ws) => ws,
        Err(e) => return (e, false),
    };
    let mut live_since: Option<Instant> = None;
    let ending = serve(
        &mut ws,
        fleet,
        index,
        opts,
        outgoing,
        (wanted, scale),
        &mut live_since,
    )
    .await;
    if matches!(ending, Ending::Failed(_)) {
        close(&mut ws).await;
    }
    let healthy = live_since.is_some_and(|t| t.elapsed() >= opts.healthy_after);
    (ending, healthy)
}

async fn serve(
    ws: &mut WsStream,
    fleet: &SharedFleet,
    index: usize,
    opts: &FeedOptions,
    outgoing: &mut mpsc::Receiver<ClientMessage>,
    (wanted, scale): (&mut Option<Subscribe>, &mut Option<u64>),
    live_since: &mut Option<Instant>,
) -> Ending {
    let hello = match first_frame(ws, fleet, index, opts.dead_after).await {
        Ok(text) => match decode_hello(&text) {
            Ok(hello) => {
                // A backend that says how many leaves it holds is read in scale
                // mode from the first subscribe, with no full snapshot to probe
                // (a filter may narrow the fleet: that case still probes).
                let declared = hello_slices(&text).filter(|_| opts.filter.is_empty());
                if scale.is_none()
                    && let Some(n) = declared
                    && wants_scale_mode(&hello, n, opts.scale_leaves)
                {
                    *scale = Some(n);
                }
                (hello, hello_time_scale(&text))
            }
            Err(e) => return e,
        },
        Err(e) => return e,
    };
    tracing::info!(
        source = index,
        server = %hello.0.server,
        epoch = %hello.0.epoch,
        "connected"
    );
    let mut shown = fleet.shown();
    shown.borrow_and_update();
    let mut session = match Session::start(fleet, index, hello, opts, (wanted.as_ref(), *scale)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let subscribe = ClientMessage::Subscribe(session.subscription().clone());
    if let Err(e) = send(ws, &subscribe).await {
        return e;
    }

    let mut last_heard = Instant::now();
    let mut stale = false;
    let mut outgoing_open = true;
    let mut pings = PingBudget::new(last_heard);
    let mut gaps = ResubscribeBackoff::default();
    // A resubscribe held back by the gap backoff.
    let mut resubscribe_at: Option<Instant> = None;
    loop {
        let silence_limit = if stale {
            opts.dead_after
        } else {
            opts.stale_after
        };
        tokio::select! {
            frame = ws.next() => {
                let now = wall_ms();
                match frame {
                    None => return Ending::Lost("connection closed by the backend".into()),
                    Some(Err(e)) => {
                        // After an oversize frame tungstenite cannot find the
                        // next frame boundary: the connection must be redialled.
                        if is_oversize(&e) {
                            session.drop_frame(fleet, &describe(&e), now);
                            close_oversize(ws).await;
                            if session.awaiting_snapshot {
                                // Most likely the snapshot itself: redialling
                                // would only fetch it again.
                                return Ending::Failed(snapshot_too_large(&describe(&e)));
                            }
                        }
                        return Ending::Lost(describe(&e));
                    }
                    Some(Ok(Message::Text(text))) => {
                        last_heard = Instant::now();
                        stale = false;
                        let step = session.on_text(fleet, text.as_str());
                        if let Step::Refuse(reason) = step {
                            return Ending::Failed(reason);
                        }
                        if let Step::Scale(leaves) = step {
                            // The rest of the full snapshot is not wanted: hang up on it.
                            *scale = Some(leaves);
                            close(ws).await;
                            return Ending::Lost(format!("{leaves} leaves: switching to scale mode"));
                        }
                        if step == Step::Resubscribe && resubscribe_at.is_none() {
                            let delay = gaps.after_gap(Instant::now());
                            if delay.is_zero() {
                                let again = ClientMessage::Subscribe(session.subscription().clone());
                                if let Err(e) = send(ws, &again).await {
                                    return e;
                                }
                            } else {
                                tracing::debug!(source = index, delay_ms = delay.as_millis() as u64, "resubscribe held back");
                                resubscribe_at = Some(Instant::now() + delay);
                            }
                        }
                        if live_since.is_none() && session.snapshots() > 0 {
                            *live_since = Some(last_heard);
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        stale = false;
                        session.drop_frame(fleet, "binary frame (protocol 1 is text only)", now);
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame
                            .map(|f| format!(": {} {}", u16::from(f.code), f.reason))
                            .unwrap_or_default();
                        return Ending::Lost(format!("backend closed the connection{why}"));
                    }
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite answers it; a flood of them is hostile.
                        if !pings.allow(Instant::now()) {
                            close(ws).await;
                            return Ending::Lost(format!(
                                "ping flood: over {MAX_PINGS_PER_SECOND} pings in a second"
                            ));
                        }
                    }
                    Some(Ok(_)) => {} // pong, or a raw frame tungstenite never yields
                }
            }
            () = sleep_until_some(session.part_deadline()), if session.part_deadline().is_some() => {
                if session.part_timed_out(fleet) == Step::Resubscribe {
                    let again = ClientMessage::Subscribe(session.subscription().clone());
                    if let Err(e) = send(ws, &again).await {
                        return e;
                    }
                }
            }
            () = sleep_until_some(resubscribe_at), if resubscribe_at.is_some() => {
                resubscribe_at = None;
                let again = ClientMessage::Subscribe(session.subscription().clone());
                if let Err(e) = send(ws, &again).await {
                    return e;
                }
            }
            changed = shown.changed(), if scale.is_some() => {
                if changed.is_err() {
                    continue;
                }
                let view = shown.borrow_and_update().clone();
                if let Some(sub) = session.show(fleet, view, false)
                    && let Err(e) = send(ws, &ClientMessage::Subscribe(sub)).await
                {
                    return e;
                }
            }
            msg = outgoing.recv(), if outgoing_open => match msg {
                None => outgoing_open = false,
                Some(msg) => {
                    if let ClientMessage::Subscribe(s) = &msg {
                        session.resubscribe_with(s.clone());
                        *wanted = Some(s.clone());
                    }
                    if let Err(e) = send(ws, &msg).await {
                        return e;
                    }
                }
            },
            () = tokio::time::sleep_until(last_heard + silence_limit) => {
                if stale {
                    return Ending::Lost(format!(
                        "no message for {} ms",
                        last_heard.elapsed().as_millis()
                    ));
                }
                stale = true;
                tracing::warn!(source = index, "no message for {} ms: stale", opts.stale_after.as_millis());
                set_state(fleet, index, ConnState::Stale);
            }
        }
    }
}
