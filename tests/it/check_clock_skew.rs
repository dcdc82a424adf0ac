//! A backend whose clock is hours off must not give a false all-clear: two
//! real demo backends on loopback, one anchored 8 h ahead (local time sent
//! as UTC) or in year 9999, through the real binary. `check` and `snapshot`
//! exit 2 naming the skewed backend, never 0.

use crate::support;
use crate::support::headless::shifted_scenario;

use std::net::SocketAddr;
use std::process::Output;

use qualtop::demo::{self, DemoOptions, Endpoint};
use qualtop::server::ServerConfig;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
/// 31 December 9999, the last day a protocol 1 clock may name.
const YEAR_9999: i64 = 253_402_214_400_000;

/// A demo (the shifted scenario: bugs active at the end of its history,
/// clock barely moving) whose clock reads `anchor_ms` now: its
/// (metrics URL, evals URL), kept running for the life of the process.
fn demo_at(anchor_ms: i64) -> (String, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let server = demo::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                ServerConfig::default(),
                DemoOptions {
                    scenario: Some(shifted_scenario()),
                    speed: 0.001,
                    anchor_ms: Some(anchor_ms),
                    ..DemoOptions::default()
                },
            )
            .await
            .expect("the demo starts");
            tx.send((
                server.url(Endpoint::Metrics.path()),
                server.url(Endpoint::Evals.path()),
            ))
            .expect("the test waits");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the demo thread answers")
}

fn wall_minute() -> i64 {
    qualtop::clock::wall_ms() / 60_000 * 60_000
}

fn run(command: &str, metrics: &str, evals: &str) -> Output {
    support::qualtop_command("clock-skew")
        .args([
            command,
            "--format",
            "json",
            "--metrics",
            metrics,
            "--evals",
            evals,
        ])
        .output()
        .expect("the binary runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `check` with metrics from a demo whose clock is `skew` ahead of the
/// evals demo: exit 2, the metrics backend named with how far ahead.
fn check_refuses_metrics_ahead_by(skew_anchor: i64, words: &str) {
    let now = wall_minute();
    let (_, evals) = demo_at(now);
    let (metrics, _) = demo_at(skew_anchor);
    let (agreeing_metrics, _) = demo_at(now);

    // The same evals with a metrics backend that agrees: the regression shows.
    let honest = run("check", &agreeing_metrics, &evals);
    assert_eq!(honest.status.code(), Some(1), "{}", json_of(&honest));

    let out = run("check", &metrics, &evals);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let said = format!("{metrics} clock ");
    assert!(
        err.contains("disagree on time") && err.contains(&said),
        "{err}"
    );
    let report = json_of(&out);
    let warning = report["clock_warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.starts_with(&said) && warning.ends_with(words),
        "{report}"
    );
    // The evals backend was the reference: its regression is still reported.
    assert!(report["active"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn check_exits_2_naming_a_metrics_clock_8h_ahead_not_0() {
    check_refuses_metrics_ahead_by(wall_minute() + 8 * HOUR, "8h ahead");
}

#[test]
fn check_exits_2_naming_a_metrics_clock_in_year_9999() {
    check_refuses_metrics_ahead_by(YEAR_9999, "y ahead");
}

#[test]
fn snapshot_exits_2_and_says_which_clock_is_off() {
    let now = wall_minute();
    let (_, evals) = demo_at(now);
    let (metrics, _) = demo_at(now + 8 * HOUR);
    let out = run("snapshot", &metrics, &evals);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("clock 8h ahead"), "{err}");
    let snap = json_of(&out);
    let sources = snap["sources"].as_array().unwrap();
    let warned: Vec<&Value> = sources
        .iter()
        .filter(|s| !s["clock_warning"].is_null())
        .collect();
    assert_eq!(warned.len(), 1, "{snap}");
    assert_eq!(warned[0]["clock_warning"], "clock 8h ahead");
    assert_eq!(warned[0]["label"], Value::String(metrics));
    // The data clock is the evals backend's, not 8 h on.
    let data_now = snap["data_now"].as_i64().unwrap();
    assert!((data_now - now).abs() < HOUR, "{data_now} vs {now}");
}
