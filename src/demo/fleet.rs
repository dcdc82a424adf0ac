//! The leaf slices of a scenario: every plausible (model, platform, region,
//! hardware) combination and its share of the fleet's traffic.

use crate::protocol::SliceMap;

use super::noise;
use super::scenario::{DIMENSIONS, Scenario, Scope};

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
    let total: f64 = leaves.iter().map(|l| l.traffic_share).sum();
    if total > 0.0 {
        for l in &mut leaves {
            l.traffic_share /= total;
        }
    }
    leaves
}
