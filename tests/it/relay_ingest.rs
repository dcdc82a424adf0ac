//! The relay's push path and its guards, over loopback: eval jobs POST JSON
//! lines that reach every subscribed screen; bad lines are named; tokens,
//! roles, body size, points per request and connections per token are
//! enforced; a client that stops reading is cut off while others go on.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self, RunningRelay};
use qualtop::store::Ratio;
use serde_json::{Value, json};
use support::relay::{client, config, next_json, next_of, post, ratio_at, ws_connect};
use support::wait::eventually;
use tokio_tungstenite::tungstenite::Message;

const MIN: i64 = 60_000;
const WAIT: Duration = Duration::from_secs(10);
const EVALS: &str = "evals-secret";
const ONCALL: &str = "oncall-secret";
const VIEWER: &str = "viewer-secret";

fn toml(limits: &str) -> String {
    format!(
        r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[[signals]]
name = "judge-score"
kind = "gauge"
role = "quality"
endpoint = "evals"

[[tokens]]
name = "oncall"
roles = ["read", "annotate"]
env = "T_ONCALL"

[[tokens]]
name = "viewer"
roles = ["read"]
env = "T_VIEWER"

[[tokens]]
name = "eval-job"
roles = ["ingest"]
env = "T_EVALS"

[limits]
{limits}
"#
    )
}

async fn start(limits: &str) -> RunningRelay {
    relay::start(config(&toml(limits))).await.unwrap()
}

fn line(model: &str, ts: i64, good: i64, total: i64) -> String {
    json!({"slice": {"model": model, "hardware": "tpu"}, "signal": "golden-qa", "ts": ts, "good": good, "total": total})
        .to_string()
}

async fn subscribed(relay: &RunningRelay, token: &str) -> support::relay::Ws {
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), Some(token))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    assert_eq!(next_of(&mut ws, "snapshot", WAIT).await.unwrap()["seq"], 1);
    ws
}

#[tokio::test]
async fn pushed_points_reach_subscribers_and_each_bad_line_is_named() {
    let relay = start("").await;
    let mut ws = subscribed(&relay, ONCALL).await;
    let (fleet, _feed) = client(&relay.url(Endpoint::Evals), Some(ONCALL));
    assert!(eventually(WAIT, || support::relay::is_live(&fleet)).await);

    let ts = wall_ms() / MIN * MIN - MIN;
    let body = [
        line("m1", ts, 90, 100),
        line("m1", ts, 101, 100),
        "not json".to_owned(),
        String::new(),
        json!({"slice": {"model": "m2", "hardware": "tpu"}, "signal": "judge-score", "ts": ts, "value": 4.5})
            .to_string(),
        line("m1", 5, 1, 1),
        line("m2", ts, 7, 8).replace("golden-qa", "vibes"),
    ]
    .join("\n");
    let (status, answer) = post(&relay.http_url("/v1/points"), Some(EVALS), body).await;
    assert_eq!(status, 200, "{answer}");
    let report: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["rejected"], 4);
    let lines: Vec<i64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3, 6, 7]);

    // Exactly the good lines reach the subscriber, as one batch.
    let batch = next_of(&mut ws, "batch", WAIT).await.unwrap();
    assert_eq!(batch["seq"], 2);
    let points = batch["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{batch}");
    assert!(
        points
            .iter()
            .any(|p| p["good"] == 90 && p["total"] == 100 && p["ts"] == ts)
    );
    assert!(
        points
            .iter()
            .any(|p| p["value"] == 4.5 && p["slice"]["model"] == "m2")
    );
    // And qualtop's own client holds them.
    assert!(
        eventually(WAIT, || ratio_at(
            &fleet,
            "golden-qa",
            &[("model", "m1"), ("hardware", "tpu")],
            ts
        ) == Some(Ratio::new(90, 100)))
        .await
    );

    // A body where every line is bad is a 400 with the same report.
    let (status, answer) = post(&relay.http_url("/v1/points"), Some(EVALS), "nope\n".into()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("not a point object"), "{answer}");
}

#[tokio::test]
async fn tokens_and_roles_are_enforced_on_every_door() {
    let relay = start("").await;
    let points = relay.http_url("/v1/points");
    let body = line("m1", wall_ms() / MIN * MIN, 1, 1);
    assert_eq!(post(&points, None, body.clone()).await.0, 401);
    assert_eq!(post(&points, Some("guess"), body.clone()).await.0, 401);
    assert_eq!(post(&points, Some(VIEWER), body.clone()).await.0, 403);
    assert_eq!(post(&points, Some(EVALS), body).await.0, 200);

    let evals = relay.url(Endpoint::Evals);
    assert_eq!(ws_connect(&evals, None).await.err(), Some(401));
    assert_eq!(ws_connect(&evals, Some("guess")).await.err(), Some(401));
    assert_eq!(
        ws_connect(&evals, Some(EVALS)).await.err(),
        Some(403),
        "ingest cannot read"
    );
    assert!(ws_connect(&evals, Some(VIEWER)).await.is_ok());

    let page = relay.http_url("/metrics.prom");
    let get = |token: Option<&'static str>| {
        let page = page.clone();
        async move {
            let mut req = reqwest::Client::new().get(&page);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    assert_eq!(get(None).await.0, 401);
    let (status, text) = get(Some(VIEWER)).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("qualtop_relay_upgrades_refused_total 3\n"),
        "{text}"
    );
    assert!(
        text.contains("qualtop_relay_ingest_refused_total 3\n"),
        "{text}"
    );
    let health = reqwest::get(relay.http_url("/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "health needs no token");
}

#[tokio::test]
async fn oversize_bodies_and_too_many_points_are_refused_whole() {
    let relay = start("max_body_bytes = 2048\nmax_points_per_request = 5").await;
    let points = relay.http_url("/v1/points");
    let ts = wall_ms() / MIN * MIN;
    let big = vec![line("m1", ts, 1, 2); 40].join("\n");
    assert!(big.len() > 2048);
    let (status, answer) = post(&points, Some(EVALS), big).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("2048"), "{answer}");
    let six = vec![line("m1", ts, 1, 2); 6].join("\n");
    let (status, answer) = post(&points, Some(EVALS), six).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("more than 5 points"), "{answer}");
    let hub = relay.hub(Endpoint::Evals).unwrap();
    assert_eq!(hub.head(), None, "nothing of a refused request is kept");
    let five = vec![line("m1", ts, 1, 2); 5].join("\n");
    assert_eq!(post(&points, Some(EVALS), five).await.0, 200);
    assert_eq!(hub.head(), Some(ts));
}

#[tokio::test]
async fn a_token_may_hold_only_its_share_of_connections() {
    let relay = start("max_connections_per_token = 2").await;
    let url = relay.url(Endpoint::Evals);
    let a = ws_connect(&url, Some(VIEWER)).await.unwrap();
    let _b = ws_connect(&url, Some(VIEWER)).await.unwrap();
    assert_eq!(ws_connect(&url, Some(VIEWER)).await.err(), Some(429));
    assert!(
        ws_connect(&url, Some(ONCALL)).await.is_ok(),
        "another token has its own share"
    );
    drop(a);
    assert!(
        eventually(WAIT, || relay.server_stats().counts().connections_open <= 2).await,
        "the dropped connection was not noticed"
    );
    assert!(ws_connect(&url, Some(VIEWER)).await.is_ok());
}

#[tokio::test]
async fn a_reader_may_not_annotate_and_the_server_says_so_by_id() {
    let relay = start("").await;
    let mut ws = subscribed(&relay, VIEWER).await;
    let annotate = json!({"type": "annotate", "annotation": {
        "id": "a-1", "scope": {"model": "m1"}, "from": wall_ms() - MIN, "to": null,
        "state": "suspected", "text": "looks off", "author": "mallory"}});
    ws.send(Message::text(annotate.to_string())).await.unwrap();
    let error = next_of(&mut ws, "error", WAIT).await.unwrap();
    assert_eq!(error["code"], "forbidden", "{error}");
    assert_eq!(error["id"], "a-1");
    assert!(
        error["message"].as_str().unwrap().contains("viewer"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_while_others_keep_receiving() {
    // 2,000 slices a push: over the default max_slices of 1,000.
    let relay = start("client_queue = 8\nsend_timeout = \"2s\"\nmax_slices = 2000").await;
    let mut slow = subscribed(&relay, ONCALL).await;
    let mut fast = subscribed(&relay, VIEWER).await;
    let points = relay.http_url("/v1/points");
    let ts = wall_ms() / MIN * MIN;
    // Big batches (~170 KB each) fill the slow client's socket buffers.
    let per_push = 2_000;
    let pushes = 100;
    let received = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&received);
    let reader = tokio::spawn(async move {
        while counted.load(Ordering::SeqCst) < per_push * pushes {
            let Some(batch) = next_of(&mut fast, "batch", WAIT).await else {
                break;
            };
            let n = batch["points"].as_array().map_or(0, Vec::len);
            counted.fetch_add(n, Ordering::SeqCst);
        }
    });
    for k in 0..pushes {
        let body: Vec<String> = (0..per_push)
            .map(|i| line(&format!("m{i}"), ts, k as i64, 100))
            .collect();
        let (status, answer) = post(&points, Some(EVALS), body.join("\n")).await;
        assert_eq!(status, 200, "{answer}");
        // The fast client keeps pace: it never holds more than one push unread.
        let want = (k + 1) * per_push;
        assert!(
            eventually(WAIT, || received.load(Ordering::SeqCst) >= want).await,
            "the fast client stopped receiving at push {k}"
        );
    }
    reader.await.unwrap();
    assert_eq!(received.load(Ordering::SeqCst), per_push * pushes);
    assert!(
        eventually(WAIT, || relay.server_stats().counts().slow_disconnects >= 1).await,
        "the slow client was not cut off"
    );
    // Once it reads again it finds what was buffered, then the end.
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        let mut frames = 0;
        while next_json(&mut slow, WAIT).await.is_some() {
            frames += 1;
        }
        frames
    })
    .await
    .expect("the slow client's stream did not end");
    assert!(
        drained < pushes + 3,
        "{drained} frames: it was not cut off early"
    );
}
