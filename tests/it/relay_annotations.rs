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

const TOML_ROLES: &str = r#"
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

[[tokens]]
name = "other"
roles = ["read", "annotate"]
env = "T_OTHER"

[[tokens]]
name = "boss"
roles = ["read", "admin"]
env = "T_ADMIN"
"#;

/// Connects with `token`, subscribes, and waits for the snapshot.
async fn subscribed_as(url: &str, token: &str) -> support::relay::Ws {
    let mut ws = ws_connect(url, Some(token)).await.unwrap();
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    next_of(&mut ws, "snapshot", WAIT).await.unwrap();
    ws
}

/// Sends an annotate and returns its answer: an error, or the echo of this
/// text (relayed edits of others may come first).
async fn annotate(ws: &mut support::relay::Ws, text: &str, rev: Option<u64>) -> serde_json::Value {
    let from = wall_ms() - 60_000;
    let mut a = json!({"id": "owned-1", "scope": {"hardware": "tpu"}, "signal": null,
        "from": from, "to": null, "state": "suspected", "text": text, "author": "x"});
    if let Some(r) = rev {
        a["rev"] = json!(r);
    }
    ws.send(Message::text(
        json!({"type": "annotate", "annotation": a}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let v = next_json(ws, WAIT).await.unwrap();
        if v["type"] == "error" || v["annotation"]["text"] == text {
            return v;
        }
    }
}

#[tokio::test]
async fn only_the_author_or_an_admin_token_may_edit_an_annotation() {
    let relay = relay::start(config(TOML_ROLES)).await.unwrap();
    let url = relay.url(Endpoint::Evals);
    let mut author = subscribed_as(&url, "oncall-secret").await;
    let mut other = subscribed_as(&url, "other-secret").await;
    let mut admin = subscribed_as(&url, "admin-secret").await;

    let created = annotate(&mut author, "mine", None).await;
    assert_eq!(created["annotation"]["rev"], 1, "{created}");
    let refused = annotate(&mut other, "hijacked", Some(1)).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("only its author (oncall)")
    );

    // The admin's edit is taken, and the author stays the one who wrote it.
    let by_admin = annotate(&mut admin, "resolved by the incident lead", Some(1)).await;
    assert_eq!(by_admin["annotation"]["rev"], 2, "{by_admin}");
    assert_eq!(by_admin["annotation"]["author"], "oncall", "{by_admin}");
    let own = annotate(&mut author, "mine, edited on rev 2", Some(2)).await;
    assert_eq!(
        own["annotation"]["rev"], 3,
        "the author edits on the newest rev: {own}"
    );
    relay.shutdown().await;
}
