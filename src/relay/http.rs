//! The relay's plain HTTP routes, merged into the protocol server:
//! `POST /v1/points` (push from eval jobs) and `GET /metrics.prom`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::protocol::{Millis, SignalKind, validate_counts};
use crate::server::{Hub, ServerStats, UpdatePoint};

use super::auth::RelayAuth;
use super::config::Permission;
use super::ingest::{IngestRules, parse_points};
use super::stats::{EndpointGauge, RelayStats};
use super::wall_ms;

pub const POINTS_PATH: &str = "/v1/points";
pub const METRICS_PAGE_PATH: &str = "/metrics.prom";

/// What the routes share.
pub struct HttpState {
    pub auth: Arc<RelayAuth>,
    /// Push-fed signals: kind and the hub that serves them.
    pub push: HashMap<String, (SignalKind, Arc<Hub>)>,
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
        .route(POINTS_PATH, post(push))
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
    let (points, report) = match parse_points(text, &rules) {
        Ok(x) => x,
        Err(message) => {
            s.stats.ingest_refused();
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, &message);
        }
    };
    let mut by_hub: Vec<(Arc<Hub>, Vec<UpdatePoint>)> = Vec::new();
    for p in points {
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
            slice: hub.intern(p.slice),
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
