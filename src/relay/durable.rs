//! Pushed points kept in the engine, so no acknowledged result is lost.
//!
//! Each pushed bucket is written with remote write as gauges of its
//! good/total (or value), one series per (signal, slice, job):
//! `qualtop_push_good{signal, job, <dimensions>}`. Reading takes the last
//! sample of each series in the bucket and sums over jobs, so
//! - a retry of the same request writes the same value again: not counted twice;
//! - two jobs reporting the same slice and bucket are two series: both counted;
//! - a later push of the same (slice, bucket, job) is a later sample: it wins.
//!
//! The sample sits strictly inside its bucket, later for a later write (see
//! [`sample_ts`]), so the relay's usual alignment (evaluate at the bucket's
//! end, window one bucket long) reads exactly that bucket on any engine.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::protocol::{BucketValue, Millis, SignalKind};

use super::remote_write::{TimeSeries, WriteRequest};
use super::upstream::PromQuery;

pub const GOOD_METRIC: &str = "qualtop_push_good";
pub const TOTAL_METRIC: &str = "qualtop_push_total";
pub const VALUE_METRIC: &str = "qualtop_push_value";
/// Labels the relay adds to every pushed series; no dimension may take them.
const RESERVED_LABELS: [&str; 2] = ["signal", "job"];
/// After an acknowledged write, the touched buckets are read back this long
/// after it: Prometheus shows a sample at once, VictoriaMetrics a new series
/// only after about five seconds.
const REREAD_AFTER: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(3),
    Duration::from_secs(8),
    Duration::from_secs(20),
];

/// One validated pushed bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedBucket {
    pub signal: String,
    /// The relay's dimensions, in order.
    pub slice: Vec<(String, String)>,
    pub bucket: i64,
    pub value: BucketValue,
}

/// Where inside bucket `bucket` a sample written at `now` goes: never on a
/// bucket edge (read by both neighbours on some engines), and later for a
/// later write, so that the newest write of a series is the one read.
pub fn sample_ts(bucket: i64, bucket_ms: Millis, history_ms: Millis, now: Millis) -> Millis {
    let start = bucket * bucket_ms;
    // Pushes are accepted up to two buckets ahead and a window back.
    let span = (history_ms + 3 * bucket_ms).max(1);
    let room = (bucket_ms - 2).max(0);
    let age = (now - start + 2 * bucket_ms).clamp(0, span);
    start + 1 + (i128::from(age) * i128::from(room) / i128::from(span)) as Millis
}

/// (signal, slice, bucket) of a pushed point.
type BucketKey<'a> = (&'a str, &'a [(String, String)], i64);

/// The remote-write request for one push by `job`. Of several lines for
/// one (signal, slice, bucket) the last wins, as in the in-memory mode.
pub fn write_request(
    points: &[PushedBucket],
    job: &str,
    bucket_ms: Millis,
    history_ms: Millis,
    now: Millis,
) -> WriteRequest {
    let mut last: BTreeMap<BucketKey<'_>, &BucketValue> = BTreeMap::new();
    for p in points {
        last.insert((&p.signal, &p.slice, p.bucket), &p.value);
    }
    let mut timeseries = Vec::with_capacity(last.len() * 2);
    for ((signal, slice, bucket), value) in last {
        let ts = sample_ts(bucket, bucket_ms, history_ms, now);
        let labels = |metric: &str| {
            let mut l = vec![
                ("__name__".to_owned(), metric.to_owned()),
                ("signal".to_owned(), signal.to_owned()),
                ("job".to_owned(), job.to_owned()),
            ];
            l.extend(slice.iter().filter(|(_, v)| !v.is_empty()).cloned());
            l
        };
        match value {
            BucketValue::Ratio { good, total } => {
                timeseries.push(TimeSeries::one(labels(GOOD_METRIC), ts, f64::from(*good)));
                timeseries.push(TimeSeries::one(labels(TOTAL_METRIC), ts, f64::from(*total)));
            }
            BucketValue::Gauge(v) => {
                timeseries.push(TimeSeries::one(labels(VALUE_METRIC), ts, *v));
            }
        }
    }
    WriteRequest { timeseries }
}

/// The PromQL that reads a pushed signal back: the last sample of each
/// job's series in the bucket, summed over jobs (ratios) or the largest
/// (gauges, which cannot be summed).
pub fn derived_query(
    kind: SignalKind,
    signal: &str,
    dimensions: &[String],
    bucket_ms: Millis,
) -> PromQuery {
    let by = dimensions.join(", ");
    let sel = |metric: &str| {
        format!(
            "last_over_time({metric}{{signal=\"{}\"}}[{bucket_ms}ms])",
            escape(signal)
        )
    };
    match kind {
        SignalKind::Ratio => PromQuery::Ratio {
            good: format!("sum by ({by}) ({})", sel(GOOD_METRIC)),
            total: format!("sum by ({by}) ({})", sel(TOTAL_METRIC)),
        },
        SignalKind::Gauge => PromQuery::Gauge {
            value: format!("max by ({by}) ({})", sel(VALUE_METRIC)),
        },
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Dimensions become label names: they must be valid ones and not the
/// relay's own.
pub fn check_dimensions(dimensions: &[String]) -> Result<(), String> {
    for d in dimensions {
        let mut chars = d.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !d.starts_with("__");
        if !valid {
            return Err(format!(
                "dimension {d:?} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), so it cannot be written with remote_write_url"
            ));
        }
        if RESERVED_LABELS.contains(&d.as_str()) {
            return Err(format!(
                "dimension {d:?} collides with the label the relay writes for pushes; rename it"
            ));
        }
    }
    Ok(())
}

/// The job a push is written as: `?job=`, else the token's name.
pub fn job_of(param: Option<&str>, token_name: Option<&str>) -> Result<String, String> {
    let job = param.or(token_name).unwrap_or("default");
    if job.is_empty() || job.len() > 128 || job.chars().any(char::is_control) {
        return Err("job must be 1 to 128 characters without control characters".into());
    }
    Ok(job.to_owned())
}

/// Buckets to read back from the engine soon after a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reread {
    pub signal: String,
    pub from: i64,
    pub to: i64,
    pub at: Instant,
}

/// Read-back requests from the push route to the poller.
#[derive(Default)]
pub struct Rereads {
    pending: Mutex<Vec<Reread>>,
    pub notify: Notify,
}

impl Rereads {
    /// Asks for buckets `from..=to` of `signal` to be read back a few times.
    pub fn request(&self, signal: &str, from: i64, to: i64) {
        let now = Instant::now();
        if let Ok(mut p) = self.pending.lock() {
            for after in REREAD_AFTER {
                p.push(Reread {
                    signal: signal.to_owned(),
                    from,
                    to,
                    at: now + after,
                });
            }
        }
        self.notify.notify_one();
    }

    /// Takes the requests due at `now`, merged per signal.
    pub fn take_due(&self, now: Instant) -> Vec<Reread> {
        let Ok(mut p) = self.pending.lock() else {
            return Vec::new();
        };
        let mut due: Vec<Reread> = Vec::new();
        p.retain(|r| {
            if r.at > now {
                return true;
            }
            match due.iter_mut().find(|d| d.signal == r.signal) {
                Some(d) => {
                    d.from = d.from.min(r.from);
                    d.to = d.to.max(r.to);
                }
                None => due.push(r.clone()),
            }
            false
        });
        due
    }

    /// When the next request falls due.
    pub fn next_at(&self) -> Option<Instant> {
        self.pending.lock().ok()?.iter().map(|r| r.at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Millis = 60_000;
    const H: Millis = 6 * 3_600_000;

    #[test]
    fn samples_sit_strictly_inside_their_bucket_and_later_writes_land_later() {
        let b = 28_000_000;
        let start = b * B;
        let mut prev = 0;
        for now in [
            start - 2 * B,
            start,
            start + 1000,
            start + B,
            start + H,
            start + 2 * H,
        ] {
            let ts = sample_ts(b, B, H, now);
            assert!(ts > start && ts < start + B, "{ts} outside bucket at {now}");
            assert!(ts >= prev, "a later write went earlier");
            prev = ts;
        }
        assert!(sample_ts(b, B, H, start + 10_000) < sample_ts(b, B, H, start + 20_000));
    }

    #[test]
    fn a_request_holds_one_series_per_metric_and_job_and_the_last_line_wins() {
        let slice = vec![("model".to_string(), "m1".to_string())];
        let p = |good, total| PushedBucket {
            signal: "golden-qa".into(),
            slice: slice.clone(),
            bucket: 10,
            value: BucketValue::Ratio { good, total },
        };
        let req = write_request(&[p(1, 2), p(8, 9)], "nightly", 1000, 60_000, 10_500);
        assert_eq!(req.timeseries.len(), 2);
        let good = &req.timeseries[0];
        let names: Vec<(&str, &str)> = good
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("__name__", GOOD_METRIC),
                ("job", "nightly"),
                ("model", "m1"),
                ("signal", "golden-qa")
            ]
        );
        assert_eq!(good.samples[0].value, 8.0);
        assert_eq!(req.timeseries[1].samples[0].value, 9.0);
    }

    #[test]
    fn the_derived_query_sums_jobs_by_the_dimensions_over_one_bucket() {
        let dims = vec!["model".to_string(), "hardware".to_string()];
        let PromQuery::Ratio { good, .. } =
            derived_query(SignalKind::Ratio, "qa\"x", &dims, 60_000)
        else {
            panic!("a ratio")
        };
        assert_eq!(
            good,
            "sum by (model, hardware) (last_over_time(qualtop_push_good{signal=\"qa\\\"x\"}[60000ms]))"
        );
    }

    #[test]
    fn dimensions_must_be_label_names_other_than_the_relays_own() {
        assert!(check_dimensions(&["model".into(), "gpu_type".into()]).is_ok());
        assert!(check_dimensions(&["gpu-type".into()]).is_err());
        assert!(check_dimensions(&["job".into()]).is_err());
        assert!(check_dimensions(&["__name__".into()]).is_err());
    }

    #[test]
    fn rereads_fall_due_in_turn_and_merge_per_signal() {
        let r = Rereads::default();
        r.request("qa", 5, 7);
        r.request("qa", 2, 3);
        let now = Instant::now();
        assert!(r.take_due(now).is_empty());
        let due = r.take_due(now + Duration::from_secs(1));
        assert_eq!((due.len(), due[0].from, due[0].to), (1, 2, 7));
        assert!(r.next_at().is_some());
        assert_eq!(r.take_due(now + Duration::from_secs(60)).len(), 1);
        assert_eq!(r.next_at(), None);
    }
}
