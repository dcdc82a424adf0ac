//! Randomness keyed by what it is for: every draw comes from a generator seeded
//! by a hash of (seed, leaf, stream, bucket), so any bucket can be computed on
//! its own, in any order, and always comes out the same.
//!
//! The generator is SplitMix64, written out here rather than ChaCha8: a fresh
//! generator per bucket must be cheap (ChaCha computes 256 bytes up front,
//! ~40 µs in a debug build, and there are ~200k buckets of history), and its
//! output is fixed by this file, not by a crate's release.

use rand::{Rng, RngCore};
use rand_distr::{Beta, Binomial, Distribution, StandardNormal};

/// SplitMix64 (Steele, Lea, Flood 2014): one add and one mix per draw.
#[derive(Debug, Clone)]
pub struct KeyedRng {
    state: u64,
}

impl RngCore for KeyedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        finish(self.state)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// FNV-1a: a stable hash of a name (std's hasher may change between releases).
pub fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One step of splitmix64: mixes `value` into `state` so nearby inputs give
/// unrelated outputs.
fn mix(state: u64, value: u64) -> u64 {
    finish(
        state
            .wrapping_add(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(value.wrapping_mul(0xbf58_476d_1ce4_e5b9)),
    )
}

/// SplitMix64's output function.
fn finish(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of a seed and any number of identifying parts.
pub fn key(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix(0, seed), |h, p| mix(h, *p))
}

/// A generator for one purpose: seed, then any number of identifying parts.
pub fn rng(seed: u64, parts: &[u64]) -> KeyedRng {
    KeyedRng {
        state: key(seed, parts),
    }
}

/// Bucket indices may be negative (history); as a key part they only need to
/// be distinct.
pub fn bucket_part(offset: i64) -> u64 {
    offset as u64
}

pub fn std_normal(rng: &mut KeyedRng) -> f64 {
    StandardNormal.sample(rng)
}

/// A log-normal factor with mean 1 and log-spread `sigma`.
pub fn mean_one_lognormal(rng: &mut KeyedRng, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return 1.0;
    }
    (sigma * std_normal(rng) - sigma * sigma / 2.0).exp()
}

/// A count around `mean`: Poisson noise by its normal approximation (the
/// means here are tens and more).
pub fn count(rng: &mut KeyedRng, mean: f64) -> u64 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0;
    }
    let n = mean + mean.sqrt() * std_normal(rng);
    n.round().max(0.0) as u64
}

pub fn binomial(rng: &mut KeyedRng, n: u64, p: f64) -> u64 {
    match Binomial::new(n, p.clamp(0.0, 1.0)) {
        Ok(b) => b.sample(rng),
        // Only reachable with a NaN p, which clamp passes through.
        Err(_) => 0,
    }
}

/// Passes out of `n` cases whose pass probability is itself drawn from a Beta
/// with mean `p` and concentration `concentration`: the case mix differs from
/// bucket to bucket, so counts vary more than a binomial's.
pub fn beta_binomial(rng: &mut KeyedRng, n: u64, p: f64, concentration: f64) -> u64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    let bucket_p = match Beta::new(p * concentration, (1.0 - p) * concentration) {
        Ok(b) => b.sample(rng),
        Err(_) => p,
    };
    binomial(rng, n, bucket_p)
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut KeyedRng) -> f64 {
    rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_gives_same_draws_and_other_keys_differ() {
        let a = std_normal(&mut rng(7, &[1, 2, 3]));
        let b = std_normal(&mut rng(7, &[1, 2, 3]));
        let c = std_normal(&mut rng(7, &[1, 2, 4]));
        let d = std_normal(&mut rng(8, &[1, 2, 3]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn mean_one_lognormal_averages_to_one() {
        let mut r = rng(1, &[]);
        let n = 20_000;
        let mean = (0..n).map(|_| mean_one_lognormal(&mut r, 0.8)).sum::<f64>() / f64::from(n);
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
    }
}
