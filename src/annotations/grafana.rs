//! Posting annotations to Grafana's annotations HTTP API, so they also land
//! on the team's dashboards: `POST /api/annotations` for a new one,
//! `PATCH /api/annotations/:id` for an edit. Runs off the UI path; a failure
//! is reported and retried by the caller, never blocks the screen.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::protocol::Annotation;

#[derive(Debug, Clone)]
pub struct GrafanaConfig {
    /// Base URL, e.g. `https://grafana.example.net`.
    pub url: String,
    /// Bearer token (a Grafana service-account token), from the environment.
    pub token: Option<String>,
    pub timeout: Duration,
    /// Attempts per push, for connection errors and 5xx answers.
    pub attempts: u32,
    /// After a push failed all its attempts, the background task tries it
    /// again this much later (doubling, up to 20 times this).
    pub retry_later: Duration,
}

impl GrafanaConfig {
    pub fn new(url: impl Into<String>, token: Option<String>) -> Self {
        GrafanaConfig {
            url: url.into(),
            token,
            timeout: Duration::from_secs(5),
            attempts: 3,
            retry_later: Duration::from_secs(30),
        }
    }
}

/// The JSON body Grafana expects for an annotation.
pub fn grafana_body(a: &Annotation) -> Value {
    let mut tags = vec!["qualtop".to_string(), format!("state:{}", a.state.as_str())];
    tags.extend(a.scope.iter().map(|(d, v)| format!("{d}:{v}")));
    if let Some(s) = &a.signal {
        tags.push(format!("signal:{s}"));
    }
    let scope = crate::text::scope::scope_text(&a.scope);
    let mut body = json!({
        "time": a.from,
        "tags": tags,
        "text": format!("[{}] {} — {} ({})", a.state.as_str(), scope, a.text, a.author),
    });
    if let Some(to) = a.to {
        body["timeEnd"] = json!(to);
    }
    body
}

/// Pushes annotations, remembering which Grafana id each qualtop id got.
pub struct GrafanaClient {
    http: reqwest::Client,
    cfg: GrafanaConfig,
    ids: HashMap<String, i64>,
}

impl GrafanaClient {
    pub fn new(cfg: GrafanaConfig) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .build()
            .context("building the Grafana HTTP client")?;
        Ok(GrafanaClient {
            http,
            cfg,
            ids: HashMap::new(),
        })
    }

    /// Creates or updates the annotation in Grafana; returns Grafana's id.
    pub async fn push(&mut self, a: &Annotation) -> anyhow::Result<i64> {
        let base = self.cfg.url.trim_end_matches('/');
        let body = grafana_body(a);
        let known = self.ids.get(&a.id).copied();
        let mut last_err = None;
        for attempt in 0..self.cfg.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
            let req = match known {
                Some(id) => self.http.patch(format!("{base}/api/annotations/{id}")),
                None => self.http.post(format!("{base}/api/annotations")),
            };
            let req = match &self.cfg.token {
                Some(t) => req.bearer_auth(t),
                None => req,
            };
            match req.json(&body).send().await {
                Ok(resp) if resp.status().is_success() => {
                    if let Some(id) = known {
                        return Ok(id);
                    }
                    let v: Value = resp.json().await.context("reading Grafana's answer")?;
                    let id = v["id"]
                        .as_i64()
                        .context("Grafana's answer has no annotation id")?;
                    self.ids.insert(a.id.clone(), id);
                    return Ok(id);
                }
                Ok(resp) if resp.status().is_server_error() => {
                    last_err = Some(anyhow::anyhow!("Grafana answered {}", resp.status()));
                }
                Ok(resp) => bail!("Grafana refused the annotation: {}", resp.status()),
                Err(e) => last_err = Some(anyhow::Error::new(e).context("cannot reach Grafana")),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("Grafana push failed")))
    }
}
