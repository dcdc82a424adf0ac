//! Reconnect delays: exponential backoff with full jitter, so that many
//! screens that lost the same backend do not all redial at the same instant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The delay before attempt `attempt` (0-based): uniform in
/// `[0, min(max, min_delay · 2^attempt)]`, `unit` being a draw from `[0, 1)`.
pub fn full_jitter(attempt: u32, min_delay: Duration, max_delay: Duration, unit: f64) -> Duration {
    let ceiling = min_delay
        .saturating_mul(1u32 << attempt.min(31))
        .min(max_delay);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// Counts failed attempts and draws the next delay.
#[derive(Debug)]
pub struct Backoff {
    attempt: u32,
    min_delay: Duration,
    max_delay: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// `salt` tells the tasks of one process apart.
    pub fn new(min_delay: Duration, max_delay: Duration, salt: u64) -> Self {
        // Jitter needs spread, not secrecy: the clock is a good enough seed.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Backoff {
            attempt: 0,
            min_delay,
            max_delay,
            rng: ChaCha8Rng::seed_from_u64(nanos ^ salt.rotate_left(32)),
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let unit: f64 = self.rng.random();
        let d = full_jitter(self.attempt, self.min_delay, self.max_delay, unit);
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// After a healthy connection the next loss starts from the smallest delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    #[test]
    fn ceiling_doubles_per_attempt_up_to_the_cap() {
        let ceilings: Vec<u128> = (0..10)
            .map(|a| full_jitter(a, MIN, MAX, 1.0).as_millis())
            .collect();
        assert_eq!(&ceilings[..4], &[500, 1000, 2000, 4000]);
        assert!(ceilings.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(ceilings[9], 30_000);
        assert_eq!(full_jitter(200, MIN, MAX, 1.0).as_millis(), 30_000);
    }

    #[test]
    fn jitter_spans_from_zero_to_the_ceiling() {
        assert_eq!(full_jitter(3, MIN, MAX, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(3, MIN, MAX, 0.5), Duration::from_secs(2));
    }

    #[test]
    fn reset_brings_delays_back_to_the_first_ceiling() {
        let mut b = Backoff::new(MIN, MAX, 7);
        for _ in 0..50 {
            for _ in 0..8 {
                b.next_delay();
            }
            b.reset();
            assert!(b.next_delay() <= MIN);
        }
    }
}
