//! A token bucket: how fast one peer, one token or the whole server may
//! create annotations.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimit {
    /// Allows `burst` at once, then `per_minute` a minute.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        RateLimit {
            burst: f64::from(burst),
            per_second: f64::from(per_minute) / 60.0,
            tokens: f64::from(burst),
            last: None,
        }
    }

    /// Takes one token if there is one.
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.ready(now) {
            self.take();
            true
        } else {
            false
        }
    }

    /// Refills to `now` and says whether a token is there, without taking
    /// it (several buckets are checked before any is charged).
    pub fn ready(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * self.per_second).min(self.burst);
        }
        self.last = Some(now);
        self.tokens >= 1.0
    }

    /// Spends one token (after [`RateLimit::ready`] said there is one).
    pub fn take(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Whether the bucket is full again: an idle peer's entry can be dropped.
    pub fn is_full(&self, now: Instant) -> bool {
        let dt = self
            .last
            .map_or(0.0, |l| now.saturating_duration_since(l).as_secs_f64());
        self.tokens + dt * self.per_second >= self.burst
    }

    /// How long until the next token.
    pub fn retry_after(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.per_second.max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_the_set_rate() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(3, 60);
        assert!(r.allow(t0) && r.allow(t0) && r.allow(t0));
        assert!(!r.allow(t0), "burst spent");
        assert!(!r.allow(t0 + Duration::from_millis(500)));
        assert!(
            r.allow(t0 + Duration::from_millis(1100)),
            "one a second refills"
        );
        assert!(!r.allow(t0 + Duration::from_millis(1200)));
        assert!(r.allow(t0 + Duration::from_secs(100)));
        assert!(r.allow(t0 + Duration::from_secs(100)) && r.allow(t0 + Duration::from_secs(100)));
        assert!(
            !r.allow(t0 + Duration::from_secs(100)),
            "refill caps at the burst"
        );
    }
}
