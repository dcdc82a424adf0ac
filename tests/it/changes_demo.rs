//! The demo's changes: the scenario's three true changes at their times and
//! scopes, honest decoys from the seed, the ground truth that ties them to
//! the regressions, and both served over protocol 1 as the clock runs.

use std::collections::BTreeMap;
use std::time::Duration;

use qualtop::demo::{
    ChangeRole, Decoy, DemoBackend, DemoChanges, DemoOptions, InjectedRegression, Scenario, Scope,
    World, demo_changes,
};
use qualtop::protocol::{Change, ChangeKind, Millis};
use qualtop::server::{self, ServerConfig};
use serde_json::json;

use crate::support::annotations::{ANCHOR, Raw};

const MINUTE: Millis = 60_000;

fn world() -> World {
    World::new(Scenario::builtin().unwrap(), 2025, ANCHOR)
}

/// Whether a change's scope shares a slice with a regression's.
fn overlaps(change: &BTreeMap<String, String>, regression: &Scope) -> bool {
    change
        .iter()
        .all(|(dim, v)| regression.get(dim).is_none_or(|values| values.contains(v)))
}

fn by_id<'a>(d: &'a DemoChanges, id: &str) -> &'a Change {
    d.changes.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn demo_changes_are_a_pure_function_of_world_and_seed_and_vary_with_the_seed() {
    let w = world();
    assert_eq!(demo_changes(&w, 7), demo_changes(&w, 7));
    let (a, b) = (demo_changes(&w, 7), demo_changes(&w, 8));
    assert_ne!(a.changes, b.changes);
    let title_of = |d: &DemoChanges, name: &str| {
        let t = d.truth.iter().find(|t| t.regression == name).unwrap();
        by_id(d, &t.change_id).title.clone()
    };
    assert_eq!(
        title_of(&a, "tpu-compiler-precision"),
        title_of(&b, "tpu-compiler-precision"),
        "the true changes are the scenario's whatever the seed"
    );
}

#[test]
fn each_regression_has_its_true_change_just_before_its_onset_on_an_overlapping_scope() {
    let w = world();
    let d = demo_changes(&w, 2025);
    let names: Vec<&str> = d.truth.iter().map(|t| t.regression.as_str()).collect();
    assert_eq!(
        names,
        [
            "context-window-routing",
            "tpu-misconfiguration-large",
            "tpu-misconfiguration-medium",
            "tpu-compiler-precision"
        ]
    );
    let injected: Vec<InjectedRegression> = w.truth();
    let expected_onset = [299, 60, 60, 120];
    for (t, minute) in d.truth.iter().zip(expected_onset) {
        let change = by_id(&d, &t.change_id);
        let r = injected.iter().find(|r| r.name == t.regression).unwrap();
        assert_eq!(t.onset_ms, ANCHOR + minute * MINUTE, "{}", t.regression);
        let lead = t.onset_ms - change.at;
        assert!(
            (0..=2 * MINUTE).contains(&lead),
            "{}: {lead} ms",
            t.regression
        );
        assert!(overlaps(&change.scope, &r.scope), "{}", t.regression);
        assert!(matches!(d.role(&change.id), Some(ChangeRole::Cause { .. })));
    }
    let tpu = &d.truth[1];
    assert_eq!(
        tpu.change_id, d.truth[2].change_id,
        "one config push, two regressions"
    );
    let push = by_id(&d, &tpu.change_id);
    assert_eq!(push.kind, ChangeKind::Config);
    assert_eq!(
        push.scope,
        BTreeMap::from([
            ("hardware".into(), "tpu".into()),
            ("platform".into(), "api".into())
        ])
    );
}

#[test]
fn decoys_are_honest_same_kinds_nearby_overlapping_and_the_disjoint_ones_truly_disjoint() {
    let w = world();
    let injected = w.truth();
    for seed in [1, 2, 3, 2025, 99_999] {
        let d = demo_changes(&w, seed);
        for t in &d.truth {
            let truth = by_id(&d, &t.change_id);
            let r = injected.iter().find(|r| r.name == t.regression).unwrap();
            let family = |f: Decoy| -> Vec<&Change> {
                d.changes
                    .iter()
                    .filter(|c| d.role(&c.id) == Some(&ChangeRole::Decoy(f)))
                    .filter(|c| (c.at - t.onset_ms).abs() <= 4 * 60 * MINUTE)
                    .filter(|c| c.kind == truth.kind || f == Decoy::NearOverlap)
                    .collect()
            };
            let near: Vec<&Change> = family(Decoy::NearDisjoint)
                .into_iter()
                .filter(|c| (0..=5 * MINUTE).contains(&(t.onset_ms - c.at)))
                .collect();
            assert!(
                !near.is_empty(),
                "seed {seed}, {}: a disjoint decoy near the onset",
                r.name
            );
            assert!(
                near.iter().all(|c| !overlaps(&c.scope, &r.scope)),
                "seed {seed}: {near:?}"
            );
            assert!(
                family(Decoy::NearOverlap)
                    .iter()
                    .any(|c| overlaps(&c.scope, &r.scope) && c.at < t.onset_ms),
                "seed {seed}, {}: an overlapping decoy before the onset",
                r.name
            );
            assert!(
                family(Decoy::EarlierSameScope)
                    .iter()
                    .any(|c| c.scope == truth.scope && c.at < truth.at)
            );
            assert!(
                family(Decoy::AfterOnset)
                    .iter()
                    .any(|c| c.scope == truth.scope && c.at > t.onset_ms)
            );
        }
        let background = d
            .changes
            .iter()
            .filter(|c| d.role(&c.id) == Some(&ChangeRole::Decoy(Decoy::Background)));
        assert!(
            background.count() >= 20,
            "seed {seed}: the fleet's everyday churn"
        );
        for c in &d.changes {
            // Nothing in a change tells a true one from a decoy but its time and scope.
            assert!(c.id.starts_with("chg-") && c.id.len() == 16, "{}", c.id);
            assert_eq!(
                d.changes
                    .iter()
                    .filter(|o| o.kind == c.kind)
                    .map(|o| &o.source)
                    .min(),
                Some(&c.source)
            );
            assert!(
                c.at >= ANCHOR - 359 * MINUTE,
                "inside the history the demo holds"
            );
        }
    }
}

#[tokio::test]
async fn the_demo_serves_changes_in_the_snapshot_and_live_as_the_clock_passes_them() {
    let opts = DemoOptions {
        speed: 120.0,
        anchor_ms: Some(ANCHOR),
        ..DemoOptions::default()
    };
    let seed = opts.seed;
    let backend = DemoBackend::build(opts).await.unwrap();
    let expected = demo_changes(&backend.world, seed);
    let server = server::bind(
        "127.0.0.1:0".parse().unwrap(),
        ServerConfig::default(),
        backend.endpoints(),
    )
    .await
    .unwrap();
    let (mut raw, hello, snapshot) = Raw::subscribed(&server.url("/evals")).await;
    assert!(
        hello["features"]
            .as_array()
            .unwrap()
            .contains(&json!("changes")),
        "{hello}"
    );
    let held = snapshot["changes"].as_array().unwrap();
    assert!(
        !held.is_empty(),
        "the history's changes come with the snapshot"
    );
    let to = snapshot["to"].as_i64().unwrap();
    assert!(
        held.iter().all(|c| c["at"].as_i64().unwrap() <= to),
        "none from the future"
    );
    // The TPU config push (+59) arrives live, in the seq, about half a second in at ×120.
    let push = &expected.truth[1].change_id;
    let arrived = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let v = raw.next_of("change").await;
            assert!(v["seq"].as_u64().is_some());
            let change: Change = serde_json::from_value(v["change"].clone()).unwrap();
            assert!(expected.changes.contains(&change), "{change:?}");
            if &change.id == push {
                return change;
            }
        }
    })
    .await
    .expect("the config push arrives as the clock passes +59");
    assert_eq!(arrived.title, "tpu-serving config: sampler defaults v7");
    // A subscriber filtered to gpu is not sent changes scoped to tpu.
    let mut gpu = Raw::connect(&server.url("/metrics")).await;
    gpu.recv().await;
    gpu.send(
        json!({"type": "subscribe", "window_ms": 6 * 3_600_000, "filter": {"hardware": ["gpu"]}}),
    )
    .await;
    let snap = gpu.next_of("snapshot").await;
    let scoped = snap["changes"].as_array().unwrap();
    assert!(
        scoped
            .iter()
            .all(|c| c["scope"]["hardware"].as_str().is_none_or(|h| h == "gpu"))
    );
    assert!(!scoped.iter().any(|c| c["id"] == json!(push)));
    drop(backend);
    server.shutdown().await;
}
