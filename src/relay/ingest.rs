//! `POST /v1/points`: eval jobs push JSON lines of protocol point objects.
//! Each line is validated with the same rules as the client's bad-input
//! handling; the answer reports every rejected line by number.

use std::collections::HashMap;

use serde::Serialize;

use crate::protocol::{Millis, Point, SignalKind, timestamp_in_window, validate_counts};

/// Most lines one request may carry unless the config says otherwise.
pub const MAX_POINTS_PER_REQUEST: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    pub error: String,
}

/// What a push request did, as returned to the eval job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct IngestReport {
    pub accepted: usize,
    pub rejected: usize,
    pub errors: Vec<LineError>,
}

/// What the relay serves, for validating pushed points.
pub struct IngestRules<'a> {
    pub dimensions: &'a [String],
    /// Push-fed signals and their kinds.
    pub signals: &'a HashMap<String, SignalKind>,
    pub now: Millis,
    pub window_ms: Millis,
    pub bucket_ms: Millis,
    /// Most non-blank lines one request may carry.
    pub max_points: usize,
}

/// A point that passed the checks, with the line it came from.
pub type LinedPoint = (usize, Point<'static>);

/// Most rejected lines a report lists (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

impl IngestReport {
    /// Counts a line refused after parsing (e.g. a new slice over the cap).
    pub fn refuse(&mut self, line: usize, error: String) {
        self.accepted = self.accepted.saturating_sub(1);
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError { line, error });
            self.errors.sort_by_key(|e| e.line);
        }
    }
}

/// Parses and validates a JSON-lines body. Blank lines are skipped; at most
/// [`MAX_LISTED_ERRORS`] errors are listed (all are counted).
pub fn parse_points(
    body: &str,
    rules: &IngestRules<'_>,
) -> Result<(Vec<LinedPoint>, IngestReport), String> {
    let mut points = Vec::new();
    let mut report = IngestReport::default();
    for (i, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if points.len() + report.rejected >= rules.max_points {
            return Err(format!(
                "more than {} points in one request; split it",
                rules.max_points
            ));
        }
        match check_line(line, rules) {
            Ok(p) => points.push((i + 1, p)),
            Err(error) => {
                report.rejected += 1;
                if report.errors.len() < MAX_LISTED_ERRORS {
                    report.errors.push(LineError { line: i + 1, error });
                }
            }
        }
    }
    report.accepted = points.len();
    Ok((points, report))
}

fn check_line(line: &str, rules: &IngestRules<'_>) -> Result<Point<'static>, String> {
    let p: Point = serde_json::from_str(line).map_err(|e| format!("not a point object: {e}"))?;
    let kind = *rules.signals.get(p.signal.as_str()).ok_or_else(|| {
        format!(
            "unknown signal {:?} (push-fed signals: {})",
            p.signal.as_str(),
            names(rules.signals)
        )
    })?;
    validate_counts(kind, p.good, p.total, p.value).map_err(|e| e.to_string())?;
    for (dim, _) in p.slice.iter() {
        if !rules.dimensions.iter().any(|d| d == dim) {
            return Err(format!("unknown dimension {dim:?}"));
        }
    }
    if let Some(missing) = rules.dimensions.iter().find(|d| p.slice.get(d).is_none()) {
        return Err(format!("slice lacks dimension {missing:?}"));
    }
    if !timestamp_in_window(p.ts, rules.now, rules.window_ms, rules.bucket_ms) {
        return Err(format!("ts {} is outside the relay's window", p.ts));
    }
    Ok(p.into_owned())
}

fn names(signals: &HashMap<String, SignalKind>) -> String {
    let mut v: Vec<&str> = signals.keys().map(String::as_str).collect();
    v.sort_unstable();
    v.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_are_taken_and_each_bad_line_is_named() {
        let dims = vec!["model".to_string(), "hardware".to_string()];
        let signals: HashMap<String, SignalKind> =
            [("golden-qa".to_string(), SignalKind::Ratio)].into();
        let now = 1_700_000_000_000;
        let rules = IngestRules {
            dimensions: &dims,
            signals: &signals,
            now,
            window_ms: 3_600_000,
            bucket_ms: 60_000,
            max_points: MAX_POINTS_PER_REQUEST,
        };
        let ok = format!(
            r#"{{"slice":{{"model":"m1","hardware":"tpu"}},"signal":"golden-qa","ts":{now},"good":9,"total":10}}"#
        );
        let body = [
            ok.clone(),
            String::new(),
            "{not json".into(),
            ok.replace("\"good\":9", "\"good\":11"),
            ok.replace("golden-qa", "vibes"),
            ok.replace("\"hardware\":\"tpu\"", "\"colour\":\"red\""),
            ok.replace("\"hardware\":\"tpu\",", "")
                .replace(",\"hardware\":\"tpu\"", ""),
            ok.replace(&now.to_string(), "5"),
            ok.replace("\"good\":9", "\"good\":-1"),
        ]
        .join("\n");
        let (points, report) = parse_points(&body, &rules).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!((report.accepted, report.rejected), (1, 7));
        assert_eq!(points[0].0, 1, "a point keeps its line");
        let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 9]);
        assert!(report.errors[0].error.contains("not a point object"));
        assert!(report.errors[1].error.contains("good exceeds total"));
        assert!(report.errors[2].error.contains("unknown signal \"vibes\""));
        assert!(
            report.errors[3]
                .error
                .contains("unknown dimension \"colour\"")
        );
        assert!(report.errors[4].error.contains("lacks dimension"));
        assert!(report.errors[5].error.contains("outside"));
        assert!(report.errors[6].error.contains("negative"));

        let few = IngestRules {
            max_points: 3,
            ..rules
        };
        let e = parse_points(&[ok.as_str(); 4].join("\n"), &few).unwrap_err();
        assert!(e.contains("more than 3 points"), "{e}");
        assert!(parse_points(&[ok.as_str(); 3].join("\n"), &few).is_ok());
    }
}
