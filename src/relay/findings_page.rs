//! The regressions on `/metrics.prom`: `qualtop_regression_active` and its
//! figures, one series per (signal, scope), each scope dimension its own
//! label, so that a Prometheus alerting rule can page on-call.
//!
//! An ended regression stays at 0 for the keep window (relay.toml's
//! `history`), then its series goes: a rule sees a clean 1 → 0, and the page
//! holds at most [`MAX_SERIES`] series whatever the history.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::findings::{Published, RegressionRow};
use super::stats::escape;

/// Most regression series on the page; active ones are kept first.
pub const MAX_SERIES: usize = 1000;

/// Names `signal` and `alertname` are ours; `__` starts Prometheus' own.
const TAKEN: [&str; 2] = ["signal", "alertname"];

/// The Prometheus label of each dimension; `None` where it cannot have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelNames(Vec<(String, Option<String>)>);

impl LabelNames {
    /// Maps every dimension to a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`):
    /// other characters become `_`, a leading digit gets a `_` before it. A
    /// name that is reserved, or that two dimensions would share, is dropped
    /// (said once in the log): its value then does not appear in the labels.
    pub fn new(dimensions: &[String]) -> Self {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for d in dimensions {
            let mut name: String = d
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                name.insert(0, '_');
            }
            let clash = out.iter().any(|(_, n)| n.as_deref() == Some(name.as_str()));
            let label = if name.is_empty()
                || name.starts_with("__")
                || TAKEN.contains(&name.as_str())
                || clash
            {
                tracing::warn!(
                    dimension = %crate::text::sanitize::sanitize(d),
                    "dimension has no Prometheus label (reserved or clashing name): left out of qualtop_regression_* labels"
                );
                None
            } else {
                if name != *d {
                    tracing::info!(dimension = %crate::text::sanitize::sanitize(d), label = %name, "dimension renamed for Prometheus labels");
                }
                Some(name)
            };
            out.push((d.clone(), label));
        }
        LabelNames(out)
    }

    /// `signal` and the scope's dimensions as (label, value), in label order.
    pub fn labels(&self, signal: &str, scope: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let mut out = vec![("signal".to_owned(), signal.to_owned())];
        for (dim, value) in scope {
            let label = self
                .0
                .iter()
                .find(|(d, _)| d == dim)
                .and_then(|(_, l)| l.clone());
            if let Some(label) = label {
                out.push((label, value.clone()));
            }
        }
        out.sort();
        out
    }
}

/// One row per distinct label set: the active one if any, else the newest.
pub fn series<'a>(
    names: &LabelNames,
    rows: &'a [RegressionRow],
) -> Vec<(Vec<(String, String)>, &'a RegressionRow)> {
    let mut by_labels: BTreeMap<Vec<(String, String)>, &RegressionRow> = BTreeMap::new();
    for r in rows {
        let labels = names.labels(&r.signal, &r.scope);
        let better = |old: &RegressionRow| {
            (r.is_active(), r.detected_at) > (old.is_active(), old.detected_at)
        };
        match by_labels.get(&labels) {
            Some(old) if !better(old) => {}
            _ => {
                by_labels.insert(labels, r);
            }
        }
    }
    let mut out: Vec<_> = by_labels.into_iter().collect();
    // Active first, then the most recently detected: what the cap keeps.
    out.sort_by_key(|(_, r)| (!r.is_active(), std::cmp::Reverse(r.detected_at)));
    out.truncate(MAX_SERIES);
    out
}

fn braces(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The regression section of the page.
pub fn render(names: &LabelNames, p: &Published) -> String {
    let mut out = String::new();
    let series = series(names, &p.rows);
    let mut metric =
        |name: &str, kind: &str, help: &str, f: &dyn Fn(&RegressionRow) -> Option<f64>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, r) in &series {
                if let Some(v) = f(r).filter(|v| v.is_finite()) {
                    let _ = writeln!(out, "{name}{} {v}", braces(labels));
                }
            }
        };
    let secs = |ms: i64| ms as f64 / 1000.0;
    metric(
        "qualtop_regression_active",
        "gauge",
        "1 while a quality regression is active in this signal and scope; 0 once it ended (the series then goes after the history window).",
        &|r| Some(if r.is_active() { 1.0 } else { 0.0 }),
    );
    metric(
        "qualtop_regression_onset_seconds",
        "gauge",
        "Estimated start of the drop, Unix seconds.",
        &|r| Some(secs(r.onset)),
    );
    metric(
        "qualtop_regression_detected_seconds",
        "gauge",
        "When the first detector fired, Unix seconds.",
        &|r| Some(secs(r.detected_at)),
    );
    metric(
        "qualtop_regression_ended_seconds",
        "gauge",
        "When it ended, Unix seconds (ended regressions only).",
        &|r| r.ended_at.map(secs),
    );
    metric(
        "qualtop_regression_change_pp",
        "gauge",
        "Current minus baseline rate in the scope, percentage points (negative: a drop).",
        &|r| Some(r.delta_pp),
    );
    metric(
        "qualtop_regression_baseline_ratio",
        "gauge",
        "Healthy rate in the scope before the drop, 0 to 1.",
        &|r| Some(r.baseline),
    );
    let mut one = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    if let Some(t) = p.through {
        one(
            "qualtop_detection_through_seconds",
            "gauge",
            "Start of the newest bucket the relay's detectors tested, Unix seconds.",
            secs(t),
        );
    }
    one(
        "qualtop_detection_buckets_total",
        "counter",
        "Buckets the relay's detectors tested.",
        p.buckets as f64,
    );
    one(
        "qualtop_detection_busy_seconds_total",
        "counter",
        "Time spent testing them (off the serving path, on the blocking pool).",
        p.busy.as_secs_f64(),
    );
    one(
        "qualtop_detection_store_bytes",
        "gauge",
        "Bytes of the detectors' copy of the window.",
        p.store_bytes as f64,
    );
    one(
        "qualtop_detection_resyncs_total",
        "counter",
        "Windows taken again after the detectors fell behind a hub.",
        p.resyncs as f64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        signal: &str,
        scope: &[(&str, &str)],
        ended: Option<i64>,
        detected: i64,
    ) -> RegressionRow {
        RegressionRow {
            signal: signal.into(),
            scope: scope
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            onset: 60_000,
            detected_at: detected,
            ended_at: ended,
            baseline: 0.99,
            current: 0.9,
            delta_pp: -9.0,
        }
    }

    #[test]
    fn dimension_names_are_mapped_to_label_names_or_dropped() {
        let dims: Vec<String> = [
            "model", "gpu-type", "9zone", "__meta", "signal", "gpu_type", "a.b",
        ]
        .iter()
        .map(|s| (*s).into())
        .collect();
        let n = LabelNames::new(&dims);
        let got: Vec<Option<&str>> = n.0.iter().map(|(_, l)| l.as_deref()).collect();
        assert_eq!(
            got,
            [
                Some("model"),
                Some("gpu_type"),
                Some("_9zone"),
                None,
                None,
                None,
                Some("a_b")
            ]
        );
    }

    #[test]
    fn the_page_has_one_escaped_series_per_scope_active_or_recently_ended() {
        let n = LabelNames::new(&["model".into(), "hardware".into()]);
        let p = Published {
            rows: vec![
                row(
                    "golden-qa",
                    &[("model", "m\"2\\\n"), ("hardware", "tpu")],
                    None,
                    120_000,
                ),
                row("avail", &[], Some(200_000), 90_000),
                // Same labels as the first, ended earlier: the active one wins.
                row(
                    "golden-qa",
                    &[("model", "m\"2\\\n"), ("hardware", "tpu")],
                    Some(100_000),
                    70_000,
                ),
            ],
            ..Published::default()
        };
        let page = render(&n, &p);
        assert!(
            page.contains("qualtop_regression_active{hardware=\"tpu\",model=\"m\\\"2\\\\\\n\",signal=\"golden-qa\"} 1\n"),
            "{page}"
        );
        assert!(
            page.contains("qualtop_regression_active{signal=\"avail\"} 0\n"),
            "{page}"
        );
        assert_eq!(
            page.matches("qualtop_regression_active{").count(),
            2,
            "{page}"
        );
        assert!(page.contains("qualtop_regression_onset_seconds{signal=\"avail\"} 60\n"));
        assert!(page.contains("qualtop_regression_ended_seconds{signal=\"avail\"} 200\n"));
        assert!(page.contains("qualtop_regression_change_pp{signal=\"avail\"} -9\n"));
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap_or_default();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn the_page_never_holds_more_than_max_series_and_keeps_the_active_ones() {
        let n = LabelNames::new(&["slice".into()]);
        let mut rows: Vec<RegressionRow> = (0..MAX_SERIES + 50)
            .map(|i| row("q", &[("slice", &format!("s{i}"))], Some(1), i as i64))
            .collect();
        rows.push(row("q", &[("slice", "live")], None, 0));
        let kept = series(&n, &rows);
        assert_eq!(kept.len(), MAX_SERIES);
        assert!(kept[0].1.is_active());
    }
}
