//! What `qualtop check` prints: every regression detection found, folded by
//! scope, active or ended, and the availability burn alerts apart, as JSON
//! for scripts or as a table for people. Pure: detections in, text out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::args::OutputFormat;
use crate::detect::{Detections, Monitor, ScopeConfig, ScopeOrigin, TrackKey, describe};
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
    /// Error-budget burn alerts of availability signals (not regressions).
    pub burn_alerts: Vec<ReportedBurn>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedBurn {
    pub slice: BTreeMap<String, String>,
    pub signal: String,
    pub since: Millis,
    pub ended_at: Option<Millis>,
    /// Highest burn seen, in multiples of the error budget.
    pub peak_burn: f64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedRegression {
    /// Where: a found cause, or the key that regressed (`{}` = fleet).
    pub slice: BTreeMap<String, String>,
    pub signal: String,
    pub role: String,
    pub onset: Millis,
    pub detected_at: Millis,
    /// When it ended; `null` while active.
    pub ended_at: Option<Millis>,
    pub baseline: f64,
    pub current: f64,
    pub delta_pp: f64,
    pub active: bool,
    /// How `slice` was found: `cause` (the scope search), or the level of
    /// the detector that alarmed (`fleet`, `group`, `leaf`).
    pub found_by: String,
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
    /// Everything the detection engine logged: every regression (active or
    /// ended) and every burn alert.
    pub fn from_detections(d: &Detections, store: &Store) -> Self {
        let to = d.through.unwrap_or_else(|| store.now());
        let from = d.since.unwrap_or(to);
        let regressions = d
            .regressions
            .iter()
            .map(|r| ReportedRegression {
                slice: r.scope.clone(),
                signal: r.signal.clone(),
                role: r.role.as_str().to_owned(),
                onset: r.onset,
                detected_at: r.detected_at,
                ended_at: r.ended_at,
                baseline: round(r.baseline, 4),
                current: round(r.current, 4),
                delta_pp: round(r.delta_pp, 2),
                active: r.is_active(),
                found_by: match r.origin {
                    ScopeOrigin::Cause => "cause".to_owned(),
                    ScopeOrigin::Track(level) => level.as_str().to_owned(),
                },
                scope: r
                    .causes
                    .iter()
                    .map(|c| ReportedCause {
                        scope: c.scope.clone(),
                        explains: round(c.explains, 3),
                    })
                    .collect(),
            })
            .collect();
        let burn_alerts = d
            .burns
            .iter()
            .map(|b| ReportedBurn {
                slice: b.scope.clone(),
                signal: b.signal.clone(),
                since: b.since,
                ended_at: b.ended_at,
                peak_burn: round(b.peak_burn, 1),
                active: b.is_active(),
            })
            .collect();
        CheckReport {
            from,
            to,
            slices: store.slices().len(),
            regressions,
            burn_alerts,
        }
    }

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
                    ended_at: None,
                    found_by: if r.from_cause {
                        "cause".to_owned()
                    } else {
                        "track".to_owned()
                    },
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
                        ended_at: ended.ended_at,
                        found_by: "track".to_owned(),
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
            burn_alerts: Vec::new(),
        }
    }

    /// Whether `check` should exit 1: a regression or a burn alert is in
    /// progress.
    pub fn has_active(&self) -> bool {
        self.regressions.iter().any(|r| r.active) || self.burn_alerts.iter().any(|b| b.active)
    }

    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} slices, data {} to {} UTC\n",
            self.slices,
            utc_datetime(self.from),
            utc_datetime(self.to)
        );
        if self.regressions.is_empty() {
            out.push_str("no regression\n");
        } else {
            out.push_str(&format!(
                "{:<8}  {:<20}  {:<12}  {:>8}  {:>8}  {:>7}  {:<16}  {:<16}  {:<16}  where\n",
                "state",
                "signal",
                "role",
                "baseline",
                "current",
                "Δ pp",
                "onset",
                "detected",
                "ended"
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
                    "{:<8}  {:<20}  {:<12}  {:>7.2}%  {:>7.2}%  {:>+7.2}  {:<16}  {:<16}  {:<16}  {} [{}]{}\n",
                    if r.active { "ACTIVE" } else { "ended" },
                    r.signal,
                    r.role,
                    r.baseline * 100.0,
                    r.current * 100.0,
                    r.delta_pp,
                    utc_datetime(r.onset),
                    utc_datetime(r.detected_at),
                    r.ended_at.map_or_else(|| "-".to_owned(), utc_datetime),
                    describe(&r.slice),
                    r.found_by,
                    inner
                ));
            }
        }
        for b in &self.burn_alerts {
            out.push_str(&format!(
                "{:<8}  {:<20}  burn {:.1}x of the error budget since {}{}  {}\n",
                if b.active { "BURN" } else { "burned" },
                b.signal,
                b.peak_burn,
                utc_datetime(b.since),
                b.ended_at
                    .map_or_else(String::new, |e| format!(" until {}", utc_datetime(e))),
                describe(&b.slice)
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

/// `2025-09-02 14:05` (UTC) from milliseconds since the epoch.
pub use crate::clock::utc_minute as utc_datetime;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_datetime_of_known_instants() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00");
        assert_eq!(utc_datetime(1_756_771_200_000), "2025-09-02 00:00");
        assert_eq!(
            utc_datetime(951_782_400_000 + 3_660_000),
            "2000-02-29 01:01"
        );
    }
}
