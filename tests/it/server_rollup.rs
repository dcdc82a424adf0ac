//! Rollups on demand over a real loopback WebSocket: a relay fed exact
//! counts by `POST /v1/points` answers a `group_by` subscription with one
//! series per group, counts summed, and a late correction of one leaf with
//! its group's new sum.

use crate::support;

use std::time::Duration;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::{Endpoint, decode_server};
use qualtop::relay::{self, RunningRelay};
use serde_json::{Value, json};
use support::relay::{config, next_json, next_of, post, relay_toml, ws_connect};
use tokio_tungstenite::tungstenite::Message;

const MIN: i64 = 60_000;
const WAIT: Duration = Duration::from_secs(10);

fn line(model: &str, hardware: &str, ts: i64, good: i64, total: i64) -> String {
    json!({"slice": {"model": model, "hardware": hardware}, "signal": "golden-qa",
           "ts": ts, "good": good, "total": total})
    .to_string()
}

async fn push(relay: &RunningRelay, lines: &[String]) {
    let (status, body) = post(&relay.http_url("/v1/points"), None, lines.join("\n")).await;
    assert_eq!(status, 200, "{body}");
}

/// Connects, checks the hello offers rollups, and subscribes with `sub`.
async fn subscribed(relay: &RunningRelay, sub: Value) -> support::relay::Ws {
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), None).await.unwrap();
    let hello = next_json(&mut ws, WAIT).await.unwrap();
    assert!(
        hello["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "rollups"),
        "{hello}"
    );
    ws.send(Message::text(sub.to_string())).await.unwrap();
    ws
}

/// The good and total counts of `model`'s series at bucket `ts`.
fn counts_at(snapshot: &Value, model: &str, ts: i64) -> (i64, i64) {
    let series = snapshot["series"].as_array().unwrap();
    let s = series
        .iter()
        .find(|s| s["slice"] == json!({ "model": model }))
        .unwrap_or_else(|| panic!("no series for {model}: {snapshot}"));
    let i = ((ts - s["start"].as_i64().unwrap()) / MIN) as usize;
    (
        s["good"][i].as_i64().unwrap(),
        s["total"][i].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_grouped_subscription_gets_exact_sums_and_a_corrected_leaf_its_groups_new_sum() {
    let relay = relay::start(config(&relay_toml(&["model", "hardware"], "")))
        .await
        .unwrap();
    let ts = wall_ms() / MIN * MIN - MIN;
    push(
        &relay,
        &[
            line("a", "tpu", ts, 9, 10),
            line("a", "gpu", ts, 5, 10),
            line("b", "tpu", ts, 1, 2),
        ],
    )
    .await;
    let mut ws = subscribed(
        &relay,
        json!({"type": "subscribe", "window_ms": 3_600_000, "group_by": ["model"]}),
    )
    .await;
    let snapshot = next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    assert!(
        decode_server(&snapshot.to_string()).is_ok(),
        "a grouped snapshot is a protocol 1 snapshot"
    );
    assert_eq!(
        snapshot["series"].as_array().unwrap().len(),
        2,
        "{snapshot}"
    );
    assert_eq!(counts_at(&snapshot, "a", ts), (14, 20));
    assert_eq!(counts_at(&snapshot, "b", ts), (1, 2));

    // A late push corrects one leaf: the group's bucket is re-sent whole.
    push(&relay, &[line("a", "gpu", ts, 2, 10)]).await;
    let batch = next_of(&mut ws, "batch", WAIT).await.unwrap();
    assert_eq!(
        batch["points"],
        json!([{"slice": {"model": "a"}, "signal": "golden-qa", "ts": ts, "good": 11, "total": 20}])
    );

    // A leaf subscription on the same relay still gets leaves.
    let mut leaves = subscribed(&relay, json!({"type": "subscribe", "window_ms": 3_600_000})).await;
    let snapshot = next_of(&mut leaves, "snapshot", WAIT).await.unwrap();
    assert_eq!(snapshot["series"].as_array().unwrap().len(), 3);
    relay.shutdown().await;
}

#[tokio::test]
async fn group_by_an_unknown_dimension_is_refused_with_a_reason_and_the_connection_stays() {
    let relay = relay::start(config(&relay_toml(&["model", "hardware"], "")))
        .await
        .unwrap();
    let mut ws = subscribed(
        &relay,
        json!({"type": "subscribe", "window_ms": 60_000, "group_by": ["region"]}),
    )
    .await;
    let error = next_of(&mut ws, "error", WAIT).await.unwrap();
    assert_eq!(error["code"], "bad_request");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("unknown dimension \"region\""),
        "{message}"
    );
    ws.send(Message::text(
        json!({"type": "subscribe", "window_ms": 60_000, "group_by": ["hardware"]}).to_string(),
    ))
    .await
    .unwrap();
    assert!(next_of(&mut ws, "snapshot", WAIT).await.is_some());
    relay.shutdown().await;
}
