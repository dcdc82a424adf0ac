//! A PromQL change source against a real VictoriaMetrics: a deployment's
//! generation steps once in the imported history; the relay finds exactly
//! that change, scoped and titled from the series' labels, and a restart
//! that reads the history again stores it once.

use crate::support;

use std::time::Duration;

use qualtop::clock::wall_ms;
use qualtop::protocol::{ChangeKind, Endpoint, Millis};
use qualtop::relay::changes_store::SqliteChanges;
use qualtop::relay::{self};
use qualtop::server::ChangeStore;
use support::relay::{client, config};
use support::wait::eventually;

const B: Millis = 5_000;
const WAIT: Duration = Duration::from_secs(20);

/// Generations of two deployments, one sample a second over `[first, last]`
/// (ms): atlas-m steps from 1 to 2 at `step_at`, atlas-s never changes.
fn import_lines(first: Millis, last: Millis, step_at: Millis) -> String {
    let ts: Vec<Millis> = (first / 1000..=last / 1000).map(|s| s * 1000).collect();
    let line = |deployment: &str, value: &dyn Fn(Millis) -> u32| {
        let values: Vec<String> = ts.iter().map(|&t| value(t).to_string()).collect();
        let stamps: Vec<String> = ts.iter().map(ToString::to_string).collect();
        format!(
            "{{\"metric\":{{\"__name__\":\"kube_deployment_status_observed_generation\",\"deployment\":\"{deployment}\",\"namespace\":\"serving\"}},\"values\":[{}],\"timestamps\":[{}]}}\n",
            values.join(","),
            stamps.join(",")
        )
    };
    line("atlas-m", &|t| if t < step_at { 1 } else { 2 }) + &line("atlas-s", &|_| 1)
}

fn relay_toml(url: &str) -> String {
    format!(
        r#"
bucket = "5s"
history = "120s"
dimensions = ["model"]

[prometheus]
url = "{url}"
delay = "1100ms"
timeout = "2s"
attempts = 1

[[signals]]
name = "generation"
kind = "gauge"
role = "other"
endpoint = "metrics"
value = 'max by (model) (no_such_metric)'

[changes]

[[changes.promql]]
name = "kube-deploys"
query = 'changes(kube_deployment_status_observed_generation[5s]) > 0'
kind = "deploy"
title = "{{deployment}} rolled out in {{namespace}}"
labels = {{ deployment = "model" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_step_in_victoria_metrics_becomes_one_change_across_restarts() {
    let Some(vm) = support::engines::victoria_metrics(
        "a_generation_step_in_victoria_metrics_becomes_one_change_across_restarts",
    ) else {
        return;
    };
    let now = wall_ms();
    let step_at = (now - 60_000) / 1000 * 1000;
    // From before the relay's history: a series' first sample reads as a
    // change to `changes()` in VictoriaMetrics, which is not this test's point.
    vm.import(&import_lines(now - 200_000, now - 2_000, step_at));
    let tmp = support::TempDir::new("changes-promql");
    let mut cfg = config(&relay_toml(&vm.url));
    cfg.data_dir = Some(tmp.path().to_path_buf());

    let relay = relay::start(cfg.clone()).await.unwrap();
    let (fleet, _feed) = client(&relay.url(Endpoint::Metrics), None);
    assert!(
        eventually(WAIT, || fleet.read(|f| !f.changes.is_empty())).await,
        "the generation step reaches the client"
    );
    // One more round must not add a second change for the same step.
    tokio::time::sleep(Duration::from_millis(2 * B as u64)).await;
    let changes = fleet.read(|f| f.changes.clone());
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!(c.scope.get("model").map(String::as_str), Some("atlas-m"));
    assert_eq!(c.title, "atlas-m rolled out in serving");
    assert_eq!(
        (c.kind, c.source.as_str()),
        (ChangeKind::Deploy, "promql:kube-deploys")
    );
    assert!(
        (step_at..=step_at + 3 * B).contains(&c.at),
        "at {} for a step at {step_at}",
        c.at
    );
    relay.shutdown().await;

    let relay = relay::start(cfg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(B as u64)).await;
    let held = SqliteChanges::open_in(tmp.path())
        .unwrap()
        .between(0, Millis::MAX, 100)
        .unwrap();
    assert_eq!(
        held.len(),
        1,
        "read again after a restart, stored once: {held:?}"
    );
    relay.shutdown().await;
}
