//! What the relay's detection costs per bucket, in release: the demo fleet's
//! six hours replayed into a store, then each further bucket stepped and
//! published alone, as `qualtop serve` does once per bucket
//! (`cargo bench --bench relay_detect`; `RELAY_DETECT_LEAVES=5000` adds a
//! fleet grown to that many leaves, as `demo-server --leaves`). Next to it,
//! a reference timed on the same buckets: one plain pass reading and
//! summing every leaf's counts of every ratio signal for that bucket.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the replay only
#[path = "../it/support/detect.rs"]
mod detect_support;
#[allow(dead_code)]
mod ratio;

use detect_support::{RelayCost, plain_pass, relay_cost};
use qualtop::demo::Scenario;
use qualtop::protocol::SignalKind;
use ratio::{median, percentile};

/// Buckets replayed before timing (the relay's window at start).
const HISTORY: i64 = 360;
/// Buckets timed one by one.
const LIVE: usize = 120;

fn measure(label: &str, scenario: Scenario) {
    let mut ratio_signals: Option<Vec<String>> = None;
    let mut reference = Vec::new();
    let cost = relay_cost(scenario, HISTORY, LIVE, |replay| {
        let ratio_signals = ratio_signals.get_or_insert_with(|| {
            let signals = replay.world.signals().iter();
            signals
                .filter(|s| s.spec.kind == SignalKind::Ratio)
                .map(|s| s.spec.name.clone())
                .collect()
        });
        // The bucket just completed.
        let ts = replay.world.bucket_ts(replay.next - 1);
        let b = replay.store.bucket_of(ts);
        // Every ratio signal's counts of it read and summed: what any pass costs at least.
        reference.push(plain_pass(&replay.store, ratio_signals, b) * 1e3);
    });
    let RelayCost {
        replay,
        replayed,
        replay_ms,
        live_ms: step,
    } = cost;
    let mut sorted = step.clone();
    sorted.sort_by(f64::total_cmp);
    let (med, reference) = (median(step), median(reference));
    println!(
        "| {label} | {} × {} | {replayed} buckets in {replay_ms:.0} ms | {med:.2} ms | {:.2} ms | {reference:.3} ms | {:.0}× |",
        replay.store.slices().len(),
        replay.store.signals().len(),
        percentile(&sorted, 1.0),
        med / reference,
    );
}

fn main() {
    println!(
        "## The relay's detection per bucket (release; {LIVE} live buckets after {HISTORY} replayed)\n"
    );
    println!(
        "| fleet | slices × signals | replay at start | step + publish, median | max | plain pass (reference) | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    measure("demo", Scenario::builtin().expect("built-in scenario"));
    if let Some(n) = std::env::var("RELAY_DETECT_LEAVES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let scenario = qualtop::demo::scaled(Scenario::builtin().expect("built-in scenario"), n);
        measure(&format!("--leaves {n}"), scenario);
    }
}
