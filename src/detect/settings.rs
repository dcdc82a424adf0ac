//! What a user sets about detection, in the words of config.toml, and the
//! monitor configuration that follows from it once the bucket size is known.

use super::burn::{BurnRateConfig, DEFAULT_SLO};
use super::config::{
    DEFAULT_FALSE_ALARM_DAYS, DEFAULT_GLR_FLOOR, DEFAULT_GLR_MARGIN, DEFAULT_GLR_SHORT_MARGIN,
    DEFAULT_GLR_SHORT_MARGIN_LEAST, DEFAULT_GLR_SKEW_REF, DEFAULT_GLR_WINDOW_PENALTY,
    DEFAULT_MIN_SHIFT, DetectorConfig,
};
use super::monitor::{LEAF_ARL0_FACTOR, MonitorConfig, leaf_detector};
use crate::protocol::Millis;

/// The three knobs of `[detection]` in config.toml, plus the leaf budget.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DetectionSettings {
    /// About one false alarm per fleet or group track and signal per this
    /// many days of healthy data (ARL₀).
    pub false_alarm_days: f64,
    /// Smallest drop worth knowing, in percentage points (1.0 = one point).
    pub min_change_pp: f64,
    /// Availability objective as a fraction (0.999 = 99.9 %).
    pub slo: f64,
    /// Leaf tracks wait this many times longer between false alarms.
    pub leaf_arl0_factor: f64,
    /// The GLR's threshold margin, size floor, short-window margin, window
    /// penalty, skew reference and level (see
    /// [`DetectorConfig`](super::DetectorConfig)); not in config.toml.
    pub glr_margin: f64,
    pub glr_floor: f64,
    pub glr_short_margin: f64,
    pub glr_window_penalty: f64,
    pub glr_skew_ref: f64,
    pub glr_short_margin_least: f64,
    pub glr_guarded: bool,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        DetectionSettings {
            false_alarm_days: DEFAULT_FALSE_ALARM_DAYS,
            min_change_pp: DEFAULT_MIN_SHIFT * 100.0,
            slo: DEFAULT_SLO,
            leaf_arl0_factor: LEAF_ARL0_FACTOR,
            glr_margin: DEFAULT_GLR_MARGIN,
            glr_floor: DEFAULT_GLR_FLOOR,
            glr_short_margin: DEFAULT_GLR_SHORT_MARGIN,
            glr_window_penalty: DEFAULT_GLR_WINDOW_PENALTY,
            glr_skew_ref: DEFAULT_GLR_SKEW_REF,
            glr_short_margin_least: DEFAULT_GLR_SHORT_MARGIN_LEAST,
            glr_guarded: true,
        }
    }
}

impl DetectionSettings {
    /// From config.toml's values as written there: days, points, and the
    /// SLO in percent (99.9). Values out of range fall back to the default.
    pub fn from_config(false_alarm_days: f64, min_change_pp: f64, slo_percent: f64) -> Self {
        let d = DetectionSettings::default();
        DetectionSettings {
            false_alarm_days: if false_alarm_days.is_finite() && false_alarm_days > 0.0 {
                false_alarm_days
            } else {
                d.false_alarm_days
            },
            min_change_pp: if min_change_pp.is_finite() && min_change_pp > 0.0 {
                min_change_pp
            } else {
                d.min_change_pp
            },
            slo: if slo_percent.is_finite() && slo_percent > 0.0 && slo_percent < 100.0 {
                slo_percent / 100.0
            } else {
                d.slo
            },
            ..d
        }
    }

    /// The monitor's configuration at buckets of `bucket_ms`.
    pub fn monitor_config(&self, bucket_ms: Millis) -> MonitorConfig {
        let base = MonitorConfig::for_bucket_ms(bucket_ms);
        let detector = DetectorConfig {
            glr_margin: self.glr_margin,
            glr_floor: self.glr_floor,
            glr_short_margin: self.glr_short_margin,
            glr_window_penalty: self.glr_window_penalty,
            glr_skew_ref: self.glr_skew_ref,
            glr_short_margin_least: self.glr_short_margin_least,
            glr_guarded: self.glr_guarded,
            ..base.detector
        }
        .with_false_alarm_days(self.false_alarm_days, bucket_ms)
        .with_min_shift(self.min_change_pp / 100.0);
        let factor = if self.leaf_arl0_factor.is_finite() {
            self.leaf_arl0_factor
        } else {
            LEAF_ARL0_FACTOR
        };
        MonitorConfig {
            detector,
            leaf_detector: leaf_detector(detector, factor),
            burn: BurnRateConfig::sre_workbook(self.slo, bucket_ms),
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_become_a_monitor_config() {
        let s = DetectionSettings::from_config(7.0, 2.0, 99.5);
        let m = s.monitor_config(60_000);
        assert!((m.detector.arl0_buckets - 7.0 * 1440.0).abs() < 1e-6);
        assert!((m.detector.min_shift - 0.02).abs() < 1e-12);
        assert!((m.burn.slo - 0.995).abs() < 1e-12);
        assert!(
            (m.leaf_detector.arl0_buckets / m.detector.arl0_buckets - LEAF_ARL0_FACTOR).abs()
                < 1e-9
        );
    }

    #[test]
    fn nonsense_values_fall_back_to_the_defaults() {
        let s = DetectionSettings::from_config(-1.0, f64::NAN, 100.0);
        assert_eq!(s, DetectionSettings::default());
    }
}
