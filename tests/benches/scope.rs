//! Scope search on RiskLoc-style synthetic anomalies: precision, recall and
//! F1 of the returned set against the truth (exact match of scopes), and
//! runtime per case, next to a reference timed on the same case in the
//! same run: one plain pass over the same leaves summing expected and
//! actual per (dimension, value). `cargo bench --bench scope [-- CASES]`.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;

use std::hint::black_box;
use std::time::Instant;

use qualtop::detect::synthetic::{ScopeCaseSpec, precision_recall, riskloc_case};
use qualtop::detect::{Leaf, ScopeConfig};
use ratio::median;

/// The reference: the one-dimension rollup any search starts from, in ms.
fn plain_pass(leaves: &[Leaf], dims: usize) -> f64 {
    let start = Instant::now();
    let mut sums: Vec<Vec<(f64, f64)>> = vec![Vec::new(); dims];
    for leaf in leaves {
        for (d, &v) in leaf.values.iter().enumerate() {
            let col = &mut sums[d];
            if col.len() <= v as usize {
                col.resize(v as usize + 1, (0.0, 0.0));
            }
            col[v as usize].0 += leaf.expected;
            col[v as usize].1 += leaf.actual;
        }
    }
    black_box(&sums);
    start.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let cases: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let settings = [
        (
            "S: dims 10,12,10,8,5; noise 0-25 %; drop 20-100 %",
            ScopeCaseSpec::default(),
        ),
        (
            "L: dims 10,24,10,15; noise 0-10 %; drop 50-100 %",
            ScopeCaseSpec {
                dims: vec![10, 24, 10, 15],
                noise: (0.0, 0.1),
                severity: (0.5, 1.0),
                deviation: (0.0, 0.0),
                ..ScopeCaseSpec::default()
            },
        ),
        (
            "Q: dims 10,12,10,8; noise 0-2 %; drop 3-10 % (quality-like)",
            ScopeCaseSpec {
                dims: vec![10, 12, 10, 8],
                noise: (0.0, 0.02),
                severity: (0.03, 0.10),
                deviation: (0.0, 0.01),
                ..ScopeCaseSpec::default()
            },
        ),
    ];
    let cfg = ScopeConfig::default();
    println!(
        "{cases} cases per setting; 1-3 causes of 1-3 dimensions each; medians per case; ratio = search / a plain pass summing the same leaves per (dimension, value) (no goal set)"
    );
    println!(
        "{:<62} {:>9} {:>7} {:>5} {:>10} {:>12} {:>8}",
        "setting", "precision", "recall", "F1", "median ms", "plain pass", "ratio"
    );
    for (name, spec) in settings {
        let (mut p_sum, mut r_sum) = (0.0, 0.0);
        let (mut times, mut plain) = (Vec::new(), Vec::new());
        for seed in 0..cases {
            let case = riskloc_case(&spec, 10_000 + seed);
            let start = Instant::now();
            let causes = case.table.localize(&cfg);
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            plain.push(plain_pass(case.table.leaves(), case.table.dims().len()));
            let found: Vec<_> = causes.iter().map(|c| case.table.name(c)).collect();
            let (p, r) = precision_recall(&found, &case.truth);
            p_sum += p;
            r_sum += r;
        }
        let (p, r) = (p_sum / cases as f64, r_sum / cases as f64);
        let f1 = 2.0 * p * r / (p + r).max(1e-12);
        let (took, reference) = (median(times), median(plain));
        println!(
            "{name:<62} {p:>9.3} {r:>7.3} {f1:>5.3} {took:>10.1} {reference:>10.3}ms {:>7.0}x",
            took / reference
        );
    }
}
