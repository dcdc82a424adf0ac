//! How the built-in demo's story reads on screen, replayed offline
//! (`cargo bench --bench demo_story`): for twelve seeds the world is fed
//! bucket by bucket into a 6 h store (what the built-in demo's screen
//! holds), the detection engine runs as the TUI's does, and every 30
//! minutes of data from +90 to +900 the bugs in force, as the header and
//! `check` count them (`cli::check_report::reported_bugs`), are set against
//! the faults in force.
//!
//! A fault is one `cause` of the scenario: from the keyframe where its
//! level starts rising to half its peak, to the last keyframe where it is
//! back at zero. It counts as in force from 20 minutes after its start (time
//! to be found) to 90 minutes after its end (a bug ends once its place has
//! read back for an hour). Reported per seed:
//! - **off**: the sum over the checks of |bugs in force − faults in force|;
//!   `over` and `under` split it;
//! - **stray onsets**: bugs in force whose onset lies more than 30 minutes
//!   from every fault's start, summed over the checks (a fault listed under
//!   another's onset, or a late sighting counted as a bug of its own);
//! - **clear**: minutes from the last fault's end until no bug is in force
//!   (read every 10 minutes up to +2,000).
//!
//! No goal is set here: this is the yardstick for changes to how
//! regressions are grouped, dated and ended (docs/measurements.md).
//!
//! `DEMO_STORY_DEBUG=1` also prints, at every check that is off or holds a
//! stray onset, each bug in force with its members; `DEMO_STORY_SEEDS=2,2025`
//! replays only those seeds.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the replay only
#[path = "../it/support/detect.rs"]
mod detect_support;

use std::collections::BTreeMap;
use std::time::Instant;

use detect_support::{DemoReplay, engine, member_lines, minute};
use qualtop::cli::check_report::reported_bugs;
use qualtop::demo::Scenario;

/// The changes_replay bench's tuned and held-out seeds.
const SEEDS: [u64; 12] = [1, 2, 3, 2025, 4242, 9001, 5, 6, 7, 8, 9, 10];
/// The built-in demo's window.
const RING: i64 = 360;
const FIRST_CHECK: i64 = 90;
const LAST_CHECK: i64 = 900;
const EVERY: i64 = 30;
const FOUND_AFTER: i64 = 20;
const ENDED_WITHIN: i64 = 90;
const NEAR: i64 = 30;
const CLEAR_BY: i64 = 2_000;
/// Minutes between reads (the checks fall on every third).
const CLEAR_STEP: i64 = 10;

/// Each cause's (start, end) in minutes from the anchor, from the
/// scenario's keyframes.
fn faults(scenario: &Scenario) -> Vec<(String, i64, i64)> {
    let mut spans: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for r in &scenario.regressions {
        let peak = r.timeline.iter().map(|k| k.level).fold(0.0, f64::max);
        let Some(up) = r.timeline.iter().position(|k| k.level >= peak / 2.0) else {
            continue;
        };
        let start = r.timeline[up.saturating_sub(1)].at;
        let end = r
            .timeline
            .iter()
            .rev()
            .find(|k| k.level == 0.0 && k.at > start)
            .map_or(f64::INFINITY, |k| k.at);
        let cause = r.cause.clone().unwrap_or_else(|| r.name.clone());
        let span = spans.entry(cause).or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end));
    }
    spans
        .into_iter()
        .map(|(c, (s, e))| (c, s.round() as i64, e.round() as i64))
        .collect()
}

struct Story {
    over: i64,
    under: i64,
    stray: i64,
    clear: Option<i64>,
    line: String,
}

fn replay(seed: u64, faults: &[(String, i64, i64)]) -> Story {
    let mut replay = DemoReplay::new(Scenario::builtin().unwrap(), seed, -RING, RING);
    let mut live = engine();
    let last_end = faults.iter().map(|f| f.2).max().unwrap_or(0);
    let mut story = Story {
        over: 0,
        under: 0,
        stray: 0,
        clear: None,
        line: String::new(),
    };
    let mut at = -RING;
    let mut t = FIRST_CHECK;
    while t <= CLEAR_BY {
        replay.run(&mut live, t - at);
        at = t;
        let d = live.detections(&replay.store);
        let bugs = reported_bugs(&d.regressions, &replay.store);
        let active: Vec<_> = bugs.iter().filter(|b| b.active).collect();
        if t <= LAST_CHECK && (t - FIRST_CHECK) % EVERY == 0 {
            let expect = faults
                .iter()
                .filter(|(_, s, e)| t >= s + FOUND_AFTER && t <= e + ENDED_WITHIN)
                .count() as i64;
            let stray = active
                .iter()
                .filter(|b| {
                    let m = minute(b.onset);
                    faults.iter().all(|(_, s, _)| (m - s).abs() > NEAR)
                })
                .count() as i64;
            let n = active.len() as i64;
            story.over += (n - expect).max(0);
            story.under += (expect - n).max(0);
            story.stray += stray;
            if debug() && (n != expect || stray > 0) {
                println!("seed {seed} +{t}: {n} bugs in force, {expect} faults");
                for b in &active {
                    println!(
                        "  {} since +{}{}",
                        b.where_text,
                        minute(b.onset),
                        member_lines(b)
                    );
                }
            }
            story.line.push_str(&format!(" {n}/{expect}"));
            if stray > 0 {
                story.line.push_str(&format!("!{stray}"));
            }
        }
        if story.clear.is_none() && t >= last_end && active.is_empty() {
            story.clear = Some(t - last_end);
        }
        if story.clear.is_some() && t >= LAST_CHECK {
            break;
        }
        t += CLEAR_STEP;
    }
    story
}

fn debug() -> bool {
    std::env::var_os("DEMO_STORY_DEBUG").is_some()
}

/// `DEMO_STORY_SEEDS` (comma-separated), or every seed.
fn seeds() -> Vec<u64> {
    std::env::var("DEMO_STORY_SEEDS").map_or(SEEDS.to_vec(), |s| {
        s.split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .expect("DEMO_STORY_SEEDS: comma-separated seeds")
            })
            .collect()
    })
}

fn main() {
    let scenario = Scenario::builtin().unwrap();
    let faults = faults(&scenario);
    println!(
        "faults (minutes from the anchor): {}",
        faults
            .iter()
            .map(|(c, s, e)| format!("{c} {s}..{e}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "every {EVERY} min from +{FIRST_CHECK} to +{LAST_CHECK}: bugs in force / faults in force (!n: bugs with no fault's start within {NEAR} min of their onset)"
    );
    println!("| seed | off (over, under) | stray onsets | clear after the last fault | checks |");
    println!("|---|---|---|---|---|");
    let started = Instant::now();
    let (mut over, mut under, mut stray) = (0, 0, 0);
    let mut clears = Vec::new();
    let seeds = seeds();
    for &seed in &seeds {
        let s = replay(seed, &faults);
        println!(
            "| {seed} | {} ({}, {}) | {} | {} |{} |",
            s.over + s.under,
            s.over,
            s.under,
            s.stray,
            s.clear
                .map_or(format!("not by +{CLEAR_BY}"), |m| format!("{m} min")),
            s.line
        );
        over += s.over;
        under += s.under;
        stray += s.stray;
        clears.push(s.clear.unwrap_or(i64::MAX));
    }
    clears.sort_unstable();
    let shown = |m: i64| {
        if m == i64::MAX {
            "never".to_owned()
        } else {
            m.to_string()
        }
    };
    println!(
        "all {} seeds: off {} (over {over}, under {under}); stray onsets {stray}; clear after the last fault: median {} min ({}–{}); {:.0} s",
        seeds.len(),
        over + under,
        shown(clears[clears.len() / 2]),
        shown(clears[0]),
        shown(clears[clears.len() - 1]),
        started.elapsed().as_secs_f64()
    );
}
