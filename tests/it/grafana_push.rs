//! Grafana push against a local HTTP server that checks what Grafana's
//! annotations API documents: the path, the method, the bearer token, and a
//! body with `time`/`timeEnd` in ms, `tags` and `text`.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{patch, post};
use serde_json::{Value, json};

use qualtop::annotations::{GrafanaClient, GrafanaConfig};
use qualtop::protocol::{Annotation, AnnotationState};

#[derive(Default)]
struct Seen {
    requests: Vec<(String, Value)>,
    fail_next: u32,
}

type Shared = Arc<Mutex<Seen>>;

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer glsa_test")
}

fn check_shape(body: &Value) -> bool {
    body["time"].is_i64()
        && body["tags"]
            .as_array()
            .is_some_and(|t| t.iter().all(Value::is_string))
        && body["text"].is_string()
        && (body.get("timeEnd").is_none() || body["timeEnd"].is_i64())
}

async fn create(
    State(s): State<Shared>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorised(&h) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Unauthorized"})),
        );
    }
    let mut s = s.lock().unwrap();
    if s.fail_next > 0 {
        s.fail_next -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({})));
    }
    if !check_shape(&body) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "bad shape"})),
        );
    }
    s.requests.push(("POST".into(), body));
    (
        StatusCode::OK,
        Json(json!({"message": "Annotation added", "id": 41})),
    )
}

async fn update(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> StatusCode {
    if !authorised(&h) {
        return StatusCode::UNAUTHORIZED;
    }
    if id != 41 || !check_shape(&body) {
        return StatusCode::BAD_REQUEST;
    }
    s.lock()
        .unwrap()
        .requests
        .push((format!("PATCH {id}"), body));
    StatusCode::OK
}

async fn grafana() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/api/annotations", post(create))
        .route("/api/annotations/{id}", patch(update))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), shared)
}

fn annotation() -> Annotation {
    Annotation {
        id: "0b6f1f9e".into(),
        scope: [
            ("model".to_string(), "m4".to_string()),
            ("hardware".to_string(), "tpu".to_string()),
        ]
        .into(),
        signal: Some("golden-qa".into()),
        from: 1_756_770_300_000,
        to: None,
        state: AnnotationState::Suspected,
        text: "TPU slices of m4 look off".into(),
        author: "oncall-1".into(),
        rev: Some(1),
        created: None,
        updated: None,
    }
}

#[tokio::test]
async fn create_then_edit_posts_then_patches_with_token_and_tags() {
    let (url, seen) = grafana().await;
    let mut client = GrafanaClient::new(GrafanaConfig::new(url, Some("glsa_test".into()))).unwrap();
    assert_eq!(client.push(&annotation()).await.unwrap(), 41);
    let resolved = Annotation {
        state: AnnotationState::Resolved,
        to: Some(1_756_780_000_000),
        ..annotation()
    };
    assert_eq!(client.push(&resolved).await.unwrap(), 41);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 2);
    let (method, body) = &seen.requests[0];
    assert_eq!(method, "POST");
    assert_eq!(body["time"], 1_756_770_300_000i64);
    let tags: Vec<&str> = body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in [
        "qualtop",
        "model:m4",
        "hardware:tpu",
        "state:suspected",
        "signal:golden-qa",
    ] {
        assert!(tags.contains(&want), "tags {tags:?} lack {want}");
    }
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("TPU slices of m4 look off")
    );
    let (method, body) = &seen.requests[1];
    assert_eq!(method, "PATCH 41");
    assert_eq!(body["timeEnd"], 1_756_780_000_000i64);
    assert!(
        body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "state:resolved")
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_and_server_errors_are_retried() {
    let (url, seen) = grafana().await;
    let mut bad =
        GrafanaClient::new(GrafanaConfig::new(url.clone(), Some("wrong".into()))).unwrap();
    let e = bad.push(&annotation()).await.unwrap_err().to_string();
    assert!(e.contains("401"), "{e}");

    seen.lock().unwrap().fail_next = 2;
    let mut good = GrafanaClient::new(GrafanaConfig::new(url, Some("glsa_test".into()))).unwrap();
    assert_eq!(
        good.push(&annotation()).await.unwrap(),
        41,
        "two 503s, then success on the third attempt"
    );
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
}

#[tokio::test]
async fn an_unreachable_grafana_fails_after_its_attempts_without_hanging() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = GrafanaConfig::new(url, None);
    cfg.timeout = std::time::Duration::from_millis(500);
    let mut client = GrafanaClient::new(cfg).unwrap();
    let e = client.push(&annotation()).await.unwrap_err();
    assert!(format!("{e:#}").contains("cannot reach Grafana"), "{e:#}");
}
