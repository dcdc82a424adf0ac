//! The TPU misconfiguration of the built-in demo hits atlas-xl and atlas-l
//! until +214 and atlas-m until +425: one bug whose parts recover at
//! different times. Replayed offline, the bug keeps where it was (its
//! history) but names as its place only the parts still in force, and the
//! rows of the recovered models stop saying REGRESSION.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::support::detect::{DemoReplay, MINUTE, engine, member_lines, minute};
use qualtop::cli::check_report::{CheckReport, ReportedBug, reported_bugs};
use qualtop::demo::Scenario;
use qualtop::detect::Detections;
use qualtop::feed::Fleet;
use qualtop::relay::alerts::alerts_body;
use qualtop::relay::findings::RelayFindings;
use qualtop::relay::findings_page::{self, LabelNames};
use qualtop::store::Store;
use qualtop::view::{
    DrillStep, QualityPick, RowKey, Severity, TimeCursor, row_status, scope_entries,
};

/// Each model row's status and the TPU bug as `check` reports it, at one minute.
struct Moment {
    rows: Vec<(String, Option<(Severity, String)>)>,
    tpu: Option<ReportedBug>,
    all: String,
    /// `qualtop check` as text.
    check: String,
    /// The detail view's scope panel at `hardware=tpu`.
    panel: Vec<String>,
    /// The relay's regression section of /metrics.prom, and its
    /// Alertmanager alerts.
    prom: String,
    alerts: Vec<serde_json::Value>,
}

struct Run {
    before: Moment,
    after_large: Moment,
    later: Moment,
}

const MODELS: [&str; 4] = ["atlas-xl", "atlas-l", "atlas-m", "atlas-s"];

fn moment(store: Store, detections: Detections) -> (Moment, Store) {
    let bugs = reported_bugs(&detections.regressions, &store);
    let check = CheckReport::from_detections(&detections, &store).to_text();
    let relay = RelayFindings::new(24 * 60 * MINUTE);
    relay.publish(
        &detections.regressions,
        detections.through.unwrap_or_default(),
    );
    let names = LabelNames::new(store.slices().dimensions());
    let published = relay.snapshot();
    let prom = findings_page::render(&names, &published);
    let (alerts, _) = alerts_body(&names, &published, None, &BTreeSet::new());
    let tpu = bugs
        .iter()
        .find(|b| {
            b.active
                && b.regressions
                    .iter()
                    .any(|r| (55..100).contains(&minute(r.onset)))
        })
        .cloned();
    let all = bugs
        .iter()
        .map(|b| {
            let members = member_lines(b);
            let parts: Vec<String> = b
                .recovered
                .iter()
                .map(|p| format!("{} at +{}", p.where_text, minute(p.ended_at)))
                .collect();
            format!(
                "{} (active {}, was {}, recovered {parts:?}){members}\n",
                b.where_text, b.active, b.was_text
            )
        })
        .collect();
    let fleet = Fleet {
        store,
        detections,
        ..Fleet::default()
    };
    let rows = MODELS
        .iter()
        .map(|m| {
            let key = RowKey::Value((*m).to_owned());
            let s = row_status(
                &fleet,
                &[],
                "model",
                &key,
                &QualityPick::Combined,
                TimeCursor::Live,
            );
            ((*m).to_owned(), s.map(|s| (s.severity, s.text)))
        })
        .collect();
    let tpu_path = [DrillStep {
        dimension: "hardware".to_owned(),
        value: "tpu".to_owned(),
    }];
    let panel = scope_entries(&fleet, &tpu_path)
        .into_iter()
        .map(|e| e.text)
        .collect();
    let m = Moment {
        rows,
        tpu,
        all,
        check,
        panel,
        prom,
        alerts,
    };
    (m, fleet.store)
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 1440);
        let mut live = engine();
        let mut at = |replay: &mut DemoReplay, minute: i64| {
            replay.run(&mut live, minute - replay.next);
            let d = live.detections(&replay.store);
            let store = std::mem::take(&mut replay.store);
            let (m, store) = moment(store, d);
            replay.store = store;
            m
        };
        let before = at(&mut replay, 200);
        let after_large = at(&mut replay, 240);
        let later = at(&mut replay, 330);
        Run {
            before,
            after_large,
            later,
        }
    })
}

fn row<'a>(m: &'a Moment, model: &str) -> Option<&'a (Severity, String)> {
    m.rows
        .iter()
        .find(|(name, _)| name == model)
        .and_then(|(_, s)| s.as_ref())
}

fn regressed(m: &Moment, model: &str) -> bool {
    row(m, model).is_some_and(|(s, _)| *s == Severity::Regressed)
}

#[test]
fn before_the_large_models_recover_the_tpu_bug_names_all_three() {
    let m = &run().before;
    let tpu = m.tpu.as_ref().expect(&m.all);
    assert_eq!(
        tpu.where_text, "hardware=tpu ∧ model=atlas-l,atlas-m,atlas-xl ∧ platform=api",
        "{}",
        m.all
    );
    assert!(tpu.recovered.is_empty(), "{}", m.all);
    for model in ["atlas-xl", "atlas-l", "atlas-m"] {
        assert!(regressed(m, model), "{model}: {:?}", m.rows);
    }
}

#[test]
fn once_the_large_models_recovered_the_bug_is_atlas_m_alone_and_remembers_them() {
    let m = &run().later;
    let tpu = m.tpu.as_ref().expect(&m.all);
    assert_eq!(
        tpu.where_text, "hardware=tpu ∧ model=atlas-m ∧ platform=api",
        "{}",
        m.all
    );
    // History: where it was, and which part recovered when.
    assert_eq!(
        tpu.was_text, "hardware=tpu ∧ model=atlas-l,atlas-m,atlas-xl ∧ platform=api",
        "{}",
        m.all
    );
    let parts: Vec<&str> = tpu
        .recovered
        .iter()
        .map(|r| r.where_text.as_str())
        .collect();
    assert_eq!(
        parts,
        ["hardware=tpu ∧ model=atlas-l,atlas-xl ∧ platform=api"],
        "{}",
        m.all
    );
    let end = minute(tpu.recovered[0].ended_at);
    assert!((214..300).contains(&end), "recovered at +{end}\n{}", m.all);
    assert!(regressed(m, "atlas-m"), "{:?}", m.rows);
    for model in ["atlas-xl", "atlas-l"] {
        let (severity, text) = row(m, model).expect("a status");
        assert_eq!(*severity, Severity::Ok, "{model}: {text}\n{}", m.all);
    }
}

#[test]
fn shortly_after_atlas_l_recovered_its_row_says_ended_and_the_place_leaves_it_out() {
    // +240: atlas-l's detectors are all back; atlas-xl's user-feedback
    // group detector (a weak signal, slow both ways) is not yet.
    let m = &run().after_large;
    let tpu = m.tpu.as_ref().expect(&m.all);
    assert!(!tpu.where_text.contains("atlas-l,"), "{}", m.all);
    assert!(tpu.where_text.contains("atlas-m"), "{}", m.all);
    assert!(
        tpu.recovered
            .iter()
            .any(|p| p.where_text.contains("atlas-l")),
        "{}",
        m.all
    );
    let (severity, text) = row(m, "atlas-l").expect("a status");
    assert_eq!(*severity, Severity::Ended, "atlas-l: {text}\n{}", m.all);
    assert!(text.starts_with("ENDED "), "{text}");
    assert!(regressed(m, "atlas-m"), "{:?}", m.rows);
}

/// The series of `signal` at the TPU bug's combination for `model`.
fn series(model: &str, signal: &str) -> String {
    format!(
        "qualtop_regression_active{{hardware=\"tpu\",model=\"{model}\",platform=\"api\",signal=\"{signal}\"}}"
    )
}

#[test]
fn the_relay_series_and_alerts_of_a_recovered_part_end_while_the_rest_stays_on() {
    let m = &run().later;
    for signal in ["code-syntax", "language-consistency"] {
        assert!(
            m.prom
                .contains(&format!("{} 0\n", series("atlas-l", signal))),
            "{signal}\n{}",
            m.prom
        );
        assert!(
            m.prom
                .contains(&format!("{} 1\n", series("atlas-m", signal))),
            "{signal}\n{}",
            m.prom
        );
    }
    // The Alertmanager alert per (signal, place): atlas-l's resolves.
    let atlas_l: Vec<&serde_json::Value> = m
        .alerts
        .iter()
        .filter(|a| a["labels"]["model"] == "atlas-l" && a["labels"]["hardware"] == "tpu")
        .collect();
    assert!(!atlas_l.is_empty(), "{:#?}", m.alerts);
    assert!(
        atlas_l.iter().all(|a| a.get("endsAt").is_some()),
        "{atlas_l:#?}"
    );
}

#[test]
fn check_text_and_the_scope_panel_name_the_part_in_force_and_the_recovered_one() {
    let m = &run().later;
    assert!(
        m.check
            .contains("ACTIVE  hardware=tpu ∧ model=atlas-m ∧ platform=api since 00:57"),
        "{}",
        m.check
    );
    assert!(
        m.check
            .contains("recovered 03:44: hardware=tpu ∧ model=atlas-l,atlas-xl ∧ platform=api"),
        "{}",
        m.check
    );
    let tpu = m
        .panel
        .iter()
        .find(|t| t.contains("since 00:57"))
        .unwrap_or_else(|| panic!("{}", m.panel.join("\n")));
    assert!(
        tpu.starts_with("hardware=tpu ∧ model=atlas-m ∧ platform=api "),
        "{tpu}"
    );
    assert!(
        tpu.contains("since 00:57  (model=atlas-l,atlas-xl recovered 03:44)  code-syntax"),
        "{tpu}"
    );
}
