//! The 8-day demo world of the detection replay benchmark: the scenario
//! variant, the detectors' scopes, the ground truth of each injected
//! regression, and the size of the change it makes on a detector.

use std::collections::HashSet;

use super::detect_support::DemoReplay;
// Shared with relay_detect; detect_replay takes it from here.
pub use super::detect_support::plain_pass;
use qualtop::demo::{DemoSignalId, InjectedRegression, LeafId, Scenario};
use qualtop::detect::{ScopeMap, TrackLevel, bernoulli_kl};
use qualtop::protocol::Millis;
use qualtop::store::SliceId;

/// Buckets after onset over which the change size is measured.
pub const CHANGE_WINDOW: i64 = 120;

/// The built-in regressions, twice: (built-in index, shift in minutes, copy).
pub fn week_scenario() -> Scenario {
    let base = Scenario::builtin().expect("built-in scenario");
    let mut out = base.clone();
    out.regressions.clear();
    // Copy 1: the built-in timing (routing bug faint from day 1, stepping
    // up at day 2 + 5 h, overlapping the TPU and compiler bugs).
    // Copy 2: one after the other from day 5.
    let plan: [(usize, f64, u32); 8] = [
        (0, 2.0 * 1440.0, 1),
        (1, 2.0 * 1440.0, 1),
        (2, 2.0 * 1440.0, 1),
        (3, 2.0 * 1440.0, 1),
        (0, 5.0 * 1440.0, 2),
        (1, 5.0 * 1440.0 + 900.0, 2),
        (2, 5.0 * 1440.0 + 900.0, 2),
        (3, 5.0 * 1440.0 + 1500.0, 2),
    ];
    for (i, shift, copy) in plan {
        let mut r = base.regressions[i].clone();
        r.name = format!("{}#{copy}", r.name);
        r.cause = r.cause.map(|c| format!("{c}#{copy}"));
        for k in &mut r.timeline {
            k.at += shift;
        }
        out.regressions.push(r);
    }
    out
}

/// One detector the monitor runs: fleet, a group or a leaf.
#[derive(Debug, Clone)]
pub struct TrackDef {
    pub level: TrackLevel,
    pub scope: ScopeMap,
    pub leaves: Vec<usize>,
}

pub fn tracks(replay: &DemoReplay) -> Vec<TrackDef> {
    let world = &replay.world;
    let mut out = vec![TrackDef {
        level: TrackLevel::Fleet,
        scope: ScopeMap::new(),
        leaves: (0..world.leaves().len()).collect(),
    }];
    let dims = world.dimensions();
    for dim in &dims {
        let mut values: Vec<&str> = world.leaves().iter().filter_map(|l| l.value(dim)).collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            out.push(TrackDef {
                level: TrackLevel::Group,
                scope: ScopeMap::from([(dim.clone(), v.to_owned())]),
                leaves: (0..world.leaves().len())
                    .filter(|&i| world.leaves()[i].value(dim) == Some(v))
                    .collect(),
            });
        }
    }
    for (i, l) in world.leaves().iter().enumerate() {
        out.push(TrackDef {
            level: TrackLevel::Leaf,
            scope: dims
                .iter()
                .map(|d| (d.clone(), l.value(d).unwrap_or_default().to_owned()))
                .collect(),
            leaves: vec![i],
        });
    }
    out
}

/// What the replay knows of an injected regression.
pub struct Truth {
    pub injected: InjectedRegression,
    /// Offsets (buckets from the anchor).
    pub onset: i64,
    /// When it becomes material: the first minute its level reaches a
    /// quarter of its peak (the routing bug's step up; others: onset).
    pub strong: i64,
    pub end: i64,
    pub leaves: HashSet<usize>,
    pub signals: Vec<String>,
}

pub fn truths(replay: &DemoReplay) -> Vec<Truth> {
    let w = &replay.world;
    w.truth()
        .into_iter()
        .map(|t| {
            let peak = t.keyframes.iter().map(|k| k.1).fold(0.0, f64::max);
            let mut strong = t.onset_ms;
            for pair in t.keyframes.windows(2) {
                let ((t0, l0), (t1, l1)) = (pair[0], pair[1]);
                let want = peak / 4.0;
                if l0 < want && l1 >= want {
                    let f = (want - l0) / (l1 - l0);
                    strong = t0 + ((t1 - t0) as f64 * f) as Millis;
                    break;
                }
                if l0 >= want {
                    strong = t0;
                    break;
                }
            }
            Truth {
                onset: w.offset_of(t.onset_ms),
                strong: w.offset_of(strong),
                end: w.offset_of(t.end_ms),
                leaves: t.leaves.iter().map(|l: &LeafId| l.0).collect(),
                signals: t.signals.clone(),
                injected: t,
            }
        })
        .collect()
}

/// The change a regression makes on one track and signal, measured over
/// CHANGE_WINDOW buckets from its strong onset.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub n: f64,
    pub p0: f64,
    pub p1: f64,
    pub phi: f64,
    /// Information n·KL(p₁‖p₀)/φ of each bucket from the onset, from its
    /// own expected rates: a regression that ramps up (routing: 5 minutes
    /// from a quarter of its peak) carries less in its first buckets.
    pub info: [f64; CHANGE_WINDOW as usize],
}

impl Change {
    /// Buckets until the evidence a test knowing the change could gather
    /// reaches ln(ARL₀) (fractional); past the window, at the mean rate.
    pub fn limit(&self, arl0: f64) -> f64 {
        let h = arl0.ln();
        let mut sum = 0.0;
        for (k, &step) in self.info.iter().enumerate() {
            if step > 0.0 && sum + step >= h {
                return k as f64 + (h - sum) / step;
            }
            sum += step;
        }
        let kl = self.n * bernoulli_kl(self.p1, self.p0) / self.phi;
        if kl > 0.0 {
            CHANGE_WINDOW as f64 + (h - sum) / kl
        } else {
            f64::INFINITY
        }
    }
}

pub fn measure_change(
    replay: &DemoReplay,
    track: &TrackDef,
    signal: DemoSignalId,
    strong: i64,
) -> Change {
    let w = &replay.world;
    let store = &replay.store;
    let sig = store
        .signal_by_name(&w.signals()[signal.0].spec.name)
        .expect("signal in store");
    let sums = |from: i64, to: i64, expected: bool| {
        let (mut n, mut p, mut buckets, mut pearson) = (0.0, 0.0, 0usize, 0.0);
        for off in from..to {
            let ts = w.bucket_ts(off);
            let (mut bn, mut bg, mut bp) = (0.0, 0.0, 0.0);
            for &l in &track.leaves {
                let Some(r) = store.ratio(sig, SliceId(l as u32), store.bucket_of(ts)) else {
                    continue;
                };
                let rate = if expected {
                    w.expected_rate(LeafId(l), signal, ts)
                } else {
                    w.baseline_rate(LeafId(l), signal, ts)
                }
                .unwrap_or(0.0);
                bn += r.total as f64;
                bg += r.good as f64;
                bp += r.total as f64 * rate;
            }
            if bn > 0.0 {
                let q = (bp / bn).clamp(1e-6, 1.0 - 1e-6);
                pearson += (bg - bn * q).powi(2) / (bn * q * (1.0 - q));
                buckets += 1;
            }
            n += bn;
            p += bp;
        }
        (n, p, buckets, pearson)
    };
    let (n1, e1, b1, _) = sums(strong, strong + CHANGE_WINDOW, true);
    let (n0, e0, _, _) = sums(strong, strong + CHANGE_WINDOW, false);
    let (_, _, bh, ph) = sums(strong - 240, strong, true);
    let phi = if bh > 1 {
        (ph / (bh - 1) as f64).max(1.0)
    } else {
        1.0
    };
    let mut info = [0.0; CHANGE_WINDOW as usize];
    for (k, slot) in info.iter_mut().enumerate() {
        let at = strong + k as i64;
        let (n, e1, _, _) = sums(at, at + 1, true);
        let (n0, e0, _, _) = sums(at, at + 1, false);
        if n > 0.0 && n0 > 0.0 {
            *slot = n * bernoulli_kl(e1 / n, e0 / n0) / phi;
        }
    }
    Change {
        n: n1 / b1.max(1) as f64,
        p0: e0 / n0.max(1.0),
        p1: e1 / n1.max(1.0),
        phi,
        info,
    }
}
