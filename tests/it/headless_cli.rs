//! `snapshot` and `check` on one frozen demo whose three bugs lie inside its
//! history: the two commands agree, their text pastes well, and a backend's
//! escape sequence never reaches the output. Loopback only.

use crate::support;

use std::process::Output;

use crate::support::headless::{HOSTILE_MODEL, shared_demo};
use qualtop::text::sanitize::width;
use serde_json::Value;

fn run(args: &[&str], sources: &[String]) -> Output {
    support::qualtop_command("headless")
        .args(args)
        .args(sources)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn active_places(report: &Value) -> Vec<String> {
    report["bugs"]
        .as_array()
        .expect("bugs")
        .iter()
        .filter(|b| b["active"] == true)
        .map(|b| b["where_text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn snapshot_statuses_agree_with_the_bugs_check_finds_on_the_same_data() {
    let sources = shared_demo(false);
    let check = run(&["check", "--format", "json"], &sources);
    assert_eq!(check.status.code(), Some(1), "active bugs exit 1");
    let check = json(&check);
    let snap = run(
        &["snapshot", "--format", "json", "--group", "model"],
        &sources,
    );
    assert_eq!(snap.status.code(), Some(0));
    let snap = json(&snap);
    // The demo's clock moves one bucket per 1000 s: both saw the same data.
    assert_eq!(check["to"], snap["bugs_through"], "{snap:#}");
    assert_eq!(snap["header_active_regressions"], check["active"]);
    let places = active_places(&check);
    assert!(!places.is_empty(), "{check:#}");
    assert_eq!(places, active_places(&snap));
    let rows = snap["rows"].as_array().expect("rows");
    let severity = |name: &str| {
        rows.iter().find(|r| r["name"] == name).map_or_else(
            || panic!("no row {name}: {snap:#}"),
            |r| r["status"]["severity"].as_str().unwrap_or("-").to_owned(),
        )
    };
    assert_eq!(severity("whole fleet"), "regressed");
    // Every model an active regression names is REGRESSION in the table.
    for bug in check["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["active"] == true)
    {
        for r in bug["regressions"].as_array().unwrap() {
            if let (true, Some(model)) = (r["active"] == true, r["slice"]["model"].as_str()) {
                assert_eq!(severity(model), "regressed", "{model}: {r:#}");
            }
        }
    }
}

#[test]
fn check_text_starts_with_a_summary_and_every_line_fits_100_columns() {
    let sources = shared_demo(false);
    let out = run(&["check"], &sources);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains(" active regression: ") || first.contains(" active regressions: "),
        "{text}"
    );
    for line in text.lines() {
        assert!(width(line) <= 100, "{} columns: {line}", width(line));
    }
    assert!(
        !text.contains("[cause]") && !text.contains("[group]"),
        "{text}"
    );
    // One entry per bug, as many as the summary counts, however many
    // signals and refined scopes each bug holds.
    let counted: usize = first
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let entries = text.lines().filter(|l| l.starts_with("ACTIVE")).count();
    assert_eq!(entries, counted, "{text}");
}

#[test]
fn check_json_has_one_object_per_bug_with_its_regressions() {
    let sources = shared_demo(false);
    let report = json(&run(&["check", "--format", "json"], &sources));
    let bugs = report["bugs"].as_array().unwrap();
    assert_eq!(
        report["active"].as_u64().unwrap() as usize,
        bugs.iter().filter(|b| b["active"] == true).count()
    );
    let multi = bugs
        .iter()
        .find(|b| b["signals"].as_array().is_some_and(|s| s.len() > 1))
        .unwrap_or_else(|| panic!("a bug spanning signals: {report:#}"));
    let members = multi["regressions"].as_array().unwrap();
    assert!(members.len() > 1);
    for r in members {
        for key in [
            "slice", "signal", "onset", "baseline", "current", "delta_pp", "scope",
        ] {
            assert!(r.get(key).is_some(), "{key}");
        }
    }
}

#[test]
fn markdown_snapshot_has_a_title_the_active_regressions_then_the_table() {
    let sources = shared_demo(false);
    let out = run(
        &["snapshot", "--format", "markdown", "--window", "6h"],
        &sources,
    );
    assert_eq!(out.status.code(), Some(0));
    let md = stdout(&out);
    let lines: Vec<&str> = md.lines().collect();
    assert!(
        lines[0].starts_with("**qualtop snapshot** 2025-11-24 "),
        "{md}"
    );
    assert!(
        lines[0].contains(" UTC") && lines[0].contains("sources: "),
        "{md}"
    );
    assert!(
        lines[2].starts_with("**") && lines[2].contains(" active regression"),
        "{md}"
    );
    let items = lines
        .iter()
        .take_while(|l| !l.starts_with('|'))
        .filter(|l| l.starts_with("- `"));
    assert!(items.count() >= 1, "{md}");
    let table = lines
        .iter()
        .position(|l| l.starts_with("| model |"))
        .expect("a table");
    assert!(lines[table + 1].starts_with("|:--|"), "{md}");
    assert!(lines[table + 2].starts_with("| whole fleet |"), "{md}");
}

#[test]
fn snapshot_refuses_a_window_longer_than_the_history_and_an_unknown_dimension() {
    let sources = shared_demo(false);
    let out = run(&["snapshot", "--window", "24h"], &sources);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("24h") && err.contains("6h"), "{err}");
    let out = run(&["snapshot", "--group", "colour"], &sources);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("colour") && err.contains("model"), "{err}");
    let out = run(&["snapshot", "--filter", "model=atlas-m"], &sources);
    let text = stdout(&out);
    assert!(text.contains("filter model=atlas-m"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("atlas-")).collect();
    assert!(rows.len() == 1 && rows[0].starts_with("atlas-m "), "{text}");
}

#[test]
fn snapshot_with_a_dead_source_names_it_and_exits_2() {
    let live = shared_demo(false);
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("its address").port();
        format!("ws://127.0.0.1:{port}/evals")
    };
    let out = run(&["snapshot", "--metrics", &live[1], "--evals", &dead], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&dead) && !err.contains(&live[1]), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_output_format_passes_a_backend_escape_on_raw() {
    let sources = shared_demo(true);
    let raw = |s: &str| s.chars().any(|c| c.is_control() && c != '\n');
    // Text draws from the same sanitised report and view model as these.
    for args in [
        &["check", "--format", "json"][..],
        &["snapshot", "--group", "model", "--format", "json"],
        &["snapshot", "--group", "model", "--format", "markdown"],
    ] {
        let out = run(args, &sources);
        let text = stdout(&out);
        assert!(text.contains("atlas-s"), "{args:?}: {text}");
        assert!(!text.contains(HOSTILE_MODEL), "{args:?}");
        assert!(!raw(&text), "{args:?}: {text:?}");
        // JSON escapes are no way around it either.
        assert!(
            !text.contains("\\u001b") && !text.contains("\\u0007"),
            "{args:?}"
        );
        if args.contains(&"markdown") {
            assert!(
                text.contains("atlas-s\\|x"),
                "a | in a cell is escaped: {text}"
            );
        }
    }
}
