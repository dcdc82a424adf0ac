//! `qualtop snapshot` as a pure function of the fleet: the same figures as
//! the screen, as text (Unicode or ASCII) or JSON.

use crate::support::ui::*;
use qualtop::cli::snapshot::{SnapshotFormat, SnapshotOptions, render_snapshot};
use qualtop::feed::ConnState;
use qualtop::view::ViewQuery;

fn options(format: SnapshotFormat, ascii: bool) -> SnapshotOptions {
    SnapshotOptions {
        format,
        ascii,
        wall_now: WALL_NOW,
        // The snapshot's own default is the TUI's hour; these pin two hours.
        query: ViewQuery {
            window_ms: Some(120 * BUCKET_MS),
            ..ViewQuery::default()
        },
    }
}

#[test]
fn text_snapshot_lists_every_row_with_sparklines() {
    let text = render_snapshot(&demo_like_fleet(), &options(SnapshotFormat::Text, false));
    for name in ["whole fleet", "m-code", "m-large", "m-medium", "m-small"] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.chars().any(|c| ('▁'..='█').contains(&c)));
    insta::assert_snapshot!("snapshot_text", text);
}

#[test]
fn ascii_snapshot_is_pure_ascii() {
    let mut fleet = demo_like_fleet();
    fleet.sources[1].state = ConnState::Stale;
    let text = render_snapshot(&fleet, &options(SnapshotFormat::Text, true));
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("STALE"));
    insta::assert_snapshot!("snapshot_ascii", text);
}

#[test]
fn json_snapshot_carries_every_figure_on_the_screen() {
    let json = render_snapshot(&demo_like_fleet(), &options(SnapshotFormat::Json, false));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["split"], "model");
    assert_eq!(v["window_ms"], 120 * BUCKET_MS);
    assert_eq!(v["sources"][0]["state"], "live");
    assert_eq!(v["sources"][0]["data_age_ms"], 0);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["aggregate"], true);
    let large = rows.iter().find(|r| r["name"] == "m-large").unwrap();
    let change = large["quality"]["change_pp"].as_f64().unwrap();
    assert!((-4.5..-3.5).contains(&change), "{change}");
    for field in ["current", "baseline", "volume", "rates", "range"] {
        assert!(!large["quality"][field].is_null(), "quality.{field}");
        assert!(
            !large["availability"][field].is_null(),
            "availability.{field}"
        );
    }
    assert_eq!(large["quality"]["rates"].as_array().unwrap().len(), 120);
    assert_eq!(large["latency"]["unit"], "ms");
    assert!(large["requests"].as_u64().unwrap() > 0 && large["evals"].as_u64().unwrap() > 0);
    assert!(large["status"].is_null(), "no detection yet");
}

#[test]
fn an_empty_fleet_snapshot_says_no_data() {
    let text = render_snapshot(&Default::default(), &options(SnapshotFormat::Text, false));
    assert!(text.contains("no data"));
}

#[test]
fn markdown_snapshot_is_a_title_a_regression_list_and_a_table() {
    let md = render_snapshot(
        &demo_like_fleet(),
        &options(SnapshotFormat::Markdown, false),
    );
    let lines: Vec<&str> = md.lines().collect();
    // The data's clock, in UTC, and the window it starts at two hours back.
    assert!(
        lines[0].starts_with("**qualtop snapshot** 2025-09-01 10:01 to 12:00 UTC, by model"),
        "{md}"
    );
    assert_eq!(lines[2], "**Detection has not run on this data**");
    assert!(lines[4].starts_with("| model |"), "{md}");
    assert!(lines[5].starts_with("|:--|"), "{md}");
    let columns = |l: &str| l.matches(" | ").count();
    assert!(
        lines[6..].iter().all(|l| columns(l) == columns(lines[4])),
        "{md}"
    );
    insta::assert_snapshot!("snapshot_markdown", md);
}

#[test]
fn text_snapshot_header_shows_the_data_clock_not_the_wall_clock() {
    let mut o = options(SnapshotFormat::Text, false);
    o.wall_now = DATA_NOW + 3 * 3_600_000;
    let text = render_snapshot(&demo_like_fleet(), &o);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.ends_with("2025-09-01 12:00 UTC"), "{first}");
}
