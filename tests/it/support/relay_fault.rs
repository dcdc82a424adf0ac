//! A relay over a real VictoriaMetrics that replays a fault: four
//! model × hardware slices of `cases_total` counters, one sample a second,
//! about 1 % failing and 40 % on m2/tpu while the fault lasts, read by
//! `qualtop serve`'s detectors (the relay alerting and findings tests).

use std::ops::RangeBounds;

use qualtop::clock::wall_ms;
use qualtop::relay::{self, RunningRelay};

use super::engines::{VictoriaMetrics, victoria_metrics};
use super::relay::config;

/// A bucket, in milliseconds.
const B: i64 = 1000;
const SLICES: [(&str, &str); 4] = [("m1", "tpu"), ("m1", "gpu"), ("m2", "tpu"), ("m2", "gpu")];
/// The broken slice: m2/tpu.
const BROKEN: usize = 2;

/// Failed cases of slice `s` in bucket `b`: 800 of 2000 on m2/tpu while
/// `faulty(b)`, otherwise 15 to 25.
fn failed(s: usize, b: i64, faulty: &impl Fn(i64) -> bool) -> i64 {
    if s == BROKEN && faulty(b) {
        800
    } else {
        15 + (b + s as i64).rem_euclid(11)
    }
}

/// Counters `cases_total{model,hardware,result}` in VictoriaMetrics' JSON
/// import format, one sample a second over buckets `[first, last]`.
fn import_lines(first: i64, last: i64, faulty: impl Fn(i64) -> bool) -> String {
    let ts: Vec<String> = (first..=last).map(|k| (k * B).to_string()).collect();
    let ts = ts.join(",");
    let mut out = String::new();
    for (s, (model, hw)) in SLICES.iter().enumerate() {
        for result in ["pass", "fail"] {
            let mut value = 0;
            let values: Vec<String> = (first..=last)
                .map(|k| {
                    let v = value;
                    let bad = failed(s, k, &faulty);
                    value += if result == "fail" { bad } else { 2000 - bad };
                    v.to_string()
                })
                .collect();
            out.push_str(&format!(
                "{{\"metric\":{{\"__name__\":\"cases_total\",\"model\":\"{model}\",\"hardware\":\"{hw}\",\"result\":\"{result}\"}},\"values\":[{}],\"timestamps\":[{ts}]}}\n",
                values.join(",")
            ));
        }
    }
    out
}

/// relay.toml over the engine at `url`: 1 s buckets, two minutes held,
/// `golden-qa` as pass / all cases, then `extra` (an `[alerts]` table).
fn relay_toml(url: &str, extra: &str) -> String {
    format!(
        r#"
bucket = "1s"
history = "120s"
dimensions = ["model", "hardware"]

[detection]
false_alarm_days = 30
min_change_pp = 2

[prometheus]
url = "{url}"
delay = "1100ms"
timeout = "2s"
attempts = 1

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
good = 'sum by (model, hardware) (increase(cases_total{{result="pass"}}[1s]))'
total = 'sum by (model, hardware) (increase(cases_total[1s]))'
{extra}
"#
    )
}

/// A relay over VictoriaMetrics holding 130 buckets of history before now
/// and 120 after, whose m2/tpu slice fails in the buckets `fault` names
/// relative to now's (`3..18`: from three buckets on, for 15; `-20..`:
/// broke 20 buckets ago). `extra` is appended to relay.toml. `None` when
/// the engine is not installed (the test says so and passes).
pub async fn faulty_relay(
    test: &str,
    fault: impl RangeBounds<i64>,
    extra: &str,
) -> Option<(VictoriaMetrics, RunningRelay)> {
    let vm = victoria_metrics(test)?;
    let now_b = wall_ms() / B;
    vm.import(&import_lines(now_b - 130, now_b + 120, |b| {
        fault.contains(&(b - now_b))
    }));
    let relay = relay::start(config(&relay_toml(&vm.url, extra)))
        .await
        .unwrap();
    Some((vm, relay))
}
