//! How long the overview takes with 10,000 slices in the store: the rollup
//! behind it, the view model (once per data change, and once per drill,
//! pivot or filter), and one frame at 200x50 (once per draw).
//!
//! Each figure is the median of several rounds; every round also times a
//! reference (the newest bucket of every slice and signal, read and summed),
//! and the figure's ratio to it is the median of the rounds' ratios, so a
//! shared, busy machine moves the milliseconds more than the ratios.
//!
//! Run: `cargo bench --bench render`. Goals: frame <= 2 ms, rollup <= 5 ms,
//! view model <= 16 ms, detail <= 50 ms, flat view <= 100 ms; a drill, pivot
//! or filter within one frame of the loop. `QUALTOP_BENCH_ONLY=flat` times
//! only the lines containing "flat"; `QUALTOP_BENCH_ROUNDS` sets the rounds.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the fleets, not all of it
#[path = "../it/support/ui.rs"]
mod ui_fixture;

use std::hint::black_box;
use std::time::{Duration, Instant};

use qualtop::app::{App, Event, KeyMap, ViewFacts};
use qualtop::feed::Fleet;
use qualtop::store::{BucketRange, SliceId, Store};
use qualtop::ui::{self, Look};
use qualtop::view::{DrillStep, Filter, Split, ViewQuery, compute_overview, window_of};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

/// Time spent on one figure per round; runs = this / one run, within bounds.
const ROUND_BUDGET: Duration = Duration::from_millis(400);
const MIN_RUNS: usize = 3;
const MAX_RUNS: usize = 200;

fn median_of(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median time of `f` over as many runs as fit the round's budget.
fn median_run(f: &mut impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    let once = t.elapsed().max(Duration::from_micros(1));
    let runs =
        (ROUND_BUDGET.as_nanos() / once.as_nanos()).clamp(MIN_RUNS as u128, MAX_RUNS as u128);
    median_of(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// The newest bucket of every slice and signal, read and summed: the
/// yardstick every figure is divided by.
fn reference(store: &Store) {
    let Some(head) = store.head() else {
        return;
    };
    let mut sum = 0u64;
    for (i, _) in store.signals().iter().enumerate() {
        let sig = qualtop::store::SignalId(i as u16);
        for id in store.slices().ids() {
            if let Some(r) = store.ratio(sig, id, head) {
                sum += r.good + r.total;
            } else if let Some(g) = store.gauge(sig, id, head) {
                sum += g as u64;
            }
        }
    }
    black_box(sum);
}

struct Bench<'a> {
    fleet: &'a Fleet,
    rounds: usize,
    only: Option<String>,
}

impl Bench<'_> {
    fn wanted(&self, what: &str) -> bool {
        self.only.as_ref().is_none_or(|o| what.contains(o.as_str()))
    }

    /// Times `f` against the reference, round by round, and prints it.
    fn run(&self, what: &str, goal_ms: Option<f64>, mut f: impl FnMut()) {
        if !self.wanted(what) {
            return;
        }
        let mut reference_fn = || reference(&self.fleet.store);
        let (mut times, mut ratios, mut refs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.rounds {
            let r = median_run(&mut reference_fn);
            let t = median_run(&mut f);
            ratios.push(t.as_secs_f64() / r.as_secs_f64());
            times.push(t);
            refs.push(r);
        }
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios[ratios.len() / 2];
        let ms = median_of(times).as_secs_f64() * 1000.0;
        let ref_ms = median_of(refs).as_secs_f64() * 1000.0;
        let verdict = match goal_ms {
            Some(goal) if ms <= goal => format!("  (goal <= {goal:.0} ms: met)"),
            Some(goal) => format!("  (goal <= {goal:.0} ms: MISSED)"),
            None => String::new(),
        };
        println!("{what:<52} {ms:>8.3} ms {ratio:>7.1}x ref ({ref_ms:.3} ms){verdict}");
    }
}

fn main() {
    let built = Instant::now();
    let fleet = ui_fixture::large_fleet(100, 25, 4);
    let store = &fleet.store;
    println!(
        "fleet: {} slices, {} signals, {} buckets per ring (built in {:.1} s)",
        store.slices().len(),
        store.signals().len(),
        store.capacity(),
        built.elapsed().as_secs_f64()
    );
    let query = ViewQuery::default();
    let range: BucketRange = window_of(store, &query).expect("the fixture has a clock");
    println!("window: {} buckets", range.len);
    let bench = Bench {
        fleet: &fleet,
        rounds: std::env::var("QUALTOP_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5)
            .max(1),
        only: std::env::var("QUALTOP_BENCH_ONLY").ok(),
    };

    // One rollup: a ratio signal over every slice, grouped by model.
    let availability = store
        .signal_by_name("availability")
        .expect("fixture signal");
    let members: Vec<(SliceId, u32)> = store
        .slices()
        .ids()
        .map(|id| (id, store.slices().value_id(id, 0)))
        .collect();
    let groups = store.slices().values_of(0).len();
    bench.run(
        "rollup_groups, 1 ratio signal, 10,000 slices",
        Some(5.0),
        || {
            black_box(store.rollup_groups(availability, black_box(&members), groups, range));
        },
    );

    // The view model: every column's rollups (1 availability + 4 suites + 1 gauge).
    bench.run("view model (6 signals, 101 rows)", Some(16.0), || {
        black_box(compute_overview(black_box(&fleet), &query));
    });

    // One frame at 200x50 from a cached view model.
    let vm = compute_overview(&fleet, &query);
    let mut app = App::new(KeyMap::default());
    app.update(Event::Clock(ui_fixture::WALL_NOW));
    app.update(Event::ViewChanged(ViewFacts::of(&vm)));
    app.update(Event::Viewport(
        ui::layout(Rect::new(0, 0, 200, 50), &app, &vm).viewport(),
    ));
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
    let look = Look::default();
    bench.run(
        "one overview frame, 200x50 (TestBackend)",
        Some(2.0),
        || {
            terminal
                .draw(|f| ui::render(f, &app, &vm, &look))
                .expect("draw on a test backend");
        },
    );

    // The same 10,000 slices grouped by another dimension (25 regions).
    let per_slice = ViewQuery {
        split: Split::By("region".to_owned()),
        ..ViewQuery::default()
    };
    bench.run("view model split by region (26 rows)", Some(16.0), || {
        black_box(compute_overview(black_box(&fleet), &per_slice));
    });

    // What drilling, pivoting and filtering cost: each is one view model
    // for a new query. One hour (the TUI's default window).
    let hour = Some(60 * 60_000);
    let drill_goal = 1000.0 / qualtop::tui::MAX_FPS as f64 - 2.0;
    let cases: [(&str, f64, ViewQuery); 6] = [
        (
            "drilled: model-042 › api, by region",
            drill_goal,
            ViewQuery {
                path: vec![
                    DrillStep::new("model", "model-042"),
                    DrillStep::new("platform", "api"),
                ],
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "pivoted: fleet by hardware",
            drill_goal,
            ViewQuery {
                split: Split::By("hardware".into()),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "filtered: hardware=hw-1,hw-2 region-0",
            drill_goal,
            ViewQuery {
                filter: Filter::parse("hardware=hw-1,hw-2 region-0"),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "drilled+pivoted+filtered: hw-1 by model",
            drill_goal,
            ViewQuery {
                path: vec![DrillStep::new("hardware", "hw-1")],
                split: Split::By("model".into()),
                filter: Filter::parse("region=region-01,region-02"),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "flat: every leaf of the fleet",
            100.0,
            ViewQuery {
                split: Split::Leaves,
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "detail of the whole fleet",
            50.0,
            ViewQuery {
                detail: Some(Vec::new()),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
    ];
    for (what, goal, query) in cases {
        if !bench.wanted(what) {
            continue;
        }
        let rows = compute_overview(&fleet, &query).table.rows.len();
        bench.run(&format!("{what} ({rows} rows)"), Some(goal), || {
            black_box(compute_overview(black_box(&fleet), &query));
        });
    }
}
