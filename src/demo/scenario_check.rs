//! The checks of a scenario that serde cannot do: ranges, names that must
//! exist, uniqueness. Each message names the offending key.

use std::collections::HashSet;

use super::scenario::{DIMENSIONS, RegressionSpec, Scenario, Scope};
use super::signals::{LATENCY, METRIC_SIGNALS};

impl Scenario {
    /// Checks what serde cannot: ranges, names that must exist, uniqueness.
    /// The message names the offending key.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.clock.bucket_ms <= 0 {
            return Err("clock.bucket_ms must be positive".into());
        }
        if self.clock.history_minutes <= 0
            || self.clock.history_minutes * 60_000 < self.clock.bucket_ms
        {
            return Err("clock.history_minutes must cover at least one bucket".into());
        }
        positive(
            "traffic.requests_per_minute",
            self.traffic.requests_per_minute,
        )?;
        unit("traffic.diurnal_amplitude", self.traffic.diurnal_amplitude)?;
        finite("traffic.peak_minute", self.traffic.peak_minute)?;
        non_negative("traffic.jitter", self.traffic.jitter)?;
        unit("availability.error_rate", self.availability.error_rate)?;
        unit(
            "availability.blip_probability",
            self.availability.blip_probability,
        )?;
        unit(
            "availability.blip_error_rate",
            self.availability.blip_error_rate,
        )?;
        unit("availability.floor", self.availability.floor)?;
        non_negative("latency.load_sensitivity", self.latency.load_sensitivity)?;
        non_negative("latency.jitter", self.latency.jitter)?;
        non_negative("quality.slice_spread", self.quality.slice_spread)?;
        unit("feedback.rated_fraction", self.feedback.rated_fraction)?;
        positive("feedback.dispersion", self.feedback.dispersion)?;
        for s in &self.suites {
            positive(
                &format!("suite {:?}.cases_per_minute", s.name),
                s.cases_per_minute,
            )?;
            positive(&format!("suite {:?}.dispersion", s.name), s.dispersion)?;
        }
        let signals = self.quality_signals();
        let mut all_signals = signals.clone();
        all_signals.extend(METRIC_SIGNALS);
        unique("suite and feedback names", &all_signals)?;

        unique("model names", &self.values_of("model"))?;
        unique("platform names", &self.values_of("platform"))?;
        unique("region names", &self.values_of("region"))?;
        unique("hardware names", &self.values_of("hardware"))?;
        for dim in DIMENSIONS {
            if self.values_of(dim).is_empty() {
                return Err(format!("no {dim} declared"));
            }
        }
        for m in &self.models {
            let key = format!("model {:?}", m.name);
            positive(&format!("{key}.traffic_share"), m.traffic_share)?;
            positive(&format!("{key}.latency_ms"), m.latency_ms)?;
            for s in &signals {
                let rate = m
                    .quality
                    .get(*s)
                    .ok_or_else(|| format!("{key}.quality lacks {s:?}"))?;
                unit(&format!("{key}.quality.{s}"), *rate)?;
            }
            if let Some(k) = m.quality.keys().find(|k| !signals.contains(&k.as_str())) {
                return Err(format!("{key}.quality names unknown signal {k:?}"));
            }
        }
        let hardware = self.values_of("hardware");
        for p in &self.platforms {
            let key = format!("platform {:?}", p.name);
            positive(&format!("{key}.traffic_share"), p.traffic_share)?;
            positive(&format!("{key}.latency_factor"), p.latency_factor)?;
            if p.hardware.is_empty() {
                return Err(format!("{key}.hardware is empty"));
            }
            for (h, share) in &p.hardware {
                if !hardware.contains(&h.as_str()) {
                    return Err(format!("{key}.hardware names undeclared hardware {h:?}"));
                }
                positive(&format!("{key}.hardware.{h}"), *share)?;
            }
        }
        for r in &self.regions {
            positive(
                &format!("region {:?}.traffic_share", r.name),
                r.traffic_share,
            )?;
        }
        for h in &self.hardware {
            positive(
                &format!("hardware {:?}.latency_factor", h.name),
                h.latency_factor,
            )?;
        }
        for (i, scope) in self.excludes.iter().enumerate() {
            self.check_scope(&format!("exclude[{i}]"), scope)?;
        }
        let all_signal_names: Vec<&str> = all_signals.clone();
        for r in &self.regressions {
            self.check_regression(r, &all_signal_names)?;
        }
        Ok(())
    }

    fn check_scope(&self, key: &str, scope: &Scope) -> Result<(), String> {
        for (dim, values) in scope {
            let known = self.values_of(dim);
            if known.is_empty() {
                return Err(format!("{key} names unknown dimension {dim:?}"));
            }
            if let Some(v) = values.iter().find(|v| !known.contains(&v.as_str())) {
                return Err(format!("{key}.{dim} names undeclared value {v:?}"));
            }
        }
        Ok(())
    }

    fn check_regression(&self, r: &RegressionSpec, signals: &[&str]) -> Result<(), String> {
        let key = format!("regression {:?}", r.name);
        self.check_scope(&format!("{key}.scope"), &r.scope)?;
        for (dim, factors) in &r.scale {
            let known = self.values_of(dim);
            if known.is_empty() {
                return Err(format!("{key}.scale names unknown dimension {dim:?}"));
            }
            for (v, f) in factors {
                if !known.contains(&v.as_str()) {
                    return Err(format!("{key}.scale.{dim} names undeclared value {v:?}"));
                }
                non_negative(&format!("{key}.scale.{dim}.{v}"), *f)?;
            }
        }
        if r.timeline.is_empty() {
            return Err(format!("{key}.timeline is empty"));
        }
        for (i, k) in r.timeline.iter().enumerate() {
            finite(&format!("{key}.timeline[{i}].at"), k.at)?;
            unit(&format!("{key}.timeline[{i}].level"), k.level)?;
        }
        if r.timeline.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(format!("{key}.timeline must be in time order"));
        }
        if r.effect.is_empty() {
            return Err(format!("{key}.effect is empty"));
        }
        for (s, e) in &r.effect {
            if !signals.contains(&s.as_str()) {
                return Err(format!("{key}.effect names unknown signal {s:?}"));
            }
            non_negative(&format!("{key}.effect.{s}"), *e)?;
            let is_gauge = s == LATENCY;
            if !is_gauge && *e > 1.0 {
                return Err(format!("{key}.effect.{s} must be at most 1"));
            }
        }
        let v = &r.variation;
        non_negative(&format!("{key}.variation.per_slice"), v.per_slice)?;
        non_negative(&format!("{key}.variation.block_minutes"), v.block_minutes)?;
        non_negative(&format!("{key}.variation.per_block"), v.per_block)?;
        if !(v.duty > 0.0 && v.duty <= 1.0) {
            return Err(format!("{key}.variation.duty must be in (0, 1]"));
        }
        Ok(())
    }
}

fn finite(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{key} must be a finite number"))
    }
}

fn positive(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be positive, not {v}"))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be zero or more, not {v}"))
    }
}

fn unit(key: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{key} must be between 0 and 1, not {v}"))
    }
}

fn unique(what: &str, names: &[&str]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for n in names {
        if n.is_empty() {
            return Err(format!("{what}: empty name"));
        }
        if !seen.insert(*n) {
            return Err(format!("{what}: {n:?} given twice"));
        }
    }
    Ok(())
}
