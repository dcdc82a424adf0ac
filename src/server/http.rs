//! The HTTP side: routes, the bearer check, and the WebSocket upgrade.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::HeaderMap;
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
    let principal = match &route.cfg.authorize {
        None => Principal::anyone(),
        Some(authorize) => match authorize.admit(bearer_token(&headers), &route.path) {
            Ok(p) => p,
            Err(denied) => {
                route.cfg.stats.refused();
                // Never log the header itself: it may hold a near-miss of a token.
                tracing::warn!(%peer, path = %route.path, status = %denied.status(), "upgrade refused");
                return denied.response();
            }
        },
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
