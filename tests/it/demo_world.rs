//! The demo world: its fleet, its determinism, and that what it injects shows
//! (and nothing else does). Statistical checks pool many buckets, with fixed
//! seeds and wide margins.

use std::collections::HashSet;

use qualtop::demo::{DemoSignalId, LeafId, Scenario, World};
use qualtop::protocol::{BucketValue, Millis};

/// 2025-09-02 00:00 UTC.
const ANCHOR: Millis = 1_756_771_200_000;
const MINUTE: Millis = 60_000;

fn world(seed: u64) -> World {
    World::new(Scenario::builtin().unwrap(), seed, ANCHOR)
}

fn leaf(w: &World, model: &str, platform: &str, region: &str, hardware: &str) -> LeafId {
    w.find_leaf(model, platform, region, hardware)
        .unwrap_or_else(|| panic!("no leaf {model}/{platform}/{region}/{hardware}"))
}

fn signal(w: &World, name: &str) -> DemoSignalId {
    w.signal(name).unwrap_or_else(|| panic!("no signal {name}"))
}

fn counts(w: &World, l: LeafId, s: DemoSignalId, minute: i64) -> (u64, u64) {
    match w.sample(l, s, ANCHOR + minute * MINUTE) {
        Some(BucketValue::Ratio { good, total }) => (u64::from(good), u64::from(total)),
        other => panic!("expected a ratio, got {other:?}"),
    }
}

/// good/total summed over minutes `from..to`.
fn pooled_rate(w: &World, l: LeafId, s: DemoSignalId, from: i64, to: i64) -> f64 {
    let (good, total) = (from..to)
        .map(|m| counts(w, l, s, m))
        .fold((0, 0), |(g, t), (dg, dt)| (g + dg, t + dt));
    good as f64 / total as f64
}

fn baseline(w: &World, l: LeafId, s: DemoSignalId) -> f64 {
    w.baseline_rate(l, s, ANCHOR).unwrap()
}

#[test]
fn fleet_has_50_to_200_leaves_in_plausible_combinations_only() {
    let w = world(1);
    let leaves = w.leaves();
    assert!(
        (50..=200).contains(&leaves.len()),
        "{} leaves",
        leaves.len()
    );
    let mut seen = HashSet::new();
    for l in leaves {
        assert!(seen.insert((&l.model, &l.platform, &l.region, &l.hardware)));
        match l.hardware.as_str() {
            "tpu" => assert!(["api", "nimbus"].contains(&l.platform.as_str()), "{l:?}"),
            "trainium" => assert_eq!(l.platform, "stratus", "{l:?}"),
            "gpu" => {}
            other => panic!("unexpected hardware {other}"),
        }
    }
    for (dim, at_least) in [
        ("model", 4),
        ("platform", 3),
        ("region", 3),
        ("hardware", 3),
    ] {
        let values: HashSet<_> = leaves.iter().filter_map(|l| l.value(dim)).collect();
        assert!(values.len() >= at_least, "{dim}: {values:?}");
    }
    let share: f64 = leaves.iter().map(|l| l.traffic_share).sum();
    assert!((share - 1.0).abs() < 1e-9);
}

#[test]
fn same_seed_gives_same_values_and_another_seed_differs() {
    let (a, b, c) = (world(7), world(7), world(8));
    let mut differ = 0;
    let mut compared = 0;
    for l in a.leaf_ids().step_by(7) {
        for s in 0..a.signals().len() {
            for minute in [-300, -1, 0, 5, 400, 9000] {
                let ts = ANCHOR + minute * MINUTE;
                let va = a.sample(l, DemoSignalId(s), ts);
                assert_eq!(va, b.sample(l, DemoSignalId(s), ts));
                compared += 1;
                if va != c.sample(l, DemoSignalId(s), ts) {
                    differ += 1;
                }
            }
        }
    }
    assert!(differ * 10 > compared * 9, "{differ} of {compared} differ");
}

#[test]
fn values_follow_the_anchor_so_servers_started_at_other_times_agree() {
    let a = world(3);
    let later = World::new(Scenario::builtin().unwrap(), 3, ANCHOR + 37 * MINUTE);
    let l = leaf(&a, "atlas-m", "api", "us-east", "tpu");
    for s in 0..a.signals().len() {
        for minute in [-200, 0, 61, 305] {
            assert_eq!(
                a.sample(l, DemoSignalId(s), ANCHOR + minute * MINUTE),
                later.sample(l, DemoSignalId(s), later.anchor_ms() + minute * MINUTE),
            );
        }
    }
}

#[test]
fn availability_never_drops_below_999_on_any_slice_in_the_history_or_the_incidents() {
    let w = world(2025);
    let avail = signal(&w, "availability");
    for l in w.leaf_ids() {
        let (mut good, mut total) = (0, 0);
        for minute in -360..800 {
            let (g, t) = counts(&w, l, avail, minute);
            assert!(t > 0, "no traffic on {l:?} at {minute}");
            assert!(g as f64 >= 0.999 * t as f64, "{l:?} at {minute}: {g}/{t}");
            good += g;
            total += t;
        }
        // Green, but not perfectly so: ordinary errors exist.
        assert!(good < total, "{l:?} never failed a request");
    }
}

#[test]
fn tpu_misconfiguration_shows_in_language_consistency_while_active_and_not_after() {
    let w = world(2025);
    let lang = signal(&w, "language-consistency");
    let hit = leaf(&w, "atlas-l", "api", "us-east", "tpu");
    let base = baseline(&w, hit, lang);
    let during = pooled_rate(&w, hit, lang, 70, 205);
    let after = pooled_rate(&w, hit, lang, 230, 500);
    assert!(base - during > 0.02, "drop {:.4} too small", base - during);
    assert!(
        (base - after).abs() < 0.005,
        "after the fix: {after:.4} vs {base:.4}"
    );
    // The same model on GPU is untouched.
    let gpu = leaf(&w, "atlas-l", "api", "us-east", "gpu");
    let gpu_during = pooled_rate(&w, gpu, lang, 70, 205);
    assert!((baseline(&w, gpu, lang) - gpu_during).abs() < 0.005);
}

#[test]
fn compiler_bug_costs_the_small_model_on_tpu_points_on_golden_qa_until_rollback() {
    let w = world(2025);
    let qa = signal(&w, "golden-qa");
    let tpu_small: Vec<LeafId> = w
        .leaf_ids()
        .filter(|l| {
            let leaf = w.leaf(*l).unwrap();
            leaf.model == "atlas-s" && leaf.hardware == "tpu"
        })
        .collect();
    assert!(tpu_small.len() >= 4);
    // Observed drop below each slice's baseline, averaged over the slices.
    let drop = |from: i64, to: i64| {
        tpu_small
            .iter()
            .map(|l| baseline(&w, *l, qa) - pooled_rate(&w, *l, qa, from, to))
            .sum::<f64>()
            / tpu_small.len() as f64
    };
    let (before, during, after) = (drop(-360, 0), drop(125, 540), drop(800, 1300));
    assert!(during > 0.008, "drop {during:.4} too small");
    assert!(during < 0.04, "drop {during:.4} too large");
    assert!(before.abs() < 0.004, "before: {before:.4}");
    assert!(after.abs() < 0.004, "after: {after:.4}");
    // The same model on GPU does not see it.
    let gpu = leaf(&w, "atlas-s", "api", "us-east", "gpu");
    let gpu_drop = baseline(&w, gpu, qa) - pooled_rate(&w, gpu, qa, 125, 540);
    assert!(gpu_drop.abs() < 0.008, "gpu: {gpu_drop:.4}");
}

#[test]
fn routing_bug_is_faint_in_the_history_and_jumps_after_the_load_balancer_change() {
    let w = world(2025);
    let qa = signal(&w, "golden-qa");
    let api_leaves: Vec<LeafId> = w
        .leaf_ids()
        .filter(|l| {
            let leaf = w.leaf(*l).unwrap();
            leaf.model == "atlas-m" && leaf.platform == "api"
        })
        .collect();
    // Expected (noise-free) drop, averaged over the api slices and the minutes.
    let mean_drop = |from: i64, to: i64| {
        let mut sum = 0.0;
        for l in &api_leaves {
            for minute in from..to {
                let ts = ANCHOR + minute * MINUTE;
                sum += w.baseline_rate(*l, qa, ts).unwrap() - w.expected_rate(*l, qa, ts).unwrap();
            }
        }
        sum / (api_leaves.len() as f64 * (to - from) as f64)
    };
    let faint = mean_drop(-360, 0);
    let jumped = mean_drop(400, 600);
    assert!(faint > 0.0 && faint < 0.01, "history drop {faint:.4}");
    assert!(jumped > 10.0 * faint, "jump {jumped:.4} vs {faint:.4}");
    // Observed, not only expected: pooled over the api slices of atlas-m.
    let pooled = |from: i64, to: i64| {
        api_leaves
            .iter()
            .map(|l| baseline(&w, *l, qa) - pooled_rate(&w, *l, qa, from, to))
            .sum::<f64>()
            / api_leaves.len() as f64
    };
    assert!(
        pooled(400, 600) > 0.02,
        "observed drop {:.4}",
        pooled(400, 600)
    );
    assert!(
        pooled(900, 1200).abs() < 0.006,
        "after the fix {:.4}",
        pooled(900, 1200)
    );
    // The TPU cloud barely sees it.
    let cloud = leaf(&w, "atlas-m", "nimbus", "us-east", "gpu");
    let ts = ANCHOR + 500 * MINUTE;
    let cloud_drop =
        w.baseline_rate(cloud, qa, ts).unwrap() - w.expected_rate(cloud, qa, ts).unwrap();
    assert!(cloud_drop < 0.0001, "{cloud_drop}");
}

#[test]
fn slices_outside_every_scope_stay_at_baseline() {
    let w = world(2025);
    let l = leaf(&w, "atlas-xl", "stratus", "us-east", "gpu");
    for name in [
        "golden-qa",
        "code-syntax",
        "language-consistency",
        "user-feedback",
    ] {
        let s = signal(&w, name);
        for minute in (-360..1500).step_by(17) {
            let ts = ANCHOR + minute * MINUTE;
            assert_eq!(
                w.expected_rate(l, s, ts),
                w.baseline_rate(l, s, ts),
                "{name} at {minute}"
            );
        }
        let observed = pooled_rate(&w, l, s, 0, 800);
        let tolerance = if name == "user-feedback" { 0.01 } else { 0.005 };
        assert!(
            (observed - baseline(&w, l, s)).abs() < tolerance,
            "{name}: {observed:.4}"
        );
    }
}

#[test]
fn eval_counts_vary_more_than_a_binomial_on_a_healthy_slice() {
    let w = world(2025);
    let qa = signal(&w, "golden-qa");
    let l = leaf(&w, "atlas-xl", "api", "eu-west", "gpu");
    let buckets: Vec<(u64, u64)> = (1000..1720).map(|m| counts(&w, l, qa, m)).collect();
    assert!(
        buckets.iter().all(|(_, t)| (100..1000).contains(t)),
        "eval volume not in the hundreds"
    );
    let fractions: Vec<f64> = buckets.iter().map(|(g, t)| *g as f64 / *t as f64).collect();
    let n = fractions.len() as f64;
    let mean = fractions.iter().sum::<f64>() / n;
    let observed = fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let binomial = buckets
        .iter()
        .map(|(_, t)| mean * (1.0 - mean) / *t as f64)
        .sum::<f64>()
        / n;
    let factor = observed / binomial;
    assert!(factor > 1.8, "variance only {factor:.2}x the binomial");
}

#[test]
fn truth_lists_each_injected_regression_with_its_scope_and_timeline() {
    let w = world(2025);
    let truth = w.truth();
    let causes: HashSet<&str> = truth.iter().map(|r| r.cause.as_str()).collect();
    assert_eq!(
        causes,
        HashSet::from(["routing", "tpu-misconfiguration", "compiler"])
    );
    let onset_minutes = |cause: &str| -> Vec<Millis> {
        truth
            .iter()
            .filter(|r| r.cause == cause)
            .map(|r| (r.onset_ms - w.anchor_ms()) / MINUTE)
            .collect()
    };
    // A newcomer at speed 1 sees the TPU bugs begin within a few real minutes.
    assert!(
        onset_minutes("tpu-misconfiguration")
            .iter()
            .all(|m| (1..=300).contains(m))
    );
    assert!(
        onset_minutes("compiler")
            .iter()
            .all(|m| (1..=300).contains(m))
    );
    // Routing is already there in the history.
    assert!(onset_minutes("routing").iter().all(|m| *m < 0));
    for r in &truth {
        assert!(r.end_ms > r.onset_ms, "{}", r.name);
        assert!(!r.signals.is_empty(), "{}", r.name);
        assert!(!r.leaves.is_empty(), "{}", r.name);
        for l in &r.leaves {
            assert!(
                w.leaf(*l).unwrap().in_scope(&r.scope),
                "{} touches {l:?}",
                r.name
            );
        }
    }
    let tpu_large = truth
        .iter()
        .find(|r| r.name == "tpu-misconfiguration-large")
        .unwrap();
    let tpu_medium = truth
        .iter()
        .find(|r| r.name == "tpu-misconfiguration-medium")
        .unwrap();
    assert!(
        tpu_large.end_ms < tpu_medium.end_ms,
        "the larger models are fixed first"
    );
}
