//! Availability against an SLO: error-budget burn with the multi-window,
//! multi-burn-rate rule of the Google SRE workbook ("Alerting on SLOs"):
//! page when the last hour AND the last 5 minutes both burn ≥ 14.4× budget,
//! or the last 6 hours AND the last 30 minutes both burn ≥ 6×. The short
//! window makes the alert stop soon after the burn stops.

use std::collections::VecDeque;

use super::baseline::compact;
use crate::protocol::Millis;
use crate::store::Ratio;

const MINUTE_MS: Millis = 60_000;

/// Default SLO: 99.9 % good.
pub const DEFAULT_SLO: f64 = 0.999;

/// One rule: both windows must burn at least `factor` times the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRule {
    pub long_buckets: usize,
    pub short_buckets: usize,
    pub factor: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BurnRateConfig {
    /// Target good fraction, e.g. 0.999.
    pub slo: f64,
    pub rules: Vec<BurnRule>,
    /// Fewest requests in the long window for a rule to fire (a handful of
    /// requests with one error is not a budget burn).
    pub min_total: u64,
    pub bucket_ms: Millis,
}

impl BurnRateConfig {
    /// The workbook's paging rules at buckets of `bucket_ms` (1h/5m at
    /// 14.4×, 6h/30m at 6×), for an SLO of `slo`.
    pub fn sre_workbook(slo: f64, bucket_ms: Millis) -> Self {
        let b = |minutes: Millis| ((minutes * MINUTE_MS) / bucket_ms.max(1)).max(1) as usize;
        BurnRateConfig {
            slo,
            rules: vec![
                BurnRule {
                    long_buckets: b(60),
                    short_buckets: b(5),
                    factor: 14.4,
                },
                BurnRule {
                    long_buckets: b(360),
                    short_buckets: b(30),
                    factor: 6.0,
                },
            ],
            min_total: 100,
            bucket_ms,
        }
    }

    fn longest(&self) -> usize {
        self.rules
            .iter()
            .map(|r| r.long_buckets.max(r.short_buckets))
            .max()
            .unwrap_or(1)
    }
}

impl Default for BurnRateConfig {
    fn default() -> Self {
        Self::sre_workbook(DEFAULT_SLO, MINUTE_MS)
    }
}

/// Burn of the first firing rule (rules are listed most urgent first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnAlert {
    /// Index of the rule in the config.
    pub rule: usize,
    pub factor: f64,
    pub long_burn: f64,
    pub short_burn: f64,
    /// First bucket of the current uninterrupted firing.
    pub since: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BurnStatus {
    pub alert: Option<BurnAlert>,
    /// Burn over the first rule's long window (1 h by default); `None` with
    /// no requests in it.
    pub burn_long: Option<f64>,
}

/// Running sums over every window length the rules use.
#[derive(Debug, Clone)]
pub struct BurnRateTracker {
    cfg: BurnRateConfig,
    /// Newest last; `None` for a bucket with no data.
    ring: VecDeque<Option<(u32, u32)>>,
    /// Per distinct window length: (length, bad, total).
    windows: Vec<(usize, u64, u64)>,
    last_ts: Option<Millis>,
    firing_since: Option<Millis>,
    status: BurnStatus,
}

impl BurnRateTracker {
    pub fn new(cfg: BurnRateConfig) -> Self {
        let mut lengths: Vec<usize> = cfg
            .rules
            .iter()
            .flat_map(|r| [r.long_buckets, r.short_buckets])
            .collect();
        lengths.sort_unstable();
        lengths.dedup();
        BurnRateTracker {
            ring: VecDeque::with_capacity(cfg.longest().min(64)),
            windows: lengths.into_iter().map(|l| (l, 0, 0)).collect(),
            cfg,
            last_ts: None,
            firing_since: None,
            status: BurnStatus::default(),
        }
    }

    /// Consumes one bucket in time order. Skipped bucket timestamps count as
    /// empty buckets, so windows stay windows of time.
    pub fn push(&mut self, ts: Millis, bucket: Option<Ratio>) -> BurnStatus {
        if let Some(last) = self.last_ts {
            if ts <= last {
                return self.status;
            }
            let skipped = ((ts - last) / self.cfg.bucket_ms.max(1) - 1).max(0) as usize;
            for _ in 0..skipped.min(self.cfg.longest()) {
                self.slide(None);
            }
        }
        self.last_ts = Some(ts);
        self.slide(bucket.filter(|r| r.total > 0).map(compact));
        self.evaluate(ts);
        self.status
    }

    fn slide(&mut self, entry: Option<(u32, u32)>) {
        self.ring.push_back(entry);
        let len = self.ring.len();
        for (window, bad, total) in &mut self.windows {
            if let Some((g, t)) = entry {
                *bad += u64::from(t - g.min(t));
                *total += u64::from(t);
            }
            if len > *window
                && let Some(Some((g, t))) = self.ring.get(len - 1 - *window).copied()
            {
                *bad -= u64::from(t - g.min(t));
                *total -= u64::from(t);
            }
        }
        if self.ring.len() > self.cfg.longest() {
            self.ring.pop_front();
        }
    }

    fn burn(&self, window: usize) -> Option<(f64, u64)> {
        let budget = (1.0 - self.cfg.slo).max(1e-12);
        self.windows
            .iter()
            .find(|(l, _, _)| *l == window)
            .filter(|(_, _, total)| *total > 0)
            .map(|(_, bad, total)| ((*bad as f64 / *total as f64) / budget, *total))
    }

    fn evaluate(&mut self, ts: Millis) {
        let mut fired = None;
        for (i, rule) in self.cfg.rules.iter().enumerate() {
            let (Some((long, long_total)), Some((short, _))) =
                (self.burn(rule.long_buckets), self.burn(rule.short_buckets))
            else {
                continue;
            };
            if long >= rule.factor && short >= rule.factor && long_total >= self.cfg.min_total {
                fired = Some((i, rule.factor, long, short));
                break;
            }
        }
        self.firing_since = match fired {
            Some(_) => Some(self.firing_since.unwrap_or(ts)),
            None => None,
        };
        self.status = BurnStatus {
            alert: fired.map(|(rule, factor, long_burn, short_burn)| BurnAlert {
                rule,
                factor,
                long_burn,
                short_burn,
                since: self.firing_since.unwrap_or(ts),
            }),
            burn_long: self
                .cfg
                .rules
                .first()
                .and_then(|r| self.burn(r.long_buckets))
                .map(|(b, _)| b),
        };
    }

    pub fn status(&self) -> BurnStatus {
        self.status
    }
}
