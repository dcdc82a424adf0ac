//! The relay's memory is bounded through `POST /v1/points`: a cap on the
//! distinct slices of an endpoint and on label value length. The everyday
//! attack is a buggy eval job that puts a request id in a label; the
//! hostile one, megabyte label values. Both are refused by line with a
//! clear reason, and every client keeps getting small snapshots.

use std::time::Duration;

use crate::support;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self, RunningRelay};
use serde_json::{Value, json};
use support::relay::{config, next_json, next_of, post, ws_connect};
use tokio_tungstenite::tungstenite::Message;

const MIN: i64 = 60_000;
const WAIT: Duration = Duration::from_secs(10);

async fn start(limits: &str) -> RunningRelay {
    relay::start(config(&format!(
        r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "prompt"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[limits]
{limits}
"#
    )))
    .await
    .unwrap()
}

fn line(prompt: &str, ts: i64) -> String {
    json!({"slice": {"model": "m1", "prompt": prompt}, "signal": "golden-qa", "ts": ts, "good": 9, "total": 10})
        .to_string()
}

async fn push(relay: &RunningRelay, lines: &[String]) -> (u16, Value) {
    let (status, body) = post(&relay.http_url("/v1/points"), None, lines.join("\n")).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn subscribe(relay: &RunningRelay) -> (support::relay::Ws, Value) {
    let mut ws = ws_connect(&relay.url(Endpoint::Evals), None).await.unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    let snapshot = next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    (ws, snapshot)
}

#[tokio::test]
async fn a_job_that_labels_by_request_id_is_refused_by_line_past_max_slices_and_clients_keep_working()
 {
    let relay = start("max_slices = 50").await;
    let ts = wall_ms() / MIN * MIN - MIN;
    let (status, report) = push(&relay, &[line("capital-of-france", ts)]).await;
    assert_eq!((status, &report["accepted"]), (200, &json!(1)));
    let (mut early, _) = subscribe(&relay).await;

    // The bug: one slice per request.
    let lines: Vec<String> = (0..80).map(|i| line(&format!("req-{i:08x}"), ts)).collect();
    let (status, report) = push(&relay, &lines).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["accepted"], &report["rejected"]),
        (&json!(49), &json!(31))
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.first().unwrap()["line"], 50);
    assert_eq!(errors.last().unwrap()["line"], 80);
    let reason = errors[0]["error"].as_str().unwrap();
    assert!(
        reason.contains("limits.max_slices") && reason.contains("request id"),
        "{reason}"
    );

    // Screens are told why points are missing, now and on every later snapshot.
    let notice = next_of(&mut early, "error", WAIT).await.unwrap();
    assert_eq!(notice["code"], "slice_cap", "{notice}");
    let (mut late, snapshot) = subscribe(&relay).await;
    assert_eq!(snapshot["series"].as_array().unwrap().len(), 50);
    assert_eq!(
        next_of(&mut late, "error", WAIT).await.unwrap()["code"],
        "slice_cap"
    );

    // The slices already held still take points: the real evals go on.
    let (status, report) = push(&relay, &[line("capital-of-france", ts + MIN)]).await;
    assert_eq!((status, &report["accepted"]), (200, &json!(1)), "{report}");
    let batch = next_of(&mut late, "batch", WAIT).await.unwrap();
    assert_eq!(batch["points"][0]["slice"]["prompt"], "capital-of-france");

    let page = reqwest::get(relay.http_url("/metrics.prom"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("qualtop_relay_slices{endpoint=\"/evals\"} 50\n"),
        "{page}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_megabyte_label_value_is_refused_by_line_and_never_reaches_a_snapshot() {
    let relay = start("").await;
    let ts = wall_ms() / MIN * MIN - MIN;
    let huge = "x".repeat(1 << 20);
    let lines = [line("ok", ts), line(&huge, ts)];
    let (status, report) = push(&relay, &lines).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["accepted"], &report["rejected"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(report["errors"][0]["line"], 2);
    let reason = report["errors"][0]["error"].as_str().unwrap();
    assert!(
        reason.contains("1048576 bytes, over the cap of 128 (limits.max_label_value_bytes)"),
        "{reason}"
    );
    let (_ws, snapshot) = subscribe(&relay).await;
    assert!(
        snapshot.to_string().len() < 4096,
        "the snapshot stays small"
    );
    relay.shutdown().await;
}
