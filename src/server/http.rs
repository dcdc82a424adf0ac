//! The HTTP side: routes, the bearer check, and the WebSocket upgrade.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use super::auth::{Principal, bearer_token};
use super::source::FleetSource;
use super::{Mount, ServerConfig, connection};

pub(super) const HEALTH_PATH: &str = "/healthz";

#[derive(Clone)]
struct Route {
    path: String,
    source: Arc<dyn FleetSource>,
    cfg: Arc<ServerConfig>,
    stop: watch::Receiver<bool>,
}

pub(super) fn router(
    cfg: Arc<ServerConfig>,
    endpoints: Vec<Mount>,
    stop: watch::Receiver<bool>,
) -> Router {
    let mut app = Router::new().route(HEALTH_PATH, get(|| async { "ok\n" }));
    for e in endpoints {
        let route = Route {
            path: e.path.clone(),
            source: e.source,
            cfg: Arc::clone(&cfg),
            stop: stop.clone(),
        };
        app = app.route(
            &e.path,
            get(
                move |upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
                      headers: HeaderMap,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>| {
                    upgrade_to_protocol(route.clone(), upgrade, headers, peer)
                },
            ),
        );
    }
    app
}

// An axum handler: async by contract, though it awaits nothing itself.
#[allow(clippy::unused_async)]
async fn upgrade_to_protocol(
    route: Route,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    peer: SocketAddr,
) -> Response {
    let principal = if let Some(authorize) = &route.cfg.authorize {
        match authorize.admit(bearer_token(&headers), &route.path) {
            Ok(p) => p,
            Err(denied) => {
                route.cfg.stats.refused();
                // Never log the header itself: it may hold a near-miss of a token.
                tracing::warn!(%peer, path = %route.path, status = %denied.status(), "upgrade refused");
                return denied.response();
            }
        }
    } else {
        if let Some(token) = &route.cfg.token
            && !bearer_matches(&headers, token)
        {
            route.cfg.stats.refused();
            // Never log the header itself: it may hold a near-miss of the token.
            tracing::warn!(%peer, path = %route.path, "upgrade refused: missing or wrong bearer token");
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token\n",
            )
                .into_response();
        }
        Principal::anyone()
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let limit = route.cfg.max_request_bytes;
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| {
            connection::serve(
                socket,
                route.source,
                Arc::clone(&route.cfg),
                route.stop,
                peer,
                route.path,
                principal,
            )
        })
}

/// `Authorization: Bearer <token>`, scheme case-insensitive, token compared in
/// constant time.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, given)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_token_must_match_exactly() {
        assert!(bearer_matches(&headers("Bearer s3cret"), "s3cret"));
        assert!(bearer_matches(&headers("bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(&headers("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(&headers("Basic s3cret"), "s3cret"));
        assert!(!bearer_matches(&HeaderMap::new(), "s3cret"));
    }
}
