//! Annotations on the relay: stored in its SQLite file, signed with the
//! token's name (a client cannot impersonate), and still there after the
//! relay restarts on the same data directory.

use crate::support;

use std::time::Duration;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use serde_json::json;
use support::relay::{config, next_json, next_of, ws_connect};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

const TOML: &str = r#"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[[tokens]]
name = "oncall"
roles = ["read", "annotate"]
env = "T_ONCALL"
"#;

async fn subscribed(url: &str) -> support::relay::Ws {
    let mut ws = ws_connect(url, Some("oncall-secret")).await.unwrap();
    let hello = next_json(&mut ws, WAIT).await.unwrap();
    assert_eq!(hello["type"], "hello");
    assert!(
        hello["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "annotations"),
        "the relay shares annotations: {hello}"
    );
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    ws
}

#[tokio::test]
async fn annotations_are_signed_by_the_token_and_survive_a_relay_restart() {
    let tmp = support::TempDir::new("relay-annotations");
    let dir = tmp.path().to_path_buf();
    let mut cfg = config(TOML);
    cfg.data_dir = Some(dir.clone());

    let relay = relay::start(cfg.clone()).await.unwrap();
    let mut ws = subscribed(&relay.url(Endpoint::Evals)).await;
    let snapshot = next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    assert_eq!(snapshot["annotations"].as_array().unwrap().len(), 0);
    let from = wall_ms() - 60_000;
    let annotate = json!({"type": "annotate", "annotation": {
        "id": "relay-1", "scope": {"hardware": "tpu"}, "signal": "golden-qa",
        "from": from, "to": null, "state": "suspected",
        "text": "tpu looks off", "author": "someone-else"}});
    ws.send(Message::text(annotate.to_string())).await.unwrap();
    let echo = next_of(&mut ws, "annotation", WAIT).await.unwrap();
    assert_eq!(
        echo["annotation"]["author"], "oncall",
        "the token's name, not the claimed one: {echo}"
    );
    assert_eq!(echo["annotation"]["rev"], 1);
    drop(ws);
    relay.shutdown().await;

    let mut cfg2 = config(TOML);
    cfg2.data_dir = Some(dir.clone());
    let relay = relay::start(cfg2).await.unwrap();
    let mut ws = subscribed(&relay.url(Endpoint::Metrics)).await;
    let snapshot = next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    let held = snapshot["annotations"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{snapshot}");
    assert_eq!(held[0]["id"], "relay-1");
    assert_eq!(held[0]["text"], "tpu looks off");
    relay.shutdown().await;
}
