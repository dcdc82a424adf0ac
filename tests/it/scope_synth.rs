//! The scope search on the benchmark's generator, fixed seeds: no cap on
//! the number of causes, the coarse cause preferred over its refinements,
//! and a small F1 guard over (causes, depth) cells (the full table:
//! `cargo bench --bench scope_synth`).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use qualtop::detect::scope_synth::{SynthKind, SynthSpec, f1, synth_case};
use qualtop::detect::{ScopeConfig, ScopeTable};

/// Smaller than the benchmark's 28,800 leaves, so a debug build runs it.
fn spec(causes: usize, depth: usize, kind: SynthKind) -> SynthSpec {
    SynthSpec {
        dims: vec![10, 8, 6, 5],
        ..SynthSpec::bench(causes, depth, kind)
    }
}

fn found(t: &ScopeTable, cfg: &ScopeConfig) -> Vec<BTreeMap<String, String>> {
    t.localize(cfg).iter().map(|c| t.name(c)).collect()
}

fn scope(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn seven_true_causes_are_all_found_with_no_cap() {
    for kind in [SynthKind::Additive, SynthKind::Ratio] {
        let case = synth_case(&spec(7, 2, kind), 7);
        assert_eq!(case.truth.len(), 7);
        let got = found(&case.table, &ScopeConfig::default());
        for t in &case.truth {
            assert!(got.contains(t), "{kind:?}: {t:?} missing from {got:?}");
        }
        // The cap is only an option.
        let capped = ScopeConfig {
            max_causes: Some(3),
            ..ScopeConfig::default()
        };
        assert_eq!(found(&case.table, &capped).len(), 3, "{kind:?}");
    }
}

/// Dimensions a..e of 6 values; every leaf 1000 expected, ±2 % noise, and
/// each leaf of e=e2 off by its own few percent around `coarse`; a1 ∧ e2
/// loses `extra` on top.
fn nested(seed: u64, coarse: f64, extra: f64) -> ScopeTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let names = ["a", "b", "c", "d", "e"];
    let mut t = ScopeTable::new(names.iter().map(|n| (*n).to_owned()).collect());
    let mut values = [0usize; 5];
    for _ in 0..6usize.pow(5) {
        let labels: Vec<String> = values
            .iter()
            .zip(names)
            .map(|(v, n)| format!("{n}{}", v + 1))
            .collect();
        let mut actual = 1000.0 * (1.0 + rng.random_range(-0.02..0.02));
        if values[4] == 1 {
            actual *= 1.0 - coarse - rng.random_range(-0.03..0.03);
            if values[0] == 0 {
                actual *= 1.0 - extra;
            }
        }
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        t.add(&refs, 1000.0, actual, None);
        for d in (0..5).rev() {
            values[d] += 1;
            if values[d] < 6 {
                break;
            }
            values[d] = 0;
        }
    }
    t
}

#[test]
fn a_coarse_cause_comes_out_coarse_and_its_refinement_only_with_a_significant_extra_drop() {
    let cfg = ScopeConfig::default();
    let alone = found(&nested(1, 0.2, 0.0), &cfg);
    assert_eq!(alone, vec![scope(&[("e", "e2")])]);
    let both = found(&nested(2, 0.2, 0.3), &cfg);
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.contains(&scope(&[("e", "e2")])), "{both:?}");
    assert!(
        both.contains(&scope(&[("a", "a1"), ("e", "e2")])),
        "{both:?}"
    );
    // A refinement that dominates its parent still leaves the parent whole.
    let strong = found(&nested(3, 0.1, 0.6), &cfg);
    assert_eq!(strong.len(), 2, "{strong:?}");
    assert!(strong.contains(&scope(&[("e", "e2")])), "{strong:?}");
}

#[test]
fn synthetic_cells_keep_their_f1() {
    let cfg = ScopeConfig::default();
    let (mut sum, mut n) = (0.0, 0);
    for kind in [SynthKind::Additive, SynthKind::Ratio] {
        for causes in [1, 3, 8] {
            for depth in 1..=3 {
                let mut cell = 0.0;
                for seed in 0..2 {
                    let case = synth_case(
                        &spec(causes, depth, kind),
                        100 * causes as u64 + 10 * depth as u64 + seed,
                    );
                    let got = found(&case.table, &cfg);
                    let f = f1(&got, &case.truth);
                    if f < 1.0 {
                        eprintln!(
                            "{kind:?} causes {causes} depth {depth} seed {seed}: f1 {f:.2}\n  truth {:?}\n  found {got:?}",
                            case.truth
                        );
                    }
                    cell += f;
                }
                eprintln!("{kind:?} causes {causes} depth {depth}: {:.2}", cell / 2.0);
                sum += cell;
                n += 2;
            }
        }
    }
    let f = sum / f64::from(n);
    eprintln!("overall {f:.2}");
    assert!(f >= 0.8, "F1 {f:.2}");
}
