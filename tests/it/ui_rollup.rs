//! Rollup correctness at every level, property-style over a generated fleet
//! (fixed seed): for random drill paths, every split and filters, the
//! aggregate row is the sum of its children bucket by bucket, a child row
//! equals the aggregate of the level it drills into, and the counts match a
//! brute-force sum straight from the store.

use crate::support::ui::*;
use qualtop::feed::Fleet;
use qualtop::store::{BucketRange, Ratio};
use qualtop::view::{DrillStep, Filter, OverviewRow, RowKey, Split, ViewQuery, compute_overview};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 20_250_901;
const VALUES: [&[&str]; 4] = [
    &["m0", "m1", "m2", "m3", "m4"],
    &["p0", "p1", "p2"],
    &["r0", "r1", "r2", "r3"],
    &["h0", "h1", "h2"],
];

fn generated_fleet(rng: &mut ChaCha8Rng) -> (Fleet, Vec<Slice>) {
    let mut b = FleetBuilder::new();
    let mut leaves = Vec::new();
    let mut seed = 0;
    for m in VALUES[0] {
        for p in VALUES[1] {
            for r in VALUES[2] {
                for h in VALUES[3] {
                    if !rng.random_bool(0.45) {
                        continue;
                    }
                    seed += 1;
                    let mut s = SliceScript::new(m, p, r, h);
                    s.requests_per_bucket = rng.random_range(50..5_000);
                    s.evals_per_bucket = rng.random_range(5..500);
                    s.quality = rng.random_range(0.7..0.99);
                    if rng.random_bool(0.2) {
                        s.quality_drop =
                            Some((rng.random_range(0..120), rng.random_range(1.0..9.0)));
                    }
                    s.missing = (0..rng.random_range(0..8))
                        .map(|_| rng.random_range(0..HISTORY_BUCKETS as usize))
                        .collect();
                    b.add(&s, seed);
                    leaves.push(s.slice.clone());
                }
            }
        }
    }
    (b.build(), leaves)
}

/// Summed counts per bucket of a trend, for exact comparison.
fn counts(buckets: &[Option<Ratio>]) -> Vec<(u64, u64)> {
    buckets
        .iter()
        .map(|b| b.map_or((0, 0), |r| (r.good, r.total)))
        .collect()
}

fn sum_children(
    rows: &[OverviewRow],
    pick: fn(&OverviewRow) -> &[Option<Ratio>],
) -> Vec<(u64, u64)> {
    let mut out = vec![(0, 0); pick(&rows[0]).len()];
    for row in &rows[1..] {
        for (o, (g, t)) in out.iter_mut().zip(counts(pick(row))) {
            o.0 += g;
            o.1 += t;
        }
    }
    out
}

fn availability(r: &OverviewRow) -> &[Option<Ratio>] {
    &r.availability.buckets
}
fn quality(r: &OverviewRow) -> &[Option<Ratio>] {
    &r.quality.buckets
}

/// Requests under `path` through `filter`, straight from the store.
fn brute_force_requests(
    fleet: &Fleet,
    path: &[DrillStep],
    filter: &Filter,
    range: BucketRange,
) -> u64 {
    let store = &fleet.store;
    let slices = store.slices();
    let sig = store.signal_by_name("availability").unwrap();
    let dims = slices.dimensions();
    slices
        .ids()
        .filter(|&id| {
            path.iter().all(|s| {
                let d = slices.dimension_index(&s.dimension).unwrap();
                slices.value(id, d) == s.value
            })
        })
        .filter(|&id| {
            filter.terms().iter().all(|t| match t {
                qualtop::view::FilterTerm::Values { dimension, values } => {
                    let d = dims.iter().position(|x| x == dimension).unwrap();
                    values.iter().any(|v| *v == slices.value(id, d))
                }
                qualtop::view::FilterTerm::Word(w) => {
                    (0..dims.len()).any(|d| slices.value(id, d).contains(w.as_str()))
                }
            })
        })
        .map(|id| {
            range
                .iter()
                .filter_map(|b| store.ratio(sig, id, b))
                .map(|r| r.total)
                .sum::<u64>()
        })
        .sum()
}

/// A random path: a random leaf's values for a random subset of dimensions,
/// in random order (so the path exists and drilling order varies).
fn random_path(rng: &mut ChaCha8Rng, leaves: &[Slice]) -> Vec<DrillStep> {
    let leaf = &leaves[rng.random_range(0..leaves.len())];
    let mut dims: Vec<usize> = (0..4).filter(|_| rng.random_bool(0.5)).collect();
    for i in (1..dims.len()).rev() {
        dims.swap(i, rng.random_range(0..=i));
    }
    dims.into_iter()
        .map(|d| DrillStep::new(DIMENSIONS[d], &leaf[d]))
        .collect()
}

#[test]
fn aggregates_are_the_sum_of_their_children_at_every_level_split_and_filter() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let (fleet, leaves) = generated_fleet(&mut rng);
    assert!(leaves.len() > 40, "a fleet worth testing: {}", leaves.len());
    let filters = ["", "hardware=h0,h2", "r1", "model=m1 p2"].map(Filter::parse);
    let mut checked_rows = 0;
    for _ in 0..40 {
        let path = random_path(&mut rng, &leaves);
        let unfixed = DIMENSIONS
            .iter()
            .filter(|d| !path.iter().any(|s| s.dimension == **d));
        let splits: Vec<Split> = unfixed
            .map(|d| Split::By(d.to_string()))
            .chain([Split::Leaves, Split::Next])
            .collect();
        for filter in &filters {
            for split in &splits {
                let query = ViewQuery {
                    path: path.clone(),
                    split: split.clone(),
                    filter: filter.clone(),
                    window_ms: Some(HISTORY_BUCKETS * BUCKET_MS),
                    ..ViewQuery::default()
                };
                let vm = compute_overview(&fleet, &query);
                let range = vm.table.range.unwrap();
                let expected = brute_force_requests(&fleet, &path, filter, range);
                let rows = &vm.table.rows;
                if rows.is_empty() {
                    assert_eq!(expected, 0, "{path:?} {filter:?}: rows missing");
                    continue;
                }
                assert_eq!(rows[0].key, RowKey::All);
                assert_eq!(
                    rows[0].requests(),
                    expected,
                    "{path:?} {split:?} {filter:?}"
                );
                if rows.len() == 1 {
                    continue; // nothing left to split
                }
                let what = format!("{path:?} {split:?} {filter:?}");
                assert_eq!(
                    counts(availability(&rows[0])),
                    sum_children(rows, availability),
                    "{what}"
                );
                assert_eq!(
                    counts(quality(&rows[0])),
                    sum_children(rows, quality),
                    "{what}"
                );
                // Each child equals the aggregate of the level it drills into.
                for row in rows.iter().skip(1).take(3) {
                    let mut child_path = path.clone();
                    match (&row.key, split, vm.table.split_raw.as_deref()) {
                        (RowKey::Value(v), _, Some(dim)) => child_path.push(DrillStep::new(dim, v)),
                        (RowKey::Leaf(steps), Split::Leaves, _) => {
                            child_path.extend(steps.iter().cloned());
                        }
                        other => panic!("unexpected row {other:?}"),
                    }
                    let child = compute_overview(
                        &fleet,
                        &ViewQuery {
                            path: child_path,
                            ..query.clone()
                        },
                    );
                    let top = &child.table.rows[0];
                    assert_eq!(
                        counts(availability(top)),
                        counts(availability(row)),
                        "{what}"
                    );
                    assert_eq!(counts(quality(top)), counts(quality(row)), "{what}");
                    checked_rows += 1;
                }
            }
        }
    }
    assert!(checked_rows > 200, "enough rows compared: {checked_rows}");
}
