//! The monitor over a real store: leaf, group and fleet tracks, folding of
//! leaf alarms into one scoped regression, replay equals live, burn alerts,
//! and the check report built from it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use qualtop::cli::check_report::CheckReport;
use qualtop::detect::synthetic::draw_bucket;
use qualtop::detect::{Monitor, MonitorConfig, ScopeConfig, Status, TrackKey};
use qualtop::protocol::{CowStr, Hello, Point, SignalKind, SignalRole, SignalSpec, SliceMap};
use qualtop::store::{SignalId, Store};

const MINUTE: i64 = 60_000;
const MODELS: [&str; 4] = ["m1", "m2", "m3", "m4"];
const HARDWARE: [&str; 3] = ["tpu", "gpu", "trn"];
const BROKEN_FROM: i64 = 300;

fn hello() -> Hello {
    let spec = |name: &str, role| SignalSpec {
        name: name.into(),
        kind: SignalKind::Ratio,
        role,
        unit: None,
    };
    Hello {
        protocol: 1,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hardware".into()],
        signals: vec![
            spec("quality", SignalRole::Quality),
            spec("availability", SignalRole::Availability),
        ],
        bucket_ms: MINUTE,
        history_ms: 1440 * MINUTE,
        now: 0,
        features: vec![],
    }
}

/// Quality 90 % everywhere except m2 on tpu, which drops 5 points from
/// minute 300; availability 99.95 % except a 3 % error burst fleet-wide in
/// minutes 400..460.
fn feed_minute(
    store: &mut Store,
    binding: &qualtop::store::SourceBinding,
    rng: &mut ChaCha8Rng,
    minute: i64,
) {
    store.set_now(minute * MINUTE);
    for m in MODELS {
        for h in HARDWARE {
            let broken = m == "m2" && h == "tpu" && minute >= BROKEN_FROM;
            let q = draw_bucket(rng, if broken { 0.85 } else { 0.9 }, 300, 1.0);
            let burst = (400..460).contains(&minute);
            let a = draw_bucket(rng, if burst { 0.97 } else { 0.9995 }, 2000, 1.0);
            for (signal, r) in [("quality", q), ("availability", a)] {
                let p = Point {
                    slice: SliceMap::from_pairs([("model", m), ("hardware", h)]),
                    signal: CowStr::from(signal),
                    ts: minute * MINUTE,
                    good: Some(r.good as i64),
                    total: Some(r.total as i64),
                    value: None,
                };
                store.apply_point(binding, &p).unwrap();
            }
        }
    }
}

/// Store with `minutes` of data; with `live`, a monitor updated every minute.
fn run(minutes: i64, live: bool) -> (Store, Monitor) {
    let mut store = Store::new();
    let binding = store.bind_source(0, &hello()).unwrap();
    let mut monitor = Monitor::new(MonitorConfig::for_bucket_ms(MINUTE));
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for minute in 0..minutes {
        feed_minute(&mut store, &binding, &mut rng, minute);
        if live {
            monitor.update(&store);
        }
    }
    // One more tick so the last minute is complete.
    store.set_now(minutes * MINUTE);
    monitor.update(&store);
    (store, monitor)
}

fn quality(store: &Store) -> SignalId {
    store.signal_by_name("quality").unwrap()
}

#[test]
fn a_broken_combination_is_one_scoped_regression_with_its_onset() {
    let (store, monitor) = run(380, true);
    let regs = monitor.scoped_regressions(&store, quality(&store), &ScopeConfig::default(), &[]);
    assert_eq!(regs.len(), 1, "{regs:#?}");
    let r = &regs[0];
    let want: std::collections::BTreeMap<String, String> = [("hardware", "tpu"), ("model", "m2")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(r.scope, want);
    assert!(r.active);
    assert!(
        (r.onset / MINUTE - BROKEN_FROM).abs() <= 5,
        "onset {}",
        r.onset / MINUTE
    );
    assert!(r.detected_at > r.onset);
    assert!((r.delta_pp + 5.0).abs() < 1.5, "delta {}", r.delta_pp);
    // The leaf alarm (and any group alarm it caused) is folded in.
    assert!(r.keys.iter().any(|k| matches!(k, TrackKey::Slice(_))));
}

#[test]
fn healthy_slices_stay_ok() {
    let (store, monitor) = run(380, true);
    let broken: Vec<_> = monitor
        .alerts()
        .into_iter()
        .filter(|f| f.signal == quality(&store) && f.status.is_regression())
        .filter_map(|f| match f.key {
            TrackKey::Slice(s) => Some(
                store
                    .slices()
                    .pairs(s)
                    .map(|(_, v)| v.to_owned())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(broken, vec![vec!["m2".to_owned(), "tpu".to_owned()]]);
}

#[test]
fn replaying_the_store_once_gives_what_watching_live_gave() {
    let (_, live) = run(380, true);
    let (_, replay) = run(380, false);
    assert_eq!(live.findings(), replay.findings());
}

#[test]
fn an_error_burst_pages_on_availability_burn() {
    let (store, monitor) = run(430, true);
    let avail = store.signal_by_name("availability").unwrap();
    let fleet = monitor.finding_for(TrackKey::Fleet, avail).unwrap();
    assert_eq!(fleet.role, SignalRole::Availability);
    let alert = fleet
        .burn
        .and_then(|b| b.alert)
        .expect("the burst burns the budget");
    assert!(alert.since >= 400 * MINUTE);
    // Quality signals carry no burn-rate state.
    let q = monitor
        .finding_for(TrackKey::Fleet, quality(&store))
        .unwrap();
    assert!(q.burn.is_none());
}

#[test]
fn check_report_lists_the_scoped_regression_as_json() {
    let (store, monitor) = run(380, true);
    let report = CheckReport::build(&store, &monitor, &ScopeConfig::default());
    assert!(report.has_active());
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["slices"], 12);
    let quality: Vec<&serde_json::Value> = v["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["regressions"].as_array().unwrap())
        .filter(|r| r["signal"] == "quality")
        .collect();
    assert_eq!(quality.len(), 1, "{v:#}");
    let r = quality[0];
    assert_eq!(
        r["slice"],
        serde_json::json!({"model": "m2", "hardware": "tpu"})
    );
    assert_eq!(r["role"], "quality");
    assert_eq!(r["active"], true);
    assert!(r["delta_pp"].as_f64().unwrap() < -3.0);
    assert!(r["scope"][0]["explains"].as_f64().unwrap() > 0.5);
    for key in ["from", "to", "onset", "detected_at", "baseline", "current"] {
        assert!(v.get(key).is_some() || r.get(key).is_some(), "{key}");
    }
    let text = report.to_text();
    assert!(
        text.contains("ACTIVE") && text.contains("hardware=tpu ∧ model=m2"),
        "{text}"
    );
}

#[test]
fn before_any_history_everything_is_learning() {
    let (store, monitor) = run(10, true);
    assert!(monitor.alerts().is_empty());
    let f = monitor
        .finding_for(TrackKey::Fleet, quality(&store))
        .unwrap();
    assert_eq!(f.status, Status::Learning);
}
