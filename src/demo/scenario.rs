//! A demo scenario as written in TOML: the fleet, its healthy behaviour, and the
//! regressions injected into it. The built-in one is `three_bugs.toml`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The dimensions every demo slice has, in this order.
pub const DIMENSIONS: [&str; 4] = ["model", "platform", "region", "hardware"];

/// A partial slice: dimension → accepted values (OR within, AND across).
pub type Scope = BTreeMap<String, Vec<String>>;

const BUILTIN: &str = include_str!("three_bugs.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub clock: ClockSpec,
    pub traffic: TrafficSpec,
    pub availability: AvailabilitySpec,
    pub latency: LatencySpec,
    pub quality: QualitySpec,
    pub feedback: FeedbackSpec,
    #[serde(rename = "suite")]
    pub suites: Vec<SuiteSpec>,
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
    #[serde(rename = "platform")]
    pub platforms: Vec<PlatformSpec>,
    #[serde(rename = "region")]
    pub regions: Vec<RegionSpec>,
    pub hardware: Vec<HardwareSpec>,
    #[serde(default, rename = "exclude")]
    pub excludes: Vec<Scope>,
    #[serde(default, rename = "regression")]
    pub regressions: Vec<RegressionSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    pub bucket_ms: i64,
    pub history_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    pub requests_per_minute: f64,
    pub diurnal_amplitude: f64,
    pub peak_minute: f64,
    pub jitter: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySpec {
    pub error_rate: f64,
    pub blip_probability: f64,
    pub blip_error_rate: f64,
    pub floor: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    pub load_sensitivity: f64,
    pub jitter: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualitySpec {
    pub slice_spread: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackSpec {
    pub name: String,
    pub rated_fraction: f64,
    pub dispersion: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteSpec {
    pub name: String,
    pub cases_per_minute: f64,
    pub dispersion: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    #[serde(default)]
    pub size: String,
    pub traffic_share: f64,
    pub latency_ms: f64,
    /// Healthy pass rate per suite, and the feedback signal's healthy rate.
    pub quality: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub name: String,
    pub traffic_share: f64,
    #[serde(default = "one")]
    pub latency_factor: f64,
    /// Hardware served from → its share of this platform's traffic.
    pub hardware: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    pub name: String,
    pub traffic_share: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    pub name: String,
    #[serde(default = "one")]
    pub latency_factor: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionSpec {
    pub name: String,
    /// Regressions with one root cause share it (defaults to the name).
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub description: String,
    pub scope: Scope,
    /// dimension → value → multiplier of the level (values not listed: 1).
    #[serde(default)]
    pub scale: BTreeMap<String, BTreeMap<String, f64>>,
    pub timeline: Vec<Keyframe>,
    /// signal → share of hit cases that fail (ratio) or relative rise (gauge).
    pub effect: BTreeMap<String, f64>,
    #[serde(default)]
    pub variation: Variation,
}

/// A point of a regression's timeline: at `at` minutes from the anchor, `level`
/// of the scope's traffic is hit.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyframe {
    pub at: f64,
    pub level: f64,
}

/// How unevenly a regression hits its scope.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Variation {
    /// Log-normal spread of each slice's hit factor, fixed for the run.
    pub per_slice: f64,
    /// Length of the blocks the hit changes between; 0 = no blocks.
    pub block_minutes: f64,
    /// Log-normal spread of the hit factor from block to block.
    pub per_block: f64,
    /// Share of blocks in which the regression is active at all.
    pub duty: f64,
}

impl Default for Variation {
    fn default() -> Self {
        Variation {
            per_slice: 0.0,
            block_minutes: 0.0,
            per_block: 0.0,
            duty: 1.0,
        }
    }
}

fn one() -> f64 {
    1.0
}

impl Scenario {
    /// The scenario embedded in the binary.
    pub fn builtin() -> anyhow::Result<Scenario> {
        Scenario::parse(BUILTIN).context("the built-in scenario three_bugs.toml")
    }

    /// The built-in scenario's TOML text, as a starting point for one's own.
    pub fn builtin_text() -> &'static str {
        BUILTIN
    }

    /// Reads and checks a scenario file; errors name the file and the key or line.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario file {}", path.display()))?;
        Scenario::parse(&text).with_context(|| format!("bad scenario file {}", path.display()))
    }

    /// Parses and checks scenario TOML.
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        // toml's error names the line, the column and the key.
        let scenario: Scenario = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        scenario.check().map_err(anyhow::Error::msg)?;
        Ok(scenario)
    }

    /// Names of the values of one dimension, in declaration order.
    pub fn values_of(&self, dim: &str) -> Vec<&str> {
        match dim {
            "model" => self.models.iter().map(|m| m.name.as_str()).collect(),
            "platform" => self.platforms.iter().map(|p| p.name.as_str()).collect(),
            "region" => self.regions.iter().map(|r| r.name.as_str()).collect(),
            "hardware" => self.hardware.iter().map(|h| h.name.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Names of the quality signals: the suites, then feedback.
    pub fn quality_signals(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.suites.iter().map(|s| s.name.as_str()).collect();
        names.push(&self.feedback.name);
        names
    }

    /// Checks what serde cannot: ranges, names that must exist, uniqueness.
    /// The message names the offending key.
    fn check(&self) -> Result<(), String> {
        if self.clock.bucket_ms <= 0 {
            return Err("clock.bucket_ms must be positive".into());
        }
        if self.clock.history_minutes <= 0
            || self.clock.history_minutes * 60_000 < self.clock.bucket_ms
        {
            return Err("clock.history_minutes must cover at least one bucket".into());
        }
        positive(
            "traffic.requests_per_minute",
            self.traffic.requests_per_minute,
        )?;
        unit("traffic.diurnal_amplitude", self.traffic.diurnal_amplitude)?;
        finite("traffic.peak_minute", self.traffic.peak_minute)?;
        non_negative("traffic.jitter", self.traffic.jitter)?;
        unit("availability.error_rate", self.availability.error_rate)?;
        unit(
            "availability.blip_probability",
            self.availability.blip_probability,
        )?;
        unit(
            "availability.blip_error_rate",
            self.availability.blip_error_rate,
        )?;
        unit("availability.floor", self.availability.floor)?;
        non_negative("latency.load_sensitivity", self.latency.load_sensitivity)?;
        non_negative("latency.jitter", self.latency.jitter)?;
        non_negative("quality.slice_spread", self.quality.slice_spread)?;
        unit("feedback.rated_fraction", self.feedback.rated_fraction)?;
        positive("feedback.dispersion", self.feedback.dispersion)?;
        for s in &self.suites {
            positive(
                &format!("suite {:?}.cases_per_minute", s.name),
                s.cases_per_minute,
            )?;
            positive(&format!("suite {:?}.dispersion", s.name), s.dispersion)?;
        }
        let signals = self.quality_signals();
        let mut all_signals = signals.clone();
        all_signals.extend(super::signals::METRIC_SIGNALS);
        unique("suite and feedback names", &all_signals)?;

        unique("model names", &self.values_of("model"))?;
        unique("platform names", &self.values_of("platform"))?;
        unique("region names", &self.values_of("region"))?;
        unique("hardware names", &self.values_of("hardware"))?;
        for dim in DIMENSIONS {
            if self.values_of(dim).is_empty() {
                return Err(format!("no {dim} declared"));
            }
        }
        for m in &self.models {
            let key = format!("model {:?}", m.name);
            positive(&format!("{key}.traffic_share"), m.traffic_share)?;
            positive(&format!("{key}.latency_ms"), m.latency_ms)?;
            for s in &signals {
                let rate = m
                    .quality
                    .get(*s)
                    .ok_or_else(|| format!("{key}.quality lacks {s:?}"))?;
                unit(&format!("{key}.quality.{s}"), *rate)?;
            }
            if let Some(k) = m.quality.keys().find(|k| !signals.contains(&k.as_str())) {
                return Err(format!("{key}.quality names unknown signal {k:?}"));
            }
        }
        let hardware = self.values_of("hardware");
        for p in &self.platforms {
            let key = format!("platform {:?}", p.name);
            positive(&format!("{key}.traffic_share"), p.traffic_share)?;
            positive(&format!("{key}.latency_factor"), p.latency_factor)?;
            if p.hardware.is_empty() {
                return Err(format!("{key}.hardware is empty"));
            }
            for (h, share) in &p.hardware {
                if !hardware.contains(&h.as_str()) {
                    return Err(format!("{key}.hardware names undeclared hardware {h:?}"));
                }
                positive(&format!("{key}.hardware.{h}"), *share)?;
            }
        }
        for r in &self.regions {
            positive(
                &format!("region {:?}.traffic_share", r.name),
                r.traffic_share,
            )?;
        }
        for h in &self.hardware {
            positive(
                &format!("hardware {:?}.latency_factor", h.name),
                h.latency_factor,
            )?;
        }
        for (i, scope) in self.excludes.iter().enumerate() {
            self.check_scope(&format!("exclude[{i}]"), scope)?;
        }
        let all_signal_names: Vec<&str> = all_signals.clone();
        for r in &self.regressions {
            self.check_regression(r, &all_signal_names)?;
        }
        Ok(())
    }

    fn check_scope(&self, key: &str, scope: &Scope) -> Result<(), String> {
        for (dim, values) in scope {
            let known = self.values_of(dim);
            if known.is_empty() {
                return Err(format!("{key} names unknown dimension {dim:?}"));
            }
            if let Some(v) = values.iter().find(|v| !known.contains(&v.as_str())) {
                return Err(format!("{key}.{dim} names undeclared value {v:?}"));
            }
        }
        Ok(())
    }

    fn check_regression(&self, r: &RegressionSpec, signals: &[&str]) -> Result<(), String> {
        let key = format!("regression {:?}", r.name);
        self.check_scope(&format!("{key}.scope"), &r.scope)?;
        for (dim, factors) in &r.scale {
            let known = self.values_of(dim);
            if known.is_empty() {
                return Err(format!("{key}.scale names unknown dimension {dim:?}"));
            }
            for (v, f) in factors {
                if !known.contains(&v.as_str()) {
                    return Err(format!("{key}.scale.{dim} names undeclared value {v:?}"));
                }
                non_negative(&format!("{key}.scale.{dim}.{v}"), *f)?;
            }
        }
        if r.timeline.is_empty() {
            return Err(format!("{key}.timeline is empty"));
        }
        for (i, k) in r.timeline.iter().enumerate() {
            finite(&format!("{key}.timeline[{i}].at"), k.at)?;
            unit(&format!("{key}.timeline[{i}].level"), k.level)?;
        }
        if r.timeline.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(format!("{key}.timeline must be in time order"));
        }
        if r.effect.is_empty() {
            return Err(format!("{key}.effect is empty"));
        }
        for (s, e) in &r.effect {
            if !signals.contains(&s.as_str()) {
                return Err(format!("{key}.effect names unknown signal {s:?}"));
            }
            non_negative(&format!("{key}.effect.{s}"), *e)?;
            let is_gauge = s == super::signals::LATENCY;
            if !is_gauge && *e > 1.0 {
                return Err(format!("{key}.effect.{s} must be at most 1"));
            }
        }
        let v = &r.variation;
        non_negative(&format!("{key}.variation.per_slice"), v.per_slice)?;
        non_negative(&format!("{key}.variation.block_minutes"), v.block_minutes)?;
        non_negative(&format!("{key}.variation.per_block"), v.per_block)?;
        if !(v.duty > 0.0 && v.duty <= 1.0) {
            return Err(format!("{key}.variation.duty must be in (0, 1]"));
        }
        Ok(())
    }
}

fn finite(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{key} must be a finite number"))
    }
}

fn positive(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be positive, not {v}"))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be zero or more, not {v}"))
    }
}

fn unit(key: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{key} must be between 0 and 1, not {v}"))
    }
}

fn unique(what: &str, names: &[&str]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for n in names {
        if n.is_empty() {
            return Err(format!("{what}: empty name"));
        }
        if !seen.insert(*n) {
            return Err(format!("{what}: {n:?} given twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenario_parses_and_passes_its_checks() {
        let s = Scenario::builtin().unwrap();
        assert_eq!(s.models.len(), 4);
        assert!(s.regressions.len() >= 3);
    }

    #[test]
    fn typo_in_a_key_is_reported_with_its_line() {
        let text = BUILTIN.replace("jitter = 0.04", "jiter = 0.04");
        let err = format!("{:#}", Scenario::parse(&text).unwrap_err());
        assert!(err.contains("jiter"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn regression_naming_an_unknown_model_is_rejected_by_name() {
        let text = BUILTIN.replace(
            "scope = { model = [\"atlas-m\"] }",
            "scope = { model = [\"atlas-q\"] }",
        );
        let err = format!("{:#}", Scenario::parse(&text).unwrap_err());
        assert!(err.contains("context-window-routing"), "{err}");
        assert!(err.contains("atlas-q"), "{err}");
    }

    #[test]
    fn load_names_the_file_in_its_error() {
        let dir = std::env::temp_dir().join(format!("qualtop-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.toml");
        std::fs::write(&path, "name = \n").unwrap();
        let err = format!("{:#}", Scenario::load(&path).unwrap_err());
        std::fs::remove_dir_all(&dir).ok();
        assert!(err.contains("broken.toml"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }
}
