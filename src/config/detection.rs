//! `[detection]`, the same section in config.toml (the TUI, `check`) and in
//! relay.toml (`qualtop serve`): one parser, so the keys, their ranges and
//! their error messages cannot drift apart. (Plain values: config sits
//! below detect, which turns them into `DetectionSettings`.)

use serde::Deserialize;
use toml::Spanned;

/// The section as written; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDetection {
    false_alarm_days: Option<Spanned<f64>>,
    min_change_pp: Option<Spanned<f64>>,
    slo: Option<Spanned<f64>>,
}

/// The three values in config.toml's units: days, points, SLO in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectionValues {
    pub false_alarm_days: f64,
    pub min_change_pp: f64,
    pub slo_percent: f64,
}

impl Default for DetectionValues {
    fn default() -> Self {
        DetectionValues {
            false_alarm_days: 30.0,
            min_change_pp: 1.0,
            slo_percent: 99.9,
        }
    }
}

impl RawDetection {
    /// `defaults` with the keys given here, each checked against its range.
    /// The error is the byte offset of the bad value and a sentence naming it.
    pub fn values(&self, defaults: DetectionValues) -> Result<DetectionValues, (usize, String)> {
        let mut out = defaults;
        if let Some(v) = &self.false_alarm_days {
            let x = *v.get_ref();
            if !(x.is_finite() && (1.0..=3650.0).contains(&x)) {
                return Err((
                    v.span().start,
                    format!("detection.false_alarm_days: {x} is not between 1 and 3650"),
                ));
            }
            out.false_alarm_days = x;
        }
        if let Some(v) = &self.min_change_pp {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 0.0 && x <= 50.0) {
                return Err((
                    v.span().start,
                    format!("detection.min_change_pp: {x} is not between 0 and 50 points"),
                ));
            }
            out.min_change_pp = x;
        }
        if let Some(v) = &self.slo {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 50.0 && x < 100.0) {
                return Err((
                    v.span().start,
                    format!("detection.slo: {x} is not a percentage between 50 and 100"),
                ));
            }
            out.slo_percent = x;
        }
        Ok(out)
    }
}
