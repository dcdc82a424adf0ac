//! A sequential test for a sustained drop of a ratio, against a robust
//! baseline frozen while the evidence is elevated. A Bernoulli CUSUM tuned
//! to the smallest drop worth knowing (increments divided by the
//! overdispersion φ: quasi-likelihood) marks the run of buckets where a drop
//! may have begun; the alarm is a GLR over that run (see [`super::glr`]),
//! which estimates the drop's size and onset instead of assuming them, so a
//! large drop is caught as fast as a test tuned to it would. One
//! `RatioDetector` per (key, signal); O(1) per bucket outside runs, O(run)
//! inside one (at most `max_pending_buckets`), plus the baseline refresh
//! amortised over `refresh_every` buckets.

use std::collections::VecDeque;

use super::baseline::{Baseline, ReferenceWindow, compact};
use super::config::{DetectorConfig, bernoulli_kl, excess_drop_skew, shifted_down};
use super::glr::{DropGlr, drop_glr};
use crate::protocol::Millis;
use crate::store::Ratio;

/// A sustained drop, found by the CUSUM. Times are data time (bucket
/// timestamps), so replaying history gives the same answer as watching live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regression {
    /// When the drift began: the onset that maximises the likelihood of the
    /// drop (the GLR's argmax) at the alarm.
    pub onset: Millis,
    /// The bucket at which the statistic crossed the threshold.
    pub detected_at: Millis,
    /// The bucket at which the statistic fell back to zero, if it did.
    pub ended_at: Option<Millis>,
    /// Healthy rate it is measured against.
    pub baseline: f64,
    /// Pooled rate since onset.
    pub current: f64,
    /// (current − baseline) in percentage points.
    pub delta_pp: f64,
    pub active: bool,
}

/// What a detector says after a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    /// Not enough history for a baseline yet.
    Learning,
    Ok,
    /// Statistic above `watch_fraction` of the threshold: evidence is
    /// building but not yet significant.
    Watch {
        since: Millis,
        /// Statistic over threshold, in [watch_fraction, 1).
        progress: f64,
        baseline: f64,
        current: f64,
    },
    Regression(Regression),
}

impl Status {
    pub fn is_regression(&self) -> bool {
        matches!(self, Status::Regression(_))
    }
    pub fn label(&self) -> &'static str {
        match self {
            Status::Learning => "learning",
            Status::Ok => "ok",
            Status::Watch { .. } => "watch",
            Status::Regression(_) => "regression",
        }
    }
}

/// The baseline and the CUSUM coefficients derived from it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Model {
    baseline: Baseline,
    /// LLR added per good trial, and per bad trial (already divided by φ).
    per_good: f64,
    per_bad: f64,
    /// The tested level p₀ (the baseline lowered by its guard) and φ.
    p0: f64,
    phi: f64,
    /// The level the GLR tests against (see `glr_guarded`).
    glr_p0: f64,
    /// The GLR counts only windows whose pooled rate is at most this:
    /// its level less `glr_floor` × the smallest change.
    glr_max_rate: f64,
    /// Nats a one-bucket GLR window pays (see `glr_skew_ref`).
    glr_short_margin: f64,
    threshold: f64,
}

impl Model {
    fn new(cfg: &DetectorConfig, baseline: Baseline) -> Self {
        let n = baseline.typical_total.max(1.0);
        // Keep p₀ off 0 and 1 so the log ratios stay finite.
        // The baseline is itself an estimate: testing against a level lowered
        // by its standard error keeps an unlucky estimate from drifting the
        // statistic upward on healthy data.
        let guard = cfg.baseline_guard * baseline.standard_error().min(cfg.min_shift / 2.0);
        let p0 = (baseline.rate - guard).clamp(0.5 / n, 1.0 - 0.5 / n);
        let p1 = shifted_down(p0, cfg.min_shift);
        let phi = baseline.dispersion;
        let per_good = (p1 / p0).ln() / phi;
        let per_bad = ((1.0 - p1) / (1.0 - p0)).ln() / phi;
        let kl = n * bernoulli_kl(p1, p0) / phi;
        let glr_p0 = if cfg.glr_guarded {
            p0
        } else {
            baseline.rate.clamp(0.5 / n, 1.0 - 0.5 / n)
        };
        let skew_share = if cfg.glr_skew_ref > 0.0 {
            (excess_drop_skew(glr_p0, n, phi) / cfg.glr_skew_ref).min(1.0)
        } else {
            1.0
        };
        Model {
            baseline,
            per_good,
            per_bad,
            p0,
            phi,
            glr_p0,
            glr_max_rate: shifted_down(glr_p0, cfg.glr_floor * cfg.min_shift),
            glr_short_margin: (cfg.glr_short_margin * skew_share)
                .max(cfg.glr_short_margin_least.min(cfg.glr_short_margin)),
            threshold: cfg.threshold(kl),
        }
    }

    fn llr(&self, r: Ratio) -> f64 {
        let good = r.good.min(r.total) as f64;
        let bad = (r.total - r.good.min(r.total)) as f64;
        good * self.per_good + bad * self.per_bad
    }
}

/// The buckets since the statistic last left zero.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: Millis,
    good: u64,
    total: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.good as f64 / self.total as f64
        }
    }
}

/// Incremental detector for one (key, signal).
#[derive(Debug, Clone)]
pub struct RatioDetector {
    cfg: DetectorConfig,
    reference: ReferenceWindow,
    /// Buckets of the current run: admitted to the reference only if the run
    /// ends without an alarm, so a regression never becomes the baseline.
    pending: VecDeque<(Millis, u32, u32)>,
    admitted_since_refresh: usize,
    model: Option<Model>,
    /// The CUSUM tuned to the smallest drop: above zero marks a run.
    stat: f64,
    /// The GLR over the current run while no alarm is raised.
    glr: Option<DropGlr>,
    run: Option<Run>,
    alarm: Option<Regression>,
    last_ended: Option<Regression>,
    last_ts: Option<Millis>,
}

impl RatioDetector {
    pub fn new(cfg: DetectorConfig) -> Self {
        RatioDetector {
            cfg,
            reference: ReferenceWindow::new(cfg.reference_buckets),
            pending: VecDeque::new(),
            admitted_since_refresh: 0,
            model: None,
            stat: 0.0,
            glr: None,
            run: None,
            alarm: None,
            last_ended: None,
            last_ts: None,
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Consumes one bucket, in time order. `None` (or a bucket with no
    /// trials) is a gap: it neither resets nor adds evidence. A bucket at or
    /// before the last one seen is ignored.
    pub fn push(&mut self, ts: Millis, bucket: Option<Ratio>) -> Status {
        if self.last_ts.is_some_and(|last| ts <= last) {
            return self.status();
        }
        self.last_ts = Some(ts);
        let Some(r) = bucket.filter(|r| r.total > 0) else {
            return self.status();
        };
        let Some(model) = self.model else {
            self.admit(r);
            return self.status();
        };
        let next = (self.stat + model.llr(r)).max(0.0);
        if next == 0.0 {
            self.end_run(ts);
            self.admit(r);
        } else {
            let run = self.run.get_or_insert(Run {
                start: ts,
                good: 0,
                total: 0,
            });
            run.good += r.good.min(r.total);
            run.total += r.total;
            if self.pending.len() >= self.cfg.max_pending_buckets {
                self.pending.pop_front();
            }
            let (good, total) = compact(r);
            self.pending.push_back((ts, good, total));
        }
        self.stat = next;
        self.glr = if self.cfg.glr && self.stat > 0.0 && self.alarm.is_none() {
            drop_glr(
                self.pending.iter().rev().copied(),
                model.glr_p0,
                model.glr_max_rate,
                model.phi,
                self.cfg.glr_window_penalty,
                model.glr_short_margin,
            )
        } else {
            None
        };
        let evidence = self.evidence();
        if evidence >= model.threshold && self.alarm.is_none() {
            // The onset against the baseline itself, not the guarded level:
            // the guard lowers p₀, which would shift the argmax later.
            let onset = drop_glr(
                self.pending.iter().rev().copied(),
                model.baseline.rate,
                model.baseline.rate,
                model.phi,
                0.0,
                0.0,
            )
            .or(self.glr)
            .map_or_else(|| self.run.map_or(ts, |r| r.start), |g| g.onset);
            self.alarm = Some(Regression {
                onset,
                detected_at: ts,
                ended_at: None,
                baseline: model.baseline.rate,
                current: f64::NAN,
                delta_pp: f64::NAN,
                active: true,
            });
        }
        if let (Some(alarm), Some(run)) = (self.alarm.as_mut(), self.run) {
            self.stat = self.stat.min(self.cfg.alarm_cap * model.threshold);
            alarm.current = run.rate();
            alarm.delta_pp = (alarm.current - alarm.baseline) * 100.0;
        }
        self.status()
    }

    /// Statistic back at zero: the run ends. After an alarm its buckets are
    /// the regression itself and are dropped; otherwise they were noise and
    /// join the reference.
    fn end_run(&mut self, ts: Millis) {
        self.stat = 0.0;
        self.glr = None;
        self.run = None;
        if let Some(mut alarm) = self.alarm.take() {
            alarm.active = false;
            alarm.ended_at = Some(ts);
            self.last_ended = Some(alarm);
            self.pending.clear();
        } else {
            while let Some((_, good, total)) = self.pending.pop_front() {
                self.admit_compact((good, total));
            }
        }
    }

    fn admit(&mut self, r: Ratio) {
        self.admit_compact(compact(r));
    }

    fn admit_compact(&mut self, (good, total): (u32, u32)) {
        self.reference
            .push(Ratio::new(u64::from(good), u64::from(total)));
        self.admitted_since_refresh += 1;
        let enough = self.reference.len() >= self.cfg.min_reference_buckets.max(1);
        let due = self.model.is_none() || self.admitted_since_refresh >= self.cfg.refresh_every;
        if enough && due && self.stat == 0.0 {
            self.admitted_since_refresh = 0;
            let precise = |b: &Baseline| {
                b.standard_error() <= self.cfg.max_baseline_error * self.cfg.min_shift
            };
            let fresh = self.reference.estimate().map(|b| {
                if self.cfg.estimate_dispersion {
                    b
                } else {
                    Baseline {
                        dispersion: 1.0,
                        ..b
                    }
                }
            });
            // An imprecise refresh (a quiet night) keeps the last precise model.
            if let Some(b) = fresh.filter(precise) {
                self.model = Some(Model::new(&self.cfg, b));
            }
        }
    }

    /// The statistic compared with the threshold: the GLR over the run
    /// less its margin (it maximises over sizes and onsets, so on healthy
    /// data it peaks higher than one fixed test), never below the CUSUM's
    /// own; or the capped CUSUM once in regression (its return to zero ends
    /// it).
    fn evidence(&self) -> f64 {
        self.glr.map_or(self.stat, |g| {
            (g.statistic - self.cfg.glr_margin).max(self.stat)
        })
    }

    pub fn status(&self) -> Status {
        let Some(model) = self.model else {
            return Status::Learning;
        };
        if let Some(alarm) = self.alarm {
            return Status::Regression(alarm);
        }
        let progress = self.evidence() / model.threshold;
        match self.run {
            Some(run) if progress >= self.cfg.watch_fraction => Status::Watch {
                since: run.start,
                progress,
                baseline: model.baseline.rate,
                current: run.rate(),
            },
            _ => Status::Ok,
        }
    }

    /// The baseline in force (frozen while the statistic is elevated).
    pub fn baseline(&self) -> Option<Baseline> {
        self.model.map(|m| m.baseline)
    }
    /// Current statistic, on the log-likelihood-ratio scale: the one the
    /// threshold applies to (see `evidence`).
    pub fn statistic(&self) -> f64 {
        self.evidence()
    }
    pub fn threshold(&self) -> Option<f64> {
        self.model.map(|m| m.threshold)
    }
    /// The regression in progress, if any.
    pub fn active(&self) -> Option<Regression> {
        self.alarm
    }
    /// The most recent regression that ended.
    pub fn last_ended(&self) -> Option<Regression> {
        self.last_ended
    }
    /// Timestamp of the last bucket consumed (gaps included).
    pub fn last_ts(&self) -> Option<Millis> {
        self.last_ts
    }
}

/// Everything a replay of one series found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Every regression, oldest first; the last may still be active.
    pub regressions: Vec<Regression>,
    /// Status after the last bucket.
    pub status: Status,
    /// Baseline in force at the end.
    pub baseline: Option<Baseline>,
}

/// Replays a whole series through a fresh detector.
pub fn analyze(cfg: DetectorConfig, series: &[(Millis, Option<Ratio>)]) -> Verdict {
    let mut d = RatioDetector::new(cfg);
    let mut regressions = Vec::new();
    for &(ts, bucket) in series {
        let before = d.active();
        d.push(ts, bucket);
        if before.is_some() && d.active().is_none() {
            regressions.extend(d.last_ended());
        }
    }
    regressions.extend(d.active());
    Verdict {
        regressions,
        status: d.status(),
        baseline: d.baseline(),
    }
}
