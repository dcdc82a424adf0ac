//! `qualtop snapshot` as a pure function of the fleet: the same figures as
//! the screen, as text (Unicode or ASCII) or JSON.

mod ui_fixture;

use qualtop::cli::OutputFormat;
use qualtop::cli::snapshot::{SnapshotOptions, render_snapshot};
use qualtop::feed::ConnState;
use ui_fixture::*;

fn options(format: OutputFormat, ascii: bool) -> SnapshotOptions {
    SnapshotOptions {
        format,
        ascii,
        wall_now: WALL_NOW,
    }
}

#[test]
fn text_snapshot_lists_every_row_with_sparklines() {
    let text = render_snapshot(&demo_like_fleet(), &options(OutputFormat::Text, false));
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
    let text = render_snapshot(&fleet, &options(OutputFormat::Text, true));
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("STALE"));
    insta::assert_snapshot!("snapshot_ascii", text);
}

#[test]
fn json_snapshot_carries_every_figure_on_the_screen() {
    let json = render_snapshot(&demo_like_fleet(), &options(OutputFormat::Json, false));
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
    let text = render_snapshot(&Default::default(), &options(OutputFormat::Text, false));
    assert!(text.contains("no data"));
}
