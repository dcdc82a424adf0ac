//! One client connection: hello, then requests in and snapshots, batches and
//! heartbeats out, until either side leaves or the client falls behind.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use crate::protocol::{
    Annotate, Batch, ClientMessage, CowStr, ErrorMessage, Heartbeat, Point, ServerMessage,
    SliceMap, Snapshot, Subscribe, decode_client,
};

use super::ServerConfig;
use super::auth::Principal;
use super::source::{FleetSource, Update, UpdatePoint};
use crate::annotations::RateLimit;

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
    let mut conn = Connection {
        socket,
        source,
        cfg,
        seq: 0,
        subscription: None,
        principal,
        subscribes: RateLimit::new(per_minute, per_minute),
    };
    let end = conn.run(stop).await;
    stats.disconnected();
    tracing::info!(%peer, %path, reason = %end, "client disconnected");
}

impl Connection {
    async fn run(&mut self, mut stop: watch::Receiver<bool>) -> End {
        let hello = ServerMessage::Hello(self.source.hello());
        if let Err(e) = self.send(hello.to_json()).await {
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
                    Some(Err(e)) => Err(End::ReadFailed(e.to_string())),
                },
                update = next_update(&mut self.subscription) => self.on_update(update).await,
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
        self.seq += 1;
        let snapshot = ServerMessage::Snapshot(Snapshot {
            seq: self.seq,
            from: granted.window.from,
            to: granted.window.to,
            series: granted.window.series,
            annotations: Vec::new(),
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

    /// The place for annotations (a later change): until they are stored and
    /// relayed, say so instead of dropping the request silently.
    async fn on_annotate(&mut self, mut a: Annotate) -> Result<(), End> {
        // Role check and author stamp come first, whatever stores the annotation.
        if let Err(message) = self.principal.stamp(&mut a.annotation) {
            return self
                .send_error("forbidden", &message, Some(a.annotation.id))
                .await;
        }
        self.send_error(
            "unsupported",
            "annotations are not supported by this server yet",
            Some(a.annotation.id),
        )
        .await
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
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        // Best effort: the peer may already be gone.
        let _ = tokio::time::timeout(self.cfg.send_timeout, self.socket.send(frame)).await;
    }
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
