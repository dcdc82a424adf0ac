//! Detection on the demo world replayed offline over eight simulated days
//! (`cargo bench --bench detect_replay`), against the world's ground truth.
//!
//! The built-in scenario's events all lie within about a day, so the replay
//! uses a variant built in code: the same regressions (routing bug with its
//! faint phase, TPU misconfiguration on two model groups, TPU compiler bug)
//! injected twice — copy 1 with the built-in overlapping timing from day 2,
//! copy 2 from day 5 one after the other — with healthy days around them.
//!
//! Per injected regression: the delay in buckets from its onset (for the
//! routing bug: the step up from its faint phase) to the first alarm on a
//! track whose leaves it touches, next to the information limit
//! ln(ARL₀)/KL for that track (n · KL(p₁‖p₀) / φ per bucket), the best
//! limit over all tracks it touches, and a static alert (rate below the
//! healthy rate − 5 points for 5 buckets, on the same tracks). Then false
//! alarms per track-day on healthy tracks and time, per level and signal.
//! `DETECT_REPLAY_DEBUG=1` also lists every false alarm and leaf alarm.
//! First, the detector alone on synthetic drops by (size, shape) and on
//! null runs (see `detect_replay_synth.rs`).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the replay, not all of it
#[path = "../it/support/detect.rs"]
mod detect_support;
#[path = "detect_replay_synth.rs"]
mod synth;
#[path = "detect_replay_world.rs"]
mod world;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use detect_support::{DemoReplay, MINUTE};
use qualtop::demo::{DemoSignalId, LeafId};
use qualtop::detect::{DetectionEngine, DetectionSettings, ScopeMap, TrackLevel};
use qualtop::protocol::Millis;
use qualtop::store::{Ratio, SliceId, Store};
use qualtop::text::scope::scope_text as describe;
use world::{CHANGE_WINDOW, Change, measure_change, plain_pass, tracks, truths, week_scenario};

const DAY: i64 = 1440;
const DAYS: i64 = 8;
/// Buckets before false alarms are counted (the reference windows fill).
const WARMUP: i64 = 240;
/// Buckets after a regression's end during which its tracks are not
/// counted as healthy (the statistic comes down from its cap).
const RECOVERY: i64 = 360;
/// An alarm later than this after onset is not a detection of it.
const MAX_DELAY: i64 = 600;

/// Static alert state per (track, signal): buckets in a row below the
/// healthy rate − 5 points.
#[derive(Default, Clone)]
struct StaticAlert {
    run: u32,
    alarms: Vec<i64>,
}

/// A track alarm as the engine logged it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Alarm {
    signal: String,
    level: TrackLevel,
    scope: ScopeMap,
    detected: i64,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn main() {
    // Tuning runs: the GLR margin and window penalty from the environment.
    let env = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let d = DetectionSettings::default();
    let settings = DetectionSettings {
        glr_margin: env("DETECT_REPLAY_GLR_MARGIN", d.glr_margin),
        glr_floor: env("DETECT_REPLAY_GLR_FLOOR", d.glr_floor),
        glr_short_margin: env("DETECT_REPLAY_GLR_SHORT", d.glr_short_margin),
        glr_window_penalty: env("DETECT_REPLAY_GLR_PENALTY", d.glr_window_penalty),
        glr_skew_ref: env("DETECT_REPLAY_GLR_SKEW_REF", d.glr_skew_ref),
        glr_short_margin_least: env("DETECT_REPLAY_GLR_SHORT_LEAST", d.glr_short_margin_least),
        glr_guarded: std::env::var_os("DETECT_REPLAY_GLR_UNGUARDED").is_none() && d.glr_guarded,
        ..d
    };
    println!(
        "GLR threshold margin {} nats (+ {} / buckets, in full from an excess skew of {}, at least {} / buckets), size floor {} × the smallest change, window penalty {} × ln(buckets), against {}",
        settings.glr_margin,
        settings.glr_short_margin,
        settings.glr_skew_ref,
        settings.glr_short_margin_least,
        settings.glr_floor,
        settings.glr_window_penalty,
        if settings.glr_guarded {
            "the guarded level"
        } else {
            "the baseline"
        }
    );
    let group = settings.monitor_config(MINUTE).detector;
    synth::delay_table(group);
    synth::false_alarm_table(group, 100, 7);
    if std::env::var_os("DETECT_REPLAY_SYNTH_ONLY").is_some() {
        return;
    }
    let mut replay = DemoReplay::new(week_scenario(), 2025, 0, DAY);
    let track_defs = tracks(&replay);
    let truth = truths(&replay);
    let w_signals: Vec<(DemoSignalId, String)> = replay
        .world
        .signals()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.spec.kind == qualtop::protocol::SignalKind::Ratio)
        .map(|(i, s)| (DemoSignalId(i), s.spec.name.clone()))
        .collect();
    println!(
        "demo world offline: {} leaves, {} tracks per signal, {} ratio signals, {DAYS} days of 1-minute buckets",
        replay.world.leaves().len(),
        track_defs.len(),
        w_signals.len()
    );
    let mut engine = DetectionEngine::new(settings);
    // The same replay with leaves at the plain per-track ARL₀, to check the
    // false-alarm calibration of the detector itself.
    let mut plain = DetectionEngine::new(DetectionSettings {
        leaf_arl0_factor: 1.0,
        ..settings
    });
    let mut statics = vec![vec![StaticAlert::default(); w_signals.len()]; track_defs.len()];
    let mut alarms: HashSet<Alarm> = HashSet::new();
    let mut plain_alarms: HashSet<Alarm> = HashSet::new();
    let mut shown: Shown = HashMap::new();
    let mut folded: Folded = HashMap::new();
    let mut changes: HashMap<(usize, usize, usize), Change> = HashMap::new();
    let started = Instant::now();
    let (mut step_time, mut reference) = (0.0, 0.0);
    let names: Vec<String> = w_signals.iter().map(|(_, n)| n.clone()).collect();
    for t in 0..DAYS * DAY {
        replay.feed_bucket();
        let s = Instant::now();
        engine.step(&replay.store, usize::MAX);
        step_time += s.elapsed().as_secs_f64();
        plain.step(&replay.store, usize::MAX);
        // Static alerts on the bucket just completed.
        let ts = replay.world.bucket_ts(t);
        let b = replay.store.bucket_of(ts);
        reference += plain_pass(&replay.store, &names, b);
        for (k, (signal, name)) in w_signals.iter().enumerate() {
            let sig = replay.store.signal_by_name(name).expect("signal");
            for (ti, def) in track_defs.iter().enumerate() {
                let (mut sum, mut base) = (Ratio::default(), 0.0);
                for &l in &def.leaves {
                    if let Some(r) = replay.store.ratio(sig, SliceId(l as u32), b) {
                        sum.add(r);
                        base += r.total as f64
                            * replay
                                .world
                                .baseline_rate(LeafId(l), *signal, ts)
                                .unwrap_or(0.0);
                    }
                }
                let st = &mut statics[ti][k];
                let low = sum.total > 0
                    && (sum.good as f64 / sum.total as f64) < base / sum.total as f64 - 0.05;
                st.run = if low { st.run + 1 } else { 0 };
                if st.run == 5 {
                    st.alarms.push(t);
                }
            }
        }
        // Change sizes, while the data is still in the ring.
        for (ri, tr) in truth.iter().enumerate() {
            if t != tr.strong + CHANGE_WINDOW {
                continue;
            }
            for (k, (signal, name)) in w_signals.iter().enumerate() {
                if !tr.signals.contains(name) {
                    continue;
                }
                for (ti, def) in track_defs.iter().enumerate() {
                    if def.leaves.iter().any(|l| tr.leaves.contains(l)) {
                        changes.insert(
                            (ri, ti, k),
                            measure_change(&replay, def, *signal, tr.strong),
                        );
                    }
                }
            }
        }
        if t % 360 == 359 {
            collect(
                &engine,
                &replay.store,
                &mut alarms,
                Some((&mut shown, &mut folded)),
            );
            collect(&plain, &replay.store, &mut plain_alarms, None);
        }
    }
    collect(
        &engine,
        &replay.store,
        &mut alarms,
        Some((&mut shown, &mut folded)),
    );
    collect(&plain, &replay.store, &mut plain_alarms, None);
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "replay took {elapsed:.1} s; the display engine's steps {:.1} s = {:.2} ms per bucket, {:.0}x a plain pass reading and summing the same bucket of every slice per ratio signal ({:.3} ms per bucket; no goal set)",
        step_time,
        step_time * 1e3 / (DAYS * DAY) as f64,
        step_time / reference,
        reference * 1e3 / (DAYS * DAY) as f64
    );

    if let Some(monitor) = engine.monitor() {
        let mut line = String::from("leaf tracks tested (not learning) at the end:");
        for (_, name) in &w_signals {
            let sig = replay.store.signal_by_name(name).expect("signal");
            let leaves: Vec<_> = monitor
                .findings()
                .into_iter()
                .filter(|f| f.signal == sig && matches!(f.key, qualtop::detect::TrackKey::Slice(_)))
                .collect();
            let tested = leaves
                .iter()
                .filter(|f| !matches!(f.status, qualtop::detect::Status::Learning))
                .count();
            line.push_str(&format!(" {name} {tested}/{};", leaves.len()));
        }
        println!("{line}");
    }
    let arl0 = |level: TrackLevel| {
        let cfg = settings.monitor_config(MINUTE);
        match level {
            TrackLevel::Leaf => cfg.leaf_detector.arl0_buckets,
            _ => cfg.detector.arl0_buckets,
        }
    };
    let track_index: HashMap<&ScopeMap, usize> = track_defs
        .iter()
        .enumerate()
        .map(|(i, d)| (&d.scope, i))
        .collect();
    let signal_index: HashMap<&str, usize> = w_signals
        .iter()
        .enumerate()
        .map(|(k, (_, n))| (n.as_str(), k))
        .collect();

    println!("\n## Delay per injected regression (buckets = data minutes)\n");
    println!(
        "| regression | onset | first alarm (track, signal) | delay | limit there | ratio | best limit (track) | static, fleet/group (× cusum) | static, any track | shown as |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let statics = &statics;
    let mut ratios = Vec::new();
    let mut static_ratios = Vec::new();
    for (ri, tr) in truth.iter().enumerate() {
        let touches = |scope: &ScopeMap| {
            track_index
                .get(scope)
                .is_some_and(|&ti| track_defs[ti].leaves.iter().any(|l| tr.leaves.contains(l)))
        };
        let window = tr.strong..=tr.strong + MAX_DELAY;
        let first = alarms
            .iter()
            .filter(|a| {
                tr.signals.contains(&a.signal) && window.contains(&a.detected) && touches(&a.scope)
            })
            .min_by_key(|a| (a.detected, a.level));
        let best = changes
            .iter()
            .filter(|((r, _, _), _)| *r == ri)
            .map(|((_, ti, k), c)| (c.limit(arl0(track_defs[*ti].level)), *ti, *k))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let static_first = |levels: &[TrackLevel]| {
            track_defs
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    levels.contains(&d.level) && d.leaves.iter().any(|l| tr.leaves.contains(l))
                })
                .flat_map(|(ti, _)| {
                    w_signals
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, n))| tr.signals.contains(n))
                        .flat_map(move |(k, _)| statics[ti][k].alarms.iter().copied())
                })
                .filter(|t| window.contains(t))
                .min()
        };
        let static_groups = static_first(&[TrackLevel::Fleet, TrackLevel::Group]);
        let static_any = static_first(&[TrackLevel::Fleet, TrackLevel::Group, TrackLevel::Leaf]);
        let scoped = first.and_then(|a| folded.get(a));
        let (first_text, delay, limit_there) = match first {
            Some(a) => {
                // Buckets of data seen: the alarm bucket counts.
                let delay = (a.detected - tr.strong + 1) as f64;
                let limit = track_index.get(&a.scope).and_then(|&ti| {
                    changes
                        .get(&(ri, ti, signal_index[a.signal.as_str()]))
                        .map(|c| c.limit(arl0(a.level)))
                });
                (
                    format!("{} {} {}", a.level.as_str(), describe(&a.scope), a.signal),
                    Some(delay),
                    limit,
                )
            }
            None => ("none".to_owned(), None, None),
        };
        let ratio = match (delay, limit_there) {
            (Some(d), Some(l)) if l.is_finite() && l > 0.0 => {
                // Nothing is known before one bucket completes.
                let r = d / l.max(1.0);
                ratios.push(r);
                format!("{r:.2}")
            }
            _ => "-".to_owned(),
        };
        let static_text = |at: Option<i64>, keep: bool, ratios: &mut Vec<f64>| match (at, delay) {
            (Some(s), Some(d)) => {
                let sd = (s - tr.strong + 1) as f64;
                if keep {
                    ratios.push(sd / d.max(1.0));
                }
                format!("{sd:.0} ({:.1}×)", sd / d.max(1.0))
            }
            (Some(s), None) => format!("{}", s - tr.strong + 1),
            (None, _) => "never".to_owned(),
        };
        let static_groups_text = static_text(static_groups, true, &mut static_ratios);
        let static_any_text = static_text(static_any, false, &mut static_ratios);
        let best_text = best.map_or("-".to_owned(), |(l, ti, k)| {
            format!(
                "{l:.1} ({} {} {})",
                track_defs[ti].level.as_str(),
                describe(&track_defs[ti].scope),
                w_signals[k].1
            )
        });
        println!(
            "| {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            tr.injected.name,
            fmt_offset(tr.strong),
            if tr.onset < tr.strong - 10 {
                format!(" (faint from {})", fmt_offset(tr.onset))
            } else {
                String::new()
            },
            first_text,
            delay.map_or("-".to_owned(), |d| format!("{d:.0}")),
            limit_there.map_or("-".to_owned(), |l| format!("{l:.1}")),
            ratio,
            best_text,
            static_groups_text,
            static_any_text,
            scoped.map_or("-".to_owned(), describe),
        );
        // Did anything fire during the faint phase?
        if tr.onset < tr.strong - 10 {
            let faint = alarms
                .iter()
                .filter(|a| {
                    tr.signals.contains(&a.signal)
                        && (tr.onset + WARMUP..tr.strong).contains(&a.detected)
                        && track_index.get(&a.scope).is_some_and(|&ti| {
                            track_defs[ti].leaves.iter().all(|l| tr.leaves.contains(l))
                        })
                })
                .count();
            println!(
                "|  | faint phase {}..{} |  alarms on tracks inside its scope: {faint} |  |  |  |  |  |  |  |",
                fmt_offset(tr.onset),
                fmt_offset(tr.strong)
            );
        }
    }
    println!(
        "\ndelay / limit at the alarming track: median {:.2}, max {:.2}; static alert on fleet/group tracks: {}",
        median(ratios.clone()).unwrap_or(f64::NAN),
        ratios.iter().cloned().fold(f64::NAN, f64::max),
        match median(static_ratios) {
            Some(m) => format!("median {m:.1}× the CUSUM delay"),
            None => "never fired (every group-level drop is under 5 points)".to_owned(),
        }
    );

    // False alarms on healthy tracks and time.
    let healthy = |ti: usize, signal: &str, t: i64| -> bool {
        t >= WARMUP
            && !truth.iter().any(|tr| {
                tr.signals.iter().any(|s| s == signal)
                    && (tr.onset..=tr.end + RECOVERY).contains(&t)
                    && track_defs[ti].leaves.iter().any(|l| tr.leaves.contains(l))
            })
    };
    println!("\n## False alarms per track-day on healthy tracks and time\n");
    println!(
        "| level | signal | healthy track-days | alarms (leaf ARL₀ ×{}) | per track-day | alarms (leaf ARL₀ ×1) | per track-day | static per track-day |",
        settings.leaf_arl0_factor
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut totals: BTreeMap<TrackLevel, (f64, usize, usize)> = BTreeMap::new();
    for level in [TrackLevel::Fleet, TrackLevel::Group, TrackLevel::Leaf] {
        for (k, (_, name)) in w_signals.iter().enumerate() {
            let mut exposure = 0i64;
            let mut static_fa = 0usize;
            for (ti, def) in track_defs.iter().enumerate() {
                if def.level != level {
                    continue;
                }
                exposure += (0..DAYS * DAY).filter(|&t| healthy(ti, name, t)).count() as i64;
                static_fa += statics[ti][k]
                    .alarms
                    .iter()
                    .filter(|&&t| healthy(ti, name, t))
                    .count();
            }
            let count = |set: &HashSet<Alarm>| {
                set.iter()
                    .filter(|a| a.level == level && &a.signal == name)
                    .filter(|a| {
                        track_index
                            .get(&a.scope)
                            .is_some_and(|&ti| healthy(ti, name, a.detected))
                    })
                    .count()
            };
            let (shown_fa, plain_fa) = (count(&alarms), count(&plain_alarms));
            let days = exposure as f64 / DAY as f64;
            let e = totals.entry(level).or_default();
            e.0 += days;
            e.1 += shown_fa;
            e.2 += plain_fa;
            println!(
                "| {} | {} | {:.0} | {} | {:.4} | {} | {:.4} | {:.4} |",
                level.as_str(),
                name,
                days,
                shown_fa,
                shown_fa as f64 / days.max(1e-9),
                plain_fa,
                plain_fa as f64 / days.max(1e-9),
                static_fa as f64 / days.max(1e-9)
            );
        }
    }
    if let Some(debug) = std::env::var_os("DETECT_REPLAY_DEBUG") {
        // `DETECT_REPLAY_DEBUG=all`: every regression's alarms, not only leaves'.
        let all = debug == "all";
        let mut fa: Vec<&Alarm> = alarms
            .iter()
            .filter(|a| {
                track_index
                    .get(&a.scope)
                    .is_some_and(|&ti| healthy(ti, &a.signal, a.detected))
            })
            .collect();
        fa.sort_by_key(|a| a.detected);
        for a in fa {
            println!(
                "false alarm {} {} {} {}",
                fmt_offset(a.detected),
                a.level.as_str(),
                a.signal,
                describe(&a.scope)
            );
        }
        for r in engine
            .detections(&replay.store)
            .regressions
            .iter()
            .filter(|r| all || r.alarms.iter().any(|a| a.level == TrackLevel::Leaf))
        {
            for a in &r.alarms {
                println!(
                    "  {} {} {} onset {} detected {} ended {:?} delta {:.2} (reg {:.2}: {:.4} -> {:.4})",
                    r.signal,
                    a.level.as_str(),
                    describe(&a.scope),
                    fmt_offset(replay_offset(a.onset)),
                    fmt_offset(replay_offset(a.detected_at)),
                    a.ended_at.map(|e| fmt_offset(replay_offset(e))),
                    a.delta_pp,
                    r.delta_pp,
                    r.baseline,
                    r.current
                );
            }
        }
    }
    for (level, (days, shown_fa, plain_fa)) in &totals {
        println!(
            "{}: {days:.0} healthy track-days, {:.4} false alarms per track-day (leaf ARL₀ ×{}), {:.4} at ×1; target {:.4}",
            level.as_str(),
            *shown_fa as f64 / days,
            settings.leaf_arl0_factor,
            *plain_fa as f64 / days,
            1.0 / settings.false_alarm_days
        );
    }
    let false_shown = shown
        .iter()
        .filter(|((s, d), scope)| {
            *d >= WARMUP
                && !truth.iter().any(|tr| {
                    tr.signals.contains(s)
                        && (tr.onset..=tr.end + RECOVERY).contains(d)
                        && tr.leaves.iter().any(|&l| {
                            let leaf = &replay.world.leaves()[l];
                            scope.iter().all(|(k, v)| leaf.value(k) == Some(v.as_str()))
                        })
                })
        })
        .count();
    println!(
        "\nregressions shown on screen (after folding): {} in {DAYS} days, {false_shown} of them outside any injected regression = {:.2} per day",
        shown.len(),
        false_shown as f64 / ((DAYS * DAY - WARMUP) as f64 / DAY as f64)
    );
}

/// Regressions shown: (signal, detected) → the scope first shown.
type Shown = HashMap<(String, i64), ScopeMap>;
/// The scope of the regression each alarm was first folded into.
type Folded = HashMap<Alarm, ScopeMap>;

/// Adds the engine's track alarms (and the regressions it shows, and where
/// each alarm was folded) to the sets.
fn collect(
    e: &DetectionEngine,
    store: &Store,
    into: &mut HashSet<Alarm>,
    shown: Option<(&mut Shown, &mut Folded)>,
) {
    let d = e.detections(store);
    let mut shown = shown;
    for r in &d.regressions {
        for a in &r.alarms {
            let alarm = Alarm {
                signal: r.signal.clone(),
                level: a.level,
                scope: a.scope.clone(),
                detected: replay_offset(a.detected_at),
            };
            if let Some((_, folded)) = shown.as_mut() {
                folded
                    .entry(alarm.clone())
                    .or_insert_with(|| r.scope.clone());
            }
            into.insert(alarm);
        }
        if let Some((shown, _)) = shown.as_mut() {
            shown
                .entry((r.signal.clone(), replay_offset(r.detected_at)))
                .or_insert_with(|| r.scope.clone());
        }
    }
}

fn replay_offset(ms: Millis) -> i64 {
    (ms - detect_support::ANCHOR).div_euclid(MINUTE)
}

fn fmt_offset(off: i64) -> String {
    format!(
        "d{}+{:02}:{:02}",
        off.div_euclid(DAY),
        off.rem_euclid(DAY) / 60,
        off.rem_euclid(60)
    )
}
