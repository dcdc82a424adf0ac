//! RiskLoc-style scope cases with a chosen number of causes and depth, for
//! the `scope_synth` benchmark and its fixed-seed tests: several dimensions
//! of 5–12 values (tens of thousands of leaves), every leaf of the cross
//! product, as additive counts against a noisy forecast or as pass rates of
//! a few tens of cases a minute learnt from their own history (through the
//! estimator the monitor uses). Seeded: every run draws the same numbers.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Weibull};

use super::scope_table::{LeafHistory, ScopeTable};
use super::synthetic::{ScopeCase, draw_bucket};

/// How the leaves are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthKind {
    /// Counts against a forecast off by 0–10 % relative noise; a cause cuts
    /// its leaves by 20–60 % (± up to 5 % from leaf to leaf).
    Additive,
    /// Pass rates (80–97 %) of a median ~20 cases a minute, overdispersed
    /// (φ 1–2), 30 baseline minutes and a 10-minute window; a cause takes
    /// 3–15 points off.
    Ratio,
}

/// One family of cases.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// Values per dimension.
    pub dims: Vec<usize>,
    pub causes: usize,
    /// Dimensions per cause.
    pub depth: usize,
    pub kind: SynthKind,
    /// The last cause is a refinement of the first (the first's scope and
    /// one more value), with its own extra drop.
    pub nested: bool,
}

impl SynthSpec {
    /// The benchmark's dimensions: 10 × 12 × 8 × 6 × 5 = 28,800 leaves.
    pub fn bench(causes: usize, depth: usize, kind: SynthKind) -> Self {
        SynthSpec {
            dims: vec![10, 12, 8, 6, 5],
            causes,
            depth,
            kind,
            nested: false,
        }
    }
}

type Injected = (Vec<(usize, usize)>, f64);

/// The causes: scopes that never share a value on a shared dimension (so
/// each is its own), except the nested one, which refines the first.
fn place_causes(spec: &SynthSpec, rng: &mut ChaCha8Rng, drop: (f64, f64)) -> Vec<Injected> {
    let depth = spec.depth.clamp(1, spec.dims.len());
    let plain = if spec.nested {
        spec.causes.saturating_sub(1).max(1)
    } else {
        spec.causes
    };
    let mut causes: Vec<Injected> = Vec::new();
    let mut attempts = 0;
    while causes.len() < plain && attempts < 10_000 {
        attempts += 1;
        let mut dims: Vec<usize> = (0..spec.dims.len()).collect();
        for i in 0..depth {
            let j = rng.random_range(i..dims.len());
            dims.swap(i, j);
        }
        let mut chosen = dims[..depth].to_vec();
        chosen.sort_unstable();
        let scope: Vec<(usize, usize)> = chosen
            .iter()
            .map(|&d| (d, rng.random_range(0..spec.dims[d])))
            .collect();
        let clash = causes
            .iter()
            .any(|(c, _)| c.iter().any(|p| scope.contains(p)));
        if clash {
            continue;
        }
        causes.push((scope, rng.random_range(drop.0..drop.1)));
    }
    if spec.nested
        && spec.depth < spec.dims.len()
        && let Some((first, _)) = causes.first().cloned()
    {
        let free: Vec<usize> = (0..spec.dims.len())
            .filter(|d| first.iter().all(|&(c, _)| c != *d))
            .collect();
        let d = free[rng.random_range(0..free.len())];
        let mut scope = first;
        scope.push((d, rng.random_range(0..spec.dims[d])));
        scope.sort_unstable();
        causes.push((scope, rng.random_range(drop.0..drop.1)));
    }
    causes
}

fn names(spec: &SynthSpec) -> Vec<String> {
    (0..spec.dims.len())
        .map(|d| ((b'a' + d as u8) as char).to_string())
        .collect()
}

fn label(names: &[String], d: usize, v: usize) -> String {
    format!("{}{}", names[d], v + 1)
}

/// Every leaf's value indices, last dimension fastest.
fn cross_product(dims: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = dims.iter().product();
    let mut values = vec![0usize; dims.len()];
    (0..total).map(move |_| {
        let out = values.clone();
        for d in (0..values.len()).rev() {
            values[d] += 1;
            if values[d] < dims[d] {
                break;
            }
            values[d] = 0;
        }
        out
    })
}

/// One case with its true causes.
pub fn synth_case(spec: &SynthSpec, seed: u64) -> ScopeCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let names = names(spec);
    let drop = match spec.kind {
        SynthKind::Additive => (0.2, 0.6),
        SynthKind::Ratio => (0.03, 0.15),
    };
    let causes = place_causes(spec, &mut rng, drop);
    let inside = |values: &[usize]| {
        causes
            .iter()
            .filter(|(scope, _)| scope.iter().all(|&(d, v)| values[d] == v))
            .map(|&(_, s)| s)
            .collect::<Vec<f64>>()
    };
    let shape = rng.random_range(0.5..1.0);
    let weibull = Weibull::new(1.0, shape).ok();
    let table = match spec.kind {
        SynthKind::Additive => {
            let noise = rng.random_range(0.0..0.1);
            let zero_rate = rng.random_range(0.0..0.1);
            let normal = Normal::new(0.0, f64::max(noise, 1e-12)).ok();
            let spread = Normal::new(0.0, rng.random_range(0.0..0.05)).ok();
            let mut table = ScopeTable::new(names.clone());
            for values in cross_product(&spec.dims) {
                let mut real = weibull.map_or(1.0, |w| w.sample(&mut rng)) * 100.0;
                if rng.random::<f64>() < zero_rate {
                    real = 0.0;
                }
                let predict = real;
                let mut actual =
                    (real * (1.0 + normal.map_or(0.0, |n| n.sample(&mut rng)))).max(0.0);
                for s in inside(&values) {
                    let s = s + spread.map_or(0.0, |n| n.sample(&mut rng));
                    actual *= (1.0 - s).clamp(0.0, 1.0);
                }
                let labels: Vec<String> = values
                    .iter()
                    .enumerate()
                    .map(|(d, &v)| label(&names, d, v))
                    .collect();
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                table.add(&refs, predict, actual, None);
            }
            table
        }
        SynthKind::Ratio => {
            let dispersion = rng.random_range(1.0..2.0);
            let mut leaves = Vec::new();
            for values in cross_product(&spec.dims) {
                // Median ~20 cases a minute, a long tail of busier leaves.
                let per_minute = (weibull.map_or(1.0, |w| w.sample(&mut rng)) * 28.0).max(1.0);
                let rate = rng.random_range(0.80..0.97);
                let history = (0..30)
                    .map(|_| {
                        let r = draw_bucket(&mut rng, rate, per_minute.round() as u64, dispersion);
                        (r.good as f64, r.total as f64)
                    })
                    .collect();
                let broken = inside(&values).iter().fold(rate, |p, s| (p - s).max(0.0));
                let w = draw_bucket(
                    &mut rng,
                    broken,
                    (per_minute * 10.0).round() as u64,
                    dispersion,
                );
                leaves.push(LeafHistory {
                    values: values
                        .iter()
                        .enumerate()
                        .map(|(d, &v)| label(&names, d, v))
                        .collect(),
                    history,
                    at: (w.good as f64, w.total as f64),
                });
            }
            ScopeTable::from_history(names.clone(), leaves).unwrap_or_default()
        }
    };
    let truth = causes
        .iter()
        .map(|(scope, _)| {
            scope
                .iter()
                .map(|&(d, v)| (names[d].clone(), label(&names, d, v)))
                .collect::<BTreeMap<String, String>>()
        })
        .collect();
    ScopeCase { table, truth }
}

/// F1 of found scopes against the truth (exact match); 1 when both are empty.
pub fn f1(found: &[BTreeMap<String, String>], truth: &[BTreeMap<String, String>]) -> f64 {
    let (p, r) = super::synthetic::precision_recall(found, truth);
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}
