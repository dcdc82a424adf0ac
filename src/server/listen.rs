//! The accept loop: every TCP connection takes a slot of the [`Gate`] for
//! its whole life (TLS, HTTP and the WebSocket it may become), and meets a
//! deadline at each stage, so half-open or dribbling peers cannot exhaust
//! file descriptors and lock `/healthz` and real clients out.
//!
//! ```text
//! accept ─▶ gate (global + per-IP cap; 503 at the cap) ─▶ TLS handshake (timeout)
//!        ─▶ HTTP/1.1 headers (timeout) ─▶ body (timeout) ─▶ router / WebSocket upgrade
//! ```

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::limits::{AtCap, ConnectionLimits, Gate, Slot};
use super::stats::ServerStats;

/// Refusals being written at once; past this a refused peer is just closed,
/// so refusing costs bounded descriptors too.
const REFUSALS_IN_FLIGHT: usize = 32;
/// How long a refusal may take to write and be read.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// A request body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within {0:?}")]
pub struct BodyTimeout(pub Duration);

/// Whether reading a body failed on [`BodyTimeout`] (anywhere in its chain).
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTimeout>() {
            return true;
        }
        cur = err.source();
    }
    false
}

pub(super) struct Listen {
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub app: Router,
    pub limits: ConnectionLimits,
    pub stats: Arc<ServerStats>,
}

/// Accepts until `stop`, then lets each connection finish its request.
pub(super) async fn serve(l: Listen, mut stop: watch::Receiver<bool>) {
    let gate = Gate::new(&l.limits);
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            changed = stop.wait_for(|s| *s) => {
                let _ = changed;
                break;
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            accepted = l.listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match gate.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(cap) => {
                let n = l.stats.refused_at_cap();
                // Logged at 1, 2, 4, 8...: a flood must not flood the log too.
                if n.is_power_of_two() {
                    tracing::warn!(%peer, reason = %cap, refused = n, "connection refused at the cap");
                }
                refuse(tcp, cap, l.tls.is_some(), &refusing);
                continue;
            }
        };
        if l.tls.is_some() {
            // As before: TLS records go out at once; plain HTTP keeps Nagle.
            let _ = tcp.set_nodelay(true);
        }
        let conn = Conn {
            io: Counted {
                io: tcp,
                _slot: slot,
            },
            peer,
            tls: l.tls.clone(),
            app: l.app.clone(),
            limits: l.limits,
            stats: Arc::clone(&l.stats),
        };
        conns.spawn(conn.serve(stop.clone()));
    }
    while conns.join_next().await.is_some() {}
}

/// Tells a refused peer why, in plain HTTP (a TLS peer is just closed: there
/// is no cheap way to say it there).
fn refuse(mut tcp: TcpStream, cap: AtCap, tls: bool, refusing: &Arc<AtomicUsize>) {
    if tls || refusing.load(Ordering::Relaxed) >= REFUSALS_IN_FLIGHT {
        return;
    }
    refusing.fetch_add(1, Ordering::Relaxed);
    let refusing = Arc::clone(refusing);
    tokio::spawn(async move {
        let body = format!("{cap}\n");
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(REFUSAL_TIME, async {
            tcp.write_all(answer.as_bytes()).await?;
            tcp.shutdown().await?;
            // Read what the peer sent, so that closing does not reset the
            // connection and lose the answer before the peer reads it.
            let mut sink = [0u8; 1024];
            while tcp.read(&mut sink).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
        refusing.fetch_sub(1, Ordering::Relaxed);
    });
}

struct Conn {
    io: Counted<TcpStream>,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: ConnectionLimits,
    stats: Arc<ServerStats>,
}

impl Conn {
    async fn serve(self, stop: watch::Receiver<bool>) {
        let Conn {
            io,
            peer,
            tls,
            app,
            limits,
            stats,
        } = self;
        match tls {
            None => serve_http(io, peer, app, limits, stats, stop).await,
            Some(acceptor) => {
                match tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(io)).await
                {
                    Ok(Ok(tls)) => serve_http(tls, peer, app, limits, stats, stop).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => {
                        stats.timed_out();
                        tracing::debug!(%peer, "TLS handshake timed out");
                    }
                }
            }
        }
    }
}

async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    stats: Arc<ServerStats>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_timeout = limits.body_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(|body| Body::new(TimedBody::new(body, body_timeout)));
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    if e.is_timeout() {
                        stats.timed_out();
                    }
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A connection's I/O together with its slot, so the slot is held as long
/// as the socket is open, through an upgrade to a WebSocket too.
struct Counted<T> {
    io: T,
    _slot: Slot,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A request body with a deadline, counted from the end of its headers.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl TimedBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
