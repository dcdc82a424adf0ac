//! `check`'s report as a pure function of detections: one entry per bug,
//! the summary first, every text line within 100 columns, no raw escapes.

use qualtop::cli::check_report::CheckReport;
use qualtop::detect::{DetectedRegression, Detections, ScopeOrigin};
use qualtop::protocol::SignalRole;
use qualtop::store::Store;
use qualtop::text::sanitize::width;

const MIN: i64 = 60_000;
const T0: i64 = 1_756_771_200_000; // 2025-09-02 00:00 UTC

fn reg(signal: &str, scope: &[(&str, &str)], onset: i64, end: Option<i64>) -> DetectedRegression {
    DetectedRegression {
        signal: signal.to_owned(),
        role: SignalRole::Quality,
        scope: scope
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect(),
        origin: ScopeOrigin::Cause,
        causes: Vec::new(),
        alarms: Vec::new(),
        onset: T0 + onset * MIN,
        onset_spread: None,
        detected_at: T0 + (onset + 3) * MIN,
        ended_at: end.map(|e| T0 + e * MIN),
        baseline: 0.95,
        current: 0.91,
        delta_pp: -4.0,
        drop_table: None,
    }
}

fn report(regressions: Vec<DetectedRegression>) -> CheckReport {
    let d = Detections {
        since: Some(T0),
        through: Some(T0 + 600 * MIN),
        regressions,
        ..Detections::default()
    };
    CheckReport::from_detections(&d, &Store::new())
}

fn tpu(model: &str) -> Vec<(&str, &str)> {
    vec![("hardware", "tpu"), ("model", model), ("platform", "api")]
}

#[test]
fn a_bug_over_three_signals_and_two_models_is_one_entry_naming_its_signals() {
    let r = report(vec![
        reg("language-consistency", &tpu("atlas-l"), 60, None),
        reg("code-syntax", &tpu("atlas-xl"), 62, None),
        reg("golden-qa", &tpu("atlas-l"), 64, None),
        reg("golden-qa", &[("model", "atlas-s")], 300, Some(400)),
    ]);
    let text = r.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "1 active regression: hardware=tpu ∧ model=atlas-l,atlas-xl ∧ platform=api",
        "{text}"
    );
    assert!(
        lines[1].starts_with("data 2025-09-02 00:00 to 10:00 UTC"),
        "{text}"
    );
    let active: Vec<&&str> = lines.iter().filter(|l| l.starts_with("ACTIVE")).collect();
    assert_eq!(active.len(), 1, "{text}");
    assert!(active[0].contains("since 01:00 (detected 01:03)"), "{text}");
    assert!(
        text.contains("also code-syntax, golden-qa") || text.contains("also golden-qa"),
        "{text}"
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("ended")).count(), 1);
    assert!(r.has_active());
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["bugs"][0]["regressions"].as_array().unwrap().len(), 3);
    assert_eq!(json["bugs"][0]["signals"].as_array().unwrap().len(), 3);
}

#[test]
fn many_long_scopes_still_fit_100_columns_and_the_summary_counts_them_all() {
    let long = "x".repeat(150);
    let regressions = (0..6)
        .map(|i| {
            let model = format!("model-{i}-{long}");
            let scope = [("model", model.as_str()), ("region", "eu-west")];
            reg("golden-qa", &scope, i * 100, None)
        })
        .collect();
    let text = report(regressions).to_text();
    for line in text.lines() {
        assert!(width(line) <= 100, "{} columns: {line}", width(line));
    }
    assert!(text.starts_with("6 active regressions: "), "{text}");
    assert!(text.lines().next().unwrap().contains("more"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ACTIVE")).count(), 6);
}

#[test]
fn escapes_in_scopes_and_signals_never_reach_text_or_json() {
    let r = report(vec![reg(
        "golden\u{1b}[2J-qa",
        &[("model", "atlas\u{1b}]0;pwned\u{7}-m")],
        10,
        None,
    )]);
    for out in [r.to_text(), r.to_json()] {
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(
            !out.contains("\\u001b") && !out.contains("\\u0007"),
            "{out}"
        );
        assert!(
            out.contains("atlas-m") && out.contains("golden-qa"),
            "{out}"
        );
    }
}

#[test]
fn nothing_found_says_so_in_one_line() {
    let text = report(Vec::new()).to_text();
    assert!(text.starts_with("no active regression\n"), "{text}");
    assert!(!report(Vec::new()).has_active());
}

#[test]
fn a_bug_in_several_places_names_their_envelope_then_lists_them() {
    // Two places sharing slices (atlas-m in eu, atlas-m on api), found
    // within minutes: one bug (disjoint places that are not siblings would
    // be two, `detect::bugs`).
    let r = report(vec![
        reg(
            "golden-qa",
            &[("model", "atlas-m"), ("region", "eu")],
            60,
            None,
        ),
        reg(
            "golden-qa",
            &[("model", "atlas-m"), ("platform", "api")],
            62,
            None,
        ),
    ]);
    let text = r.to_text();
    assert!(
        text.starts_with("1 active regression: model=atlas-m\n"),
        "{text}"
    );
    assert!(
        text.contains("\n        in model=atlas-m ∧ region=eu; model=atlas-m ∧ platform=api\n")
            || text
                .contains("\n        in model=atlas-m ∧ platform=api; model=atlas-m ∧ region=eu\n"),
        "{text}"
    );
}
