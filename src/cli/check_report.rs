//! What `qualtop check` prints: the regressions the monitor holds, folded by
//! scope, as JSON for scripts or as a table for people. Pure: store and
//! monitor in, text out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::args::OutputFormat;
use crate::detect::{Monitor, ScopeConfig, TrackKey, describe};
use crate::protocol::Millis;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Data time covered: the oldest bucket held to the last one tested.
    pub from: Millis,
    pub to: Millis,
    /// Leaf slices known.
    pub slices: usize,
    pub regressions: Vec<ReportedRegression>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedRegression {
    /// Where: a found cause, or the key that regressed (`{}` = fleet).
    pub slice: BTreeMap<String, String>,
    pub signal: String,
    pub role: String,
    pub onset: Millis,
    pub detected_at: Millis,
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
    pub active: bool,
    pub scope: Vec<ReportedCause>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedCause {
    pub scope: BTreeMap<String, String>,
    pub explains: f64,
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

impl CheckReport {
    /// The monitor's regressions: active ones folded by scope, plus fleet-
    /// and group-level ones that ended inside the window.
    pub fn build(store: &Store, monitor: &Monitor, cfg: &ScopeConfig) -> Self {
        let to = monitor
            .next_bucket()
            .map_or(store.now(), |b| store.bucket_start(b - 1));
        let from = store
            .head()
            .map_or(to, |h| store.bucket_start(h - store.capacity() as i64 + 1));
        let mut regressions = Vec::new();
        for (i, signal) in store.signals().iter().enumerate() {
            let id = crate::store::SignalId(i as u16);
            for r in monitor.scoped_regressions(store, id, cfg) {
                regressions.push(ReportedRegression {
                    slice: r.scope,
                    signal: signal.spec.name.clone(),
                    role: r.role.as_str().to_owned(),
                    onset: r.onset,
                    detected_at: r.detected_at,
                    baseline: round(r.baseline, 4),
                    current: round(r.current, 4),
                    delta_pp: round(r.delta_pp, 2),
                    active: r.active,
                    scope: r
                        .causes
                        .into_iter()
                        .map(|c| ReportedCause {
                            scope: c.scope,
                            explains: round(c.explains, 3),
                        })
                        .collect(),
                });
            }
            for f in monitor.findings() {
                if f.signal != id || matches!(f.key, TrackKey::Slice(_)) {
                    continue;
                }
                for ended in monitor.regressions_for(f.key, id) {
                    if ended.active || ended.ended_at.is_none_or(|e| e < from) {
                        continue;
                    }
                    regressions.push(ReportedRegression {
                        slice: f.key.to_map(store),
                        signal: signal.spec.name.clone(),
                        role: f.role.as_str().to_owned(),
                        onset: ended.onset,
                        detected_at: ended.detected_at,
                        baseline: round(ended.baseline, 4),
                        current: round(ended.current, 4),
                        delta_pp: round(ended.delta_pp, 2),
                        active: false,
                        scope: Vec::new(),
                    });
                }
            }
        }
        CheckReport {
            from,
            to,
            slices: store.slices().len(),
            regressions,
        }
    }

    /// Whether `check` should exit 1.
    pub fn has_active(&self) -> bool {
        self.regressions.iter().any(|r| r.active)
    }

    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} slices, data from {} to {} (ms since epoch)\n",
            self.slices, self.from, self.to
        );
        if self.regressions.is_empty() {
            out.push_str("no regression\n");
            return out;
        }
        out.push_str(&format!(
            "{:<8}  {:<16}  {:<12}  {:>8}  {:>8}  {:>7}  {:>14}  {:>14}  where\n",
            "state", "signal", "role", "baseline", "current", "Δ pp", "onset", "detected"
        ));
        for r in &self.regressions {
            let causes: Vec<String> = r
                .scope
                .iter()
                .filter(|c| c.scope != r.slice)
                .map(|c| format!("{} {:.0}%", describe(&c.scope), c.explains * 100.0))
                .collect();
            let inner = if causes.is_empty() {
                String::new()
            } else {
                format!(" (causes: {})", causes.join("; "))
            };
            out.push_str(&format!(
                "{:<8}  {:<16}  {:<12}  {:>7.2}%  {:>7.2}%  {:>+7.2}  {:>14}  {:>14}  {}{}\n",
                if r.active { "ACTIVE" } else { "ended" },
                r.signal,
                r.role,
                r.baseline * 100.0,
                r.current * 100.0,
                r.delta_pp,
                r.onset,
                r.detected_at,
                describe(&r.slice),
                inner
            ));
        }
        out
    }

    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => self.to_json(),
            OutputFormat::Text => self.to_text(),
        }
    }
}
