//! `POST /v1/changes` on the relay: qualtop's JSON and PagerDuty's change
//! event are stored and reach subscribed clients (raw and qualtop's own
//! feed); bad input gets a clear error and stores nothing; changes survive
//! a restart; a hostile title arrives as data and is neutralised on display.

use crate::support;

use std::path::Path;
use std::time::Duration;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::{Endpoint, Millis};
use qualtop::relay::changes_store::SqliteChanges;
use qualtop::relay::{self};
use qualtop::server::ChangeStore;
use qualtop::text::sanitize::sanitize;
use serde_json::{Value, json};
use support::relay::{client, config, next_json, next_of, post, ws_connect};
use support::wait::eventually;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

const TOML: &str = r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware", "region"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[changes]
custom_details = { service = "model", accelerator = "hardware" }

[[tokens]]
name = "oncall"
roles = ["read", "annotate"]
env = "T_ONCALL"

[[tokens]]
name = "ci"
roles = ["ingest"]
env = "T_EVALS"
"#;

async fn subscribed(url: &str) -> (support::relay::Ws, Value) {
    let mut ws = ws_connect(url, Some("oncall-secret")).await.unwrap();
    let hello = next_json(&mut ws, WAIT).await.unwrap();
    assert!(
        hello["features"]
            .as_array()
            .unwrap()
            .contains(&json!("changes")),
        "the relay serves changes: {hello}"
    );
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    let snapshot = next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    (ws, snapshot)
}

fn stored(dir: &Path) -> usize {
    SqliteChanges::open_in(dir)
        .unwrap()
        .between(0, Millis::MAX, 1000)
        .unwrap()
        .len()
}

fn relay_in(dir: &Path) -> relay::config::RelayConfig {
    let mut cfg = config(TOML);
    cfg.data_dir = Some(dir.to_path_buf());
    cfg
}

#[tokio::test]
async fn changes_in_each_accepted_shape_are_stored_and_reach_subscribed_clients() {
    let tmp = support::TempDir::new("changes-shapes");
    let relay = relay::start(relay_in(tmp.path())).await.unwrap();
    let url = relay.http_url("/v1/changes");
    let (mut ws, snapshot) = subscribed(&relay.url(Endpoint::Evals)).await;
    assert!(snapshot.get("changes").is_none(), "none yet: {snapshot}");
    let (fleet, _feed) = client(&relay.url(Endpoint::Metrics), Some("oncall-secret"));

    let at = wall_ms() - 120_000;
    let own = json!({"id": "deploy-42", "at": at, "scope": {"hardware": "tpu"}, "kind": "deploy",
        "title": "tpu-runtime v42", "link": "https://ci.example/42"});
    let (status, body) = post(&url, Some("evals-secret"), own.to_string()).await;
    assert_eq!(status, 202, "{body}");
    let msg = next_of(&mut ws, "change", WAIT).await.unwrap();
    assert_eq!(msg["change"]["id"], "deploy-42");
    assert_eq!(
        msg["change"]["source"], "ci",
        "the token's name when none is given"
    );

    // PagerDuty's shape, its key in the body as a CD hook sends it.
    let pd = json!({
        "routing_key": "evals-secret",
        "payload": {"summary": "atlas-m router weights", "timestamp": "2026-12-02T10:00:00.000+0000",
            "source": "argo", "custom_details": {"service": "atlas-m", "accelerator": "tpu", "build": "ok"}},
        "links": [{"href": "https://argo.example/run/7", "text": "run"}]
    });
    let (status, body) = post(&url, None, pd.to_string()).await;
    assert_eq!(status, 202, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "success");
    let msg = next_of(&mut ws, "change", WAIT).await.unwrap();
    assert_eq!(
        msg["change"]["scope"],
        json!({"model": "atlas-m", "hardware": "tpu"})
    );
    assert_eq!(msg["change"]["at"], 1_796_205_600_000_i64);
    assert_eq!(msg["change"]["link"], "https://argo.example/run/7");
    assert_eq!(msg["change"]["kind"], "deploy");
    // The same event again is held once.
    let (status, body) = post(&url, None, pd.to_string()).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("\"stored\":false"), "{body}");
    assert_eq!(stored(tmp.path()), 2);

    assert!(
        eventually(WAIT, || fleet.read(|f| f.changes.len() == 2)).await,
        "qualtop's own client holds both: {:?}",
        fleet.read(|f| f.changes.clone())
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn bad_changes_get_a_clear_error_and_store_nothing() {
    let tmp = support::TempDir::new("changes-bad");
    let relay = relay::start(relay_in(tmp.path())).await.unwrap();
    let url = relay.http_url("/v1/changes");
    let now = wall_ms();
    let good = json!({"at": now, "title": "t", "kind": "config", "scope": {"model": "m"}});
    let cases: Vec<(Option<&str>, String, u16, &str)> = vec![
        (
            Some("evals-secret"),
            json!({"title": "t"}).to_string(),
            400,
            "\"at\" is required",
        ),
        (
            Some("evals-secret"),
            json!({"at": "noon", "title": "t"}).to_string(),
            400,
            "RFC 3339",
        ),
        (
            Some("evals-secret"),
            json!({"at": now, "title": "t", "scope": {"cluster": "c1"}}).to_string(),
            400,
            "unknown dimension \"cluster\"",
        ),
        (
            Some("evals-secret"),
            json!({"at": now, "title": "x".repeat(70_000)}).to_string(),
            413,
            "body over",
        ),
        (Some("evals-secret"), "{not json".into(), 400, "not JSON"),
        (
            Some("evals-secret"),
            json!({"payload": {"source": "argo"}}).to_string(),
            400,
            "payload.summary",
        ),
        (None, good.to_string(), 401, ""),
        (Some("oncall-secret"), good.to_string(), 403, ""),
        (
            None,
            json!({"routing_key": "nope", "payload": {"summary": "s"}}).to_string(),
            401,
            "",
        ),
    ];
    for (token, body, status, says) in cases {
        let (got, answer) = post(&url, token, body.clone()).await;
        let shown: String = body.chars().take(80).collect();
        assert_eq!(got, status, "{shown}: {answer}");
        let error = serde_json::from_str::<Value>(&answer)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| answer.clone());
        assert!(error.contains(says), "{shown}: {answer}");
    }
    assert_eq!(stored(tmp.path()), 0, "nothing was stored");
    let (_ws, snapshot) = subscribed(&relay.url(Endpoint::Evals)).await;
    assert!(snapshot.get("changes").is_none(), "{snapshot}");
    relay.shutdown().await;
}

#[tokio::test]
async fn changes_survive_a_relay_restart_and_a_hostile_title_is_neutralised_on_display() {
    let tmp = support::TempDir::new("changes-restart");
    let relay = relay::start(relay_in(tmp.path())).await.unwrap();
    let title = "\u{1b}]0;pwned\u{7}deploy \u{202e}v2\u{1b}[2J";
    let change =
        json!({"id": "evil-1", "at": wall_ms() - 60_000, "kind": "deploy", "title": title});
    let (status, body) = post(
        &relay.http_url("/v1/changes"),
        Some("evals-secret"),
        change.to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    relay.shutdown().await;

    let relay = relay::start(relay_in(tmp.path())).await.unwrap();
    let (_ws, snapshot) = subscribed(&relay.url(Endpoint::Evals)).await;
    let held = snapshot["changes"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{snapshot}");
    assert_eq!(held[0]["title"], title, "kept as data, verbatim");
    let (fleet, _feed) = client(&relay.url(Endpoint::Evals), Some("oncall-secret"));
    assert!(eventually(WAIT, || fleet.read(|f| f.changes.len() == 1)).await);
    let shown = fleet.read(|f| sanitize(&f.changes[0].title).into_owned());
    assert!(
        !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{shown:?}"
    );
    assert!(
        shown.contains("deploy") && shown.contains("v2"),
        "{shown:?}"
    );
    relay.shutdown().await;
}
