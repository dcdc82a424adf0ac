//! `relay.toml`: what `qualtop serve` listens on, where each signal comes
//! from (PromQL or push), and who may do what. Tokens come from the
//! environment or as SHA-256 hashes, never in clear in the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::config::{ConfigError, parse_duration};
use crate::protocol::{SignalKind, SignalRole};

mod limits;
mod prom;

use crate::server::ConnectionLimits;
pub use limits::{DEFAULT_MAX_LABEL_VALUE_BYTES, DEFAULT_MAX_SLICES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Read,
    Annotate,
    Ingest,
    /// Edits annotations of others (`annotate` edits only one's own).
    Admin,
}

pub use crate::protocol::Endpoint;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    #[serde(default = "default_listen")]
    listen: Spanned<String>,
    #[serde(default = "default_bucket")]
    bucket: Spanned<String>,
    #[serde(default = "default_history")]
    history: Spanned<String>,
    dimensions: Spanned<Vec<String>>,
    #[serde(default)]
    data_dir: Option<String>,
    #[serde(default)]
    tls: Option<RawTls>,
    #[serde(default)]
    prometheus: Option<RawProm>,
    #[serde(default)]
    signals: Vec<Spanned<RawSignal>>,
    #[serde(default)]
    tokens: Vec<Spanned<RawToken>>,
    #[serde(default)]
    limits: limits::RawLimits,
    #[serde(default)]
    changes: Option<Spanned<super::changes_config::RawChanges>>,
}

fn default_listen() -> Spanned<String> {
    Spanned::new(0..0, "127.0.0.1:7071".into())
}
fn default_bucket() -> Spanned<String> {
    Spanned::new(0..0, "1m".into())
}
fn default_history() -> Spanned<String> {
    Spanned::new(0..0, "6h".into())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: String,
    key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProm {
    url: Spanned<String>,
    #[serde(default)]
    path_prefix: String,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    bearer_env: Option<String>,
    #[serde(default)]
    basic_user_env: Option<String>,
    #[serde(default)]
    basic_password_env: Option<String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    /// Wait after a bucket closes before querying it, so late scrapes land.
    #[serde(default)]
    delay: Option<Spanned<String>>,
    /// Attempts per query (1 = no retry).
    #[serde(default)]
    attempts: Option<u32>,
    /// Where pushed points are written (remote write); none: kept in memory.
    #[serde(default)]
    remote_write_url: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignal {
    name: String,
    kind: SignalKind,
    role: SignalRole,
    endpoint: Endpoint,
    #[serde(default)]
    unit: Option<String>,
    /// PromQL for good (ratio) / value (gauge) and total (ratio). None of
    /// them: the signal is fed by push.
    #[serde(default)]
    good: Option<String>,
    #[serde(default)]
    total: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    roles: Vec<Permission>,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
}

/// Where one signal's data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalSource {
    Ratio { good: String, total: String },
    Gauge { value: String },
    Push,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelaySignal {
    pub name: String,
    pub kind: SignalKind,
    pub role: SignalRole,
    pub endpoint: Endpoint,
    pub unit: Option<String>,
    pub source: SignalSource,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelayToken {
    /// Who: becomes the author of annotations made with this token.
    pub name: String,
    pub roles: Vec<Permission>,
    /// SHA-256 of the token (from `sha256`, or hashed from `env` at load).
    pub hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromSettings {
    pub url: String,
    pub path_prefix: String,
    pub tenant: Option<String>,
    pub bearer: Option<String>,
    pub basic: Option<(String, String)>,
    pub timeout: Duration,
    pub delay: Duration,
    pub attempts: u32,
    /// Remote-write URL for pushed points (same auth and tenant as queries).
    pub remote_write_url: Option<String>,
}

impl PromSettings {
    /// The client's settings (secrets included: never log the result).
    pub fn client_config(&self) -> crate::relay::prometheus::PromConfig {
        use crate::relay::prometheus::{PromAuth, PromConfig};
        let auth = match (&self.bearer, &self.basic) {
            (Some(t), _) => PromAuth::Bearer(t.clone()),
            (None, Some((user, password))) => PromAuth::Basic {
                user: user.clone(),
                password: password.clone(),
            },
            (None, None) => PromAuth::None,
        };
        PromConfig {
            url: self.url.clone(),
            path_prefix: self.path_prefix.clone(),
            tenant: self.tenant.clone(),
            auth,
            timeout: self.timeout,
            attempts: self.attempts,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    pub bucket_ms: i64,
    pub history_ms: i64,
    pub dimensions: Vec<String>,
    pub data_dir: Option<PathBuf>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub prometheus: Option<PromSettings>,
    pub signals: Vec<RelaySignal>,
    /// Empty: no authentication (allowed only on a loopback address).
    pub tokens: Vec<RelayToken>,
    pub max_body_bytes: usize,
    pub max_points_per_request: usize,
    pub max_connections_per_token: usize,
    pub client_queue: usize,
    /// Largest WebSocket frame a client may send (subscribe, annotate).
    pub max_frame_bytes: usize,
    pub max_subscribes_per_minute: u32,
    /// A client that does not take one frame within this is disconnected.
    pub send_timeout: Duration,
    /// Distinct slices each endpoint holds; new ones past it are refused.
    pub max_slices: usize,
    /// Longest label value of a slice, in bytes.
    pub max_label_value_bytes: usize,
    /// Connection caps and per-stage timeouts of the server.
    pub connections: ConnectionLimits,
    /// `[changes]`: PagerDuty mapping and PromQL change sources.
    pub changes: super::changes_config::ChangesConfig,
}

/// Default wait after a bucket closes before it is queried: one common
/// scrape interval, so the last scrape of the bucket has landed.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(15);

pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

impl RelayConfig {
    pub fn load(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RelayConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        RelayConfig::parse(&text, path, env)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RelayConfig, ConfigError> {
        let err = |offset: usize, message: String| ConfigError {
            file: path.display().to_string(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawRelay = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_owned(),
            )
        })?;
        let listen: SocketAddr = raw.listen.get_ref().parse().map_err(|_| {
            err(
                raw.listen.span().start,
                format!(
                    "listen: {:?} is not an address like 127.0.0.1:7071",
                    raw.listen.get_ref()
                ),
            )
        })?;
        let dur = |s: &Spanned<String>, key: &str| {
            parse_duration(s.get_ref())
                .map(|d| d.as_millis() as i64)
                .map_err(|m| err(s.span().start, format!("{key}: {m}")))
        };
        let bucket_ms = dur(&raw.bucket, "bucket")?;
        let history_ms = dur(&raw.history, "history")?;
        if bucket_ms < 1000 || history_ms < bucket_ms * 16 || history_ms / bucket_ms > 10_080 {
            return Err(err(
                raw.history.span().start,
                "history must hold 16 to 10,080 buckets of at least 1s".into(),
            ));
        }
        let dims_at = raw.dimensions.span().start;
        let dimensions = raw.dimensions.into_inner();
        if dimensions.is_empty() || dimensions.len() > crate::store::MAX_DIMENSIONS {
            return Err(err(
                dims_at,
                "dimensions: list 1 to 16 dimension names".into(),
            ));
        }
        for (i, d) in dimensions.iter().enumerate() {
            if d.trim().is_empty() || d.len() > crate::protocol::MAX_NAME_BYTES {
                return Err(err(
                    dims_at,
                    format!(
                        "dimensions: {d:?} is not a name (1 to {} bytes, not blank)",
                        crate::protocol::MAX_NAME_BYTES
                    ),
                ));
            }
            if dimensions[..i].contains(d) {
                return Err(err(dims_at, format!("dimensions: {d:?} is listed twice")));
            }
        }
        let prometheus = match raw.prometheus {
            None => None,
            Some(p) => Some(prom::prom_settings(p, env, &err)?),
        };
        let mut signals = Vec::new();
        for s in raw.signals {
            let at = s.span().start;
            let s = s.into_inner();
            let source = match (s.kind, s.good, s.total, s.value) {
                (_, None, None, None) => SignalSource::Push,
                (SignalKind::Ratio, Some(good), Some(total), None) => {
                    SignalSource::Ratio { good, total }
                }
                (SignalKind::Gauge, None, None, Some(value)) => SignalSource::Gauge { value },
                (SignalKind::Ratio, ..) => {
                    return Err(err(
                        at,
                        format!(
                            "signal {:?}: a ratio needs both `good` and `total` PromQL (or neither, for push)",
                            s.name
                        ),
                    ));
                }
                (SignalKind::Gauge, ..) => {
                    return Err(err(
                        at,
                        format!(
                            "signal {:?}: a gauge takes one `value` PromQL (or none, for push)",
                            s.name
                        ),
                    ));
                }
            };
            if !matches!(source, SignalSource::Push) && prometheus.is_none() {
                return Err(err(
                    at,
                    format!(
                        "signal {:?} has PromQL but there is no [prometheus] section",
                        s.name
                    ),
                ));
            }
            if let (SignalSource::Push, Some(p)) = (&source, &prometheus)
                && p.remote_write_url.is_none()
            {
                return Err(err(
                    at,
                    format!(
                        "signal {:?} is pushed but [prometheus] has no remote_write_url: pushes kept in memory are lost when the relay stops; set it (e.g. {}/api/v1/write)",
                        s.name,
                        p.url.trim_end_matches('/')
                    ),
                ));
            }
            if s.name.trim().is_empty() || s.name.len() > crate::protocol::MAX_NAME_BYTES {
                return Err(err(
                    at,
                    format!("signal name {:?} is blank or too long", s.name),
                ));
            }
            if signals.iter().any(|x: &RelaySignal| x.name == s.name) {
                return Err(err(at, format!("signal {:?} is declared twice", s.name)));
            }
            signals.push(RelaySignal {
                name: s.name,
                kind: s.kind,
                role: s.role,
                endpoint: s.endpoint,
                unit: s.unit,
                source,
            });
        }
        let mut tokens = Vec::new();
        for t in raw.tokens {
            let at = t.span().start;
            let t = t.into_inner();
            let hash = match (&t.env, &t.sha256) {
                (Some(var), None) => {
                    let v = env(var).ok_or_else(|| {
                        err(
                            at,
                            format!("token {:?}: environment variable {var} is not set", t.name),
                        )
                    })?;
                    sha256(&v)
                }
                (None, Some(hex)) => parse_hex32(hex).ok_or_else(|| {
                    err(
                        at,
                        format!("token {:?}: sha256 must be 64 hex digits", t.name),
                    )
                })?,
                _ => {
                    return Err(err(
                        at,
                        format!("token {:?}: give exactly one of `env` or `sha256`", t.name),
                    ));
                }
            };
            tokens.push(RelayToken {
                name: t.name,
                roles: t.roles,
                hash,
            });
        }
        let limits = limits::limits(&raw.limits, &err)?;
        if tokens.is_empty() && !listen.ip().is_loopback() {
            return Err(err(
                0,
                format!(
                    "listen {listen} is not loopback: configure [[tokens]] before serving beyond this machine"
                ),
            ));
        }
        let changes = match raw.changes {
            None => super::changes_config::ChangesConfig::default(),
            Some(c) => {
                let at = c.span().start;
                c.into_inner()
                    .into_config(&dimensions, prometheus.is_some())
                    .map_err(|m| err(at, m))?
            }
        };
        Ok(RelayConfig {
            changes,
            listen,
            bucket_ms,
            history_ms,
            dimensions,
            data_dir: raw.data_dir.map(PathBuf::from),
            tls: raw
                .tls
                .map(|t| (PathBuf::from(t.cert), PathBuf::from(t.key))),
            prometheus,
            signals,
            tokens,
            max_body_bytes: limits.max_body_bytes,
            max_points_per_request: limits.max_points_per_request,
            max_connections_per_token: limits.max_connections_per_token,
            client_queue: limits.client_queue,
            max_frame_bytes: limits.max_frame_bytes,
            max_subscribes_per_minute: limits.max_subscribes_per_minute,
            send_timeout: limits.send_timeout,
            max_slices: limits.max_slices,
            max_label_value_bytes: limits.max_label_value_bytes,
            connections: limits.connections,
        })
    }

    /// The token with this secret, compared by hash.
    pub fn token_for(&self, secret: &str) -> Option<&RelayToken> {
        let h = sha256(secret);
        self.tokens.iter().find(|t| t.hash == h)
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Labels → the relay's dimensions, in its order.
pub fn slice_of(labels: &BTreeMap<String, String>, dimensions: &[String]) -> Vec<(String, String)> {
    dimensions
        .iter()
        .map(|d| (d.clone(), labels.get(d).cloned().unwrap_or_default()))
        .collect()
}
