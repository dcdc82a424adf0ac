//! `[alerts] alertmanager_url`: the relay posts its regressions to an
//! Alertmanager (`POST /api/v2/alerts`, a JSON array of alerts) without a
//! Prometheus in between. Active ones are posted when they change and again
//! every `repeat` (under Alertmanager's `resolve_timeout`, so they do not
//! resolve on their own); an ended one is posted once more with `endsAt`.
//! Failures are retried with backoff in this task; nothing waits on it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::config::AlertsConfig;
use super::findings::{Published, RegressionRow, RelayFindings};
use super::findings_page::{LabelNames, series};
use crate::text::time::rfc3339_ms;

pub const ALERT_NAME: &str = "QualityRegression";
/// First wait after a failed post; doubles up to `repeat`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The alerts for `p`: every active regression, and the ended ones not yet
/// posted as resolved (`resolved` holds their keys).
pub fn alerts_body(
    names: &LabelNames,
    p: &Published,
    generator_url: Option<&str>,
    resolved: &BTreeSet<String>,
) -> (Vec<Value>, Vec<String>) {
    let mut alerts = Vec::new();
    let mut ended_keys = Vec::new();
    for (labels, r) in series(names, &p.rows) {
        let key = alert_key(&labels, r);
        if !r.is_active() {
            if resolved.contains(&key) {
                continue;
            }
            ended_keys.push(key);
        }
        let mut label_map = serde_json::Map::new();
        label_map.insert("alertname".into(), ALERT_NAME.into());
        for (k, v) in labels {
            label_map.insert(k, v.into());
        }
        let mut alert = json!({
            "labels": label_map,
            "annotations": { "summary": summary(r) },
            "startsAt": rfc3339_ms(r.onset),
        });
        if let Some(end) = r.ended_at {
            alert["endsAt"] = rfc3339_ms(end).into();
        }
        if let Some(url) = generator_url {
            alert["generatorURL"] = url.into();
        }
        alerts.push(alert);
    }
    (alerts, ended_keys)
}

/// Labels plus the detection time: a later regression on the same scope
/// is another alert to resolve.
fn alert_key(labels: &[(String, String)], r: &RegressionRow) -> String {
    format!("{labels:?}@{}", r.detected_at)
}

/// `availability dropped 12.3 points (99.0% → 86.7%) in model=m2, hardware=tpu`.
pub fn summary(r: &RegressionRow) -> String {
    let scope = if r.scope.is_empty() {
        "the whole fleet".to_owned()
    } else {
        r.scope
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let verb = if r.delta_pp < 0.0 {
        "dropped"
    } else {
        "changed"
    };
    format!(
        "{} {verb} {:.1} points ({:.1}% → {:.1}%) in {scope}",
        r.signal,
        r.delta_pp.abs(),
        r.baseline * 100.0,
        r.current * 100.0
    )
}

/// Starts the poster. Must run inside the runtime.
pub fn spawn(
    cfg: AlertsConfig,
    names: LabelNames,
    findings: Arc<RelayFindings>,
) -> anyhow::Result<JoinHandle<()>> {
    crate::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        .build()
        .context("building the Alertmanager HTTP client")?;
    Ok(tokio::spawn(run(cfg, names, findings, http)))
}

async fn post(http: &reqwest::Client, url: &str, alerts: &[Value]) -> anyhow::Result<()> {
    let resp = http.post(url).json(alerts).send().await?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        anyhow::bail!("{status}: {}", body.chars().take(200).collect::<String>());
    }
    Ok(())
}

async fn run(
    cfg: AlertsConfig,
    names: LabelNames,
    findings: Arc<RelayFindings>,
    http: reqwest::Client,
) {
    let mut changes = findings.subscribe();
    let mut resolved: BTreeSet<String> = BTreeSet::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let p = findings.snapshot();
        let (alerts, ended) = alerts_body(&names, &p, cfg.generator_url.as_deref(), &resolved);
        let mut wait = cfg.repeat;
        if !alerts.is_empty() {
            match post(&http, &cfg.alertmanager_url, &alerts).await {
                Ok(()) => {
                    tracing::debug!(alerts = alerts.len(), "posted to the Alertmanager");
                    resolved.extend(ended);
                    // Only keys still on the page can come back.
                    let live: BTreeSet<String> = series(&names, &p.rows)
                        .iter()
                        .map(|(l, r)| alert_key(l, r))
                        .collect();
                    resolved.retain(|k| live.contains(k));
                    backoff = FIRST_BACKOFF;
                }
                Err(e) => {
                    tracing::warn!(error = %crate::text::sanitize::sanitize(&format!("{e:#}")), retry_in = ?backoff, "alerts not posted to the Alertmanager");
                    wait = backoff;
                    backoff = (backoff * 2).min(cfg.repeat);
                }
            }
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ended: Option<i64>) -> RegressionRow {
        RegressionRow {
            signal: "golden-qa".into(),
            scope: [("model".to_owned(), "m2".to_owned())].into(),
            onset: 1_700_000_000_000,
            detected_at: 1_700_000_060_000,
            ended_at: ended,
            baseline: 0.99,
            current: 0.87,
            delta_pp: -12.0,
        }
    }

    #[test]
    fn an_active_regression_is_an_alert_with_labels_summary_and_start() {
        let names = LabelNames::new(&["model".into()]);
        let p = Published {
            rows: vec![row(None)],
            ..Published::default()
        };
        let (alerts, ended) = alerts_body(
            &names,
            &p,
            Some("http://relay/metrics.prom"),
            &BTreeSet::new(),
        );
        assert!(ended.is_empty());
        assert_eq!(
            alerts,
            [json!({
                "labels": {"alertname": "QualityRegression", "signal": "golden-qa", "model": "m2"},
                "annotations": {"summary": "golden-qa dropped 12.0 points (99.0% → 87.0%) in model=m2"},
                "startsAt": "2023-11-14T22:13:20Z",
                "generatorURL": "http://relay/metrics.prom",
            })]
        );
    }

    #[test]
    fn an_ended_regression_is_posted_resolved_once() {
        let names = LabelNames::new(&["model".into()]);
        let p = Published {
            rows: vec![row(Some(1_700_000_120_000))],
            ..Published::default()
        };
        let (alerts, ended) = alerts_body(&names, &p, None, &BTreeSet::new());
        assert_eq!(alerts[0]["endsAt"], "2023-11-14T22:15:20Z");
        assert_eq!(ended.len(), 1);
        let done: BTreeSet<String> = ended.into_iter().collect();
        let (again, _) = alerts_body(&names, &p, None, &done);
        assert!(again.is_empty());
    }
}
