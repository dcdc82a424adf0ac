//! A demo scenario as written in TOML: the fleet, its healthy behaviour, and the
//! regressions injected into it. The built-in one is `three_bugs.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::protocol::ChangeKind;

/// The dimensions every demo slice has, in this order.
pub const DIMENSIONS: [&str; 4] = ["model", "platform", "region", "hardware"];

/// A partial slice: dimension → accepted values (OR within, AND across).
pub type Scope = BTreeMap<String, Vec<String>>;

const BUILTIN: &str = include_str!("three_bugs.toml");

/// Longest history a scenario may keep: a week, as the store keeps.
pub const MAX_HISTORY_MINUTES: i64 = 10_080;
/// Most leaf slices a scenario may make.
pub const MAX_LEAVES: usize = 10_000;
/// Highest request or case rate per minute (counts stay far inside u32).
pub const MAX_PER_MINUTE: f64 = 1e9;

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
    /// The changes that caused the regressions (decoys come from the seed:
    /// see `demo::changes`).
    #[serde(default, rename = "change")]
    pub changes: Vec<ChangeSpec>,
}

/// A change the scenario plays at a fixed minute: a deploy or config push,
/// and the regression it caused (ground truth for ranking changes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSpec {
    /// Minutes from the anchor.
    pub at: f64,
    /// A partial slice: one value per dimension it names; `{}` is the fleet.
    #[serde(default)]
    pub scope: BTreeMap<String, String>,
    pub kind: ChangeKind,
    pub title: String,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    /// The regression this change caused; regressions that share its
    /// `cause` share the change.
    #[serde(default)]
    pub regression: Option<String>,
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
        scenario.check_sizes().map_err(anyhow::Error::msg)?;
        scenario.check().map_err(anyhow::Error::msg)?;
        scenario.check_changes().map_err(anyhow::Error::msg)?;
        Ok(scenario)
    }

    /// Bounds on what the demo allocates from (history × slices × signals),
    /// checked first: an absurd value must fail here, not exhaust memory.
    fn check_sizes(&self) -> Result<(), String> {
        if !(1000..=3_600_000).contains(&self.clock.bucket_ms) {
            return Err(format!(
                "clock.bucket_ms = {}: must be 1000 (1s) to 3600000 (1h)",
                self.clock.bucket_ms
            ));
        }
        if !(1..=MAX_HISTORY_MINUTES).contains(&self.clock.history_minutes) {
            return Err(format!(
                "clock.history_minutes = {}: must be 1 to {MAX_HISTORY_MINUTES} (a week)",
                self.clock.history_minutes
            ));
        }
        let leaves = [
            self.models.len(),
            self.platforms.len(),
            self.regions.len(),
            self.hardware.len(),
        ]
        .iter()
        .try_fold(1usize, |n, k| n.checked_mul(*k))
        .unwrap_or(usize::MAX);
        if leaves > MAX_LEAVES {
            return Err(format!(
                "models × platforms × regions × hardware = {leaves} slices: at most {MAX_LEAVES}"
            ));
        }
        let rates = [(
            "traffic.requests_per_minute",
            self.traffic.requests_per_minute,
        )]
        .into_iter()
        .chain(
            self.suites
                .iter()
                .map(|s| ("suite cases_per_minute", s.cases_per_minute)),
        );
        for (key, v) in rates {
            if v > MAX_PER_MINUTE {
                return Err(format!("{key} = {v:e}: at most {MAX_PER_MINUTE:e}"));
            }
        }
        Ok(())
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

    /// Checks the `[[change]]` entries: known dimensions and values, a
    /// regression that exists, a finite time, a title.
    fn check_changes(&self) -> Result<(), String> {
        for (i, c) in self.changes.iter().enumerate() {
            let key = format!("change[{i}] {:?}", c.title);
            if !c.at.is_finite() {
                return Err(format!("{key}.at must be a number of minutes"));
            }
            if c.title.trim().is_empty() {
                return Err(format!("change[{i}].title must not be empty"));
            }
            for (dim, value) in &c.scope {
                if !DIMENSIONS.contains(&dim.as_str()) {
                    return Err(format!("{key}.scope names unknown dimension {dim:?}"));
                }
                if !self.values_of(dim).contains(&value.as_str()) {
                    return Err(format!("{key}.scope: {dim} {value:?} is not in the fleet"));
                }
            }
            if let Some(r) = &c.regression
                && !self.regressions.iter().any(|spec| &spec.name == r)
            {
                return Err(format!("{key}.regression names unknown regression {r:?}"));
            }
        }
        Ok(())
    }

    /// Names of the quality signals: the suites, then feedback.
    pub fn quality_signals(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.suites.iter().map(|s| s.name.as_str()).collect();
        names.push(&self.feedback.name);
        names
    }
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
    fn absurd_sizes_are_refused_naming_the_key_before_anything_is_allocated() {
        let cases = [
            ("history_minutes = ", "clock.history_minutes = 100000000"),
            ("bucket_ms = ", "clock.bucket_ms = 0"),
            (
                "requests_per_minute = ",
                "traffic.requests_per_minute = 1e300",
            ),
        ];
        for (key, expected) in cases {
            let line = BUILTIN
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap();
            let value = expected.rsplit(" = ").next().unwrap();
            let text = BUILTIN.replacen(line, &format!("{key}{value}"), 1);
            let err = format!("{:#}", Scenario::parse(&text).unwrap_err());
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn builtin_changes_each_name_a_regression_and_a_bad_one_is_rejected_by_key() {
        let s = Scenario::builtin().unwrap();
        assert_eq!(s.changes.len(), 3);
        assert!(s.changes.iter().all(|c| c.regression.is_some()));
        let text = BUILTIN.replace(
            "regression = \"tpu-compiler-precision\"",
            "regression = \"nope\"",
        );
        let err = format!("{:#}", Scenario::parse(&text).unwrap_err());
        assert!(
            err.contains("change[2]") && err.contains("\"nope\""),
            "{err}"
        );
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
