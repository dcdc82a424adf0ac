//! The relay's plain HTTP routes, merged into the protocol server:
//! `POST /v1/points` (push from eval jobs) and `GET /metrics.prom`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::protocol::{Millis, Point, SignalKind, SliceMap, validate_counts};
use crate::server::{Hub, ServerStats, UpdatePoint};

use super::auth::RelayAuth;
use super::config::Permission;
use super::durable::{PushedBucket, Rereads, job_of, write_request};
use super::ingest::{IngestReport, IngestRules, LinedPoint, parse_points};
use super::remote_write::RemoteWriter;
use super::stats::{EndpointGauge, RelayStats};
use crate::clock::wall_ms;

pub const POINTS_PATH: &str = "/v1/points";
pub const METRICS_PAGE_PATH: &str = "/metrics.prom";

/// Pushes written to the engine, then read back by the poller.
pub struct Durable {
    pub writer: RemoteWriter,
    pub rereads: Arc<Rereads>,
}

/// Seconds an eval job should wait before retrying a push the engine did not take.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(serde::Deserialize)]
pub struct PushParams {
    /// Who reports: one series per job, summed when read.
    job: Option<String>,
}

/// What the routes share.
pub struct HttpState {
    pub auth: Arc<RelayAuth>,
    /// Push-fed signals: kind and the hub that serves them.
    pub push: HashMap<String, (SignalKind, Arc<Hub>)>,
    /// `None`: pushes are published from memory (not durable).
    pub durable: Option<Durable>,
    pub dimensions: Vec<String>,
    pub bucket_ms: Millis,
    pub history_ms: Millis,
    pub max_body_bytes: usize,
    pub max_points: usize,
    pub stats: Arc<RelayStats>,
    pub server_stats: Arc<ServerStats>,
    /// Every WebSocket endpoint's path and hub, for the metrics page.
    pub endpoints: Vec<(String, Arc<Hub>)>,
}

pub fn routes(state: HttpState) -> Router {
    Router::new()
        .route(POINTS_PATH, post(push).get(push_info))
        .route(METRICS_PAGE_PATH, get(metrics_page))
        .with_state(Arc::new(state))
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Validates a JSON-lines body and publishes the good lines. 200 with the
/// report when any line was taken (or the body was empty), 400 with the
/// report when every line was bad.
async fn push(
    State(s): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(params): Query<PushParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The token first: an unknown caller gets 401 before its body is read.
    let who = match s.auth.check(&headers, Permission::Ingest) {
        Ok(who) => who,
        Err(denied) => {
            s.stats.ingest_refused();
            // Never log the header: it may hold a near-miss of a token.
            tracing::warn!(%peer, status = %denied.status(), "push refused");
            return denied.response();
        }
    };
    let bytes = match axum::body::to_bytes(body, s.max_body_bytes).await {
        Ok(b) => b,
        Err(e) if crate::server::is_body_timeout(&e) => {
            s.stats.ingest_refused();
            return json_error(StatusCode::REQUEST_TIMEOUT, &e.to_string());
        }
        Err(_) => {
            s.stats.ingest_refused();
            let message = format!(
                "body over {} bytes (or broken off); split it",
                s.max_body_bytes
            );
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, &message);
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        s.stats.ingest_refused();
        return json_error(StatusCode::BAD_REQUEST, "body is not UTF-8 JSON lines");
    };
    let kinds: HashMap<String, SignalKind> =
        s.push.iter().map(|(n, (k, _))| (n.clone(), *k)).collect();
    let rules = IngestRules {
        dimensions: &s.dimensions,
        signals: &kinds,
        now: wall_ms(),
        window_ms: s.history_ms,
        bucket_ms: s.bucket_ms,
        max_points: s.max_points,
    };
    let (points, mut report) = match parse_points(text, &rules) {
        Ok(x) => x,
        Err(message) => {
            s.stats.ingest_refused();
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, &message);
        }
    };
    // Each point's slice is admitted by its endpoint's hub: past the cap on
    // distinct slices a new one is refused by line, durable or not.
    let points = admit_slices(&s, points, &mut report);
    if let Some(d) = &s.durable {
        let job = match job_of(params.job.as_deref(), who.as_deref()) {
            Ok(j) => j,
            Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
        };
        return push_durable(&s, d, &job, points, report).await;
    }
    let mut by_hub: Vec<(Arc<Hub>, Vec<UpdatePoint>)> = Vec::new();
    for (p, slice) in points {
        let Some((kind, hub)) = s.push.get(p.signal.as_str()) else {
            continue;
        };
        // parse_points checked the counts; this turns them into the hub's form.
        let Ok(value) = validate_counts(*kind, p.good, p.total, p.value) else {
            continue;
        };
        let Some(signal) = hub.signal(p.signal.as_str()) else {
            continue;
        };
        let point = UpdatePoint {
            slice,
            signal,
            ts: p.ts,
            value,
        };
        match by_hub.iter_mut().find(|(h, _)| Arc::ptr_eq(h, hub)) {
            Some((_, list)) => list.push(point),
            None => by_hub.push((Arc::clone(hub), vec![point])),
        }
    }
    for (hub, points) in by_hub {
        hub.publish(points);
    }
    s.stats.ingest(report.accepted, report.rejected);
    tracing::debug!(%peer, who = ?who, accepted = report.accepted, rejected = report.rejected, "push");
    let status = if report.accepted == 0 && report.rejected > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, Json(report)).into_response()
}

/// The points whose slice their endpoint's hub holds or takes; the others
/// are refused in `report` by line.
fn admit_slices(
    s: &HttpState,
    points: Vec<LinedPoint>,
    report: &mut IngestReport,
) -> Vec<(Point<'static>, Arc<SliceMap<'static>>)> {
    let mut out = Vec::with_capacity(points.len());
    for (line, p) in points {
        let Some((_, hub)) = s.push.get(p.signal.as_str()) else {
            continue;
        };
        match hub.admit(p.slice.clone()) {
            Ok(slice) => out.push((p, slice)),
            Err(refused) => report.refuse(line, refused.to_string()),
        }
    }
    out
}

/// What a pusher needs to aggregate before it posts (`qualtop push`): the
/// bucket, the window, the dimensions and the push-fed signals.
async fn push_info(State(s): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = s.auth.check(&headers, Permission::Ingest) {
        return denied.response();
    }
    let mut signals: Vec<serde_json::Value> = s
        .push
        .iter()
        .map(|(name, (kind, _))| json!({ "name": name, "kind": kind }))
        .collect();
    signals.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({
        "bucket_ms": s.bucket_ms,
        "history_ms": s.history_ms,
        "dimensions": s.dimensions,
        "signals": signals,
        "durable": s.durable.is_some(),
        "now": wall_ms(),
        "max_points": s.max_points,
    }))
    .into_response()
}

/// Writes the points to the engine: 200 only once it took them, else 503
/// with `Retry-After` and nothing acknowledged.
async fn push_durable(
    s: &HttpState,
    d: &Durable,
    job: &str,
    points: Vec<(Point<'static>, Arc<SliceMap<'static>>)>,
    report: IngestReport,
) -> Response {
    let bucket_ms = s.bucket_ms.max(1);
    let mut buckets = Vec::with_capacity(points.len());
    for (p, _) in points {
        let Some((kind, _)) = s.push.get(p.signal.as_str()) else {
            continue;
        };
        let Ok(value) = validate_counts(*kind, p.good, p.total, p.value) else {
            continue;
        };
        let slice = s
            .dimensions
            .iter()
            .map(|dim| (dim.clone(), p.slice.get(dim).unwrap_or("").to_owned()))
            .collect();
        buckets.push(PushedBucket {
            signal: p.signal.as_str().to_owned(),
            slice,
            bucket: p.ts.div_euclid(bucket_ms),
            value,
        });
    }
    if buckets.is_empty() {
        s.stats.ingest(0, report.rejected);
        let status = if report.rejected > 0 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        return (status, Json(report)).into_response();
    }
    let req = write_request(&buckets, job, bucket_ms, s.history_ms, wall_ms());
    if let Err(e) = d.writer.write(&req).await {
        s.stats.ingest_refused();
        tracing::warn!(error = %e, "push not written to the engine");
        let body = json!({
            "error": format!("{e}; nothing from this request was stored, retry it"),
            "accepted": 0,
            "rejected": report.rejected,
            "errors": report.errors,
        });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
            Json(body),
        )
            .into_response();
    }
    let mut ranges: HashMap<&str, (i64, i64)> = HashMap::new();
    for b in &buckets {
        let r = ranges.entry(&b.signal).or_insert((b.bucket, b.bucket));
        *r = (r.0.min(b.bucket), r.1.max(b.bucket));
    }
    for (signal, (from, to)) in ranges {
        d.rereads.request(signal, from, to);
    }
    s.stats.ingest(report.accepted, report.rejected);
    (StatusCode::OK, Json(report)).into_response()
}

async fn metrics_page(State(s): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = s.auth.check(&headers, Permission::Read) {
        return denied.response();
    }
    let endpoints: Vec<EndpointGauge> = s
        .endpoints
        .iter()
        .map(|(path, hub)| EndpointGauge {
            path: path.clone(),
            subscribed: hub.receivers(),
            head: hub.head(),
            slices: hub.slices(),
        })
        .collect();
    let page = s.stats.render(&s.server_stats.counts(), &endpoints);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        page,
    )
        .into_response()
}
