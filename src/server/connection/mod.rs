//! One client connection: hello, then requests in and snapshots, batches,
//! annotations and heartbeats out, until either side leaves or the client
//! falls behind. Snapshots, batches and annotations share one `seq`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use crate::annotations::RateLimit;
use crate::protocol::{
    Annotation, Batch, Change, ClientMessage, CowStr, DecodeError, ErrorMessage, Heartbeat, Point,
    SNAPSHOT_PARTS_FEATURE, ServerMessage, SliceMap, Snapshot, Subscribe, decode_client,
};

mod findings;
mod notes;
mod parts;

use findings::{FindingsOut, next_findings};
use notes::next_relayed;

use super::ServerConfig;
use super::annotations::{AnnotationHub, Writer, hello_features, id_of_broken_annotate};
use super::auth::Principal;
use super::changes::next_change;
use super::rollup::check_group_by;
use super::source::{FleetSource, Update, UpdatePoint};

/// Why a connection ended, for the log.
#[derive(Debug)]
enum End {
    ClientLeft,
    ServerStopping,
    TooSlow(u64),
    SourceEnded,
    TooManySubscribes,
    NoRequest,
    SendFailed(String),
    /// Includes frames over the size limit.
    ReadFailed(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientLeft => f.write_str("client left"),
            End::ServerStopping => f.write_str("server shutting down"),
            End::TooSlow(missed) => write!(f, "too slow: {missed} updates behind"),
            End::SourceEnded => f.write_str("source ended"),
            End::TooManySubscribes => f.write_str("too many subscribes"),
            End::NoRequest => f.write_str("no request in time"),
            End::SendFailed(e) => write!(f, "send failed: {e}"),
            End::ReadFailed(e) => write!(f, "read failed: {e}"),
        }
    }
}

struct Connection {
    socket: WebSocket,
    source: Arc<dyn FleetSource>,
    cfg: Arc<ServerConfig>,
    /// Last seq sent; the first snapshot is 1.
    seq: u64,
    subscription: Option<(Subscribe, broadcast::Receiver<Arc<Update>>)>,
    /// Who the client is: what it may do, and the name it annotates under.
    principal: Principal,
    subscribes: RateLimit,
    /// Present when the server stores annotations.
    annotations: Option<Annotations>,
    /// Every change the source publishes from this connection's start on.
    changes: Option<broadcast::Receiver<Arc<Change>>>,
    /// The source's published detections, when it runs any.
    findings: Option<FindingsOut>,
}

/// This connection's side of the annotation hub.
struct Annotations {
    hub: Arc<AnnotationHub>,
    /// Every annotation stored from any connection, from this one's start on.
    relayed: broadcast::Receiver<Arc<Annotation>>,
    /// Whose budgets this connection's annotations are charged to.
    writer: Writer,
    /// The endpoint's dimensions, which a scope may name.
    dimensions: Vec<String>,
}

/// Serves one upgraded WebSocket until it ends.
pub(super) async fn serve(
    socket: WebSocket,
    source: Arc<dyn FleetSource>,
    cfg: Arc<ServerConfig>,
    stop: watch::Receiver<bool>,
    peer: SocketAddr,
    path: String,
    principal: Principal,
) {
    tracing::info!(%peer, %path, who = ?principal.name, "client connected");
    let stats = Arc::clone(&cfg.stats);
    stats.connected();
    let per_minute = cfg.max_subscribes_per_minute.max(1);
    let annotations = cfg.annotations.as_ref().map(|hub| Annotations {
        hub: Arc::clone(hub),
        relayed: hub.subscribe(),
        writer: Writer {
            peer: peer.ip(),
            token: principal.name.clone(),
            admin: principal.admin,
        },
        dimensions: source.hello().dimensions,
    });
    let changes = source.changes().map(|hub| hub.subscribe());
    let findings = source.findings().map(FindingsOut::new);
    let mut conn = Connection {
        changes,
        findings,
        socket,
        source,
        cfg,
        seq: 0,
        subscription: None,
        annotations,
        principal,
        subscribes: RateLimit::new(per_minute, per_minute),
    };
    let end = conn.run(stop).await;
    stats.disconnected();
    tracing::info!(%peer, %path, reason = %end, "client disconnected");
}

impl Connection {
    async fn run(&mut self, mut stop: watch::Receiver<bool>) -> End {
        let mut hello = self.source.hello();
        hello.features = hello_features(hello.features, self.annotations.is_some());
        if !hello.has_feature(SNAPSHOT_PARTS_FEATURE) {
            hello.features.push(SNAPSHOT_PARTS_FEATURE.to_owned());
        }
        let hello = with_slices(
            with_time_scale(
                ServerMessage::Hello(hello).to_json(),
                self.source.time_scale(),
            ),
            self.source.slices(),
        );
        if let Err(e) = self.send(hello).await {
            return e;
        }
        let period = self.cfg.heartbeat_interval;
        let mut heartbeat = interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // A socket that never asks for anything only holds a connection slot.
        let first_request = tokio::time::sleep(self.cfg.limits.first_request_timeout);
        tokio::pin!(first_request);
        let mut requested = false;
        loop {
            let end = tokio::select! {
                changed = stop.changed() => {
                    // A dropped sender means the server is gone too.
                    if changed.is_err() || *stop.borrow() {
                        self.close(close_code::AWAY, "server shutting down").await;
                        Err(End::ServerStopping)
                    } else {
                        Ok(())
                    }
                }
                frame = self.socket.recv() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        requested = true;
                        self.on_text(text.as_str()).await
                    }
                    Some(Ok(Message::Binary(_))) => {
                        self.send_error("bad_request", "protocol 1 uses text frames only", None).await
                    }
                    // Pings are answered by the WebSocket layer.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    Some(Ok(Message::Close(_))) | None => Err(End::ClientLeft),
                    Some(Err(e)) if is_oversize(&e) => {
                        // 1009 with a reason, so the client can say why it was cut off.
                        let reason = format!("frame over {} bytes", self.cfg.max_request_bytes);
                        self.close_with(close_code::SIZE, reason.clone()).await;
                        Err(End::ReadFailed(reason))
                    }
                    Some(Err(e)) => Err(End::ReadFailed(e.to_string())),
                },
                update = next_update(&mut self.subscription) => self.on_update(update).await,
                relayed = next_relayed(&mut self.annotations) => self.on_relayed(relayed).await,
                () = &mut first_request, if !requested => {
                    let reason = format!("no request within {:?}", self.cfg.limits.first_request_timeout);
                    self.close_with(close_code::POLICY, reason).await;
                    Err(End::NoRequest)
                }
                change = next_change(&mut self.changes) => self.on_change(change).await,
                () = next_findings(&mut self.findings) => self.send_findings().await,
                _ = heartbeat.tick() => {
                    let beat = ServerMessage::Heartbeat(Heartbeat { seq: self.seq, now: self.source.now() });
                    self.send(beat.to_json()).await
                }
            };
            if let Err(end) = end {
                return end;
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        match decode_client(text) {
            Ok(Some(ClientMessage::Subscribe(sub))) => self.on_subscribe(sub).await,
            Ok(Some(ClientMessage::Annotate(a))) => self.on_annotate(a).await,
            // Unknown message types are ignored (protocol 1, forward compatibility).
            Ok(None) => Ok(()),
            Err(e @ DecodeError::Malformed { .. }) if self.annotations.is_some() => {
                // An annotate that does not decode (say, an unknown state) is
                // refused by its id, so the sender's screen can say which.
                match id_of_broken_annotate(text) {
                    Some(id) => {
                        let message = format!("annotation {id:?}: {e}");
                        self.send_error("invalid_annotation", &message, Some(id))
                            .await
                    }
                    None => self.send_error("bad_request", &e.to_string(), None).await,
                }
            }
            Err(e) => self.send_error("bad_request", &e.to_string(), None).await,
        }
    }

    async fn on_subscribe(&mut self, sub: Subscribe) -> Result<(), End> {
        if sub.window_ms <= 0 {
            return self
                .send_error("bad_request", "subscribe: window_ms must be positive", None)
                .await;
        }
        if let Err(message) = check_group_by(&sub, &self.source.hello()) {
            return self.send_error("bad_request", &message, None).await;
        }
        if !self.subscribes.allow(Instant::now().into_std()) {
            let message = format!(
                "more than {} subscribes a minute; disconnecting",
                self.cfg.max_subscribes_per_minute
            );
            self.send_error("too_many_subscribes", &message, None)
                .await?;
            self.close(close_code::POLICY, "too many subscribes").await;
            return Err(End::TooManySubscribes);
        }
        self.cfg.stats.subscribed();
        let granted = self.source.subscribe(&sub);
        // Read after the relay receiver exists (it is made with the
        // connection): an annotation stored meanwhile comes in the snapshot,
        // or after it, or both (a repeat the client ignores by rev); never lost.
        let window = match &self.annotations {
            Some(a) => match a.hub.window(granted.window.from, granted.window.to).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!("annotations left out of a snapshot: {e:#}");
                    crate::annotations::WindowAnnotations::default()
                }
            },
            None => crate::annotations::WindowAnnotations::default(),
        };
        let annotations = window.annotations;
        let changes = match self.source.changes() {
            Some(hub) => {
                hub.for_snapshot(&sub, granted.window.from, granted.window.to)
                    .await
            }
            None => Vec::new(),
        };
        self.seq += 1;
        let snapshot = Snapshot {
            seq: self.seq,
            from: granted.window.from,
            to: granted.window.to,
            series: granted.window.series,
            annotations,
            changes,
            part: None,
        };
        let frames =
            parts::snapshot_frames(snapshot, sub.snapshot_parts, self.cfg.snapshot_part_bytes);
        tracing::debug!(filter = ?sub.filter, window_ms = sub.window_ms, "snapshot sent");
        self.subscription = Some((sub, granted.updates));
        // Parts go back to back: no batch, note or heartbeat between them
        // (updates wait in the subscription's queue meanwhile).
        for frame in frames {
            self.send(frame).await?;
        }
        // The source's standing state (e.g. an upstream that is down) follows
        // every snapshot, so a client that connects mid-outage sees it too.
        for notice in granted.notices {
            self.send_error(&notice.code, &notice.message, notice.id)
                .await?;
        }
        if window.left_out > 0 {
            let message = format!(
                "{} more annotations overlap this window than a snapshot carries; the most recently written were sent",
                window.left_out
            );
            self.send_error("annotations_truncated", &message, None)
                .await?;
        }
        // What detection concluded over this data, so the screen need not run its own.
        self.send_findings().await
    }

    async fn on_update(
        &mut self,
        update: Result<Arc<Update>, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        let update = match update {
            Ok(u) => u,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let message = format!(
                    "client fell {missed} updates behind; disconnecting (reconnect to resync)"
                );
                self.cfg.stats.dropped_slow(missed);
                self.send_error("too_slow", &message, None).await?;
                self.close(close_code::POLICY, "too slow").await;
                return Err(End::TooSlow(missed));
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.close(close_code::AWAY, "source ended").await;
                return Err(End::SourceEnded);
            }
        };
        let Some((sub, _)) = &self.subscription else {
            return Ok(());
        };
        let notices = update.notices.clone();
        let points: Vec<Point<'_>> = if sub.group_by.is_some() {
            self.source.rolled_points(sub, &update.points)
        } else {
            update
                .points
                .iter()
                .filter(|p| sub.matches(&p.slice))
                .map(borrowed_point)
                .collect()
        };
        if !points.is_empty() {
            let batch = ServerMessage::Batch(Batch {
                seq: self.seq + 1,
                points,
            })
            .to_json();
            self.seq += 1;
            self.send(batch).await?;
        }
        for notice in notices {
            self.send_error(&notice.code, &notice.message, notice.id)
                .await?;
        }
        Ok(())
    }

    async fn send_error(
        &mut self,
        code: &str,
        message: &str,
        id: Option<String>,
    ) -> Result<(), End> {
        tracing::debug!(code, message, "error sent to client");
        let error = ServerMessage::Error(ErrorMessage {
            code: code.to_owned(),
            message: message.to_owned(),
            id,
        });
        self.send(error.to_json()).await
    }

    /// Sends one text frame; a client that does not take it in time is dropped.
    async fn send(&mut self, text: String) -> Result<(), End> {
        let bytes = text.len();
        match tokio::time::timeout(self.cfg.send_timeout, self.socket.send(Message::text(text)))
            .await
        {
            Ok(Ok(())) => {
                self.cfg.stats.sent(bytes);
                Ok(())
            }
            Ok(Err(e)) => Err(End::SendFailed(e.to_string())),
            Err(_) => {
                self.cfg.stats.dropped_slow(0);
                Err(End::SendFailed(format!(
                    "send took longer than {:?}",
                    self.cfg.send_timeout
                )))
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        self.close_with(code, reason.to_owned()).await;
    }

    async fn close_with(&mut self, code: u16, reason: String) {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        // Best effort: the peer may already be gone.
        let _ = tokio::time::timeout(self.cfg.send_timeout, self.socket.send(frame)).await;
    }
}

/// Whether a read failed because the client's frame or message was over the limit.
fn is_oversize(e: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(WsError::Capacity(_)) = err.downcast_ref::<WsError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The next update of the current subscription; never ready without one.
async fn next_update(
    subscription: &mut Option<(Subscribe, broadcast::Receiver<Arc<Update>>)>,
) -> Result<Arc<Update>, broadcast::error::RecvError> {
    match subscription {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A wire point that borrows the shared slice and signal name instead of copying them.
fn borrowed_point(p: &UpdatePoint) -> Point<'_> {
    let (good, total, value) = match p.value {
        crate::protocol::BucketValue::Ratio { good, total } => {
            (Some(i64::from(good)), Some(i64::from(total)), None)
        }
        crate::protocol::BucketValue::Gauge(v) => (None, None, Some(v)),
    };
    Point {
        slice: SliceMap(
            p.slice
                .iter()
                .map(|(k, v)| (CowStr::from(k), CowStr::from(v)))
                .collect(),
        ),
        signal: CowStr::from(&*p.signal),
        ts: p.ts,
        good,
        total,
        value,
    }
}

/// Adds the optional `time_scale` to a hello frame (clients that do not
/// know the field ignore it, as protocol 1 asks of unknown fields).
/// Adds the optional `slices` (leaf slices held now) to an encoded hello.
pub fn with_slices(hello_json: String, slices: Option<u64>) -> String {
    let Some(n) = slices else {
        return hello_json;
    };
    match hello_json.strip_suffix('}') {
        Some(body) => format!("{body},\"slices\":{n}}}"),
        None => hello_json,
    }
}

pub fn with_time_scale(hello_json: String, scale: Option<f64>) -> String {
    let Some(scale) = scale.filter(|s| s.is_finite() && *s > 0.0) else {
        return hello_json;
    };
    match hello_json.strip_suffix('}') {
        Some(body) => format!("{body},\"time_scale\":{scale}}}"),
        None => hello_json,
    }
}
