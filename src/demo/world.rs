//! The demo world: a scenario, a seed and an anchor in time. Every bucket's
//! value is a pure function of (scenario, seed, leaf, signal, bucket offset from
//! the anchor), so history and live data agree, two servers with one seed serve
//! the same numbers (shifted to their own anchor), and a week replays offline.

use std::f64::consts::TAU;

use crate::protocol::{BucketValue, Millis};

use super::fleet::{self, DemoLeaf, LeafId};
use super::noise;
use super::regression::CompiledRegression;
use super::scenario::{DIMENSIONS, Scenario, Scope};
use super::signals::{self, DemoSignal, DemoSignalId, Endpoint, Generator};

const STREAM_TRAFFIC: u64 = 0x7a1f_0001;
const STREAM_SAMPLE: u64 = 0x7a1f_0002;
const STREAM_SLICE_RATE: u64 = 0x7a1f_0003;
const MINUTE_MS: f64 = 60_000.0;

/// What the scenario injected, for tests and the detection benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectedRegression {
    pub name: String,
    /// Regressions with one root cause share it.
    pub cause: String,
    pub description: String,
    pub scope: Scope,
    /// Signals with a non-zero effect, in world order.
    pub signals: Vec<String>,
    /// When the level first rises above zero (may precede the history).
    pub onset_ms: Millis,
    /// When the level is back to zero for good.
    pub end_ms: Millis,
    /// The timeline as (time, share of the scope's traffic hit).
    pub keyframes: Vec<(Millis, f64)>,
    /// Leaves in the scope whose scale is above zero.
    pub leaves: Vec<LeafId>,
}

#[derive(Debug, Clone)]
pub struct World {
    scenario: Scenario,
    seed: u64,
    anchor_ms: Millis,
    leaves: Vec<DemoLeaf>,
    signals: Vec<DemoSignal>,
    regressions: Vec<CompiledRegression>,
    /// Healthy rate of each (leaf, quality signal), row-major by leaf.
    slice_rate: Vec<f64>,
}

impl World {
    /// `anchor_ms` is floored to the bucket; timeline minutes count from it.
    pub fn new(scenario: Scenario, seed: u64, anchor_ms: Millis) -> World {
        let bucket_ms = scenario.clock.bucket_ms.max(1);
        let anchor_ms = anchor_ms.div_euclid(bucket_ms) * bucket_ms;
        let leaves = fleet::leaves(&scenario);
        let signals = signals::signals_of(&scenario);
        let names: Vec<&str> = signals.iter().map(|s| s.spec.name.as_str()).collect();
        let regressions = scenario
            .regressions
            .iter()
            .map(|r| CompiledRegression::compile(r, &leaves, &names, seed))
            .collect();
        let slice_rate = leaves
            .iter()
            .flat_map(|leaf| {
                signals
                    .iter()
                    .map(|sig| healthy_slice_rate(&scenario, seed, leaf, sig))
            })
            .collect();
        World {
            scenario,
            seed,
            anchor_ms,
            leaves,
            signals,
            regressions,
            slice_rate,
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Data time "now" when the server started, floored to the bucket.
    pub fn anchor_ms(&self) -> Millis {
        self.anchor_ms
    }
    pub fn bucket_ms(&self) -> Millis {
        self.scenario.clock.bucket_ms
    }
    pub fn history_ms(&self) -> Millis {
        self.history_buckets() * self.bucket_ms()
    }
    /// Buckets of history held before the anchor.
    pub fn history_buckets(&self) -> i64 {
        (self.scenario.clock.history_minutes * 60_000 / self.bucket_ms()).max(1)
    }
    pub fn dimensions(&self) -> Vec<String> {
        DIMENSIONS.iter().map(|d| (*d).to_owned()).collect()
    }
    pub fn leaves(&self) -> &[DemoLeaf] {
        &self.leaves
    }
    pub fn leaf(&self, id: LeafId) -> Option<&DemoLeaf> {
        self.leaves.get(id.0)
    }
    pub fn leaf_ids(&self) -> impl Iterator<Item = LeafId> + use<> {
        (0..self.leaves.len()).map(LeafId)
    }
    /// Finds a leaf by its four dimension values.
    pub fn find_leaf(
        &self,
        model: &str,
        platform: &str,
        region: &str,
        hardware: &str,
    ) -> Option<LeafId> {
        self.leaves
            .iter()
            .position(|l| {
                l.model == model
                    && l.platform == platform
                    && l.region == region
                    && l.hardware == hardware
            })
            .map(LeafId)
    }
    pub fn signals(&self) -> &[DemoSignal] {
        &self.signals
    }
    pub fn signal(&self, name: &str) -> Option<DemoSignalId> {
        self.signals
            .iter()
            .position(|s| s.spec.name == name)
            .map(DemoSignalId)
    }
    /// The signals one endpoint serves, in world order.
    pub fn signals_of(&self, endpoint: Endpoint) -> Vec<DemoSignalId> {
        (0..self.signals.len())
            .filter(|i| self.signals[*i].endpoint == endpoint)
            .map(DemoSignalId)
            .collect()
    }

    /// Start of the bucket `offset` buckets after the anchor (negative: history).
    pub fn bucket_ts(&self, offset: i64) -> Millis {
        self.anchor_ms + offset * self.bucket_ms()
    }
    /// Buckets from the anchor to the bucket holding `ts`.
    pub fn offset_of(&self, ts: Millis) -> i64 {
        (ts - self.anchor_ms).div_euclid(self.bucket_ms())
    }

    /// The counts (ratio) or value (gauge) of one bucket. Pure: the same
    /// arguments give the same answer in any process, in any order.
    pub fn sample(&self, leaf: LeafId, signal: DemoSignalId, ts: Millis) -> Option<BucketValue> {
        let l = self.leaves.get(leaf.0)?;
        let sig = self.signals.get(signal.0)?;
        let offset = self.offset_of(ts);
        let minute = self.minute(offset);
        let mut rng = noise::rng(
            self.seed,
            &[STREAM_SAMPLE, l.key, sig.key, noise::bucket_part(offset)],
        );
        let survival = self.survival(leaf.0, signal.0, minute);
        let s = &self.scenario;
        let value = match sig.generator {
            Generator::Availability => {
                let n = self.traffic(l, offset);
                let a = &s.availability;
                let blip = noise::uniform(&mut rng) < a.blip_probability;
                let error_rate = if blip {
                    a.blip_error_rate
                } else {
                    a.error_rate
                };
                // Ordinary errors never take a slice below the floor: the green dashboard.
                let cap = ((1.0 - a.floor) * n as f64).floor() as u64;
                let mut errors = noise::binomial(&mut rng, n, error_rate).min(cap);
                if survival < 1.0 {
                    errors += noise::binomial(&mut rng, n - errors, 1.0 - survival);
                }
                ratio(n - errors, n)
            }
            Generator::Latency => {
                let base = self.latency_baseline(l, minute) * survival;
                let jitter = s.latency.jitter;
                let v = base * (jitter * noise::std_normal(&mut rng) - jitter * jitter / 2.0).exp();
                BucketValue::Gauge((v * 10.0).round() / 10.0)
            }
            Generator::Suite(i) => {
                let suite = s.suites.get(i)?;
                let load = self.load(minute);
                // Evals sample production prompts, so their volume follows traffic, damped.
                let n = noise::count(
                    &mut rng,
                    suite.cases_per_minute * (1.0 + 0.5 * (load - 1.0)),
                );
                let p = self.slice_rate(leaf.0, signal.0) * survival;
                ratio(noise::beta_binomial(&mut rng, n, p, suite.dispersion), n)
            }
            Generator::Feedback => {
                let traffic = self.traffic(l, offset);
                let rated = noise::binomial(&mut rng, traffic, s.feedback.rated_fraction);
                let p = self.slice_rate(leaf.0, signal.0) * survival;
                ratio(
                    noise::beta_binomial(&mut rng, rated, p, s.feedback.dispersion),
                    rated,
                )
            }
        };
        Some(value)
    }

    /// The noise-free pass rate (ratio) or value (gauge) of a bucket, with the
    /// injected regressions.
    pub fn expected_rate(&self, leaf: LeafId, signal: DemoSignalId, ts: Millis) -> Option<f64> {
        let minute = self.minute(self.offset_of(ts));
        let base = self.baseline_rate(leaf, signal, ts)?;
        let survival = self.survival(leaf.0, signal.0, minute);
        Some(base * survival)
    }

    /// The noise-free pass rate (ratio) or value (gauge) of a bucket had
    /// nothing been injected.
    pub fn baseline_rate(&self, leaf: LeafId, signal: DemoSignalId, ts: Millis) -> Option<f64> {
        let l = self.leaves.get(leaf.0)?;
        let sig = self.signals.get(signal.0)?;
        let minute = self.minute(self.offset_of(ts));
        let a = &self.scenario.availability;
        Some(match sig.generator {
            Generator::Availability => {
                1.0 - (a.error_rate * (1.0 - a.blip_probability)
                    + a.blip_error_rate * a.blip_probability)
            }
            Generator::Latency => self.latency_baseline(l, minute),
            Generator::Suite(_) | Generator::Feedback => self.slice_rate(leaf.0, signal.0),
        })
    }

    /// Share of a leaf's traffic that regression `index` (in [`World::truth`]
    /// order) hits in the bucket holding `ts`.
    pub fn hit_share(&self, index: usize, leaf: LeafId, ts: Millis) -> f64 {
        let (Some(r), Some(l)) = (self.regressions.get(index), self.leaves.get(leaf.0)) else {
            return 0.0;
        };
        r.hit(self.seed, leaf.0, l, self.minute(self.offset_of(ts)))
    }

    /// Every injected regression, in scenario order.
    pub fn truth(&self) -> Vec<InjectedRegression> {
        self.regressions
            .iter()
            .map(|r| {
                let (onset, end) = r.active_minutes().unwrap_or((0.0, 0.0));
                InjectedRegression {
                    name: r.spec.name.clone(),
                    cause: r.spec.cause.clone().unwrap_or_else(|| r.spec.name.clone()),
                    description: r.spec.description.clone(),
                    scope: r.spec.scope.clone(),
                    signals: self
                        .signals
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| r.effect(*i) > 0.0)
                        .map(|(_, s)| s.spec.name.clone())
                        .collect(),
                    onset_ms: self.minute_ms(onset),
                    end_ms: self.minute_ms(end),
                    keyframes: r
                        .spec
                        .timeline
                        .iter()
                        .map(|k| (self.minute_ms(k.at), k.level))
                        .collect(),
                    leaves: self.leaf_ids().filter(|id| r.touches(id.0)).collect(),
                }
            })
            .collect()
    }

    fn minute(&self, offset: i64) -> f64 {
        (offset * self.bucket_ms()) as f64 / MINUTE_MS
    }

    fn minute_ms(&self, minute: f64) -> Millis {
        self.anchor_ms + (minute * MINUTE_MS).round() as Millis
    }

    /// Traffic relative to the daily mean at this minute.
    fn load(&self, minute: f64) -> f64 {
        let t = &self.scenario.traffic;
        1.0 + t.diurnal_amplitude * (TAU * (minute - t.peak_minute) / 1440.0).cos()
    }

    /// Requests a leaf served in a bucket; shared by availability and feedback.
    fn traffic(&self, leaf: &DemoLeaf, offset: i64) -> u64 {
        let t = &self.scenario.traffic;
        let mut rng = noise::rng(
            self.seed,
            &[STREAM_TRAFFIC, leaf.key, noise::bucket_part(offset)],
        );
        let minutes_per_bucket = self.bucket_ms() as f64 / MINUTE_MS;
        let mean = t.requests_per_minute
            * minutes_per_bucket
            * leaf.traffic_share
            * self.load(self.minute(offset))
            * noise::mean_one_lognormal(&mut rng, t.jitter);
        noise::count(&mut rng, mean)
    }

    fn latency_baseline(&self, leaf: &DemoLeaf, minute: f64) -> f64 {
        let s = &self.scenario;
        let (Some(m), Some(p), Some(h)) = (
            s.models.get(leaf.model_index),
            s.platforms.get(leaf.platform_index),
            s.hardware.get(leaf.hardware_index),
        ) else {
            return 0.0;
        };
        let load = 1.0 + s.latency.load_sensitivity * (self.load(minute) - 1.0);
        m.latency_ms * p.latency_factor * h.latency_factor * load
    }

    fn slice_rate(&self, leaf: usize, signal: usize) -> f64 {
        self.slice_rate
            .get(leaf * self.signals.len() + signal)
            .copied()
            .unwrap_or(0.0)
    }

    /// What the regressions leave of a signal on a leaf: for a ratio, the
    /// share of cases still passing; for a gauge, the factor on the value.
    fn survival(&self, leaf: usize, signal: usize, minute: f64) -> f64 {
        let Some(l) = self.leaves.get(leaf) else {
            return 1.0;
        };
        let is_gauge = self
            .signals
            .get(signal)
            .is_some_and(|s| s.generator == Generator::Latency);
        let mut survival = 1.0;
        for r in &self.regressions {
            let effect = r.effect(signal);
            if effect == 0.0 {
                continue;
            }
            let hit = r.hit(self.seed, leaf, l, minute);
            survival *= if is_gauge {
                1.0 + hit * effect
            } else {
                1.0 - hit * effect
            };
        }
        survival
    }
}

fn ratio(good: u64, total: u64) -> BucketValue {
    // Counts here are far below u32::MAX (a leaf serves well under a billion a minute).
    BucketValue::Ratio {
        good: good.min(u64::from(u32::MAX - 1)) as u32,
        total: total.min(u64::from(u32::MAX - 1)) as u32,
    }
}

/// A leaf's own healthy rate of a quality signal: the model's, nudged on the
/// log-odds scale so slices differ a little, as real ones do.
fn healthy_slice_rate(s: &Scenario, seed: u64, leaf: &DemoLeaf, sig: &DemoSignal) -> f64 {
    let Some(model_rate) = s
        .models
        .get(leaf.model_index)
        .and_then(|m| m.quality.get(&sig.spec.name))
        .copied()
    else {
        return 0.0;
    };
    let p = model_rate.clamp(1e-4, 1.0 - 1e-4);
    let mut rng = noise::rng(seed, &[STREAM_SLICE_RATE, leaf.key, sig.key]);
    let logit = (p / (1.0 - p)).ln() + s.quality.slice_spread * noise::std_normal(&mut rng);
    1.0 / (1.0 + (-logit).exp())
}
