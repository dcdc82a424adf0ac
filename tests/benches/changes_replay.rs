//! Which change explains each regression, replayed offline on the built-in
//! demo (`cargo bench --bench changes_replay`): for two sets of seeds (the
//! weights were tuned on the first; the second is held out), the world is
//! fed bucket by bucket from the start of its history to an hour after its
//! last regression ends, the detection engine runs as the TUI's does, and
//! every regression it logged is ranked against the demo's changes (the
//! scenario's three true changes plus the seed's decoys: near-in-time
//! disjoint, near overlapping, the previous rollout to the same scope, a
//! follow-up after onset, background churn) with `detect::rank_in_bug`
//! against its bug, as every surface ranks it.
//!
//! A detected regression is matched to the injected one it belongs to (a
//! signal it hurts, a leaf in both scopes, an onset from an hour before the
//! true change's step to the injected end); its true change is the one the
//! demo's ground truth ties to it. Reported per injected regression: how
//! often the true change ranks first (of the regressions whose onset leaves
//! it a suspect by time), how often a decoy outranks it (and whether that
//! decoy's scope misses the injected scope entirely), and regressions whose
//! estimated onset lies before the true change (not counted).
//!
//! Knobs: `CHANGES_REPLAY_DEBUG=1` lists every regression with its ranking;
//! `CHANGES_REPLAY_CACHE=dir` keeps each seed's detections there and reuses
//! them (tuning reruns only the ranking; delete it when detection changes);
//! `CHANGES_REPLAY_GRID=1` prints the goal figures for a grid of
//! `RankWeights`. Earlier sightings are drawn from every regression of the
//! run, as every surface passes them.
//! Onsets are the engine's (each new episode's re-dated by
//! `detect::dated_in_store`), as every surface shows them. Under each
//! table: why the true change lost, counted by reason (`misses::reason`).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the replay only
#[path = "../it/support/detect.rs"]
mod detect_support;

#[path = "changes_replay_cache.rs"]
mod cache;

#[path = "changes_replay_misses.rs"]
mod misses;

#[path = "changes_replay_cost.rs"]
mod cost;

#[allow(dead_code)]
mod ratio;

use std::collections::BTreeMap;
use std::time::Instant;

use detect_support::{DemoReplay, MINUTE};
use qualtop::demo::{ChangeRole, DemoChanges, InjectedRegression, Scenario, World, demo_changes};
use qualtop::detect::{
    DetectedRegression, DetectionEngine, DetectionSettings, ONSET_SLACK_MS, RankWeights, ScopeMap,
    group_bugs, rank_in_bug_with,
};
use qualtop::protocol::Millis;
use qualtop::store::Store;
use qualtop::text::scope::scope_text;

/// Minutes fed after the anchor: the last regression ends at +760.
const AFTER_ANCHOR: i64 = 820;
/// A detected onset this long before the true change still matches it (the
/// estimate can reach back into the faint phase).
const MATCH_BEFORE_MS: Millis = 60 * MINUTE;

/// One detected regression scored against its true change.
#[derive(Debug)]
struct Scored {
    seed: u64,
    injected: String,
    signal: String,
    scope: ScopeMap,
    /// Onset − true change time.
    lead_ms: Millis,
    /// The same for the earliest onset of its bug.
    bug_lead_ms: Millis,
    /// 1-based; `None`: not ranked at all.
    rank: Option<usize>,
    /// Whether the true change is ranked, or should be by time (the
    /// estimated onset is no more than the slack before it): the
    /// denominator.
    eligible: bool,
    /// Decoys ranked above it, and how many of them miss the injected scope.
    above: usize,
    above_disjoint: usize,
    top: String,
    /// Why the true change is not first (see `misses::reason`).
    miss: Option<String>,
    /// Whether the top suspect misses the injected scope.
    top_disjoint: bool,
}

/// Whether a change on `scope` shares a slice with the injected regression.
fn overlaps(world: &World, scope: &ScopeMap, injected: &InjectedRegression) -> bool {
    injected.leaves.iter().any(|&l| {
        let leaf = world.leaf(l).unwrap();
        scope.iter().all(|(d, v)| leaf.value(d) == Some(v.as_str()))
    })
}

/// The injected regression a detected one belongs to, with its true change.
fn matching<'a>(
    world: &World,
    truth: &'a [InjectedRegression],
    changes: &DemoChanges,
    r: &DetectedRegression,
) -> Option<(&'a InjectedRegression, String, Millis)> {
    truth
        .iter()
        .filter(|t| t.signals.contains(&r.signal))
        .filter(|t| overlaps(world, &r.scope, t))
        .filter_map(|t| {
            let tie = changes.truth.iter().find(|c| c.regression == t.name)?;
            let at = changes.changes.iter().find(|c| c.id == tie.change_id)?.at;
            (r.onset >= at - MATCH_BEFORE_MS && r.onset <= t.end_ms)
                .then(|| (t, tie.change_id.clone(), at))
        })
        .min_by_key(|(_, _, at)| (r.onset - at).abs())
}

/// The seeds the ranking was tuned on, and seeds it never saw while tuning.
const TUNED: [u64; 6] = [1, 2, 3, 2025, 4242, 9001];
const HELD_OUT: [u64; 6] = [5, 6, 7, 8, 9, 10];

/// A detected regression no injected one explains: seed, signal, scope, onset.
type Unmatched = (u64, String, ScopeMap, Millis);

/// One seed replayed: its world, changes and every regression detected.
struct SeedRun {
    seed: u64,
    world: World,
    /// Holds every slice of the fleet, for what a change can touch.
    store: Store,
    changes: DemoChanges,
    regressions: Vec<DetectedRegression>,
}

fn replay(seed: u64) -> SeedRun {
    let scenario = Scenario::builtin().unwrap();
    let history = scenario.clock.history_minutes;
    let mut replay = DemoReplay::new(scenario, seed, -history, history + AFTER_ANCHOR + 60);
    let changes = demo_changes(&replay.world, seed);
    let regressions = if let Some(found) = cache::load(seed) {
        // The slices the fleet serves and their data, as a surface's store
        // holds them (detection is cached, feeding is not).
        for _ in 0..history + AFTER_ANCHOR {
            replay.feed_bucket();
        }
        found
    } else {
        let mut engine = DetectionEngine::new(DetectionSettings::default());
        replay.run(&mut engine, history + AFTER_ANCHOR);
        let found = engine.detections(&replay.store).regressions;
        cache::store(seed, &found);
        found
    };
    SeedRun {
        seed,
        world: replay.world,
        store: replay.store,
        changes,
        regressions,
    }
}

/// Every regression of `run` matched to an injected one, ranked with
/// `weights` against its bug as every surface ranks; and the unmatched.
fn score(run: &SeedRun, weights: &RankWeights) -> (Vec<Scored>, Vec<Unmatched>) {
    let (seed, changes) = (run.seed, &run.changes);
    let mut scored: Vec<Scored> = Vec::new();
    let mut unmatched: Vec<Unmatched> = Vec::new();
    let truth = run.world.truth();
    let bugs = group_bugs(&run.regressions);
    for r in &run.regressions {
        let Some((injected, true_id, true_at)) = matching(&run.world, &truth, changes, r) else {
            unmatched.push((seed, r.signal.clone(), r.scope.clone(), r.onset));
            continue;
        };
        let members = bugs
            .iter()
            .find(|b| b.members.iter().any(|m| std::ptr::eq(*m, r)))
            .map_or(vec![r], |b| b.members.clone());
        // Every regression detected, as every surface passes them.
        let seen: Vec<&DetectedRegression> = run.regressions.iter().collect();
        let ranked = rank_in_bug_with(weights, r, &members, &seen, &changes.changes, &run.store);
        let rank = ranked.iter().position(|s| s.change.id == true_id);
        let above = &ranked[..rank.unwrap_or(ranked.len())];
        scored.push(Scored {
            seed,
            injected: injected.name.clone(),
            signal: r.signal.clone(),
            scope: r.scope.clone(),
            lead_ms: r.onset - true_at,
            bug_lead_ms: members.iter().map(|m| m.onset).min().unwrap_or(r.onset) - true_at,
            rank: rank.map(|i| i + 1),
            eligible: rank.is_some() || r.onset - true_at >= -ONSET_SLACK_MS,
            above: above.len(),
            above_disjoint: above
                .iter()
                .filter(|s| !overlaps(&run.world, &s.change.scope, injected))
                .count(),
            top: ranked.first().map_or("-".to_owned(), |s| s.why.clone()),
            miss: changes
                .changes
                .iter()
                .find(|c| c.id == true_id)
                .and_then(|t| misses::reason(r, t, &ranked, weights)),
            top_disjoint: ranked
                .first()
                .is_some_and(|s| !overlaps(&run.world, &s.change.scope, injected)),
        });
    }
    (scored, unmatched)
}

/// (first, candidates, decoys disjoint from the injected scope above the truth).
fn totals(scored: &[Scored]) -> (usize, usize, usize) {
    let cand = scored.iter().filter(|s| s.eligible);
    (
        cand.clone().filter(|s| s.rank == Some(1)).count(),
        cand.clone().count(),
        cand.map(|s| s.above_disjoint).sum(),
    )
}

/// `CHANGES_REPLAY_GRID=1`: the goal figures for a grid of weights around
/// the defaults, on both seed sets (tune on the first only): the shares of
/// earlier sightings for a regression that began alone and for one that
/// began with peers, each as (sharing slices, nested).
fn grid(tuned: &[SeedRun], held: &[SeedRun]) {
    println!(
        "\n| earlier share (nested) | arrival share (nested) | tuned first | tuned disjoint above | held-out first | held-out disjoint above |"
    );
    println!("|---|---|---|---|---|---|");
    let d = RankWeights::default();
    for (earlier, nested_earlier) in [(0.3, 0.3), (0.3, 0.4), (0.3, 0.5), (0.5, 0.5), (0.7, 0.7)] {
        for (arrival, nested_arrival) in [
            (0.0, 0.0),
            (0.15, 0.15),
            (0.15, 0.2),
            (0.15, 0.3),
            (0.3, 0.3),
        ] {
            let w = RankWeights {
                arrival_share: arrival,
                earlier_share: earlier,
                nested_arrival_share: nested_arrival,
                nested_earlier_share: nested_earlier,
                ..d
            };
            let sum = |runs: &[SeedRun]| {
                let all: Vec<Scored> = runs.iter().flat_map(|r| score(r, &w).0).collect();
                totals(&all)
            };
            let ((tf, tc, td), (hf, hc, hd)) = (sum(tuned), sum(held));
            let mark = if w == d { " (default)" } else { "" };
            println!(
                "| {earlier} ({nested_earlier}) | {arrival} ({nested_arrival}){mark} | {:.1} % | {td} | {:.1} % | {hd} |",
                100.0 * tf as f64 / tc.max(1) as f64,
                100.0 * hf as f64 / hc.max(1) as f64,
            );
        }
    }
}

fn report(label: &str, seeds: &[u64], runs: &[SeedRun], replay_s: f64) {
    let weights = RankWeights::default();
    let (mut scored, mut unmatched) = (Vec::new(), Vec::new());
    for run in runs {
        let (s, u) = score(run, &weights);
        scored.extend(s);
        unmatched.extend(u);
    }
    let decoys: usize = runs
        .iter()
        .map(|r| {
            r.changes
                .roles
                .values()
                .filter(|role| matches!(role, ChangeRole::Decoy(_)))
                .count()
        })
        .sum();
    println!(
        "\n## {label}: built-in demo, seeds {seeds:?}: {} regressions detected and matched to an injected one, {} not matched; {decoys} decoys in all; replay {replay_s:.1} s",
        scored.len(),
        unmatched.len(),
    );
    println!(
        "\n| injected regression | detected (all seeds) | true change first | ranked lower or not at all | decoys above it, of them disjoint from the injected scope | onset more than the slack before the true change (not counted) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut by_name: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for s in &scored {
        by_name.entry(&s.injected).or_default().push(s);
    }
    let (mut first, mut candidates, mut disjoint_above) = (0, 0, 0);
    for (name, rows) in &by_name {
        let cand: Vec<&&Scored> = rows.iter().filter(|s| s.eligible).collect();
        let f = cand.iter().filter(|s| s.rank == Some(1)).count();
        let above: usize = cand.iter().map(|s| s.above).sum();
        let dis: usize = cand.iter().map(|s| s.above_disjoint).sum();
        first += f;
        candidates += cand.len();
        disjoint_above += dis;
        println!(
            "| {name} | {} | {f} | {} | {above}, {dis} | {} |",
            rows.len(),
            cand.len() - f,
            rows.len() - cand.len()
        );
    }
    println!(
        "\ntrue change ranked first: {first} of {candidates} = {:.1} % (goal ≥ 90 %); decoys with a scope disjoint from the injected regression ranked above the true change: {disjoint_above} (goal 0); regressions whose estimated onset lies more than the slack before the true change (not counted): {}",
        100.0 * first as f64 / candidates.max(1) as f64,
        scored.len() - candidates
    );
    // Late detections of a fault (spreading to other slices hours on) have
    // onsets far from any change that caused it: reported apart.
    let near: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.eligible && s.lead_ms.abs() <= 30 * MINUTE)
        .collect();
    let near_first = near.iter().filter(|s| s.rank == Some(1)).count();
    println!(
        "of them with an estimated onset within 30 min of the true change: {near_first} of {} = {:.1} % first; later onsets: {} of {} first",
        near.len(),
        100.0 * near_first as f64 / near.len().max(1) as f64,
        first - near_first,
        candidates - near.len()
    );
    let lost: Vec<(String, bool)> = scored
        .iter()
        .filter(|s| s.eligible)
        .filter_map(|s| Some((s.miss.clone()?, s.top_disjoint)))
        .collect();
    misses::print(label, &lost);
    if std::env::var_os("CHANGES_REPLAY_DEBUG").is_some() {
        for s in &scored {
            println!(
                "seed {} {} {} in {}: onset {:+.0} min after the true change (its bug's {:+.0}), rank {:?} ({} above, {} disjoint); top: {}; {}",
                s.seed,
                s.injected,
                s.signal,
                scope_text(&s.scope),
                s.lead_ms as f64 / MINUTE as f64,
                s.bug_lead_ms as f64 / MINUTE as f64,
                s.rank,
                s.above,
                s.above_disjoint,
                s.top,
                s.miss.as_deref().unwrap_or("")
            );
        }
        for (seed, signal, scope, onset) in &unmatched {
            println!(
                "seed {seed} unmatched {signal} in {} onset {}",
                scope_text(scope),
                onset
            );
        }
    }
}

fn main() {
    let started = Instant::now();
    let tuned: Vec<SeedRun> = TUNED.iter().map(|&s| replay(s)).collect();
    let tuned_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let held: Vec<SeedRun> = HELD_OUT.iter().map(|&s| replay(s)).collect();
    let held_s = started.elapsed().as_secs_f64();
    report("tuned on", &TUNED, &tuned, tuned_s);
    report("held out", &HELD_OUT, &held, held_s);
    if std::env::var_os("CHANGES_REPLAY_GRID").is_some() {
        grid(&tuned, &held);
    }
    cost::report();
}
