//! The relay against a real VictoriaMetrics: counters imported per instance
//! and status code reach qualtop's own feed client rolled up per slice,
//! exactly; an outage of the engine mid-run is visible to the client and
//! heals when the engine comes back on the same port and data.

use crate::support;

use std::time::Duration;

use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use qualtop::store::Ratio;
use support::relay::{client, config, gauge_at, is_live, last_error, ratio_at};
use support::wait::eventually;

const B: i64 = 1000;
const SLICES: [(&str, &str); 4] = [("m1", "tpu"), ("m1", "gpu"), ("m2", "tpu"), ("m2", "gpu")];
const INSTANCES: i64 = 2;
/// The relay's `delay`: at least one bucket, because VictoriaMetrics answers
/// points within a step of now with the previous point's value.
const DELAY_MS: i64 = 1100;

/// Requests of one instance and code in bucket `b` (the counter's rise from
/// sample `b` to sample `b+1`).
fn increment(slice: usize, instance: i64, code: &str, b: i64) -> i64 {
    match code {
        "200" => 10 + b.rem_euclid(7) + slice as i64 + instance,
        // Errors only on instance 0, a different pattern per slice.
        _ if instance == 0 => (b + slice as i64).rem_euclid(3),
        _ => 0,
    }
}

fn expected_ratio(slice: usize, b: i64) -> Ratio {
    let (mut good, mut total) = (0, 0);
    for i in 0..INSTANCES {
        good += increment(slice, i, "200", b);
        total += increment(slice, i, "200", b) + increment(slice, i, "500", b);
    }
    Ratio::new(good as u64, total as u64)
}

fn expected_latency(slice: usize, b: i64) -> f64 {
    // A gauge sample at the end of bucket b, i.e. sample b+1.
    100.0 + (b + 1).rem_euclid(10) as f64 + slice as f64
}

/// Counters for every slice × instance × code, and a latency gauge, one
/// sample a second over `[first, last]` (bucket numbers).
fn import_lines(first: i64, last: i64) -> String {
    let mut out = String::new();
    let ts: Vec<String> = (first..=last).map(|k| (k * B).to_string()).collect();
    let ts = ts.join(",");
    for (s, (model, hw)) in SLICES.iter().enumerate() {
        for i in 0..INSTANCES {
            for code in ["200", "500"] {
                let mut value = 1000;
                let values: Vec<String> = (first..=last)
                    .map(|k| {
                        let v = value;
                        value += increment(s, i, code, k);
                        v.to_string()
                    })
                    .collect();
                out.push_str(&format!(
                    "{{\"metric\":{{\"__name__\":\"requests_total\",\"model\":\"{model}\",\"hardware\":\"{hw}\",\"instance\":\"i{i}\",\"code\":\"{code}\"}},\"values\":[{}],\"timestamps\":[{ts}]}}\n",
                    values.join(",")
                ));
            }
        }
        let values: Vec<String> = (first..=last)
            .map(|k| (100 + k.rem_euclid(10) + s as i64).to_string())
            .collect();
        out.push_str(&format!(
            "{{\"metric\":{{\"__name__\":\"latency_p99_ms\",\"model\":\"{model}\",\"hardware\":\"{hw}\"}},\"values\":[{}],\"timestamps\":[{ts}]}}\n",
            values.join(",")
        ));
    }
    out
}

fn relay_toml(url: &str) -> String {
    format!(
        r#"
bucket = "1s"
history = "60s"
dimensions = ["model", "hardware"]

[prometheus]
url = "{url}"
delay = "{DELAY_MS}ms"
timeout = "2s"
attempts = 1

[[signals]]
name = "availability"
kind = "ratio"
role = "availability"
endpoint = "metrics"
good = 'sum by (model, hardware) (increase(requests_total{{code!~"5.."}}[1s]))'
total = 'sum by (model, hardware) (increase(requests_total[1s]))'

[[signals]]
name = "latency_p99"
kind = "gauge"
role = "latency"
endpoint = "metrics"
unit = "ms"
value = 'max by (model, hardware) (latency_p99_ms)'
"#
    )
}

/// Buckets `from..=to` that the client holds, each checked against what was
/// imported; returns how many were held.
fn check_held(fleet: &qualtop::feed::SharedFleet, from: i64, to: i64) -> usize {
    let mut held = 0;
    for b in from..=to {
        for (s, (model, hw)) in SLICES.iter().enumerate() {
            let pairs = [("model", *model), ("hardware", *hw)];
            if let Some(r) = ratio_at(fleet, "availability", &pairs, b * B) {
                assert_eq!(
                    r,
                    expected_ratio(s, b),
                    "availability of {model}/{hw} in bucket {b}"
                );
                held += 1;
                let g = gauge_at(fleet, "latency_p99", &pairs, b * B);
                assert_eq!(
                    g,
                    Some(expected_latency(s, b)),
                    "latency of {model}/{hw} in bucket {b}"
                );
            }
        }
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_series_equal_the_imported_counters_and_an_outage_is_visible_then_healed() {
    let Some(mut vm) = support::engines::victoria_metrics(
        "relayed_series_equal_the_imported_counters_and_an_outage_is_visible_then_healed",
    ) else {
        return;
    };
    let now_b = wall_ms() / B;
    // History before the relay starts and data for the minute it runs.
    vm.import(&import_lines(now_b - 120, now_b + 120));

    let relay = relay::start(config(&relay_toml(&vm.url))).await.unwrap();
    let (fleet, _feed) = client(&relay.url(Endpoint::Metrics), None);

    // The backfilled window, then live buckets as they close: both signals,
    // which the relay queries one after the other.
    let start_b = wall_ms() / B;
    let last = [("model", "m2"), ("hardware", "gpu")];
    assert!(
        eventually(Duration::from_secs(15), || {
            ratio_at(&fleet, "availability", &last, (start_b + 2) * B).is_some()
                && gauge_at(&fleet, "latency_p99", &last, (start_b + 2) * B).is_some()
        })
        .await,
        "live buckets did not arrive"
    );
    let backfilled = check_held(&fleet, start_b - 55, start_b - 2);
    assert!(
        backfilled >= 50 * SLICES.len(),
        "only {backfilled} backfilled buckets"
    );
    assert!(check_held(&fleet, start_b - 1, start_b + 2) >= 2 * SLICES.len());
    assert_eq!(last_error(&fleet), None);

    // Outage: the client stays connected and is told; buckets stay empty.
    vm.stop();
    let down_at = wall_ms() / B;
    assert!(
        eventually(Duration::from_secs(15), || last_error(&fleet)
            .is_some_and(|e| e.starts_with("upstream:")))
        .await,
        "the outage was not reported: {:?}",
        last_error(&fleet)
    );
    let message = last_error(&fleet).unwrap();
    assert!(
        message.contains("availability") || message.contains("latency_p99"),
        "{message}"
    );
    assert!(
        is_live(&fleet),
        "the client's connection to the relay should survive the outage"
    );
    // A bucket that would have been queried by now, had the engine been up.
    let hole = down_at + 2;
    let due = (hole + 1) * B + DELAY_MS + 500;
    tokio::time::sleep(Duration::from_millis((due - wall_ms()).max(0) as u64)).await;
    assert_eq!(
        ratio_at(
            &fleet,
            "availability",
            &[("model", "m1"), ("hardware", "tpu")],
            hole * B
        ),
        None,
        "a bucket during the outage must be missing, not zero"
    );
    let relay_metrics = support::engines::http_get(&relay.http_url("/metrics.prom")).unwrap();
    assert!(
        relay_metrics.contains("qualtop_relay_upstream_up{signal=\"availability\"} 0"),
        "{relay_metrics}"
    );

    // Back on the same port and data: recovered, and the hole filled in.
    vm.restart();
    assert!(
        eventually(Duration::from_secs(20), || last_error(&fleet)
            .is_some_and(|e| e.starts_with("upstream_recovered:")))
        .await,
        "recovery was not reported: {:?}",
        last_error(&fleet)
    );
    // Buckets up to here were queried at least twice since the recovery.
    let up_b = wall_ms() / B - 2;
    assert!(
        eventually(Duration::from_secs(10), || ratio_at(
            &fleet,
            "availability",
            &[("model", "m1"), ("hardware", "tpu")],
            hole * B
        )
        .is_some())
        .await,
        "the outage's buckets were not filled in"
    );
    tokio::time::sleep(Duration::from_millis(2 * B as u64 + DELAY_MS as u64)).await;
    let healed = check_held(&fleet, down_at, up_b);
    let outage = (up_b - down_at + 1) as usize * SLICES.len();
    assert_eq!(healed, outage, "{healed} of {outage} buckets healed");
    relay.shutdown().await;
}
