//! One line per eval case → good/total per (slice, suite, bucket), as pure
//! functions. Memory grows with the distinct keys (slices × suites ×
//! buckets in the window), never with the number of lines.

use std::borrow::Cow;
use std::collections::HashMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::protocol::{MAX_COUNT, Millis};

/// Joins the parts of a key; control characters are refused in values.
const SEP: char = '\u{1f}';

/// One input line, whatever its format.
pub trait Record {
    fn get(&self, field: &str) -> Option<Cow<'_, str>>;
}

impl Record for serde_json::Map<String, serde_json::Value> {
    fn get(&self, field: &str) -> Option<Cow<'_, str>> {
        match self.get(field)? {
            serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
            serde_json::Value::Null => None,
            v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
                Some(Cow::Owned(v.to_string()))
            }
            _ => None,
        }
    }
}

/// `--pass-if '>=0.8'`: when a score counts as a pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassIf {
    op: Op,
    threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl PassIf {
    pub fn parse(s: &str) -> Result<PassIf, String> {
        let t = s.trim();
        let (op, rest) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .ok_or_else(|| format!("--pass-if {s:?}: start with >=, >, <=, < or == (e.g. '>=0.8')"))?;
        let threshold: f64 = rest
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| format!("--pass-if {s:?}: {:?} is not a number", rest.trim()))?;
        Ok(PassIf { op, threshold })
    }

    fn passes(&self, score: f64) -> bool {
        match self.op {
            Op::Ge => score >= self.threshold,
            Op::Gt => score > self.threshold,
            Op::Le => score <= self.threshold,
            Op::Lt => score < self.threshold,
            Op::Eq => score == self.threshold,
        }
    }
}

/// How lines are read: field names (after `--field NEW=OLD`), the slice's
/// dimensions, the bucket, and what the relay takes.
#[derive(Debug, Clone)]
pub struct Rules {
    pub dimensions: Vec<String>,
    pub bucket_ms: Millis,
    /// `[oldest, newest)` times the relay takes; `None`: not checked.
    pub window: Option<(Millis, Millis)>,
    /// The relay's push-fed signals; `None`: not checked.
    pub signals: Option<Vec<String>>,
    pub default_suite: Option<String>,
    pub pass_if: Option<PassIf>,
    /// Canonical name → name in the file.
    pub renames: HashMap<String, String>,
}

impl Rules {
    fn field<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.renames
            .get(canonical)
            .map_or(canonical, String::as_str)
    }
}

/// `--field NEW=OLD` → (NEW, OLD).
pub fn parse_rename(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((new, old)) if !new.trim().is_empty() && !old.trim().is_empty() => {
            Ok((new.trim().to_owned(), old.trim().to_owned()))
        }
        _ => Err(format!(
            "--field {s:?}: write NEW=OLD, e.g. --field ts=timestamp"
        )),
    }
}

/// Good/total of one key, and which lines made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub good: u64,
    pub total: u64,
    pub first_line: usize,
    pub lines: usize,
}

/// One aggregated point, ready to post.
#[derive(Debug, Clone, PartialEq)]
pub struct AggPoint {
    pub slice: Vec<(String, String)>,
    pub suite: String,
    pub bucket: i64,
    pub counts: Counts,
}

impl AggPoint {
    /// The protocol point line (`POST /v1/points`).
    pub fn json_line(&self, bucket_ms: Millis) -> String {
        let slice: serde_json::Map<String, serde_json::Value> = self
            .slice
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "slice": slice,
            "signal": self.suite,
            "ts": self.bucket * bucket_ms,
            "good": self.counts.good,
            "total": self.counts.total,
        })
        .to_string()
    }
}

#[derive(Default)]
pub struct Aggregator {
    map: HashMap<String, Counts>,
    key: String,
}

impl Aggregator {
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.map.len()
    }

    /// Adds line `line_no`; `Err` says why the line was skipped.
    pub fn add(&mut self, rules: &Rules, line_no: usize, rec: &dyn Record) -> Result<(), String> {
        let ts_field = rules.field("ts");
        let ts = rec
            .get(ts_field)
            .ok_or_else(|| format!("no {ts_field:?} field"))?;
        let ts = parse_ts(&ts)?;
        if let Some((oldest, newest)) = rules.window
            && (ts < oldest || ts >= newest)
        {
            return Err(format!(
                "{ts_field} {} is outside the relay's window",
                crate::text::time::rfc3339_utc(ts)
            ));
        }
        let suite_field = rules.field("suite");
        let suite = match rec.get(suite_field) {
            Some(s) => s,
            None => Cow::Borrowed(
                rules
                    .default_suite
                    .as_deref()
                    .ok_or_else(|| format!("no {suite_field:?} field (or pass --suite NAME)"))?,
            ),
        };
        if let Some(signals) = &rules.signals
            && !signals.iter().any(|s| s == suite.as_ref())
        {
            return Err(format!(
                "suite {:?} is not a pushed signal of the relay ({})",
                suite.as_ref(),
                signals.join(", ")
            ));
        }
        let passed = verdict(rules, rec)?;
        let bucket = ts.div_euclid(rules.bucket_ms.max(1));
        self.key.clear();
        for d in &rules.dimensions {
            let f = rules.field(d);
            let v = rec
                .get(f)
                .ok_or_else(|| format!("no {f:?} field (a dimension)"))?;
            if v.chars().any(char::is_control) {
                return Err(format!("{f}: control characters in the value"));
            }
            self.key.push_str(&v);
            self.key.push(SEP);
        }
        if suite.chars().any(char::is_control) {
            return Err("suite: control characters in the value".into());
        }
        self.key.push_str(&suite);
        self.key.push(SEP);
        self.key.push_str(&bucket.to_string());
        let counts = match self.map.get_mut(self.key.as_str()) {
            Some(c) => c,
            None => self.map.entry(self.key.clone()).or_insert(Counts {
                good: 0,
                total: 0,
                first_line: line_no,
                lines: 0,
            }),
        };
        if counts.total >= MAX_COUNT as u64 {
            return Err("more cases in one bucket than a count holds".into());
        }
        counts.total += 1;
        counts.good += u64::from(passed);
        counts.lines += 1;
        Ok(())
    }

    /// Every point, by bucket, suite and slice.
    pub fn into_points(self, dimensions: &[String]) -> Vec<AggPoint> {
        let mut out: Vec<AggPoint> = self
            .map
            .into_iter()
            .filter_map(|(key, counts)| {
                let mut parts = key.split(SEP);
                let slice = dimensions
                    .iter()
                    .map(|d| Some((d.clone(), parts.next()?.to_owned())))
                    .collect::<Option<Vec<_>>>()?;
                let suite = parts.next()?.to_owned();
                let bucket = parts.next()?.parse().ok()?;
                Some(AggPoint {
                    slice,
                    suite,
                    bucket,
                    counts,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.bucket, &a.suite, &a.slice).cmp(&(b.bucket, &b.suite, &b.slice)));
        out
    }
}

fn verdict(rules: &Rules, rec: &dyn Record) -> Result<bool, String> {
    if let Some(pass_if) = &rules.pass_if {
        let f = rules.field("score");
        let s = rec.get(f).ok_or_else(|| format!("no {f:?} field"))?;
        let score: f64 = s
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| format!("{f} {:?} is not a number", s.as_ref()))?;
        return Ok(pass_if.passes(score));
    }
    let f = rules.field("passed");
    let p = rec
        .get(f)
        .ok_or_else(|| format!("no {f:?} field (or pass --pass-if with a score)"))?;
    match p.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "pass" | "passed" | "yes" => Ok(true),
        "false" | "0" | "fail" | "failed" | "no" => Ok(false),
        other => Err(format!("{f} {other:?} is not true or false")),
    }
}

/// RFC 3339, or epoch milliseconds.
pub fn parse_ts(s: &str) -> Result<Millis, String> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    OffsetDateTime::parse(t, &Rfc3339)
        .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as Millis)
        .map_err(|_| format!("ts {t:?} is neither RFC 3339 nor epoch milliseconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            dimensions: vec!["model".into(), "hardware".into()],
            bucket_ms: 60_000,
            window: None,
            signals: None,
            default_suite: None,
            pass_if: None,
            renames: HashMap::new(),
        }
    }

    fn rec(json: &str) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cases_add_up_per_slice_suite_and_bucket() {
        let r = rules();
        let mut a = Aggregator::default();
        let lines = [
            r#"{"ts":"2025-09-02T00:00:10Z","suite":"qa","passed":true,"model":"m1","hardware":"tpu"}"#,
            r#"{"ts":1756771250000,"suite":"qa","passed":false,"model":"m1","hardware":"tpu"}"#,
            r#"{"ts":1756771260000,"suite":"qa","passed":true,"model":"m1","hardware":"tpu"}"#,
            r#"{"ts":1756771200000,"suite":"qa","passed":"1","model":"m2","hardware":"tpu"}"#,
        ];
        for (i, l) in lines.iter().enumerate() {
            a.add(&r, i + 1, &rec(l)).unwrap();
        }
        let p = a.into_points(&r.dimensions);
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].bucket, p[0].counts.good, p[0].counts.total),
            (29_279_520, 1, 2)
        );
        assert_eq!((p[0].counts.first_line, p[0].counts.lines), (1, 2));
        assert_eq!(p[1].slice[0].1, "m2");
        assert_eq!(p[2].bucket, 29_279_521);
        assert!(p[0].json_line(60_000).contains(r#""ts":1756771200000"#));
    }

    #[test]
    fn scores_pass_by_threshold_and_fields_can_be_renamed() {
        let mut r = rules();
        r.pass_if = Some(PassIf::parse(">=0.8").unwrap());
        r.default_suite = Some("judge".into());
        r.renames.insert("ts".into(), "time".into());
        r.renames.insert("model".into(), "model_name".into());
        let mut a = Aggregator::default();
        for (i, s) in ["0.8", "0.79", "0.95"].iter().enumerate() {
            let l = format!(
                r#"{{"time":1756771200000,"score":{s},"model_name":"m1","hardware":"tpu"}}"#
            );
            a.add(&r, i + 1, &rec(&l)).unwrap();
        }
        let p = a.into_points(&r.dimensions);
        assert_eq!((p[0].counts.good, p[0].counts.total), (2, 3));
        assert_eq!(p[0].suite, "judge");
        assert!(PassIf::parse("0.8").is_err());
        assert!(PassIf::parse(">=x").is_err());
    }

    #[test]
    fn a_bad_line_says_why_and_leaves_the_counts_alone() {
        let mut r = rules();
        r.window = Some((1_756_771_200_000, 1_756_771_300_000));
        r.signals = Some(vec!["qa".into()]);
        let mut a = Aggregator::default();
        let bad = [
            (
                r#"{"suite":"qa","passed":true,"model":"m1","hardware":"tpu"}"#,
                "no \"ts\"",
            ),
            (
                r#"{"ts":"yesterday","suite":"qa","passed":true,"model":"m1","hardware":"tpu"}"#,
                "neither",
            ),
            (
                r#"{"ts":5,"suite":"qa","passed":true,"model":"m1","hardware":"tpu"}"#,
                "window",
            ),
            (
                r#"{"ts":1756771200000,"suite":"vibes","passed":true,"model":"m1","hardware":"tpu"}"#,
                "not a pushed signal",
            ),
            (
                r#"{"ts":1756771200000,"suite":"qa","passed":"maybe","model":"m1","hardware":"tpu"}"#,
                "true or false",
            ),
            (
                r#"{"ts":1756771200000,"suite":"qa","passed":true,"model":"m1"}"#,
                "dimension",
            ),
        ];
        for (i, (l, why)) in bad.iter().enumerate() {
            let e = a.add(&r, i + 1, &rec(l)).unwrap_err();
            assert!(e.contains(why), "{l} → {e}");
        }
        assert_eq!(a.keys(), 0);
    }
}
