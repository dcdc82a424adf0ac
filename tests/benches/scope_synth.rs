//! The scope search on RiskLoc-style cases with 1–8 causes of 1–3
//! dimensions each, on 28,800 leaves (10 × 12 × 8 × 6 × 5), as additive
//! counts and as pass rates of a few tens of cases a minute: F1 per
//! (causes, depth) cell (exact scopes), nested causes, and ms per case.
//! Fixed seeds. `cargo bench --bench scope_synth [-- CASES_PER_CELL]`.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::time::Instant;

use qualtop::detect::ScopeConfig;
use qualtop::detect::scope_synth::{SynthKind, SynthSpec, f1, synth_case};

/// Mean F1 and every case's search time (ms) of one cell.
fn cell(spec: &SynthSpec, cases: u64, seed0: u64, times: &mut Vec<f64>) -> f64 {
    let cfg = ScopeConfig::default();
    let mut sum = 0.0;
    for k in 0..cases {
        let case = synth_case(spec, seed0 + k);
        let start = Instant::now();
        let causes = case.table.localize(&cfg);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        let found: Vec<_> = causes.iter().map(|c| case.table.name(c)).collect();
        sum += f1(&found, &case.truth);
    }
    sum / cases as f64
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let cases: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    println!(
        "{cases} cases per cell; 28,800 leaves (dims 10,12,8,6,5); F1 of the exact scopes, mean per case"
    );
    let (mut all_f1, mut all_n) = (0.0, 0usize);
    let mut all_times = Vec::new();
    for (k, kind, what) in [
        (
            0u64,
            SynthKind::Additive,
            "additive: forecast noise 0-10 %, drop 20-60 %",
        ),
        (
            1,
            SynthKind::Ratio,
            "ratio: ~20 cases/min a leaf, 30-min baseline, 10-min window, drop 3-15 pp",
        ),
    ] {
        println!("\n{what}");
        println!(
            "{:>7} {:>8} {:>8} {:>8}",
            "causes", "depth 1", "depth 2", "depth 3"
        );
        let mut times = Vec::new();
        let (mut kind_f1, mut kind_n) = (0.0, 0usize);
        for causes in 1..=8usize {
            let mut row = format!("{causes:>7}");
            for depth in 1..=3usize {
                let spec = SynthSpec::bench(causes, depth, kind);
                let seed = k * 1_000_000 + causes as u64 * 10_000 + depth as u64 * 1000;
                let f = cell(&spec, cases, seed, &mut times);
                row.push_str(&format!(" {f:>8.2}"));
                kind_f1 += f * cases as f64;
                kind_n += cases as usize;
            }
            println!("{row}");
        }
        let mut row = format!("{:>7}", "nested");
        for depth in 1..=2usize {
            let spec = SynthSpec {
                nested: true,
                ..SynthSpec::bench(2, depth, kind)
            };
            let seed = k * 1_000_000 + 900_000 + depth as u64 * 1000;
            let f = cell(&spec, cases, seed, &mut times);
            row.push_str(&format!(" {f:>8.2}"));
            kind_f1 += f * cases as f64;
            kind_n += cases as usize;
        }
        println!("{row}        -   (a cause and a refinement of it, both true)");
        println!(
            "F1 {:.2} over {kind_n} cases; ms per case: median {:.0}, p95 {:.0}, max {:.0}",
            kind_f1 / kind_n as f64,
            percentile(&mut times, 0.5),
            percentile(&mut times, 0.95),
            percentile(&mut times, 1.0)
        );
        all_f1 += kind_f1;
        all_n += kind_n;
        all_times.extend(times);
    }
    println!(
        "\noverall F1 {:.2} over {all_n} cases (goal >= 0.80); ms per case median {:.0}, max {:.0} (goal <= 1000)",
        all_f1 / all_n as f64,
        percentile(&mut all_times, 0.5),
        percentile(&mut all_times, 1.0)
    );
}
