//! Why the true change lost, per regression it did not rank first for: so
//! that each ranking fix aims at a counted cause. Printed by the
//! `changes_replay` bench under its table.

use std::collections::BTreeMap;

use qualtop::detect::{DetectedRegression, RankWeights, ScopeFit, Suspect, factors_at_points};
use qualtop::protocol::{Change, Millis};

const LATE_MS: Millis = 30 * 60_000;

/// The reason the true change `truth` is not first in `ranked` for `r`
/// (`None`: it is, or it is not a candidate by time).
pub fn reason(
    r: &DetectedRegression,
    truth: &Change,
    ranked: &[Suspect],
    weights: &RankWeights,
) -> Option<String> {
    let rank = ranked.iter().position(|s| s.change.id == truth.id);
    if rank == Some(0) {
        return None;
    }
    let lead = r.onset - truth.at;
    let Some(rank) = rank else {
        if ScopeFit::of(&truth.scope, &r.scope) == ScopeFit::Disjoint {
            return Some("truth not ranked: disjoint from the detected scope".into());
        }
        if factors_at_points(truth, &r.scope, r.onset, &r.onset_points(), weights).is_none() {
            return Some("truth not ranked: onset outside its time window".into());
        }
        return Some("truth not ranked: outside where the bug localised the fault".into());
    };
    let _ = rank;
    if lead > LATE_MS {
        return Some("onset > 30 min after the truth".into());
    }
    let top = ranked[0].change;
    let (Some(t), Some(d)) = (
        factors_at_points(truth, &r.scope, r.onset, &r.onset_points(), weights),
        factors_at_points(top, &r.scope, r.onset, &r.onset_points(), weights),
    ) else {
        return Some("decoy wins on peers or earlier sightings".into());
    };
    let by = [
        (d.time / t.time, "decoy nearer the onset"),
        (
            d.scope / t.scope,
            "decoy's scope fits the detected scope better",
        ),
        (d.kind / t.kind, "decoy's kind weighs more"),
    ];
    let (ratio, what) = by
        .iter()
        .copied()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    if ratio > 1.0 {
        Some(what.to_owned())
    } else {
        Some("decoy wins on peers or earlier sightings".into())
    }
}

/// The count of each reason, with how many of those had a top decoy
/// disjoint from the injected scope.
pub fn print(label: &str, misses: &[(String, bool)]) {
    let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (why, disjoint) in misses {
        let e = by.entry(why).or_default();
        e.0 += 1;
        e.1 += usize::from(*disjoint);
    }
    println!(
        "\nwhy the true change lost ({label}):\n\n| reason | regressions | of them the top is disjoint from the injected scope |\n|---|---|---|"
    );
    for (why, (n, d)) in by {
        println!("| {why} | {n} | {d} |");
    }
}
