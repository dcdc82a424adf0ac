//! `[alerts]` in relay.toml: where the relay posts active regressions
//! itself (an Alertmanager's `/api/v2/alerts`), besides exposing them on
//! `/metrics.prom` for a Prometheus rule.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, parse_duration};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    alertmanager_url: Spanned<String>,
    /// How often active regressions are posted again; must stay under the
    /// Alertmanager's `resolve_timeout` (5m by default).
    #[serde(default)]
    repeat: Option<Spanned<String>>,
    /// Where the alert's `generatorURL` points (the relay's public address).
    #[serde(default)]
    generator_url: Option<String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
}

/// The Alertmanager the relay posts to.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub alertmanager_url: String,
    pub repeat: Duration,
    pub generator_url: Option<String>,
    pub timeout: Duration,
}

/// Half of Alertmanager's default `resolve_timeout` (5m): an alert posted
/// this often never resolves on its own while it is active.
pub const DEFAULT_REPEAT: Duration = Duration::from_secs(150);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn alerts(
    raw: RawAlerts,
    err: &dyn Fn(usize, String) -> ConfigError,
) -> Result<AlertsConfig, ConfigError> {
    let url = raw.alertmanager_url.get_ref();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(err(
            raw.alertmanager_url.span().start,
            format!(
                "alerts.alertmanager_url: {url:?} is not an http(s) URL (e.g. http://alertmanager:9093/api/v2/alerts)"
            ),
        ));
    }
    let dur = |v: &Option<Spanned<String>>, key: &str, default: Duration, lo: Duration| match v {
        None => Ok(default),
        Some(s) => {
            let d = parse_duration(s.get_ref())
                .map_err(|m| err(s.span().start, format!("alerts.{key}: {m}")))?;
            if d < lo || d > Duration::from_secs(3600) {
                return Err(err(
                    s.span().start,
                    format!("alerts.{key}: must be between {}s and 1h", lo.as_secs()),
                ));
            }
            Ok(d)
        }
    };
    Ok(AlertsConfig {
        repeat: dur(
            &raw.repeat,
            "repeat",
            DEFAULT_REPEAT,
            Duration::from_secs(1),
        )?,
        timeout: dur(
            &raw.timeout,
            "timeout",
            DEFAULT_TIMEOUT,
            Duration::from_secs(1),
        )?,
        alertmanager_url: raw.alertmanager_url.into_inner(),
        generator_url: raw.generator_url,
    })
}
