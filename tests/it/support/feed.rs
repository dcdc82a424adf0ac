//! A scripted protocol 1 server on loopback for the feed tests: each test
//! sends exact frames and checks what the client sends back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qualtop::feed::{FeedHandle, FeedOptions, Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::{
    Batch, ClientMessage, Hello, Millis, Point, Series, ServerMessage, Snapshot, SnapshotPart,
    Subscribe, decode_client,
};
use qualtop::store::Ratio;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::messages;

pub const BUCKET: Millis = 60_000;
/// A bucket boundary, so that `T0 + k·BUCKET` is bucket k of the window.
pub const T0: Millis = 28_333_333 * BUCKET;
pub const HISTORY_BUCKETS: i64 = 60;
/// Every test finishes well within this, or fails.
pub const TEST_LIMIT: Duration = Duration::from_secs(15);
/// How long a test waits for one expected thing.
pub const WAIT: Duration = Duration::from_secs(5);

/// The shared fast timers with this server's own: stale and dead, and a
/// connect that times out, within a test's wait.
pub fn fast_opts() -> FeedOptions {
    FeedOptions {
        backoff_max: Duration::from_millis(100),
        stale_after: Duration::from_secs(3),
        dead_after: Duration::from_secs(6),
        connect_timeout: Duration::from_secs(2),
        ..super::fast_feed()
    }
}

pub fn new_fleet() -> SharedFleet {
    SharedFleet::new(Fleet::with_sources(["test"]))
}

pub fn hello(epoch: &str) -> Hello {
    Hello {
        server: "scripted".into(),
        epoch: epoch.into(),
        ..messages::hello("latency", BUCKET, HISTORY_BUCKETS * BUCKET, T0)
    }
}

/// A ratio series of `quality` starting at bucket `first` (relative to T0).
pub fn ratio_series(
    model: &str,
    hw: &str,
    first: i64,
    counts: &[Option<(i64, i64)>],
) -> Series<'static> {
    messages::ratio_series(
        model,
        hw,
        T0 + first * BUCKET,
        counts.iter().map(|c| c.map(|(g, _)| g)).collect(),
        counts.iter().map(|c| c.map(|(_, t)| t)).collect(),
    )
}

pub fn snapshot(seq: u64, to_bucket: i64, series: Vec<Series<'static>>) -> ServerMessage<'static> {
    ServerMessage::Snapshot(Snapshot {
        seq,
        from: T0 + (to_bucket - HISTORY_BUCKETS) * BUCKET,
        to: T0 + to_bucket * BUCKET,
        series,
        annotations: vec![],
        changes: vec![],
        part: None,
    })
}

/// `whole` (a [`snapshot`]) sent as part `index` of `count` of the snapshot
/// whose id is its seq; `slices` is the fleet size a first part declares.
pub fn as_part(
    whole: ServerMessage<'static>,
    index: u32,
    count: u32,
    slices: Option<u64>,
) -> ServerMessage<'static> {
    let ServerMessage::Snapshot(whole) = whole else {
        panic!("only a snapshot comes in parts: {whole:?}")
    };
    ServerMessage::Snapshot(Snapshot {
        part: Some(SnapshotPart {
            id: whole.seq,
            index,
            count,
            slices,
        }),
        ..whole
    })
}

pub fn point(model: &str, hw: &str, bucket: i64, good: i64, total: i64) -> Point<'static> {
    messages::ratio_point(model, hw, T0 + bucket * BUCKET, good, total)
}

pub fn batch(seq: u64, points: Vec<Point<'static>>) -> ServerMessage<'static> {
    ServerMessage::Batch(Batch { seq, points })
}

/// The `quality` counts the client holds for a slice at bucket `k` (from T0).
pub fn quality_at(fleet: &SharedFleet, model: &str, hw: &str, k: i64) -> Option<Ratio> {
    fleet.read(|f| {
        let store = &f.store;
        let sig = store.signal_by_name("quality")?;
        let slices = store.slices();
        let id = slices.ids().find(|&id| {
            slices.pairs(id).eq([("model", model), ("hw", hw)]) // dimension order
        })?;
        store.ratio(sig, id, store.bucket_of(T0 + k * BUCKET))
    })
}

/// A listening socket on an ephemeral loopback port.
pub struct Server {
    listener: TcpListener,
    pub port: u16,
}

impl Server {
    pub async fn bind() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        Server { listener, port }
    }

    /// Binds a given port again, as a restarted server would.
    pub async fn rebind(port: u16) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("rebind loopback port");
        Server { listener, port }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Accepts one WebSocket client.
    pub async fn accept(&self) -> Conn {
        self.accept_checking(None).await.expect("upgrade refused")
    }

    /// Accepts one client; with `token`, refuses it with 401 unless it sent
    /// `Authorization: Bearer <token>`. Returns the header seen either way.
    pub async fn accept_checking(&self, token: Option<&str>) -> Result<Conn, Option<String>> {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("no client connected in time")
            .expect("accept");
        let seen = Arc::new(Mutex::new(None::<String>));
        let seen_in_callback = Arc::clone(&seen);
        let want = token.map(|t| format!("Bearer {t}"));
        // The signature is tungstenite's `Callback`; its error type is not ours to shrink.
        #[allow(clippy::result_large_err)]
        let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            *seen_in_callback.lock().expect("lock") = auth.clone();
            match &want {
                Some(w) if auth.as_deref() != Some(w.as_str()) => {
                    let mut refusal = ErrorResponse::new(Some("bad token".into()));
                    *refusal.status_mut() = StatusCode::UNAUTHORIZED;
                    Err(refusal)
                }
                _ => Ok(resp),
            }
        };
        let upgraded = tokio_tungstenite::accept_hdr_async(tcp, check).await;
        let auth = seen.lock().expect("lock").clone();
        match upgraded {
            Ok(ws) => Ok(Conn { ws, auth }),
            Err(_) => Err(auth),
        }
    }
}

/// One accepted client connection, server side.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    /// The Authorization header the client sent.
    pub auth: Option<String>,
}

impl Conn {
    pub async fn send(&mut self, msg: &ServerMessage<'_>) {
        self.send_text(msg.to_json()).await;
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("server send");
    }

    /// Sends without insisting: the client may hang up halfway (oversize).
    pub async fn try_send_text(&mut self, text: String) -> bool {
        self.ws.send(Message::text(text)).await.is_ok()
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("server send");
    }

    /// The next client message, skipping control frames.
    pub async fn recv(&mut self) -> Option<ClientMessage> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next()).await.ok()??;
            match frame.ok()? {
                Message::Text(t) => return decode_client(t.as_str()).ok().flatten(),
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    pub async fn expect_subscribe(&mut self) -> Subscribe {
        match self.recv().await {
            Some(ClientMessage::Subscribe(s)) => s,
            other => panic!("expected subscribe, got {other:?}"),
        }
    }

    /// Whether the client has closed (or dropped) the connection.
    pub async fn closed_by_client(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_) | Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// hello, then the client's subscribe.
    pub async fn greet(&mut self, epoch: &str) -> Subscribe {
        self.send(&ServerMessage::Hello(hello(epoch))).await;
        self.expect_subscribe().await
    }

    /// hello, then the subscribe, then a snapshot: a client that is live.
    pub async fn handshake(&mut self, epoch: &str, snap: &ServerMessage<'_>) -> Subscribe {
        let sub = self.greet(epoch).await;
        self.send(snap).await;
        sub
    }
}

/// A scripted server with qualtop's feed for source 0 of `fleet` (labelled
/// `t`) connected to it: the server, the feed, and the accepted connection,
/// before any hello.
pub async fn fed(fleet: &SharedFleet, opts: FeedOptions) -> (Server, FeedHandle, Conn) {
    let server = Server::bind().await;
    let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", server.url()), opts);
    let conn = server.accept().await;
    (server, feed, conn)
}
