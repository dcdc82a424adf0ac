//! The Prometheus remote-write protocol (1.0): a snappy-compressed protobuf
//! `WriteRequest`, as accepted by Prometheus (`--web.enable-remote-write-receiver`),
//! VictoriaMetrics, Mimir and Thanos Receive.
//!
//! The three message types are derived by hand with `prost` (field numbers
//! from `prometheus/prompb/types.proto`), so no protoc or build script is needed.

use std::time::Duration;

use anyhow::Context;
use prost::Message;

use super::prometheus::{PromAuth, PromConfig};

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

impl TimeSeries {
    /// One sample of a series; labels are sorted by name, as the protocol requires.
    pub fn one(mut labels: Vec<(String, String)>, ts: i64, value: f64) -> TimeSeries {
        labels.sort();
        TimeSeries {
            labels: labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect(),
            samples: vec![Sample {
                value,
                timestamp: ts,
            }],
        }
    }
}

/// The request body: protobuf, then snappy block format (not framed).
pub fn encode(req: &WriteRequest) -> anyhow::Result<Vec<u8>> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .context("snappy-compressing the write request")
}

/// The inverse of [`encode`], for tests and fakes of an engine.
pub fn decode(body: &[u8]) -> anyhow::Result<WriteRequest> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .context("the body is not snappy block data")?;
    WriteRequest::decode(raw.as_slice()).context("the body is not a protobuf WriteRequest")
}

/// Why a write was not accepted, in one sentence for the eval job.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the engine at {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the engine at {url} refused the write ({status}): {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
}

/// Posts write requests to one URL with the query client's auth and tenant.
pub struct RemoteWriter {
    http: reqwest::Client,
    url: String,
    cfg: PromConfig,
}

/// Longest engine error text passed on to the eval job.
const MAX_ERROR_CHARS: usize = 400;

impl RemoteWriter {
    pub fn new(url: String, cfg: PromConfig) -> anyhow::Result<RemoteWriter> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()
            .context("building the remote-write HTTP client")?;
        Ok(RemoteWriter { http, url, cfg })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One attempt: the eval job retries (the relay answers 503 + Retry-After).
    pub async fn write(&self, req: &WriteRequest) -> Result<(), WriteError> {
        let body = encode(req).map_err(|e| WriteError::Unreachable {
            url: self.url.clone(),
            reason: format!("{e:#}"),
        })?;
        let mut r = self
            .http
            .post(&self.url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body);
        if let Some(t) = &self.cfg.tenant {
            r = r.header("X-Scope-OrgID", t);
        }
        r = match &self.cfg.auth {
            PromAuth::None => r,
            PromAuth::Bearer(t) => r.bearer_auth(t),
            PromAuth::Basic { user, password } => r.basic_auth(user, Some(password)),
        };
        let resp = r.send().await.map_err(|e| WriteError::Unreachable {
            url: self.url.clone(),
            reason: error_chain(&e),
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.unwrap_or_default();
        Err(WriteError::Refused {
            url: self.url.clone(),
            status: status.as_u16(),
            body: body.trim().chars().take(MAX_ERROR_CHARS).collect(),
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_request_round_trips_through_snappy_and_protobuf_with_sorted_labels() {
        let req = WriteRequest {
            timeseries: vec![TimeSeries::one(
                vec![
                    ("signal".into(), "golden-qa".into()),
                    ("__name__".into(), "qualtop_push_good".into()),
                ],
                1_700_000_000_001,
                9.0,
            )],
        };
        let body = encode(&req).unwrap();
        let back = decode(&body).unwrap();
        assert_eq!(back, req);
        assert_eq!(back.timeseries[0].labels[0].name, "__name__");
    }

    #[test]
    fn the_wire_bytes_follow_prompb_field_numbers() {
        // Label{name:"a", value:"b"} is 0a 01 61 12 01 62 in prompb.
        let l = Label {
            name: "a".into(),
            value: "b".into(),
        };
        assert_eq!(l.encode_to_vec(), vec![0x0a, 1, b'a', 0x12, 1, b'b']);
        // Sample{value:1.0, timestamp:2}: 09 <f64 LE> 10 02.
        let s = Sample {
            value: 1.0,
            timestamp: 2,
        };
        let mut want = vec![0x09];
        want.extend(1.0f64.to_le_bytes());
        want.extend([0x10, 2]);
        assert_eq!(s.encode_to_vec(), want);
    }
}
