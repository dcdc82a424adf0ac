//! The leaf slices of a scenario: every plausible (model, platform, region,
//! hardware) combination and its share of the fleet's traffic.

use crate::protocol::SliceMap;

use super::noise;
use super::scenario::{DIMENSIONS, ModelSpec, RegionSpec, Scenario, Scope};

/// Index of a leaf in [`super::World::leaves`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafId(pub usize);

/// One finest-grained slice of the fleet.
#[derive(Debug, Clone)]
pub struct DemoLeaf {
    pub model: String,
    pub platform: String,
    pub region: String,
    pub hardware: String,
    /// Share of the whole fleet's requests (all leaves sum to 1).
    pub traffic_share: f64,
    /// Indices into the scenario's models, platforms, regions, hardware.
    pub(crate) model_index: usize,
    pub(crate) platform_index: usize,
    pub(crate) hardware_index: usize,
    /// Stable identity for the noise: a hash of the names, so adding a leaf
    /// does not reshuffle the others.
    pub(crate) key: u64,
}

impl DemoLeaf {
    /// The value of one of [`DIMENSIONS`].
    pub fn value(&self, dim: &str) -> Option<&str> {
        match dim {
            "model" => Some(&self.model),
            "platform" => Some(&self.platform),
            "region" => Some(&self.region),
            "hardware" => Some(&self.hardware),
            _ => None,
        }
    }

    /// Whether the leaf lies in a scope (every dimension named matches).
    pub fn in_scope(&self, scope: &Scope) -> bool {
        scope.iter().all(|(dim, values)| {
            self.value(dim)
                .is_some_and(|v| values.iter().any(|want| want == v))
        })
    }

    /// The slice as the protocol sends it, dimensions in [`DIMENSIONS`] order.
    pub fn slice(&self) -> SliceMap<'static> {
        SliceMap::from_pairs(
            DIMENSIONS
                .iter()
                .map(|d| (*d, self.value(d).unwrap_or_default())),
        )
    }
}

/// Expands the scenario's combinations, minus the exclusions.
pub fn leaves(s: &Scenario) -> Vec<DemoLeaf> {
    let mut leaves = Vec::new();
    for (mi, m) in s.models.iter().enumerate() {
        for (pi, p) in s.platforms.iter().enumerate() {
            for r in &s.regions {
                // Declaration order of the hardware list, not the map's.
                for (hi, h) in s.hardware.iter().enumerate() {
                    let Some(hw_share) = p.hardware.get(&h.name) else {
                        continue;
                    };
                    let leaf = DemoLeaf {
                        model: m.name.clone(),
                        platform: p.name.clone(),
                        region: r.name.clone(),
                        hardware: h.name.clone(),
                        traffic_share: m.traffic_share
                            * p.traffic_share
                            * r.traffic_share
                            * hw_share,
                        model_index: mi,
                        platform_index: pi,
                        hardware_index: hi,
                        key: noise::hash_str(&format!(
                            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
                            m.name, p.name, r.name, h.name
                        )),
                    };
                    if !s.excludes.iter().any(|x| leaf.in_scope(x)) {
                        leaves.push(leaf);
                    }
                }
            }
        }
    }
    if let Some(cap) = s.max_leaves {
        leaves.truncate(cap);
    }
    let total: f64 = leaves.iter().map(|l| l.traffic_share).sum();
    if total > 0.0 {
        for l in &mut leaves {
            l.traffic_share /= total;
        }
    }
    leaves
}

/// Most leaves the scale mode makes (the documented limit of a fleet).
pub const MAX_SCALED_LEAVES: usize = 50_000;

/// Regions a scaled fleet adds to the scenario's, each a small share.
const MORE_REGIONS: [&str; 12] = [
    "us-central",
    "eu-central",
    "eu-north",
    "ap-northeast",
    "ap-southeast",
    "sa-east",
    "ca-central",
    "me-central",
    "af-south",
    "ap-east",
    "us-south",
    "eu-south",
];

/// The scenario grown to exactly `target` leaves (the demo's scale mode):
/// more regions, then fine-tuned variants of each model (`atlas-m-ft007`,
/// with its base's quality and latency), which together take a third of the
/// traffic. The regressions' scopes name base models, so the bugs stay where
/// they were; traffic per leaf stays as it was, so their signal does too.
pub fn scaled(mut s: Scenario, target: usize) -> Scenario {
    let target = target.clamp(1, MAX_SCALED_LEAVES);
    let base = leaves(&s).len().max(1);
    if target > base {
        for name in MORE_REGIONS {
            if !s.regions.iter().any(|r| r.name == name) {
                s.regions.push(RegionSpec {
                    name: name.to_owned(),
                    traffic_share: 0.04,
                });
            }
        }
        let bases: Vec<ModelSpec> = s.models.clone();
        let mut made = 0usize;
        // Each pass adds about the models still needed, then counts again.
        while leaves(&s).len() < target {
            let have = leaves(&s).len();
            let per_model = (have / s.models.len().max(1)).max(1);
            let more = (target - have).div_ceil(per_model).max(1);
            for _ in 0..more {
                let b = &bases[made % bases.len()];
                made += 1;
                s.models.push(ModelSpec {
                    name: format!("{}-ft{:03}", b.name, made.div_ceil(bases.len())),
                    traffic_share: b.traffic_share,
                    ..b.clone()
                });
            }
        }
        // Fine-tunes share a third of the traffic in proportion to their base.
        let variants = made.div_ceil(bases.len()).max(1) as f64;
        for m in s.models.iter_mut().skip(bases.len()) {
            m.traffic_share *= 0.5 / variants;
        }
        let leaves_before = base as f64;
        s.traffic.requests_per_minute *= target as f64 / leaves_before;
    }
    s.max_leaves = Some(target);
    s
}
