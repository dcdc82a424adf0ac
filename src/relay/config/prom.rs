//! The `[prometheus]` section of relay.toml.

use std::time::Duration;

use toml::Spanned;

use super::{DEFAULT_DELAY, PromSettings, RawProm};
use crate::config::{ConfigError, parse_duration};

/// Reads `[prometheus]`; `err(offset, message)` names the line.
pub(super) fn prom_settings(
    p: RawProm,
    env: &dyn Fn(&str) -> Option<String>,
    err: &dyn Fn(usize, String) -> ConfigError,
) -> Result<PromSettings, ConfigError> {
    let secret = |name: &Option<String>, key: &str| -> Result<Option<String>, ConfigError> {
        match name {
            None => Ok(None),
            Some(n) => env(n).map(Some).ok_or_else(|| {
                err(
                    p.url.span().start,
                    format!("prometheus.{key}: environment variable {n} is not set"),
                )
            }),
        }
    };
    let basic = match (
        secret(&p.basic_user_env, "basic_user_env")?,
        secret(&p.basic_password_env, "basic_password_env")?,
    ) {
        (Some(u), Some(pw)) => Some((u, pw)),
        (None, None) => None,
        _ => {
            return Err(err(
                p.url.span().start,
                "prometheus: set both basic_user_env and basic_password_env".into(),
            ));
        }
    };
    let timeout = match &p.timeout {
        Some(t) => parse_duration(t.get_ref())
            .map_err(|m| err(t.span().start, format!("prometheus.timeout: {m}")))?,
        None => Duration::from_secs(10),
    };
    let delay = match &p.delay {
        Some(t) => parse_duration(t.get_ref())
            .map_err(|m| err(t.span().start, format!("prometheus.delay: {m}")))?,
        None => DEFAULT_DELAY,
    };
    if !p.url.get_ref().starts_with("http://") && !p.url.get_ref().starts_with("https://") {
        return Err(err(
            p.url.span().start,
            format!(
                "prometheus.url: {:?} is not an http(s) URL",
                p.url.get_ref()
            ),
        ));
    }
    if let Some(w) = &p.remote_write_url
        && !w.get_ref().starts_with("http://")
        && !w.get_ref().starts_with("https://")
    {
        return Err(err(
            w.span().start,
            format!(
                "prometheus.remote_write_url: {:?} is not an http(s) URL",
                w.get_ref()
            ),
        ));
    }
    Ok(PromSettings {
        remote_write_url: p.remote_write_url.map(Spanned::into_inner),
        url: p.url.get_ref().clone(),
        path_prefix: p.path_prefix,
        tenant: p.tenant,
        bearer: secret(&p.bearer_env, "bearer_env")?,
        basic,
        timeout,
        delay,
        attempts: p.attempts.unwrap_or(3).clamp(1, 10),
    })
}
