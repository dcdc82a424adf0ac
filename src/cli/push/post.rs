//! `POST /v1/points` with retries: a 503 (engine down), 429, 5xx or a
//! broken connection is retried with backoff (honouring `Retry-After`);
//! a retry is safe because the relay overwrites the job's bucket.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::protocol::Millis;

/// What the relay says it takes (`GET /v1/points`).
#[derive(Debug, Clone, Deserialize)]
pub struct RelayInfo {
    pub bucket_ms: Millis,
    pub history_ms: Millis,
    pub dimensions: Vec<String>,
    pub signals: Vec<SignalInfo>,
    pub now: Millis,
    #[serde(default)]
    pub durable: bool,
    #[serde(default)]
    pub max_points: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SignalInfo {
    pub name: String,
    pub kind: String,
}

/// The relay's per-line report (lines of the posted body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub rejected: usize,
    #[serde(default)]
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineError {
    pub line: usize,
    pub error: String,
}

/// How one batch ended.
#[derive(Debug)]
pub enum Outcome {
    /// The relay answered with its report (some lines may be rejected).
    Report(Report),
    /// Not taken, and retrying would not help (401, 403, 413, ...), or the
    /// retries ran out: the reason.
    NotTaken(String),
}

pub struct Poster {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    attempts: u32,
}

/// `http(s)://host:port` (a `ws(s)://` URL or a path is fine) → the points URL.
pub fn points_url(relay: &str) -> anyhow::Result<String> {
    let r = relay.trim().trim_end_matches('/');
    let r = if let Some(rest) = r.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = r.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        r.to_owned()
    };
    let Some((scheme, rest)) = r.split_once("://") else {
        bail!("--relay {relay:?}: give a URL like http://relay.example:7071");
    };
    if scheme != "http" && scheme != "https" {
        bail!("--relay {relay:?}: the scheme must be http(s) or ws(s)");
    }
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}/v1/points"))
}

impl Poster {
    pub fn new(
        url: String,
        token: Option<String>,
        attempts: u32,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Poster> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10));
        if let Some(path) = ca_file {
            for der in crate::tls::read_ca_file(path).map_err(anyhow::Error::msg)? {
                let cert = reqwest::Certificate::from_der(der.as_ref())
                    .with_context(|| format!("a certificate in {}", path.display()))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().context("building the HTTP client")?;
        Ok(Poster {
            http,
            url,
            token,
            attempts: attempts.max(1),
        })
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn info(&self) -> anyhow::Result<RelayInfo> {
        let resp = self
            .auth(self.http.get(&self.url))
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{} answered {status}: {}", self.url, brief(&body));
        }
        serde_json::from_str(&body)
            .with_context(|| format!("{} did not answer like a qualtop relay", self.url))
    }

    /// Posts one body of point lines, retrying what a retry can fix.
    pub async fn post(&self, body: &str, job: Option<&str>) -> Outcome {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            let mut r = self.http.post(&self.url).body(body.to_owned());
            if let Some(j) = job {
                r = r.query(&[("job", j)]);
            }
            let wait = match self.auth(r).send().await {
                Err(e) => {
                    last = format!("cannot reach {}: {e}", self.url);
                    None
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(30)));
                    let text = resp.text().await.unwrap_or_default();
                    match status {
                        200 | 400 => match serde_json::from_str::<Report>(&text) {
                            Ok(report) => return Outcome::Report(report),
                            Err(_) => {
                                return Outcome::NotTaken(format!("{status}: {}", brief(&text)));
                            }
                        },
                        429 | 500..=599 => {
                            last = format!("{status}: {}", brief(&text));
                            retry_after
                        }
                        _ => return Outcome::NotTaken(format!("{status}: {}", brief(&text))),
                    }
                }
            };
            if attempt + 1 < self.attempts {
                let backoff = Duration::from_millis(500 << attempt.min(5));
                tokio::time::sleep(
                    wait.unwrap_or(backoff)
                        .max(backoff.min(Duration::from_secs(1))),
                )
                .await;
            }
        }
        Outcome::NotTaken(format!("gave up after {} attempts: {last}", self.attempts))
    }
}

/// The `error` of a JSON answer, or the start of the text.
fn brief(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_url_becomes_its_points_url() {
        assert_eq!(
            points_url("http://127.0.0.1:7071").unwrap(),
            "http://127.0.0.1:7071/v1/points"
        );
        assert_eq!(
            points_url("wss://relay.example:7071/evals").unwrap(),
            "https://relay.example:7071/v1/points"
        );
        assert!(points_url("relay.example").is_err());
        assert!(points_url("ftp://x").is_err());
    }
}
