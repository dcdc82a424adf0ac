//! A client for the Prometheus HTTP API (`/api/v1/query_range`,
//! `/api/v1/query`), as served by Prometheus, VictoriaMetrics, Thanos and
//! Mimir. Supports a path prefix, a tenant header, bearer or basic auth,
//! timeouts and retries with backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::protocol::Millis;

/// Most points one range query may return per series (Prometheus refuses
/// more than 11,000).
pub const MAX_POINTS_PER_QUERY: i64 = 11_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromAuth {
    None,
    Bearer(String),
    Basic { user: String, password: String },
}

#[derive(Debug, Clone)]
pub struct PromConfig {
    /// e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// e.g. `/prometheus` (Mimir) or `/select/0/prometheus` (VictoriaMetrics cluster).
    pub path_prefix: String,
    /// Sent as `X-Scope-OrgID` (Mimir, Cortex, Thanos tenancy).
    pub tenant: Option<String>,
    pub auth: PromAuth,
    pub timeout: Duration,
    pub attempts: u32,
}

impl PromConfig {
    pub fn new(url: impl Into<String>) -> Self {
        PromConfig {
            url: url.into(),
            path_prefix: String::new(),
            tenant: None,
            auth: PromAuth::None,
            timeout: Duration::from_secs(10),
            attempts: 3,
        }
    }
}

/// One series of a query result: its labels and (ms, value) samples.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSeries {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(Millis, f64)>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// Parses a query or query_range answer body.
pub fn parse_answer(body: &str) -> anyhow::Result<Vec<PromSeries>> {
    let env: Envelope =
        serde_json::from_str(body).context("the answer is not Prometheus API JSON")?;
    if env.status != "success" {
        bail!(
            "query failed: {} ({})",
            env.error.unwrap_or_default(),
            env.error_type.unwrap_or_default()
        );
    }
    let data = env.data.context("the answer has no data")?;
    if data.result_type != "matrix" && data.result_type != "vector" {
        bail!("unexpected result type {:?}", data.result_type);
    }
    Ok(data
        .result
        .into_iter()
        .map(|s| {
            let samples = s
                .values
                .into_iter()
                .chain(s.value)
                .filter_map(|(t, v)| {
                    let v: f64 = v.parse().ok()?;
                    Some(((t * 1000.0).round() as Millis, v))
                })
                .collect();
            PromSeries {
                labels: s.metric,
                samples,
            }
        })
        .collect())
}

/// Splits `[start, end]` at `step` into ranges of at most
/// [`MAX_POINTS_PER_QUERY`] points each.
pub fn chunk_range(start: Millis, end: Millis, step: Millis) -> Vec<(Millis, Millis)> {
    let step = step.max(1);
    let span = (MAX_POINTS_PER_QUERY - 1) * step;
    let mut out = Vec::new();
    let mut s = start;
    while s <= end {
        let e = (s + span).min(end);
        out.push((s, e));
        s = e + step;
    }
    out
}

pub struct PromClient {
    http: reqwest::Client,
    cfg: PromConfig,
}

impl PromClient {
    pub fn new(cfg: PromConfig) -> anyhow::Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .build()
            .context("building the Prometheus HTTP client")?;
        Ok(PromClient { http, cfg })
    }

    fn endpoint(&self, api: &str) -> String {
        format!(
            "{}{}/api/v1/{api}",
            self.cfg.url.trim_end_matches('/'),
            self.cfg.path_prefix.trim_end_matches('/')
        )
    }

    async fn get(&self, api: &str, params: &[(&str, String)]) -> anyhow::Result<Vec<PromSeries>> {
        let url = self.endpoint(api);
        let mut last = None;
        for attempt in 0..self.cfg.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
            }
            let mut req = self.http.get(&url).query(params);
            if let Some(t) = &self.cfg.tenant {
                req = req.header("X-Scope-OrgID", t);
            }
            req = match &self.cfg.auth {
                PromAuth::None => req,
                PromAuth::Bearer(t) => req.bearer_auth(t),
                PromAuth::Basic { user, password } => req.basic_auth(user, Some(password)),
            };
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    if status.is_success() || status.as_u16() == 400 || status.as_u16() == 422 {
                        // 400/422 carry a Prometheus error body: not worth retrying.
                        return parse_answer(&body)
                            .with_context(|| format!("{url} answered {status}"));
                    }
                    if status.is_client_error() {
                        bail!("{url} answered {status}");
                    }
                    last = Some(anyhow::anyhow!("{url} answered {status}"));
                }
                Err(e) => last = Some(anyhow::Error::new(e).context(format!("cannot reach {url}"))),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("query failed")))
    }

    /// Evaluates `expr` at every `step` in `[start, end]`, chunked so no
    /// request asks for more than [`MAX_POINTS_PER_QUERY`] points per series.
    pub async fn query_range(
        &self,
        expr: &str,
        start: Millis,
        end: Millis,
        step: Millis,
    ) -> anyhow::Result<Vec<PromSeries>> {
        let mut merged: BTreeMap<BTreeMap<String, String>, Vec<(Millis, f64)>> = BTreeMap::new();
        for (s, e) in chunk_range(start, end, step) {
            let params = [
                ("query", expr.to_owned()),
                ("start", secs(s)),
                ("end", secs(e)),
                ("step", secs(step)),
            ];
            for series in self.get("query_range", &params).await? {
                merged
                    .entry(series.labels)
                    .or_default()
                    .extend(series.samples);
            }
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|(t, _)| *t);
                samples.dedup_by_key(|(t, _)| *t);
                PromSeries { labels, samples }
            })
            .collect())
    }

    /// Evaluates `expr` at one instant.
    pub async fn query(&self, expr: &str, at: Millis) -> anyhow::Result<Vec<PromSeries>> {
        self.get("query", &[("query", expr.to_owned()), ("time", secs(at))])
            .await
    }
}

fn secs(ms: Millis) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_and_vector_answers_parse_and_skip_unparsable_values() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"model":"m1"},"values":[[1700000000,"5"],[1700000060.5,"NaN"],[1700000120,"x"]]}]}}"#;
        let s = parse_answer(body).unwrap();
        assert_eq!(s[0].labels["model"], "m1");
        assert_eq!(s[0].samples.len(), 2);
        assert_eq!(s[0].samples[0], (1_700_000_000_000, 5.0));
        assert_eq!(s[0].samples[1].0, 1_700_000_060_500);
        let v = parse_answer(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}"#).unwrap();
        assert_eq!(v[0].samples, vec![(1000, 2.0)]);
    }

    #[test]
    fn error_answers_say_why() {
        let e = parse_answer(
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("parse error at char 3"), "{e}");
        assert!(parse_answer("<html>").is_err());
    }

    #[test]
    fn ranges_are_chunked_under_the_point_limit_without_gaps_or_overlap() {
        let step = 60_000;
        let chunks = chunk_range(0, 30_000 * step, step);
        assert_eq!(chunks.len(), 3);
        for w in chunks.windows(2) {
            assert_eq!(w[1].0, w[0].1 + step);
        }
        for (s, e) in &chunks {
            assert!((e - s) / step < MAX_POINTS_PER_QUERY);
        }
        assert_eq!(chunks.last().unwrap().1, 30_000 * step);
        assert_eq!(chunk_range(0, 0, step), vec![(0, 0)]);
    }

    #[test]
    fn seconds_keep_millisecond_precision() {
        assert_eq!(secs(1_700_000_000_123), "1700000000.123");
        assert_eq!(secs(5), "0.005");
    }
}
