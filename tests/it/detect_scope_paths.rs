//! One scope estimator for three paths: the same history through the
//! monitor (what the TUI's scope panel and the engine show), through
//! `check`, and through `qualtop scope` on a CSV of the same counts gives
//! the same causes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use qualtop::cli::check_report::CheckReport;
use qualtop::cli::scope::{ScopeArgs, find_causes};
use qualtop::detect::synthetic::draw_bucket;
use qualtop::detect::{Monitor, MonitorConfig, ScopeConfig};
use qualtop::protocol::{CowStr, Hello, Point, SignalKind, SignalRole, SignalSpec, SliceMap};
use qualtop::store::{SliceId, Store};

const MINUTE: i64 = 60_000;
const MODELS: [&str; 4] = ["m1", "m2", "m3", "m4"];
const HARDWARE: [&str; 3] = ["tpu", "gpu", "trn"];
const PLATFORM: [&str; 3] = ["api", "web", "app"];
const BROKEN_FROM: i64 = 300;
const MINUTES: i64 = 380;

fn hello() -> Hello {
    Hello {
        protocol: 1,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hardware".into(), "platform".into()],
        signals: vec![SignalSpec {
            name: "quality".into(),
            kind: SignalKind::Ratio,
            role: SignalRole::Quality,
            unit: None,
        }],
        bucket_ms: MINUTE,
        history_ms: 1440 * MINUTE,
        now: 0,
        features: vec![],
    }
}

/// 90 % everywhere; from minute 300 m2 on tpu loses 6 points and trn loses
/// 4 points (two causes of different depth).
fn store_and_monitor() -> (Store, Monitor) {
    let mut store = Store::new();
    let binding = store.bind_source(0, &hello()).unwrap();
    let mut monitor = Monitor::new(MonitorConfig::for_bucket_ms(MINUTE));
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for minute in 0..MINUTES {
        store.set_now(minute * MINUTE);
        for m in MODELS {
            for h in HARDWARE {
                for p in PLATFORM {
                    let mut rate: f64 = 0.9;
                    if minute >= BROKEN_FROM && m == "m2" && h == "tpu" {
                        rate -= 0.06;
                    }
                    if minute >= BROKEN_FROM && h == "trn" {
                        rate -= 0.04;
                    }
                    let r = draw_bucket(&mut rng, rate, 200, 1.3);
                    let point = Point {
                        slice: SliceMap::from_pairs([
                            ("model", m),
                            ("hardware", h),
                            ("platform", p),
                        ]),
                        signal: CowStr::from("quality"),
                        ts: minute * MINUTE,
                        good: Some(r.good as i64),
                        total: Some(r.total as i64),
                        value: None,
                    };
                    store.apply_point(&binding, &point).unwrap();
                }
            }
        }
        monitor.update(&store);
    }
    store.set_now(MINUTES * MINUTE);
    monitor.update(&store);
    (store, monitor)
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
