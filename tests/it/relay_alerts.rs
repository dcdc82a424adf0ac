//! Detection that pages: a fault replayed through a real VictoriaMetrics
//! into `qualtop serve` is found by the relay's own detectors, shown on
//! `/metrics.prom` as `qualtop_regression_active` with its scope as labels,
//! and fires a real Prometheus alerting rule; with `[alerts]` the relay
//! posts it to a real Alertmanager itself.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::engines::http_get;
use support::relay_fault::faulty_relay;
use support::wait::eventually;

/// The rule docs/relay.md gives, word for word.
const RULES: &str = "groups:
  - name: qualtop
    rules:
      - alert: QualityRegression
        expr: qualtop_regression_active == 1
        for: 0m          # the detectors already waited for significance
        labels:
          severity: page
        annotations:
          summary: '{{ $labels.signal }} regressed in {{ $labels.model }} {{ $labels.hardware }}'
";

/// Buckets the fault lasts, from three buckets after the relay starts.
const FAULT_BUCKETS: i64 = 15;

fn is_m2_tpu(labels: &Value) -> bool {
    labels["signal"] == "golden-qa" && labels["model"] == "m2" && labels["hardware"] == "tpu"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_fault_fires_a_prometheus_rule_on_the_relays_regression_metric_then_resolves() {
    let test =
        "a_replayed_fault_fires_a_prometheus_rule_on_the_relays_regression_metric_then_resolves";
    let Some((_vm, relay)) = faulty_relay(test, 3..3 + FAULT_BUCKETS, "").await else {
        return;
    };
    let target = relay.local_addr().to_string();
    let Some(prom) = support::engines::prometheus_with_rules(test, &target, "/metrics.prom", RULES)
    else {
        return;
    };
    let page_url = relay.http_url("/metrics.prom");
    let found = eventually(Duration::from_secs(30), || {
        http_get(&page_url).is_ok_and(|p| {
            p.contains(
                "qualtop_regression_active{hardware=\"tpu\",model=\"m2\",signal=\"golden-qa\"} 1\n",
            )
        })
    })
    .await;
    let page = http_get(&page_url).unwrap_or_default();
    assert!(found, "the relay did not show the regression:\n{page}");
    // Only the broken slice: no false alarm on the healthy ones.
    let active: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("qualtop_regression_active{") && l.ends_with(" 1"))
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
    assert!(page.contains(
        "qualtop_regression_change_pp{hardware=\"tpu\",model=\"m2\",signal=\"golden-qa\"} -"
    ));

    let alerts_url = format!("{}/api/v1/alerts", prom.url);
    let mut last = Value::Null;
    let firing = eventually(Duration::from_secs(20), || {
        let Ok(body) = http_get(&alerts_url) else {
            return false;
        };
        last = serde_json::from_str(&body).unwrap_or(Value::Null);
        last["data"]["alerts"].as_array().is_some_and(|a| {
            a.iter().any(|x| {
                x["state"] == "firing"
                    && x["labels"]["alertname"] == "QualityRegression"
                    && x["labels"]["severity"] == "page"
                    && is_m2_tpu(&x["labels"])
                    && x["annotations"]["summary"] == "golden-qa regressed in m2 tpu"
            })
        })
    })
    .await;
    assert!(firing, "the rule did not fire: {last}");

    // The fault ends: the series goes to 0 (it stays), and the alert resolves.
    let ended = "qualtop_regression_active{hardware=\"tpu\",model=\"m2\",signal=\"golden-qa\"} 0\n";
    assert!(
        eventually(Duration::from_secs(30), || {
            http_get(&page_url).is_ok_and(|p| p.contains(ended))
        })
        .await,
        "the regression did not end on the page"
    );
    let resolved = eventually(Duration::from_secs(20), || {
        let Ok(body) = http_get(&alerts_url) else {
            return false;
        };
        last = serde_json::from_str(&body).unwrap_or(Value::Null);
        last["data"]["alerts"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    assert!(resolved, "the alert did not resolve: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_alerts_set_the_relay_posts_the_regression_to_a_real_alertmanager_and_resolves_it() {
    let test =
        "with_alerts_set_the_relay_posts_the_regression_to_a_real_alertmanager_and_resolves_it";
    let Some(am) = support::engines::alertmanager(test) else {
        return;
    };
    let section = format!(
        "[alerts]\nalertmanager_url = \"{}/api/v2/alerts\"\nrepeat = \"5s\"\ngenerator_url = \"http://relay.example/metrics.prom\"\n",
        am.url
    );
    let Some((_vm, _relay)) = faulty_relay(test, 3..3 + FAULT_BUCKETS, &section).await else {
        return;
    };
    let url = format!("{}/api/v2/alerts", am.url);
    let mut last = Value::Null;
    let posted = eventually(Duration::from_secs(30), || {
        let Ok(body) = http_get(&url) else {
            return false;
        };
        last = serde_json::from_str(&body).unwrap_or(Value::Null);
        last.as_array().is_some_and(|a| {
            a.iter().any(|x| {
                x["labels"]["alertname"] == "QualityRegression"
                    && is_m2_tpu(&x["labels"])
                    && x["status"]["state"] == "active"
                    && x["annotations"]["summary"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("golden-qa dropped"))
                    && x["generatorURL"] == "http://relay.example/metrics.prom"
            })
        })
    })
    .await;
    assert!(posted, "the Alertmanager did not get the alert: {last}");
    assert_eq!(last.as_array().map(Vec::len), Some(1), "{last}");

    // Once the fault ends the relay posts endsAt: the alert leaves the active list.
    let resolved = eventually(Duration::from_secs(40), || {
        let Ok(body) = http_get(&url) else {
            return false;
        };
        last = serde_json::from_str(&body).unwrap_or(Value::Null);
        last.as_array().is_some_and(Vec::is_empty)
    })
    .await;
    assert!(resolved, "the alert was not resolved: {last}");
}

#[test]
fn the_rule_tested_here_is_the_one_docs_relay_md_gives() {
    let doc = include_str!("../../docs/relay.md");
    assert!(doc.contains(RULES), "docs/relay.md's rule and RULES differ");
}
