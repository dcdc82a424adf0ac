//! Guards against a backend that floods the client: pings (each answered
//! with a pong that queues if the backend never reads) and seq gaps (each
//! answered with a resubscribe and a whole snapshot).

use std::time::Duration;

use tokio::time::Instant;

/// Most pings a backend may send in one second. Protocol 1 needs none (the
/// heartbeat is a message); a keep-alive pings every few seconds.
pub const MAX_PINGS_PER_SECOND: u32 = 50;

/// Counts pings in one-second windows.
#[derive(Debug)]
pub struct PingBudget {
    window_start: Instant,
    count: u32,
}

impl PingBudget {
    pub fn new(now: Instant) -> Self {
        PingBudget {
            window_start: now,
            count: 0,
        }
    }

    /// Notes one ping at `now`; false once the window holds more than
    /// [`MAX_PINGS_PER_SECOND`]: the connection is to be dropped.
    pub fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= MAX_PINGS_PER_SECOND
    }
}

/// The second resubscribe of a spell of gaps waits this long; each next one
/// twice as long as the last.
pub const RESUBSCRIBE_MIN_DELAY: Duration = Duration::from_millis(250);
/// Longest wait before a resubscribe.
pub const RESUBSCRIBE_MAX_DELAY: Duration = Duration::from_secs(30);
/// A stretch this long without a gap ends the spell: the next gap is
/// answered at once again.
pub const CLEAN_STRETCH: Duration = Duration::from_secs(60);

/// How long to wait before resubscribing after a gap: at once for the first
/// gap of a spell, then exponentially longer up to the cap.
#[derive(Debug, Default)]
pub struct ResubscribeBackoff {
    attempt: u32,
    last_gap: Option<Instant>,
}

impl ResubscribeBackoff {
    /// The delay for a gap seen at `now`.
    pub fn after_gap(&mut self, now: Instant) -> Duration {
        if self
            .last_gap
            .is_some_and(|t| now.duration_since(t) >= CLEAN_STRETCH)
        {
            self.attempt = 0;
        }
        self.last_gap = Some(now);
        let delay = match self.attempt {
            0 => Duration::ZERO,
            n => RESUBSCRIBE_MIN_DELAY
                .saturating_mul(1u32 << (n - 1).min(16))
                .min(RESUBSCRIBE_MAX_DELAY),
        };
        self.attempt = self.attempt.saturating_add(1);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_over_the_budget_in_one_second_are_refused_and_the_next_second_starts_again() {
        let t0 = Instant::now();
        let mut b = PingBudget::new(t0);
        for _ in 0..MAX_PINGS_PER_SECOND {
            assert!(b.allow(t0 + Duration::from_millis(500)));
        }
        assert!(!b.allow(t0 + Duration::from_millis(900)));
        assert!(b.allow(t0 + Duration::from_millis(1_600)));
    }

    #[test]
    fn gaps_back_off_exponentially_to_the_cap_and_a_clean_stretch_resets() {
        let t0 = Instant::now();
        let mut b = ResubscribeBackoff::default();
        let delays: Vec<u128> = (0..12)
            .map(|i| b.after_gap(t0 + Duration::from_millis(i)).as_millis())
            .collect();
        assert_eq!(&delays[..5], &[0, 250, 500, 1_000, 2_000]);
        assert_eq!(delays[11], 30_000);
        let later = t0 + CLEAN_STRETCH + Duration::from_secs(1);
        assert_eq!(b.after_gap(later), Duration::ZERO);
        assert_eq!(b.after_gap(later), RESUBSCRIBE_MIN_DELAY);
    }
}
