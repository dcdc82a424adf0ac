//! What knowing the fleet's slices costs the ranking: every regression of a
//! 50,000-slice fleet ranked against 500 changes (half of them to places
//! no slice lies in), with the slices the fleet serves (the first frame,
//! each place scanned, and the next, its answer kept) and, the reference
//! in the same run, with none known (the dimensions alone).

use std::time::Instant;

use qualtop::detect::{
    DROP_MAX_ROWS, DetectedRegression, DropTable, ScopeMap, ScopeOrigin, rank_in_bug,
};
use qualtop::protocol::{Change, ChangeKind, CowStr, Point, SignalRole, SliceMap};
use qualtop::store::Store;

const MIN: i64 = 60_000;
const RUNS: usize = 7;

fn scope(pairs: &[(&str, String)]) -> ScopeMap {
    pairs
        .iter()
        .map(|(d, v)| ((*d).to_owned(), v.clone()))
        .collect()
}

/// 25 models × 20 regions × 5 platforms × 20 hardware types of each
/// platform's own: 50,000 slices, and a hardware type on any other
/// platform is served nowhere.
fn fleet() -> Store {
    let dims = ["model", "region", "platform", "hardware"];
    let now = 1_756_771_200_000;
    let hello = super::detect_support::golden_qa_hello(&dims, now, 60 * MIN);
    let mut fleet = Store::new();
    let binding = fleet.bind_source(0, &hello).unwrap();
    fleet.set_now(now);
    for m in 0..25 {
        for r in 0..20 {
            for p in 0..5 {
                for h in 0..20 {
                    let pairs = [
                        ("model", format!("m{m}")),
                        ("region", format!("r{r}")),
                        ("platform", format!("p{p}")),
                        ("hardware", format!("h{p}-{h}")),
                    ];
                    let point = Point {
                        slice: SliceMap::from_pairs(pairs.map(|(d, v)| (d.to_owned(), v))),
                        signal: CowStr::from("golden-qa"),
                        ts: now,
                        good: Some(90),
                        total: Some(100),
                        value: None,
                    };
                    fleet.apply_point(&binding, &point).unwrap();
                }
            }
        }
    }
    fleet
}

fn changes() -> Vec<Change> {
    (0..500i64)
        .map(|i| {
            let p = i % 5;
            // Every other change names a platform its hardware is not on.
            let on = if i % 2 == 0 { p } else { (p + 1) % 5 };
            let pairs = [
                ("platform", format!("p{on}")),
                ("hardware", format!("h{p}-{}", i % 20)),
                ("model", format!("m{}", i % 25)),
            ];
            Change {
                id: format!("c{i}"),
                at: (i * 7 % 600) * MIN,
                scope: scope(&pairs[..1 + (i as usize % 3)]),
                kind: ChangeKind::Deploy,
                title: format!("deploy {i}"),
                source: "cd".into(),
                link: None,
                author: None,
            }
        })
        .collect()
}

fn regressions() -> Vec<DetectedRegression> {
    (0..20i64)
        .map(|i| DetectedRegression {
            signal: "golden-qa".into(),
            role: SignalRole::Quality,
            scope: scope(&[
                ("model", format!("m{}", i % 25)),
                ("hardware", format!("h{}-{}", i % 5, i % 20)),
            ]),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            alarms: Vec::new(),
            onset: (300 + i * 10) * MIN,
            onset_spread: None,
            detected_at: (304 + i * 10) * MIN,
            ended_at: None,
            baseline: 0.9,
            current: 0.85,
            delta_pp: -5.0,
            drop_table: None,
        })
        .collect()
}

/// `found`, each holding a drop table of the most rows a table keeps, by
/// platform and region (what a share is weighed on, the table read for every
/// change that reached part of a place).
fn with_tables(found: &[DetectedRegression]) -> Vec<DetectedRegression> {
    let table = DropTable {
        onset: 0,
        dims: vec!["platform".into(), "region".into()],
        values: vec![
            (0..5).map(|p| format!("p{p}")).collect(),
            (0..20).map(|r| format!("r{r}")).collect(),
        ],
        rows: (0..DROP_MAX_ROWS as u32)
            .map(|i| (vec![i % 5, i % 20], f64::from(1 + i % 7)))
            .collect(),
        folded: Vec::new(),
    };
    found
        .iter()
        .map(|r| DetectedRegression {
            drop_table: Some(DropTable {
                onset: r.onset,
                ..table.clone()
            }),
            ..r.clone()
        })
        .collect()
}

/// Seconds to rank every regression, and how many suspects that gave.
fn rank_all(found: &[DetectedRegression], changes: &[Change], served: &Store) -> (f64, usize) {
    let started = Instant::now();
    let mut suspects = 0;
    for r in found {
        suspects += rank_in_bug(r, &[r], found, changes, served).len();
    }
    (started.elapsed().as_secs_f64(), suspects)
}

/// The lines the bench prints.
pub fn report() {
    let (changes, found) = (changes(), regressions());
    let tabled = with_tables(&found);
    let none = Store::new();
    let (mut first, mut next, mut without) = (Vec::new(), Vec::new(), Vec::new());
    let mut weighed = Vec::new();
    let (mut kept, mut all, mut slices) = (0, 0, 0);
    for _ in 0..RUNS {
        let fleet = fleet();
        slices = fleet.slices().len();
        let (s, n) = rank_all(&found, &changes, &fleet);
        first.push(s * 1e3);
        kept = n;
        next.push(rank_all(&found, &changes, &fleet).0 * 1e3);
        weighed.push(rank_all(&tabled, &changes, &fleet).0 * 1e3);
        let (s, n) = rank_all(&found, &changes, &none);
        without.push(s * 1e3);
        all = n;
    }
    let median = super::ratio::median;
    let (first, next, without) = (median(first), median(next), median(without));
    let weighed = median(weighed);
    println!(
        "\nranking {} regressions against {} changes on {slices} slices: knowing the slices served {first:.2} ms the first time, {next:.2} ms the next ({kept} suspects); by dimensions alone {without:.2} ms ({all} suspects; the reference, same run): {:.2}x and {:.2}x (median of {RUNS})",
        found.len(),
        changes.len(),
        first / without,
        next / without
    );
    println!(
        "the same, each regression holding a drop table of {DROP_MAX_ROWS} rows: {weighed:.2} ms ({:.2}x the dimensions alone)",
        weighed / without
    );
}
