//! The top suspect on the headless surfaces: `check` JSON (every
//! regression's suspects) and text, and `annotations export`, all from
//! `detect::rank_suspects`, with hostile titles neutralised.

use super::changes_rank::{change, regression};
use qualtop::cli::TimelineFormat;
use qualtop::cli::annotations::export;
use qualtop::cli::check_report::CheckReport;
use qualtop::detect::Detections;
use qualtop::protocol::{Annotation, AnnotationState, ChangeKind};
use qualtop::store::Store;
use qualtop::text::sanitize::width;
use qualtop::view::timeline::{build_timeline, cite_suspects};

const MIN: i64 = 60_000;
const T0: i64 = 1_756_771_200_000;
const TPU_API: [(&str, &str); 2] = [("hardware", "tpu"), ("platform", "api")];

fn changes() -> Vec<qualtop::protocol::Change> {
    vec![
        change(
            "decoy",
            95,
            &[("hardware", "gpu")],
            ChangeKind::Deploy,
            "gpu driver 551",
        ),
        change(
            "true",
            97,
            &TPU_API,
            ChangeKind::Deploy,
            "tpu-runtime v42\x1b[2J",
        ),
        change("wide", 40, &[], ChangeKind::Config, "router weights"),
    ]
}

fn report() -> CheckReport {
    let d = Detections {
        since: Some(T0),
        through: Some(T0 + 300 * MIN),
        regressions: vec![regression(&TPU_API, 100)],
        ..Detections::default()
    };
    CheckReport::from_detections_and_changes(&d, &Store::new(), &changes())
}

#[test]
fn check_json_lists_each_regressions_suspects_best_first_and_clean() {
    let v: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
    let suspects = v["bugs"][0]["regressions"][0]["suspects"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = suspects
        .iter()
        .map(|s| s["change"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["true", "wide"], "the gpu deploy does not touch tpu");
    assert_eq!(suspects[0]["change"]["title"], "tpu-runtime v42");
    assert_eq!(suspects[0]["change"]["kind"], "deploy");
    let score = suspects[0]["score"].as_f64().unwrap();
    assert!(score > suspects[1]["score"].as_f64().unwrap());
    assert_eq!(
        suspects[0]["why"],
        "deploy \"tpu-runtime v42\" to hardware=tpu ∧ platform=api, 3m before onset, same scope"
    );
}

#[test]
fn check_json_has_an_empty_suspect_list_without_changes() {
    let d = Detections {
        since: Some(T0),
        through: Some(T0 + 300 * MIN),
        regressions: vec![regression(&TPU_API, 100)],
        ..Detections::default()
    };
    let json = CheckReport::from_detections(&d, &Store::new()).to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["bugs"][0]["regressions"][0]["suspects"],
        serde_json::json!([])
    );
}

#[test]
fn check_text_names_the_top_suspect_under_its_bug_within_paste_width() {
    let text = report().to_text();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("suspect: "))
        .unwrap_or_else(|| panic!("no suspect line:\n{text}"));
    assert!(line.contains("deploy \"tpu-runtime v42\""), "{line}");
    assert!(text.lines().all(|l| width(l) <= 100), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn annotations_export_cites_the_change_that_best_explains_each_annotation() {
    let annotation = Annotation {
        id: "a1".into(),
        scope: TPU_API
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect(),
        signal: None,
        from: T0 + 100 * MIN,
        to: None,
        state: AnnotationState::Suspected,
        text: "garbled output on tpu".into(),
        author: "ana".into(),
        rev: Some(1),
        created: None,
        updated: None,
    };
    let mut timeline = build_timeline(&[annotation], &Store::new(), None);
    cite_suspects(&mut timeline, &changes(), &Store::new());
    let md = export::render(&timeline, TimelineFormat::Markdown);
    assert!(
        md.contains("Suspect change: deploy \"tpu-runtime v42\" to hardware=tpu ∧ platform=api, 3m before onset, same scope"),
        "{md}"
    );
    let json = export::render(&timeline, TimelineFormat::Json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["entries"][0]["suspect"]["change"], "true");
}

#[test]
fn check_and_the_scope_panel_name_one_suspect_for_a_bug() {
    use crate::support::ui::{BUCKET_MS, DATA_NOW, demo_like_fleet};
    use qualtop::cli::check_report::reported_bugs_with_changes;
    use qualtop::detect::DetectedRegression;
    use qualtop::protocol::Change;
    // One bug: golden-qa drops at -60 min, code-syntax (the worse drop)
    // half an hour later, 2 min after a decoy deploy to the same place. The
    // worst member alone would name the decoy; the bug is named by its best
    // first suspect, on every surface.
    let place = [("hardware", "tpu-v5"), ("model", "m-large")];
    let at = |min: i64| DATA_NOW + min * BUCKET_MS;
    let member = |signal: &str, onset: i64, delta_pp: f64| DetectedRegression {
        signal: signal.into(),
        onset: at(onset),
        onset_spread: None,
        detected_at: at(onset + 4),
        current: 0.9 + delta_pp / 100.0,
        delta_pp,
        ..regression(&place, 0)
    };
    let deploy = |id: &str, min: i64| Change {
        at: at(min),
        ..change(id, 0, &place, ChangeKind::Deploy, id)
    };
    let mut fleet = demo_like_fleet();
    fleet.detections = Detections {
        through: Some(DATA_NOW),
        since: Some(at(-300)),
        bucket_ms: BUCKET_MS,
        regressions: vec![
            member("golden-qa", -60, -2.0),
            member("code-syntax", -30, -8.0),
        ],
        ..Detections::default()
    };
    for c in [deploy("tpu-42", -63), deploy("decoy", -32)] {
        fleet.merge_change(c);
    }
    let regressions = &fleet.detections.regressions;
    let bugs = reported_bugs_with_changes(regressions, &fleet.store, &fleet.changes);
    assert_eq!(bugs.len(), 1, "one bug");
    let worst_alone = &bugs[0].worst.suspects[0];
    assert_eq!(worst_alone.change.id, "decoy", "the fixture's premise");
    let named = bugs[0].top_suspect().expect("a suspect");
    assert_eq!(named.change.id, "tpu-42");
    let entries = qualtop::view::scope_entries(&fleet, &[]);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].suspect.as_ref().map(|s| s.text.as_str()),
        Some(named.why.as_str())
    );
}

#[test]
fn a_bugs_suspect_is_dated_against_the_bugs_onset_or_names_the_regression_it_explains() {
    use qualtop::detect::{DetectedRegression, bug_suspect};
    let member = |signal: &str, onset: i64| DetectedRegression {
        signal: signal.into(),
        ..regression(&TPU_API, onset)
    };
    // golden-qa from -62, code-syntax from -59; the deploy at -60 explains
    // code-syntax best ("1m before onset"), but every surface prints it
    // beside the bug's "since" -62: worded as 1m before it read as -63.
    let (golden, code) = (member("golden-qa", -62), member("code-syntax", -59));
    let changes = vec![change(
        "tpu-42",
        -60,
        &TPU_API,
        ChangeKind::Deploy,
        "tpu-42",
    )];
    let all = [golden.clone(), code.clone()];
    let s = bug_suspect(&[&golden, &code], &all, &changes, &Store::new()).expect("a suspect");
    assert_eq!(s.change.id, "tpu-42");
    assert_eq!(s.lead_ms, -2 * MIN);
    assert!(s.why.contains("2m after the estimated onset"), "{}", s.why);
    // A member hours after the bug's onset: its own drop is named.
    let late = member("code-syntax", 120);
    let changes = vec![change(
        "late-7",
        118,
        &TPU_API,
        ChangeKind::Deploy,
        "late-7",
    )];
    let all = [golden.clone(), late.clone()];
    let s = bug_suspect(&[&golden, &late], &all, &changes, &Store::new()).expect("a suspect");
    assert_eq!(s.change.id, "late-7");
    assert!(
        s.why
            .contains("2m before code-syntax dropped on hardware=tpu ∧ platform=api"),
        "{}",
        s.why
    );
    assert!(!s.why.contains("before onset"), "{}", s.why);
}
