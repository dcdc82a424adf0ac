//! The `[limits]` section of relay.toml: every knob has a default and a
//! sane range, and a value outside it is refused naming the key, so a typo
//! (`max_frame_bytes = 0`, `client_queue = 1e9`) fails at start instead of
//! locking every client out or allocating until the process dies.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, parse_duration};
use crate::server::ConnectionLimits;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLimits {
    max_body_bytes: Option<Spanned<i64>>,
    max_points_per_request: Option<Spanned<i64>>,
    max_connections_per_token: Option<Spanned<i64>>,
    client_queue: Option<Spanned<i64>>,
    max_frame_bytes: Option<Spanned<i64>>,
    max_subscribes_per_minute: Option<Spanned<i64>>,
    send_timeout: Option<Spanned<String>>,
    max_slices: Option<Spanned<i64>>,
    max_label_value_bytes: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    max_connections_per_ip: Option<Spanned<i64>>,
    tls_handshake_timeout: Option<Spanned<String>>,
    header_timeout: Option<Spanned<String>>,
    body_timeout: Option<Spanned<String>>,
    first_request_timeout: Option<Spanned<String>>,
}

/// The limits, checked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Limits {
    pub max_body_bytes: usize,
    pub max_points_per_request: usize,
    pub max_connections_per_token: usize,
    pub client_queue: usize,
    pub max_frame_bytes: usize,
    pub max_subscribes_per_minute: u32,
    pub send_timeout: Duration,
    pub max_slices: usize,
    pub max_label_value_bytes: usize,
    pub connections: ConnectionLimits,
}

/// Distinct slices per endpoint by default: a full 6 h window of four
/// signals at this cap is ~17 MiB, half the client's message limit.
pub const DEFAULT_MAX_SLICES: usize = 1000;
/// Longest label value by default, in bytes.
pub const DEFAULT_MAX_LABEL_VALUE_BYTES: usize = 128;

/// Reads `[limits]`; `err(offset, message)` names the line.
pub(super) fn limits(
    raw: &RawLimits,
    err: &dyn Fn(usize, String) -> ConfigError,
) -> Result<Limits, ConfigError> {
    let num = |v: &Option<Spanned<i64>>, key: &str, default: usize, lo: i64, hi: i64| {
        let Some(v) = v else {
            return Ok(default);
        };
        let n = *v.get_ref();
        if n < lo || n > hi {
            return Err(err(
                v.span().start,
                format!("limits.{key} = {n}: must be {lo} to {hi}"),
            ));
        }
        Ok(n as usize)
    };
    let dur = |v: &Option<Spanned<String>>, key: &str, default: Duration| {
        let Some(v) = v else {
            return Ok(default);
        };
        let d = parse_duration(v.get_ref())
            .map_err(|m| err(v.span().start, format!("limits.{key}: {m}")))?;
        if d < Duration::from_millis(100) || d > Duration::from_secs(600) {
            return Err(err(
                v.span().start,
                format!("limits.{key} = {:?}: must be 100ms to 10m", v.get_ref()),
            ));
        }
        Ok(d)
    };
    let c = ConnectionLimits::default();
    let max_connections = num(
        &raw.max_connections,
        "max_connections",
        c.max_connections,
        1,
        1_000_000,
    )?;
    let max_connections_per_ip = num(
        &raw.max_connections_per_ip,
        "max_connections_per_ip",
        c.max_connections_per_ip.min(max_connections),
        1,
        max_connections as i64,
    )?;
    Ok(Limits {
        max_body_bytes: num(
            &raw.max_body_bytes,
            "max_body_bytes",
            8 << 20,
            1024,
            256 << 20,
        )?,
        max_points_per_request: num(
            &raw.max_points_per_request,
            "max_points_per_request",
            50_000,
            1,
            1_000_000,
        )?,
        max_connections_per_token: num(
            &raw.max_connections_per_token,
            "max_connections_per_token",
            64,
            1,
            1_000_000,
        )?,
        // Each place is allocated up front: a huge queue is a huge allocation.
        client_queue: num(&raw.client_queue, "client_queue", 256, 1, 65_536)?,
        // Below this a subscribe no longer fits, and every client is cut
        // off (1009) as it connects.
        max_frame_bytes: num(
            &raw.max_frame_bytes,
            "max_frame_bytes",
            crate::server::MAX_REQUEST_BYTES,
            1024,
            16 << 20,
        )?,
        max_subscribes_per_minute: num(
            &raw.max_subscribes_per_minute,
            "max_subscribes_per_minute",
            30,
            1,
            10_000,
        )? as u32,
        send_timeout: dur(&raw.send_timeout, "send_timeout", Duration::from_secs(10))?,
        max_slices: num(
            &raw.max_slices,
            "max_slices",
            DEFAULT_MAX_SLICES,
            1,
            1_000_000,
        )?,
        max_label_value_bytes: num(
            &raw.max_label_value_bytes,
            "max_label_value_bytes",
            DEFAULT_MAX_LABEL_VALUE_BYTES,
            1,
            4096,
        )?,
        connections: ConnectionLimits {
            max_connections,
            max_connections_per_ip,
            tls_handshake_timeout: dur(
                &raw.tls_handshake_timeout,
                "tls_handshake_timeout",
                c.tls_handshake_timeout,
            )?,
            header_timeout: dur(&raw.header_timeout, "header_timeout", c.header_timeout)?,
            body_timeout: dur(&raw.body_timeout, "body_timeout", c.body_timeout)?,
            first_request_timeout: dur(
                &raw.first_request_timeout,
                "first_request_timeout",
                c.first_request_timeout,
            )?,
        },
    })
}
