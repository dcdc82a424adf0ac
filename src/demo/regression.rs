//! An injected regression, ready to evaluate: which leaves it hits, how hard
//! at each minute, and what it does to each signal.

use super::fleet::DemoLeaf;
use super::noise;
use super::scenario::{Keyframe, RegressionSpec};

const STREAM_SLICE: u64 = 0x5eed_0001;
const STREAM_BLOCK: u64 = 0x5eed_0002;

#[derive(Debug, Clone)]
pub struct CompiledRegression {
    pub spec: RegressionSpec,
    /// Per leaf: scale × the slice's own fixed factor; 0 outside the scope.
    leaf_factor: Vec<f64>,
    /// Per signal (world order): the effect on hit traffic.
    effect: Vec<f64>,
    key: u64,
}

impl CompiledRegression {
    pub fn compile(
        spec: &RegressionSpec,
        leaves: &[DemoLeaf],
        signals: &[&str],
        seed: u64,
    ) -> Self {
        let key = noise::hash_str(&spec.name);
        let leaf_factor = leaves
            .iter()
            .map(|leaf| {
                if !leaf.in_scope(&spec.scope) {
                    return 0.0;
                }
                let scale: f64 = spec
                    .scale
                    .iter()
                    .map(|(dim, factors)| {
                        leaf.value(dim)
                            .and_then(|v| factors.get(v))
                            .copied()
                            .unwrap_or(1.0)
                    })
                    .product();
                // Sticky routing and the like: some slices are hit harder for the whole run.
                let mut rng = noise::rng(seed, &[STREAM_SLICE, key, leaf.key]);
                scale * noise::mean_one_lognormal(&mut rng, spec.variation.per_slice)
            })
            .collect();
        let effect = signals
            .iter()
            .map(|s| spec.effect.get(*s).copied().unwrap_or(0.0))
            .collect();
        CompiledRegression {
            spec: spec.clone(),
            leaf_factor,
            effect,
            key,
        }
    }

    /// The timeline's level at a minute relative to the anchor.
    pub fn level(&self, minute: f64) -> f64 {
        level_at(&self.spec.timeline, minute)
    }

    /// Share of the leaf's traffic hit at this minute, in 0..=1.
    pub fn hit(&self, seed: u64, leaf_index: usize, leaf: &DemoLeaf, minute: f64) -> f64 {
        let factor = self.leaf_factor.get(leaf_index).copied().unwrap_or(0.0);
        if factor == 0.0 {
            return 0.0;
        }
        let level = self.level(minute);
        if level == 0.0 {
            return 0.0;
        }
        (level * factor * self.block_factor(seed, leaf, minute)).clamp(0.0, 1.0)
    }

    /// Whether the leaf is in the scope with a non-zero scale.
    pub fn touches(&self, leaf_index: usize) -> bool {
        self.leaf_factor.get(leaf_index).is_some_and(|f| *f > 0.0)
    }

    pub fn effect(&self, signal_index: usize) -> f64 {
        self.effect.get(signal_index).copied().unwrap_or(0.0)
    }

    fn block_factor(&self, seed: u64, leaf: &DemoLeaf, minute: f64) -> f64 {
        let v = &self.spec.variation;
        if v.block_minutes <= 0.0 {
            return 1.0;
        }
        let block = (minute / v.block_minutes).floor() as i64;
        let mut rng = noise::rng(
            seed,
            &[STREAM_BLOCK, self.key, leaf.key, noise::bucket_part(block)],
        );
        if noise::uniform(&mut rng) >= v.duty {
            return 0.0;
        }
        noise::mean_one_lognormal(&mut rng, v.per_block)
    }

    /// First minute the level is above zero, and the minute it is back to zero
    /// for good; `None` if the level is zero throughout.
    pub fn active_minutes(&self) -> Option<(f64, f64)> {
        active_span(&self.spec.timeline)
    }
}

/// Linear between keyframes, zero before the first and after the last.
pub fn level_at(timeline: &[Keyframe], minute: f64) -> f64 {
    let (Some(first), Some(last)) = (timeline.first(), timeline.last()) else {
        return 0.0;
    };
    if minute < first.at || minute > last.at {
        return 0.0;
    }
    for w in timeline.windows(2) {
        let (a, b) = (w[0], w[1]);
        if minute >= a.at && minute <= b.at {
            if b.at == a.at {
                return b.level;
            }
            return a.level + (b.level - a.level) * (minute - a.at) / (b.at - a.at);
        }
    }
    // A timeline of one keyframe: that minute only.
    first.level
}

fn active_span(timeline: &[Keyframe]) -> Option<(f64, f64)> {
    let first = timeline.iter().position(|k| k.level > 0.0)?;
    let last = timeline.iter().rposition(|k| k.level > 0.0)?;
    let onset = if first == 0 {
        timeline[0].at
    } else {
        timeline[first - 1].at
    };
    let end = timeline.get(last + 1).map_or(timeline[last].at, |k| k.at);
    Some((onset, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(at: f64, level: f64) -> Keyframe {
        Keyframe { at, level }
    }

    #[test]
    fn level_interpolates_between_keyframes_and_is_zero_outside() {
        let t = [k(0.0, 0.0), k(10.0, 1.0), k(20.0, 1.0), k(30.0, 0.0)];
        assert_eq!(level_at(&t, -1.0), 0.0);
        assert!((level_at(&t, 5.0) - 0.5).abs() < 1e-12);
        assert_eq!(level_at(&t, 15.0), 1.0);
        assert!((level_at(&t, 25.0) - 0.5).abs() < 1e-12);
        assert_eq!(level_at(&t, 31.0), 0.0);
    }

    #[test]
    fn active_span_runs_from_the_rise_to_the_return_to_zero() {
        let t = [k(60.0, 0.0), k(64.0, 0.1), k(200.0, 0.1), k(204.0, 0.0)];
        assert_eq!(active_span(&t), Some((60.0, 204.0)));
        let already_on = [k(-100.0, 0.01), k(50.0, 0.2)];
        assert_eq!(active_span(&already_on), Some((-100.0, 50.0)));
        assert_eq!(active_span(&[k(0.0, 0.0)]), None);
    }
}
