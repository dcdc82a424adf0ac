//! `[detection]` in relay.toml: config.toml's section, read by config.toml's
//! own parser ([`crate::config::RawDetection`]), so the relay's detectors
//! take the same keys, ranges and messages as the TUI's and `check`'s.

use crate::config::{ConfigError, DetectionValues, RawDetection};
use crate::detect::DetectionSettings;

pub(super) fn detection(
    raw: &RawDetection,
    err: &dyn Fn(usize, String) -> ConfigError,
) -> Result<DetectionSettings, ConfigError> {
    let v = raw
        .values(DetectionValues::default())
        .map_err(|(at, m)| err(at, m))?;
    Ok(DetectionSettings::from_config(
        v.false_alarm_days,
        v.min_change_pp,
        v.slo_percent,
    ))
}
