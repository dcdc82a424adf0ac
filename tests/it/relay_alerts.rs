//! Detection that pages: a fault replayed through a real VictoriaMetrics
//! into `qualtop serve` is found by the relay's own detectors, shown on
//! `/metrics.prom` as `qualtop_regression_active` with its scope as labels,
//! and fires a real Prometheus alerting rule; with `[alerts]` the relay
//! posts it to a real Alertmanager itself.

use crate::support;

use std::time::Duration;

use qualtop::clock::wall_ms;
use qualtop::relay;
use serde_json::Value;
use support::engines::http_get;
use support::relay::config;
use support::wait::eventually;

const B: i64 = 1000;
const SLICES: [(&str, &str); 4] = [("m1", "tpu"), ("m1", "gpu"), ("m2", "tpu"), ("m2", "gpu")];
const DELAY_MS: i64 = 1100;
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

/// Buckets the fault lasts.
const FAULT_BUCKETS: i64 = 15;

/// Failed cases of slice `s` in bucket `b`: about 1 % of 2000, and 40 % on
/// m2/tpu for [`FAULT_BUCKETS`] from bucket `fault`.
fn failed(s: usize, b: i64, fault: i64) -> i64 {
    if s == 2 && (fault..fault + FAULT_BUCKETS).contains(&b) {
        800
    } else {
        15 + (b + s as i64).rem_euclid(11)
    }
}

/// Counters `cases_total{model,hardware,result}`, one sample a second over
/// buckets `[first, last]`.
fn import_lines(first: i64, last: i64, fault: i64) -> String {
    let ts: Vec<String> = (first..=last).map(|k| (k * B).to_string()).collect();
    let ts = ts.join(",");
    let mut out = String::new();
    for (s, (model, hw)) in SLICES.iter().enumerate() {
        for result in ["pass", "fail"] {
            let mut value = 0;
            let values: Vec<String> = (first..=last)
                .map(|k| {
                    let v = value;
                    let bad = failed(s, k, fault);
                    value += if result == "fail" { bad } else { 2000 - bad };
                    v.to_string()
                })
                .collect();
            out.push_str(&format!(
                "{{\"metric\":{{\"__name__\":\"cases_total\",\"model\":\"{model}\",\"hardware\":\"{hw}\",\"result\":\"{result}\"}},\"values\":[{}],\"timestamps\":[{ts}]}}\n",
                values.join(",")
            ));
        }
    }
    out
}

fn relay_toml(url: &str, alerts: &str) -> String {
    format!(
        r#"
bucket = "1s"
history = "120s"
dimensions = ["model", "hardware"]

[detection]
false_alarm_days = 30
min_change_pp = 2

[prometheus]
url = "{url}"
delay = "{DELAY_MS}ms"
timeout = "2s"
attempts = 1

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
good = 'sum by (model, hardware) (increase(cases_total{{result="pass"}}[1s]))'
total = 'sum by (model, hardware) (increase(cases_total[1s]))'
{alerts}
"#
    )
}

/// A relay over VictoriaMetrics holding two minutes of healthy history,
/// whose m2/tpu slice fails for a while from three buckets after it starts.
async fn faulty_relay(
    test: &str,
    alerts: impl Fn() -> String,
) -> Option<(support::engines::VictoriaMetrics, relay::RunningRelay)> {
    let vm = support::engines::victoria_metrics(test)?;
    let now_b = wall_ms() / B;
    let fault = now_b + 3;
    vm.import(&import_lines(now_b - 130, now_b + 120, fault));
    let relay = relay::start(config(&relay_toml(&vm.url, &alerts())))
        .await
        .unwrap();
    Some((vm, relay))
}

fn is_m2_tpu(labels: &Value) -> bool {
    labels["signal"] == "golden-qa" && labels["model"] == "m2" && labels["hardware"] == "tpu"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_fault_fires_a_prometheus_rule_on_the_relays_regression_metric_then_resolves() {
    let test =
        "a_replayed_fault_fires_a_prometheus_rule_on_the_relays_regression_metric_then_resolves";
    let Some((_vm, relay)) = faulty_relay(test, String::new).await else {
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
    let Some((_vm, _relay)) = faulty_relay(test, || section.clone()).await else {
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
