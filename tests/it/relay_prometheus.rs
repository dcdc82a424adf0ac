//! The relay against a real Prometheus (Debian `prometheus`) scraping a
//! small exporter served by the test on loopback every second: what a
//! client receives is what Prometheus itself answers for each bucket, and
//! matches the rates the exporter counts at.

use crate::support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::prometheus::{PromClient, PromConfig};
use qualtop::relay::{self};
use qualtop::store::Ratio;
use support::relay::{client, config, ratio_at};
use support::wait::eventually;

const B: i64 = 5_000;
/// (model, good per second, bad per second).
const RATES: [(&str, f64, f64); 2] = [("m1", 9.0, 1.0), ("m2", 4.0, 0.0)];
const GOOD: &str = r#"sum by (model) (increase(requests_total{code!~"5.."}[5s]))"#;
const TOTAL: &str = r"sum by (model) (increase(requests_total[5s]))";

/// Serves counters that rise at `RATES` from the moment it starts.
async fn exporter() -> String {
    let started = Instant::now();
    let app = Router::new().route(
        "/metrics",
        get(move || async move {
            let secs = started.elapsed().as_secs_f64();
            let mut page = String::from("# TYPE requests_total counter\n");
            for (model, good, bad) in RATES {
                for (code, rate) in [("200", good), ("500", bad)] {
                    page.push_str(&format!(
                        "requests_total{{model=\"{model}\",code=\"{code}\"}} {}\n",
                        (secs * rate).floor()
                    ));
                }
            }
            page
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_buckets_are_what_prometheus_answers_for_a_scraped_exporter() {
    let target = exporter().await;
    let Some(prom) = support::engines::prometheus(
        "relayed_buckets_are_what_prometheus_answers_for_a_scraped_exporter",
        &target,
    ) else {
        return;
    };
    // Three buckets of scrapes before the relay starts: it backfills them.
    tokio::time::sleep(Duration::from_millis(3 * B as u64)).await;
    let relay = relay::start(config(&format!(
        r#"
bucket = "5s"
history = "80s"
dimensions = ["model"]

[prometheus]
url = "{}"
delay = "2s"
timeout = "2s"

[[signals]]
name = "availability"
kind = "ratio"
role = "availability"
endpoint = "metrics"
good = '{GOOD}'
total = '{TOTAL}'
"#,
        prom.url
    )))
    .await
    .unwrap();
    let (fleet, _feed) = client(&relay.url(Endpoint::Metrics), None);
    let first_live = wall_ms() / B + 1;
    assert!(
        eventually(Duration::from_secs(25), || ratio_at(
            &fleet,
            "availability",
            &[("model", "m1")],
            (first_live + 1) * B
        )
        .is_some())
        .await,
        "live buckets did not arrive"
    );

    // Prometheus' own answer for the same buckets, through the same client.
    let direct = PromClient::new(PromConfig::new(prom.url.clone())).unwrap();
    // From the first bucket wholly after Prometheus' first scrape.
    let (from, to) = (first_live - 2, first_live + 1);
    let good = direct
        .query_range(GOOD, (from + 1) * B, (to + 1) * B, B)
        .await
        .unwrap();
    let total = direct
        .query_range(TOTAL, (from + 1) * B, (to + 1) * B, B)
        .await
        .unwrap();
    let mut compared = 0;
    for (model, good_rate, bad_rate) in RATES {
        let samples = |series: &[relay::prometheus::PromSeries]| {
            series
                .iter()
                .find(|s| s.labels.get("model").map(String::as_str) == Some(model))
                .map(|s| s.samples.clone())
                .unwrap_or_default()
        };
        let (g, t) = (samples(&good), samples(&total));
        for (&(ts, total), &(_, good)) in t.iter().zip(&g) {
            let bucket = ts / B - 1;
            let held = ratio_at(&fleet, "availability", &[("model", model)], bucket * B);
            let want = Ratio::new(good.round() as u64, total.round() as u64);
            assert_eq!(held, Some(want), "{model} bucket {bucket}");
            // And the exporter's rates, within a scrape's jitter.
            let per_bucket = (good_rate + bad_rate) * (B / 1000) as f64;
            assert!(
                (want.total as f64 - per_bucket).abs() <= 0.25 * per_bucket,
                "{model} bucket {bucket}: {want:?} vs {per_bucket} a bucket"
            );
            compared += 1;
        }
    }
    assert!(compared >= 6, "only {compared} buckets compared");
    relay.shutdown().await;
}
