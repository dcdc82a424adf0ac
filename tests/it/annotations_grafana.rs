//! The Grafana push as wired: the sync task forwards each annotation of this
//! client once the backend acknowledged it, and the push task posts it,
//! retrying later when Grafana is down; an edit becomes a PATCH. A refused
//! annotation never reaches Grafana.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::TempDir;
use crate::support::annotations::*;
use crate::support::wait::{bounded, fleet_holds};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use qualtop::annotations::{GrafanaConfig, spawn_grafana_push};
use qualtop::protocol::AnnotationState;
use serde_json::{Value, json};

#[derive(Default)]
struct Grafana {
    /// Answer 503 to this many requests first.
    down_for: u32,
    requests: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<Grafana>>;

async fn create(State(g): State<Shared>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut g = g.lock().unwrap();
    if g.down_for > 0 {
        g.down_for -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({})));
    }
    g.requests.push(("POST".into(), body));
    (
        StatusCode::OK,
        Json(json!({"id": 7, "message": "Annotation added"})),
    )
}

async fn update(
    State(g): State<Shared>,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> StatusCode {
    g.lock()
        .unwrap()
        .requests
        .push((format!("PATCH {id}"), body));
    StatusCode::OK
}

async fn grafana(down_for: u32) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Grafana {
        down_for,
        ..Grafana::default()
    }));
    let app = axum::Router::new()
        .route("/api/annotations", post(create))
        .route("/api/annotations/{id}", patch(update))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

async fn until_requests(g: &Shared, n: usize) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = g.lock().unwrap().requests.clone();
        if seen.len() >= n || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_annotations_reach_grafana_after_it_comes_back_and_edits_patch() {
    bounded(TEST_LIMIT, async {
        // Down for more than one push's own attempts: the task must retry later.
        let (url, seen) = grafana(4).await;
        let data = TempDir::new("grafana");
        let outbox = TempDir::new("grafana-outbox");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (fleet, feeds, sync) = client(&[server.url("/metrics")], outbox.path());
        let cfg = GrafanaConfig {
            timeout: Duration::from_secs(2),
            retry_later: Duration::from_millis(100),
            ..GrafanaConfig::new(url, None)
        };
        assert!(sync.forward_acknowledged(spawn_grafana_push(cfg).unwrap()));

        let mut refused = note("refused", "never in Grafana");
        refused.scope.insert("colour".into(), "red".into());
        assert!(sync.submit(refused));
        let n = note("pushed", "TPU slices of atlas-s look off");
        assert!(sync.submit(n.clone()));
        assert!(
            fleet_holds(&fleet, WAIT, |f| f
                .annotation_errors
                .iter()
                .any(|(id, _)| id == "refused"))
            .await
        );

        let requests = until_requests(&seen, 1).await;
        assert_eq!(
            requests.len(),
            1,
            "posted once Grafana answered: {requests:?}"
        );
        assert_eq!(requests[0].0, "POST");
        assert_eq!(requests[0].1["time"], n.from);
        assert!(
            requests[0].1["text"]
                .as_str()
                .unwrap()
                .contains("atlas-s look off")
        );

        let edited = qualtop::protocol::Annotation {
            state: AnnotationState::Resolved,
            // An edit names the rev it was made on (#15), as the TUI's does.
            rev: Some(1),
            ..n
        };
        assert!(sync.submit(edited));
        let requests = until_requests(&seen, 2).await;
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(
            requests[1].0, "PATCH 7",
            "an edit updates Grafana's annotation"
        );
        assert!(
            requests[1].1["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("state:resolved"))
        );
        assert!(
            requests
                .iter()
                .all(|(_, b)| !b.to_string().contains("never in Grafana")),
            "a refused annotation is not pushed"
        );
        feeds.iter().for_each(|f| f.abort());
    })
    .await;
}
