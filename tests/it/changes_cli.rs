//! `qualtop changes add|flush`, the real binary against an in-process
//! relay: a pipeline step's change is stored; with the relay down it waits
//! in the outbox (exit 1) and `flush` sends it once the relay is back; a
//! change the relay refuses (unknown dimension) is said so and dropped (exit 2).

use crate::support;

use std::path::Path;
use std::process::Output;

use qualtop::protocol::{ChangeKind, Millis};
use qualtop::relay::changes_store::SqliteChanges;
use qualtop::relay::{self};
use qualtop::server::ChangeStore;
use support::relay::config;

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
name = "ci"
roles = ["ingest"]
env = "T_EVALS"
"#;

async fn changes(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        support::qualtop_command("changes")
            .env("QUALTOP_TOKEN", "evals-secret")
            .arg("changes")
            .args(args)
            .output()
            .expect("qualtop changes runs")
    })
    .await
    .unwrap()
}

fn pending(outbox: &Path) -> usize {
    std::fs::read_dir(outbox).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    })
}

fn add_args(relay: &str, outbox: &Path, scope: &str) -> Vec<String> {
    [
        "--relay",
        relay,
        "--outbox",
        &outbox.display().to_string(),
        "add",
        "--scope",
        scope,
        "--kind",
        "config",
        "--title",
        "tpu-serving config: sampler v7",
        "--at",
        "5m",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_waits_in_the_outbox_while_the_relay_is_down_and_flush_sends_it() {
    let data = support::TempDir::new("changes-cli-data");
    let outbox = support::TempDir::new("changes-cli-outbox");
    let mut cfg = config(TOML);
    cfg.data_dir = Some(data.path().to_path_buf());
    let port = support::free_port();
    cfg.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let url = format!("http://127.0.0.1:{port}");

    // The relay is not running yet: the change is kept.
    let out = changes(add_args(&url, outbox.path(), "hardware=tpu")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("kept in the outbox"), "{stderr}");
    assert_eq!(pending(outbox.path()), 1);

    let relay = relay::start(cfg).await.unwrap();
    let flush = vec![
        "--relay".into(),
        url.clone(),
        "--outbox".into(),
        outbox.path().display().to_string(),
        "flush".into(),
    ];
    let out = changes(flush).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pending(outbox.path()), 0, "sent and taken out");

    let out = changes(add_args(&url, outbox.path(), "model=atlas-m,hardware=tpu")).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let held = SqliteChanges::open_in(data.path())
        .unwrap()
        .between(0, Millis::MAX, 10)
        .unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    let c = &held[1];
    assert_eq!((c.kind, c.source.as_str()), (ChangeKind::Config, "ci"));
    assert_eq!(c.scope.len(), 2);
    assert!(
        (qualtop::clock::wall_ms() - c.at - 300_000).abs() < 60_000,
        "--at 5m is five minutes ago"
    );

    // Refused for good: said so, and not kept.
    let out = changes(add_args(&url, outbox.path(), "region=eu")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown dimension \"region\""), "{stderr}");
    assert_eq!(pending(outbox.path()), 0);
    relay.shutdown().await;
}
