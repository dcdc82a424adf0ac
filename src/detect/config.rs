//! The trade-off a user sets in plain terms — how often a false alarm is
//! acceptable and the smallest drop worth knowing — and the CUSUM threshold
//! that follows from it.

use crate::protocol::Millis;

/// Default false-alarm budget: one per slice and signal per this many days.
pub const DEFAULT_FALSE_ALARM_DAYS: f64 = 30.0;
/// Default smallest drop worth knowing: one percentage point.
pub const DEFAULT_MIN_SHIFT: f64 = 0.01;

/// See [`DetectorConfig::glr_margin`].
pub const DEFAULT_GLR_MARGIN: f64 = 0.0;
/// See [`DetectorConfig::glr_floor`].
pub const DEFAULT_GLR_FLOOR: f64 = 1.0;
/// See [`DetectorConfig::glr_short_margin`]: calibrated on the demo replay
/// (4 removes the one- and two-bucket blips the GLR alone flagged there) and
/// on synthetic null runs (benches/detect_replay_synth.rs).
pub const DEFAULT_GLR_SHORT_MARGIN: f64 = 4.0;
/// See [`DetectorConfig::glr_window_penalty`].
pub const DEFAULT_GLR_WINDOW_PENALTY: f64 = 0.0;
/// See [`DetectorConfig::glr_skew_ref`]: off. At 0.3 a one-bucket window
/// pays about 13 × its excess skew in nats, 1.5 times what matches the
/// beta-binomial's exact one-bucket tail to the normal one (1.2 nats at 3,000
/// trials and φ 3, 2.3 at 300 and φ 2, 3.8 at 300 and φ 3): the 2× step at
/// 3,000 trials then takes 6 buckets, not 7, but the demo replay's groups,
/// sums of leaves whose tails are heavier than their φ says, raised 6 false
/// regressions against 4.
pub const DEFAULT_GLR_SKEW_REF: f64 = 0.0;
/// See [`DetectorConfig::glr_short_margin_least`].
pub const DEFAULT_GLR_SHORT_MARGIN_LEAST: f64 = 1.2;

const DAY_MS: f64 = 86_400_000.0;

/// Settings of one ratio detector. Plain data; `Copy` so every track can hold
/// its own without sharing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Mean number of healthy buckets between two false alarms (ARL₀).
    pub arl0_buckets: f64,
    /// Smallest drop in rate worth knowing (0.01 = one percentage point).
    pub min_shift: f64,
    /// Length of the trailing reference window the baseline comes from.
    pub reference_buckets: usize,
    /// Buckets of history needed before the detector tests anything.
    pub min_reference_buckets: usize,
    /// The baseline is re-estimated every this many admitted buckets
    /// (amortises the median's O(W) over many O(1) pushes).
    pub refresh_every: usize,
    /// WATCH once the statistic passes this fraction of the threshold.
    pub watch_fraction: f64,
    /// While in regression the statistic is capped at this multiple of the
    /// threshold, so that a weeks-long regression still ends within
    /// roughly `cap · h / KL` buckets of recovery.
    pub alarm_cap: f64,
    /// Most buckets of one run held back from the reference window.
    pub max_pending_buckets: usize,
    /// Estimate overdispersion φ from the reference window. `false` assumes
    /// pure binomial noise (φ = 1): the naive test, kept for comparison.
    pub estimate_dispersion: bool,
    /// The tested level sits this many standard errors of the baseline
    /// below it, so that baseline estimation error does not eat the
    /// false-alarm budget. With `max_baseline_error` = ¼, an estimate must
    /// be off by 3 standard errors before healthy data drifts upward.
    pub baseline_guard: f64,
    /// Test only once the baseline's standard error is at most this
    /// fraction of `min_shift`. An estimate off by more than the guard plus
    /// half the shift makes the statistic creep up on healthy data, and no
    /// threshold stops a creep; a slice with too few trials per bucket to
    /// pin its rate this well stays `Learning` (its groups still test it).
    pub max_baseline_error: f64,
    pub threshold_rule: ThresholdRule,
    /// Alarm on the GLR over the CUSUM's run as well as on the CUSUM
    /// itself (`false`: the CUSUM tuned to `min_shift` alone).
    pub glr: bool,
    /// Added to the threshold for the GLR only (nats): it maximises over
    /// onsets and sizes, so on healthy data it peaks higher than the fixed
    /// CUSUM, whose threshold stays Lorden's.
    pub glr_margin: f64,
    /// The GLR counts only windows whose rate fell by at least this many
    /// times `min_shift` (1: never alarm on a drop estimated below the
    /// smallest change; smaller ones are the CUSUM's).
    pub glr_floor: f64,
    /// A GLR window of L buckets pays this / L more (nats): one bucket's
    /// rate carries the skewed tail of the mixing distribution (φ fits its
    /// variance, not its tail), which pooling buckets averages away.
    pub glr_short_margin: f64,
    /// A GLR window of L buckets pays this × ln L (see `drop_glr`).
    pub glr_window_penalty: f64,
    /// The short-window margin is paid in full where the overdispersion
    /// skews a bucket's rate towards drops by at least this much (skewness
    /// beyond the binomial's, which the GLR's KL already prices), and in
    /// proportion below: a busy, near-normal track keeps its first bucket.
    /// 0 (the default) pays it in full everywhere.
    pub glr_skew_ref: f64,
    /// The least a one-bucket window pays however normal its buckets (nats,
    /// / L as the margin) when `glr_skew_ref` is on: the maximum over
    /// windows peaks higher than any one window even at φ 1 (with none, null
    /// runs at 300 trials and φ 1 had 8 short-window alarms where 4 nats had 0).
    pub glr_short_margin_least: f64,
    /// The GLR tests against the guarded level p₀ (`true`) or against the
    /// baseline itself (faster on drops near the floor, but null runs at 60
    /// and 300 trials rose to 0.037–0.049 false alarms a day against 0.033).
    pub glr_guarded: bool,
}

/// How the threshold h follows from ARL₀.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThresholdRule {
    /// h = ln(ARL₀): Lorden's bound, ARL₀ ≥ e^h whatever the increments.
    /// Measured (benches/detect.rs, 30-day target = 0.033 per slice-day,
    /// with the baseline's precision rule and guard): 0.003 at φ = 1, 2
    /// and 3, 0 at φ = 5; a one-point drop at p 0.9, 300 trials, φ 2 is
    /// found in a median 162 buckets against a limit of 132.
    #[default]
    Lorden,
    /// Siegmund's approximation for Gaussian increments (see
    /// [`siegmund_threshold`]): about 30 % shorter delays, but estimation
    /// error in the baseline and φ push the false-alarm rate over target on
    /// overdispersed data.
    Siegmund,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            arl0_buckets: DEFAULT_FALSE_ALARM_DAYS * 24.0 * 60.0,
            min_shift: DEFAULT_MIN_SHIFT,
            reference_buckets: 480,
            min_reference_buckets: 60,
            refresh_every: 10,
            watch_fraction: 0.5,
            alarm_cap: 1.5,
            max_pending_buckets: 240,
            estimate_dispersion: true,
            baseline_guard: 1.0,
            max_baseline_error: 0.25,
            threshold_rule: ThresholdRule::Lorden,
            glr: true,
            glr_margin: DEFAULT_GLR_MARGIN,
            glr_floor: DEFAULT_GLR_FLOOR,
            glr_short_margin: DEFAULT_GLR_SHORT_MARGIN,
            glr_window_penalty: DEFAULT_GLR_WINDOW_PENALTY,
            glr_skew_ref: DEFAULT_GLR_SKEW_REF,
            glr_short_margin_least: DEFAULT_GLR_SHORT_MARGIN_LEAST,
            glr_guarded: true,
        }
    }
}

impl DetectorConfig {
    /// Defaults for a feed with buckets of `bucket_ms`: one false alarm per
    /// 30 days, one point of drop.
    pub fn for_bucket_ms(bucket_ms: Millis) -> Self {
        Self::default().with_false_alarm_days(DEFAULT_FALSE_ALARM_DAYS, bucket_ms)
    }

    /// One false alarm per `days` of healthy data, at buckets of `bucket_ms`.
    pub fn with_false_alarm_days(mut self, days: f64, bucket_ms: Millis) -> Self {
        let buckets = days * DAY_MS / bucket_ms.max(1) as f64;
        self.arl0_buckets = buckets.max(2.0);
        self
    }

    pub fn with_min_shift(mut self, shift: f64) -> Self {
        self.min_shift = shift.clamp(1e-6, 0.5);
        self
    }

    /// CUSUM threshold on the log-likelihood-ratio scale for a detector whose
    /// per-bucket information under the alternative is `kl_per_bucket`
    /// (n · KL(p₁‖p₀) / φ), by the configured rule.
    pub fn threshold(&self, kl_per_bucket: f64) -> f64 {
        match self.threshold_rule {
            ThresholdRule::Lorden => self.arl0_buckets.max(2.0).ln(),
            ThresholdRule::Siegmund => siegmund_threshold(self.arl0_buckets, kl_per_bucket),
        }
    }
}

/// Siegmund's approximation for a CUSUM of Gaussian increments with
/// drift ∓d²/2 and variance d² (d² = 2 · KL) gives
/// ARL₀ ≈ (e^b − b − 1) / (d²/2) with b = h + 1.166·d (the 1.166·d term
/// corrects for the overshoot of a discrete-time statistic).
/// Solved for h, then capped at ln(ARL₀): Lorden's bound guarantees
/// ARL₀ ≥ e^h for any LLR CUSUM, so a higher threshold is never needed.
pub fn siegmund_threshold(arl0: f64, kl_per_bucket: f64) -> f64 {
    let lorden = arl0.max(2.0).ln();
    if !(kl_per_bucket.is_finite() && kl_per_bucket > 0.0) {
        return lorden;
    }
    let half_d2 = kl_per_bucket; // d²/2 = KL for the Gaussian equivalent
    let d = (2.0 * kl_per_bucket).sqrt();
    // Fixed point of b = ln(ARL₀·d²/2 + b + 1): converges in a few steps.
    let mut b = (arl0 * half_d2 + 1.0).ln().max(1.0);
    for _ in 0..20 {
        b = (arl0 * half_d2 + b + 1.0).ln();
    }
    (b - 1.166 * d).clamp(1.0, lorden)
}

/// How much further towards drops a bucket's rate is skewed under a
/// beta-binomial of mean `p`, `n` trials and overdispersion `phi` than under
/// a binomial (0 when it is not): the part of a short window's tail that
/// the quasi-binomial KL does not price.
pub fn excess_drop_skew(p: f64, n: f64, phi: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && n >= 2.0 && phi > 1.0 && phi.is_finite()) {
        return 0.0;
    }
    let binomial = (1.0 - 2.0 * p) / (n * p * (1.0 - p)).sqrt();
    // φ = 1 + (n − 1)ρ, and α + β = 1/ρ − 1.
    let rho = ((phi - 1.0) / (n - 1.0)).min(0.999);
    let conc = 1.0 / rho - 1.0;
    let (alpha, beta) = (p * conc, (1.0 - p) * conc);
    let beta_binomial = (conc + 2.0 * n) * (beta - alpha) / (conc + 2.0)
        * ((1.0 + conc) / (n * alpha * beta * (n + conc))).sqrt();
    (binomial - beta_binomial).max(0.0)
}

/// KL divergence of Bernoulli(p1) from Bernoulli(p0), per trial.
pub fn bernoulli_kl(p1: f64, p0: f64) -> f64 {
    let term = |a: f64, b: f64| if a <= 0.0 { 0.0 } else { a * (a / b).ln() };
    term(p1, p0) + term(1.0 - p1, 1.0 - p0)
}

/// The rate a drop of `shift` from `p0` reaches, kept inside (0, 1).
pub fn shifted_down(p0: f64, shift: f64) -> f64 {
    if p0 > shift { p0 - shift } else { p0 / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_never_exceeds_lordens_bound() {
        for kl in [1e-4, 0.01, 0.1, 1.0, 10.0, 1e4] {
            let h = siegmund_threshold(43_200.0, kl);
            assert!(h <= 43_200f64.ln() + 1e-12, "kl {kl}: h {h}");
            assert!(h >= 1.0);
        }
    }

    #[test]
    fn threshold_is_lower_when_each_bucket_says_little() {
        // Small per-bucket information means the statistic creeps, so a
        // lower threshold keeps the same ARL₀.
        assert!(siegmund_threshold(43_200.0, 0.05) < siegmund_threshold(43_200.0, 0.5));
    }

    #[test]
    fn thirty_days_of_minute_buckets() {
        let c = DetectorConfig::for_bucket_ms(60_000);
        assert!((c.arl0_buckets - 43_200.0).abs() < 1e-6);
    }

    #[test]
    fn overdispersion_skews_a_busy_bucket_less_than_a_quiet_one() {
        // Beta-binomial skewness less the binomial's, at p 0.9 (computed
        // apart: -0.140 + 0.049 and -0.326 + 0.154).
        let busy = excess_drop_skew(0.9, 3000.0, 3.0);
        let quiet = excess_drop_skew(0.9, 300.0, 2.0);
        assert!((busy - 0.091).abs() < 0.002, "{busy}");
        assert!((quiet - 0.172).abs() < 0.002, "{quiet}");
        assert!(excess_drop_skew(0.9, 300.0, 1.0).abs() < 1e-12);
        // Below one half the tail towards drops is the thin one.
        assert!(excess_drop_skew(0.2, 300.0, 2.0).abs() < 1e-12);
    }

    #[test]
    fn bernoulli_kl_is_zero_only_at_equal_rates() {
        assert!(bernoulli_kl(0.9, 0.9).abs() < 1e-15);
        assert!(bernoulli_kl(0.89, 0.9) > 0.0);
        assert!(bernoulli_kl(0.0, 0.5) > 0.0);
    }
}
