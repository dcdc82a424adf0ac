//! The Prometheus API client against a real VictoriaMetrics: what a range
//! query returns equals what was imported, chunked queries included.

use crate::support;

use qualtop::relay::prometheus::{PromClient, PromConfig};

const MIN: i64 = 60_000;

#[tokio::test]
async fn range_query_returns_the_imported_counters_by_slice() {
    let Some(vm) =
        support::engines::victoria_metrics("range_query_returns_the_imported_counters_by_slice")
    else {
        return;
    };
    // Two slices, a counter each, one sample a minute for 3 hours.
    let t0 = 1_700_000_000_000 / MIN * MIN;
    let n = 180;
    let mut lines = String::new();
    for (model, rate) in [("m1", 100), ("m2", 40)] {
        let ts: Vec<String> = (0..n).map(|i| (t0 + i * MIN).to_string()).collect();
        let vals: Vec<String> = (0..n).map(|i| (i * rate).to_string()).collect();
        lines.push_str(&format!(
            "{{\"metric\":{{\"__name__\":\"eval_cases_total\",\"model\":\"{model}\"}},\"values\":[{}],\"timestamps\":[{}]}}\n",
            vals.join(","),
            ts.join(",")
        ));
    }
    vm.import(&lines);

    let client = PromClient::new(PromConfig::new(vm.url.clone())).unwrap();
    let expr = "sum by (model) (increase(eval_cases_total[1m]))";
    let start = t0 + 10 * MIN;
    let end = t0 + 170 * MIN;
    let series = client.query_range(expr, start, end, MIN).await.unwrap();
    assert_eq!(series.len(), 2, "{series:?}");
    for s in &series {
        let want = if s.labels["model"] == "m1" {
            100.0
        } else {
            40.0
        };
        assert_eq!(s.samples.len(), 161);
        for (t, v) in &s.samples {
            assert!(
                (v - want).abs() < 1e-6,
                "{} at {t}: {v} != {want}",
                s.labels["model"]
            );
        }
    }

    // A window over the 11,000-point limit at 1 s steps is chunked, and the
    // chunks join without gaps or duplicates.
    let series = client
        .query_range("sum(eval_cases_total)", t0, t0 + 179 * MIN, 1000)
        .await
        .unwrap();
    let samples = &series[0].samples;
    assert_eq!(samples.len(), 179 * 60 + 1);
    assert!(samples.windows(2).all(|w| w[1].0 - w[0].0 == 1000));
}

#[tokio::test]
async fn a_bad_expression_is_a_clear_error() {
    let Some(vm) = support::engines::victoria_metrics("a_bad_expression_is_a_clear_error") else {
        return;
    };
    let client = PromClient::new(PromConfig::new(vm.url.clone())).unwrap();
    let e = client.query("sum(", 1_700_000_000_000).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("query failed") || format!("{e:#}").contains("422"),
        "{e:#}"
    );
}
