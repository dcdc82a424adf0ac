//! `POST /v1/changes`: a CD pipeline, `qualtop changes add` or a PagerDuty
//! change-event hook reports a change; it is checked, stored (SQLite, so a
//! restart keeps it) and sent to every subscribed client.
//!
//! ```text
//! body ─▶ token (role ingest; header, or PagerDuty's routing_key) ─▶ shape ─▶ ChangeHub::publish ─▶ clients
//! ```
//!
//! Answers: 202 `{"status":"success","id":…,"stored":bool}` (PagerDuty's own
//! answer, plus the id); 400 with `{"error": "…"}` naming what is wrong;
//! 401/403 for the token; 413 for a body over [`MAX_CHANGE_BODY`]; 503 when
//! the store fails. Nothing is stored unless the answer is 202.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::clock::wall_ms;
use crate::server::{ChangeHub, PublishError};

use super::auth::RelayAuth;
use super::changes_shapes::{ShapeContext, parse_change, routing_key};
use super::config::Permission;

pub const CHANGES_PATH: &str = "/v1/changes";

/// Largest body: one change is a few hundred bytes.
pub const MAX_CHANGE_BODY: usize = 64 * 1024;

/// What the route needs.
pub struct ChangesState {
    pub auth: Arc<RelayAuth>,
    pub hub: Arc<ChangeHub>,
    /// PagerDuty `custom_details` key → dimension.
    pub mapping: BTreeMap<String, String>,
}

pub fn routes(state: ChangesState) -> Router {
    Router::new()
        .route(CHANGES_PATH, post(ingest))
        .with_state(Arc::new(state))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn ingest(
    State(s): State<Arc<ChangesState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // With a header, the token is checked before the body is read.
    let early = headers.contains_key(header::AUTHORIZATION);
    let mut who = None;
    if early {
        match s.auth.check(&headers, Permission::Ingest) {
            Ok(name) => who = name,
            Err(denied) => {
                tracing::warn!(%peer, status = %denied.status(), "change refused");
                return denied.response();
            }
        }
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CHANGE_BODY).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body over {MAX_CHANGE_BODY} bytes: post one change per request"),
        );
    };
    let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
    if !early {
        // A PagerDuty hook sends its key in the body, not a header.
        let mut with_key = HeaderMap::new();
        let key = parsed.as_ref().ok().and_then(routing_key);
        if let Some(value) = key.and_then(|k| HeaderValue::from_str(&format!("Bearer {k}")).ok()) {
            with_key.insert(header::AUTHORIZATION, value);
        }
        match s.auth.check(&with_key, Permission::Ingest) {
            Ok(name) => who = name,
            Err(denied) => {
                tracing::warn!(%peer, status = %denied.status(), "change refused");
                return denied.response();
            }
        }
    }
    let body = match parsed {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let ctx = ShapeContext {
        mapping: &s.mapping,
        received: wall_ms(),
        who: who.as_deref(),
    };
    let change = match parse_change(&body, ctx) {
        Ok(c) => c,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message),
    };
    let id = change.id.clone();
    let hub = Arc::clone(&s.hub);
    let published = tokio::task::spawn_blocking(move || hub.publish(change, wall_ms())).await;
    match published {
        Ok(Ok(stored)) => {
            tracing::info!(%peer, id = %id, stored, "change received");
            let message = if stored {
                "Change event processed"
            } else {
                "Change already held"
            };
            (
                StatusCode::ACCEPTED,
                Json(json!({"status": "success", "message": message, "id": id, "stored": stored})),
            )
                .into_response()
        }
        Ok(Err(PublishError::Invalid(e))) => refuse(StatusCode::BAD_REQUEST, &e.to_string()),
        Ok(Err(e @ PublishError::Storage(_))) => {
            tracing::error!(id = %id, "{e}");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay could not store the change; retry later",
            )
        }
        Err(e) => {
            tracing::error!(id = %id, "change store task: {e}");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay could not store the change; retry later",
            )
        }
    }
}
