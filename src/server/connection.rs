//! One client connection: hello, then requests in and snapshots, batches,
//! annotations and heartbeats out, until either side leaves or the client
//! falls behind. Snapshots, batches and annotations share one `seq`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use crate::annotations::{RateLimit, Stored};
use crate::protocol::{
    Annotate, Annotation, AnnotationMessage, Batch, Change, ChangeMessage, ClientMessage, CowStr,
    DecodeError, ErrorMessage, Heartbeat, Point, ServerMessage, SliceMap, Snapshot, Subscribe,
    decode_client,
};

use super::ServerConfig;
use super::annotations::{AnnotationHub, hello_features, id_of_broken_annotate};
use super::auth::Principal;
use super::changes::next_change;
use super::source::{FleetSource, Update, UpdatePoint};

/// Why a connection ended, for the log.
#[derive(Debug)]
enum End {
    ClientLeft,
    ServerStopping,
    TooSlow(u64),
    SourceEnded,
    TooManySubscribes,
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
}

/// This connection's side of the annotation hub.
struct Annotations {
    hub: Arc<AnnotationHub>,
    /// Every annotation stored from any connection, from this one's start on.
    relayed: broadcast::Receiver<Arc<Annotation>>,
    limit: RateLimit,
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
        limit: hub.rate().limiter(),
        dimensions: source.hello().dimensions,
    });
    let changes = source.changes().map(|hub| hub.subscribe());
    let mut conn = Connection {
        changes,
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
        let hello = with_time_scale(
            ServerMessage::Hello(hello).to_json(),
            self.source.time_scale(),
        );
        if let Err(e) = self.send(hello).await {
            return e;
        }
        let period = self.cfg.heartbeat_interval;
        let mut heartbeat = interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
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
                    Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
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
                change = next_change(&mut self.changes) => self.on_change(change).await,
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
        let annotations = match &self.annotations {
            Some(a) => match a
                .hub
                .overlapping(granted.window.from, granted.window.to)
                .await
            {
                Ok(list) => list,
                Err(e) => {
                    tracing::error!("annotations left out of a snapshot: {e:#}");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let changes = match self.source.changes() {
            Some(hub) => {
                hub.for_snapshot(&sub, granted.window.from, granted.window.to)
                    .await
            }
            None => Vec::new(),
        };
        self.seq += 1;
        let snapshot = ServerMessage::Snapshot(Snapshot {
            seq: self.seq,
            from: granted.window.from,
            to: granted.window.to,
            series: granted.window.series,
            annotations,
            changes,
        });
        tracing::debug!(filter = ?sub.filter, window_ms = sub.window_ms, "snapshot sent");
        self.subscription = Some((sub, granted.updates));
        self.send(snapshot.to_json()).await?;
        // The source's standing state (e.g. an upstream that is down) follows
        // every snapshot, so a client that connects mid-outage sees it too.
        for notice in granted.notices {
            self.send_error(&notice.code, &notice.message, notice.id)
                .await?;
        }
        Ok(())
    }

    /// Stores an annotation. The echo to every subscriber (this one
    /// included) is the acknowledgement; a sender that has not subscribed,
    /// or resent an unchanged annotation, gets its echo directly.
    async fn on_annotate(&mut self, mut a: Annotate) -> Result<(), End> {
        // Role check and author stamp come first, whatever stores the annotation.
        if let Err(message) = self.principal.stamp(&mut a.annotation) {
            return self
                .send_error(
                    "forbidden",
                    &message,
                    Some(a.annotation.id.chars().take(64).collect()),
                )
                .await;
        }
        let data_now = self.source.now();
        let Some(ann) = self.annotations.as_mut() else {
            return self
                .send_error(
                    "unsupported",
                    "this server does not store annotations",
                    Some(a.annotation.id.chars().take(64).collect()),
                )
                .await;
        };
        let id = a.annotation.id.chars().take(64).collect::<String>();
        let hub = Arc::clone(&ann.hub);
        let stored = hub
            .accept(a.annotation, &ann.dimensions, &mut ann.limit, data_now)
            .await;
        match stored {
            Err(refusal) => {
                self.send_error(refusal.code, &refusal.message, Some(id))
                    .await
            }
            Ok(Stored::Unchanged(a)) => self.send_annotation(a).await,
            Ok(Stored::Created(a) | Stored::Updated(a)) if self.subscription.is_none() => {
                self.send_annotation(a).await
            }
            // The relay brings it back to this connection too.
            Ok(Stored::Created(_) | Stored::Updated(_)) => Ok(()),
        }
    }

    /// An annotation stored by any connection: subscribers see it.
    async fn on_relayed(
        &mut self,
        relayed: Result<Arc<Annotation>, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        match relayed {
            Ok(a) if self.subscription.is_some() => self.send_annotation((*a).clone()).await,
            Ok(_) => Ok(()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let message = format!(
                    "client fell {missed} annotations behind; disconnecting (reconnect to resync)"
                );
                self.send_error("too_slow", &message, None).await?;
                self.close(close_code::POLICY, "too slow").await;
                Err(End::TooSlow(missed))
            }
            // The hub outlives every connection; should it not, stop listening.
            Err(broadcast::error::RecvError::Closed) => {
                self.annotations = None;
                Ok(())
            }
        }
    }

    /// A change the source published: subscribers whose filter it meets
    /// see it (its receiver was made before any snapshot, so none is lost).
    async fn on_change(
        &mut self,
        change: Result<Arc<Change>, broadcast::error::RecvError>,
    ) -> Result<(), End> {
        match change {
            Ok(c)
                if self
                    .subscription
                    .as_ref()
                    .is_some_and(|(sub, _)| c.meets(sub)) =>
            {
                self.seq += 1;
                let message = ServerMessage::Change(ChangeMessage {
                    seq: self.seq,
                    change: (*c).clone(),
                });
                self.send(message.to_json()).await
            }
            Ok(_) => Ok(()),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let message = format!(
                    "client fell {missed} changes behind; disconnecting (reconnect to resync)"
                );
                self.send_error("too_slow", &message, None).await?;
                self.close(close_code::POLICY, "too slow").await;
                Err(End::TooSlow(missed))
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.changes = None;
                Ok(())
            }
        }
    }

    async fn send_annotation(&mut self, annotation: Annotation) -> Result<(), End> {
        self.seq += 1;
        let message = ServerMessage::Annotation(AnnotationMessage {
            seq: self.seq,
            annotation,
        });
        self.send(message.to_json()).await
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
        let points: Vec<Point<'_>> = update
            .points
            .iter()
            .filter(|p| sub.matches(&p.slice))
            .map(borrowed_point)
            .collect();
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

/// The next relayed annotation; never ready when the server has none.
async fn next_relayed(
    annotations: &mut Option<Annotations>,
) -> Result<Arc<Annotation>, broadcast::error::RecvError> {
    match annotations {
        Some(a) => a.relayed.recv().await,
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
pub fn with_time_scale(hello_json: String, scale: Option<f64>) -> String {
    let Some(scale) = scale.filter(|s| s.is_finite() && *s > 0.0) else {
        return hello_json;
    };
    match hello_json.strip_suffix('}') {
        Some(body) => format!("{body},\"time_scale\":{scale}}}"),
        None => hello_json,
    }
}
