//! One scope estimator for three paths: the same history through the
//! monitor (what the TUI's scope panel and the engine show), through
//! `check`, and through `qualtop scope` on a CSV of the same counts gives
//! the same causes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use qualtop::cli::check_report::CheckReport;
use qualtop::cli::scope::{ScopeArgs, find_causes};
use qualtop::detect::{Monitor, ScopeConfig};
use qualtop::store::{SliceId, Store};

use crate::support::two_causes::TwoCauses;

const PLATFORM: [&str; 3] = ["api", "web", "app"];

/// 90 % everywhere; from minute 300 m2 on tpu loses 6 points and trn loses
/// 4 points (two causes of different depth).
fn store_and_monitor() -> (Store, Monitor) {
    TwoCauses {
        platforms: &PLATFORM,
        trials: 200,
        seed: 11,
        minutes: 380,
        ring_minutes: 1440,
    }
    .watch()
}

type Scope = BTreeMap<String, String>;

/// The store's counts as `qualtop scope` reads them.
fn csv_of(store: &Store, last_bucket: i64) -> String {
    let signal = store.signal_by_name("quality").unwrap();
    let mut csv = String::from("ts,model,hardware,platform,good,total\n");
    for b in 0..=last_bucket {
        for i in 0..store.slices().len() {
            let slice = SliceId(i as u32);
            let Some(r) = store.ratio(signal, slice, b) else {
                continue;
            };
            let v: BTreeMap<&str, &str> = store.slices().pairs(slice).collect();
            writeln!(
                csv,
                "{},{},{},{},{},{}",
                store.bucket_start(b),
                v["model"],
                v["hardware"],
                v["platform"],
                r.good,
                r.total
            )
            .unwrap();
        }
    }
    csv
}

#[test]
fn scope_check_and_the_monitor_name_the_same_causes_on_the_same_counts() {
    let (store, monitor) = store_and_monitor();
    let signal = store.signal_by_name("quality").unwrap();
    let cfg = ScopeConfig::default();
    let regs = monitor.scoped_regressions(&store, signal, &cfg, &[]);
    assert!(!regs.is_empty(), "the two causes are detected");
    let monitor_causes: BTreeSet<Scope> = regs
        .iter()
        .flat_map(|r| r.causes.iter().map(|c| c.scope.clone()))
        .collect();
    let want: BTreeSet<Scope> = [
        vec![("hardware", "trn")],
        vec![("hardware", "tpu"), ("model", "m2")],
    ]
    .iter()
    .map(|pairs| {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect()
    })
    .collect();
    assert_eq!(monitor_causes, want);

    // `check` reports the same scopes.
    let report = CheckReport::build(&store, &monitor, &cfg);
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let check_causes: BTreeSet<Scope> = v["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["regressions"].as_array().unwrap())
        .flat_map(|r| r["scope"].as_array().unwrap())
        .map(|c| serde_json::from_value(c["scope"].clone()).unwrap())
        .collect();
    assert_eq!(check_causes, want, "{v:#}");

    // `qualtop scope` on the same counts, the same window.
    let onset = regs.iter().map(|r| r.onset).min().unwrap();
    let last = monitor.next_bucket().unwrap() - 1;
    let args = ScopeArgs {
        from: Some(onset.to_string()),
        at: Some(store.bucket_start(last).to_string()),
        ..ScopeArgs::for_input("store.csv")
    };
    let cli = find_causes(&args, &csv_of(&store, last)).unwrap();
    let cli_causes: BTreeSet<Scope> = cli.iter().map(|c| c.scope.clone()).collect();
    assert_eq!(cli_causes, want);
    // Not only the same scopes: the same expected and actual per cause.
    let window = monitor.leaf_window(&store, signal, onset);
    let direct = qualtop::detect::localize(&window.leaves, 3, &cfg);
    assert_eq!(direct.len(), cli.len());
    for (d, c) in direct.iter().zip(&cli) {
        assert!(
            (d.expected - c.expected).abs() < 1e-6 * d.expected,
            "{d:?} vs {c:?}"
        );
        assert!((d.actual - c.actual).abs() < 1e-9, "{d:?} vs {c:?}");
    }
}
