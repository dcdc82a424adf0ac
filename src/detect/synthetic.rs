//! Synthetic data with known truth, for tests, benchmarks and demos:
//! overdispersed ratio series with a change point, and multi-dimensional
//! deficits generated the way the RiskLoc paper describes its datasets.
//! Seeded, so every run draws the same numbers.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Binomial, Distribution, Normal, Weibull};

use super::onset::Bucket;
use super::scope_table::ScopeTable;
use crate::protocol::Millis;
use crate::store::Ratio;

/// How one synthetic ratio series behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesSpec {
    /// Healthy rate.
    pub rate: f64,
    /// Rate after the change (same as `rate` for a healthy series).
    pub changed_rate: f64,
    /// Index of the first changed bucket (`usize::MAX`: never).
    pub change_at: usize,
    /// Mean trials per bucket; each bucket draws within ±20 % of it.
    pub total: u64,
    /// Overdispersion φ of the bucket rate (1 = binomial). Drawn as a
    /// beta-binomial: φ = 1 + (n − 1)ρ.
    pub dispersion: f64,
    pub bucket_ms: Millis,
    pub start: Millis,
}

impl SeriesSpec {
    pub fn healthy(rate: f64, total: u64, dispersion: f64) -> Self {
        SeriesSpec {
            rate,
            changed_rate: rate,
            change_at: usize::MAX,
            total,
            dispersion,
            bucket_ms: 60_000,
            start: 0,
        }
    }

    pub fn with_drop(mut self, at: usize, shift: f64) -> Self {
        self.change_at = at;
        self.changed_rate = (self.rate - shift).max(0.0);
        self
    }

    pub fn ts(&self, i: usize) -> Millis {
        self.start + i as Millis * self.bucket_ms
    }
}

/// One bucket drawn from a beta-binomial with mean `rate` and dispersion φ.
pub fn draw_bucket(rng: &mut impl Rng, rate: f64, n: u64, dispersion: f64) -> Ratio {
    let p = if dispersion > 1.0 && n > 1 && rate > 0.0 && rate < 1.0 {
        let rho = ((dispersion - 1.0) / (n - 1) as f64).min(0.999);
        let s = 1.0 / rho - 1.0;
        Beta::new(rate * s, (1.0 - rate) * s).map_or(rate, |b| b.sample(rng))
    } else {
        rate
    };
    let good = Binomial::new(n, p.clamp(0.0, 1.0)).map_or(0, |b| b.sample(rng));
    Ratio::new(good, n)
}

/// `len` buckets of the series, each `Some`.
pub fn ratio_series(spec: &SeriesSpec, len: usize, seed: u64) -> Vec<(Millis, Option<Ratio>)> {
    shaped_series(spec, DropShape::Step, len, seed)
}

/// The buckets of `series` that hold data, as the onset estimate reads a
/// series ([`earliest_onset`](super::earliest_onset)).
pub fn ratio_buckets(series: &[(Millis, Option<Ratio>)]) -> Vec<Bucket> {
    series
        .iter()
        .filter_map(|&(at, r)| {
            let r = r?;
            Some(Bucket {
                at,
                good: r.good as f64,
                total: r.total as f64,
            })
        })
        .collect()
}

/// A scope problem with its true causes.
#[derive(Debug, Clone)]
pub struct ScopeCase {
    pub table: ScopeTable,
    /// Each true cause as dimension → value.
    pub truth: Vec<BTreeMap<String, String>>,
}

/// Knobs of the RiskLoc-style generator (defaults: the paper's S/H sets).
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeCaseSpec {
    /// Values per dimension.
    pub dims: Vec<usize>,
    pub causes: (usize, usize),
    /// Dimensions per cause.
    pub cause_dims: (usize, usize),
    /// Relative forecast error of normal leaves.
    pub noise: (f64, f64),
    /// Relative drop of a cause's leaves (plus the noise level).
    pub severity: (f64, f64),
    /// Spread of the drop between a cause's leaves.
    pub deviation: (f64, f64),
    pub zero_rate: (f64, f64),
}

impl Default for ScopeCaseSpec {
    fn default() -> Self {
        ScopeCaseSpec {
            dims: vec![10, 12, 10, 8, 5],
            causes: (1, 3),
            cause_dims: (1, 3),
            noise: (0.0, 0.25),
            severity: (0.2, 1.0),
            deviation: (0.0, 0.1),
            zero_rate: (0.0, 0.25),
        }
    }
}

fn uniform(rng: &mut impl Rng, (lo, hi): (f64, f64)) -> f64 {
    if hi > lo {
        rng.random_range(lo..hi)
    } else {
        lo
    }
}

/// One case: every leaf of the full cross product, real values from a
/// Weibull, forecasts off by relative noise (on either side at random), and
/// 1–3 non-overlapping causes of 1–3 dimensions whose real values drop by
/// their severity. Expected = forecast, actual = real.
pub fn riskloc_case(spec: &ScopeCaseSpec, seed: u64) -> ScopeCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let names: Vec<String> = (0..spec.dims.len())
        .map(|d| ((b'a' + d as u8) as char).to_string())
        .collect();
    let zero_rate = uniform(&mut rng, spec.zero_rate);
    let noise = uniform(&mut rng, spec.noise);
    let shape = rng.random_range(0.5..1.0);
    let weibull = Weibull::new(1.0, shape).ok();
    let normal = Normal::new(0.0, noise.max(1e-12)).ok();

    // Causes: distinct dimension sets, no value shared on a shared dimension.
    let n_causes = rng.random_range(spec.causes.0..=spec.causes.1.max(spec.causes.0));
    // (scope as (dimension, value index), severity, deviation)
    type Injected = (Vec<(usize, usize)>, f64, f64);
    let mut causes: Vec<Injected> = Vec::new();
    let mut attempts = 0;
    while causes.len() < n_causes && attempts < 1000 {
        attempts += 1;
        let k = rng
            .random_range(spec.cause_dims.0..=spec.cause_dims.1.max(spec.cause_dims.0))
            .min(spec.dims.len());
        let mut dims: Vec<usize> = (0..spec.dims.len()).collect();
        for i in 0..k {
            let j = rng.random_range(i..dims.len());
            dims.swap(i, j);
        }
        let mut chosen: Vec<usize> = dims[..k].to_vec();
        chosen.sort_unstable();
        if causes
            .iter()
            .any(|(c, _, _)| c.iter().map(|&(d, _)| d).eq(chosen.iter().copied()))
        {
            continue;
        }
        let scope: Vec<(usize, usize)> = chosen
            .iter()
            .map(|&d| (d, rng.random_range(0..spec.dims[d])))
            .collect();
        let overlaps = causes.iter().any(|(c, _, _)| {
            c.iter()
                .any(|&(d, v)| scope.iter().any(|&(d2, v2)| d == d2 && v == v2))
        });
        if overlaps {
            continue;
        }
        let severity = uniform(&mut rng, spec.severity) + noise;
        let deviation = uniform(&mut rng, spec.deviation);
        causes.push((scope, severity.min(1.0), deviation));
    }

    let mut table = ScopeTable::new(names.clone());
    let total: usize = spec.dims.iter().product();
    let mut values = vec![0usize; spec.dims.len()];
    for _ in 0..total {
        let mut real = weibull.map_or(1.0, |w| w.sample(&mut rng)) * 100.0;
        if rng.random::<f64>() < zero_rate {
            real = 0.0;
        }
        let noisy = (real + real * normal.map_or(0.0, |n| n.sample(&mut rng))).max(0.0);
        let (mut predict, mut actual) = if rng.random::<bool>() {
            (noisy, real)
        } else {
            (real, noisy)
        };
        if let Some((_, severity, deviation)) = causes
            .iter()
            .find(|(scope, _, _)| scope.iter().all(|&(d, v)| values[d] == v))
        {
            actual = predict;
            let r = Normal::new(*severity, deviation.max(1e-12))
                .map_or(*severity, |n| n.sample(&mut rng));
            actual = (actual * (1.0 - r)).max(0.0);
            predict = predict.max(0.0);
        }
        let labels: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(d, v)| format!("{}{}", names[d], v + 1))
            .collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        table.add(&refs, predict, actual, None);
        // Next leaf of the cross product, last dimension fastest.
        for d in (0..values.len()).rev() {
            values[d] += 1;
            if values[d] < spec.dims[d] {
                break;
            }
            values[d] = 0;
        }
    }
    let truth = causes
        .iter()
        .map(|(scope, _, _)| {
            scope
                .iter()
                .map(|&(d, v)| (names[d].clone(), format!("{}{}", names[d], v + 1)))
                .collect()
        })
        .collect();
    ScopeCase { table, truth }
}

/// Precision and recall of found scopes against the truth (exact match).
pub fn precision_recall(
    found: &[BTreeMap<String, String>],
    truth: &[BTreeMap<String, String>],
) -> (f64, f64) {
    let hits = found.iter().filter(|f| truth.contains(f)).count() as f64;
    let precision = if found.is_empty() {
        if truth.is_empty() { 1.0 } else { 0.0 }
    } else {
        hits / found.len() as f64
    };
    let recall = if truth.is_empty() {
        1.0
    } else {
        truth.iter().filter(|t| found.contains(t)).count() as f64 / truth.len() as f64
    };
    (precision, recall)
}

/// How a drop unfolds after its onset (the benchmark's shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropShape {
    /// The full drop from the first changed bucket.
    Step,
    /// A linear ramp reaching the full drop after `buckets` buckets.
    Ramp { buckets: usize },
    /// The full drop during the first `on` buckets of every `period`,
    /// healthy otherwise (a fault that comes and goes).
    Intermittent { on: usize, period: usize },
}

impl DropShape {
    /// Share of the full drop `k` buckets after the onset.
    pub fn level(self, k: usize) -> f64 {
        match self {
            DropShape::Step => 1.0,
            DropShape::Ramp { buckets } => ((k + 1) as f64 / buckets.max(1) as f64).min(1.0),
            DropShape::Intermittent { on, period } => {
                if k % period.max(1) < on {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Share of the full drop a detector that does not know the on/off
    /// pattern can test for: the time average for an intermittent fault.
    pub fn testable_level(self, k: usize) -> f64 {
        match self {
            DropShape::Intermittent { on, period } => on.min(period) as f64 / period.max(1) as f64,
            _ => self.level(k),
        }
    }

    pub fn name(self) -> String {
        match self {
            DropShape::Step => "step".to_owned(),
            DropShape::Ramp { buckets } => format!("ramp over {buckets}"),
            DropShape::Intermittent { on, period } => {
                format!("on {}% ({on} of {period})", 100 * on / period.max(1))
            }
        }
    }
}

/// `len` buckets of the series with its drop unfolding as `shape`, each
/// `Some`. With [`DropShape::Step`] the same draws as [`ratio_series`].
pub fn shaped_series(
    spec: &SeriesSpec,
    shape: DropShape,
    len: usize,
    seed: u64,
) -> Vec<(Millis, Option<Ratio>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let drop = spec.rate - spec.changed_rate;
    (0..len)
        .map(|i| {
            let rate = if i >= spec.change_at {
                spec.rate - drop * shape.level(i - spec.change_at)
            } else {
                spec.rate
            };
            let jitter = rng.random_range(0.8..1.2);
            let n = ((spec.total as f64 * jitter).round() as u64).max(1);
            (
                spec.ts(i),
                Some(draw_bucket(&mut rng, rate, n, spec.dispersion)),
            )
        })
        .collect()
}

/// The information limit of a drop: the buckets after which the evidence a
/// test that knows the drop could have gathered, Σ n·KL(p_k ‖ p₀)/φ over
/// the testable rate p_k of each bucket, reaches ln(ARL₀). For a step,
/// ln(ARL₀)/KL; fractional (interpolated within the last bucket).
pub fn information_limit(spec: &SeriesSpec, shape: DropShape, arl0: f64) -> f64 {
    let h = arl0.max(2.0).ln();
    let drop = spec.rate - spec.changed_rate;
    let mut sum = 0.0;
    for k in 0..100_000 {
        let p = spec.rate - drop * shape.testable_level(k);
        let step = spec.total as f64 * super::config::bernoulli_kl(p, spec.rate)
            / spec.dispersion.max(1.0);
        if step > 0.0 && sum + step >= h {
            return k as f64 + (h - sum) / step;
        }
        sum += step;
    }
    f64::INFINITY
}
