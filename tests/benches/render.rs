//! How long the overview takes with 10,000 slices in the store: the rollup
//! behind it, the view model (once per data change, and once per drill,
//! pivot or filter), and one frame at 200x50 (once per draw). Medians over
//! repeated runs.
//!
//! Run: `cargo bench --bench render`. Goals: frame <= 2 ms, rollup <= 5 ms,
//! a drill, pivot, filter, flat view or detail answered within one frame of
//! the loop (1/15 s): the view model plus one draw.

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)] // shared with the tests; the bench uses the fleets, not all of it
#[path = "../it/support/ui.rs"]
mod ui_fixture;

use std::hint::black_box;
use std::time::{Duration, Instant};

use qualtop::app::{App, Event, KeyMap, ViewFacts};
use qualtop::store::{BucketRange, SliceId};
use qualtop::ui::{self, Look};
use qualtop::view::{DrillStep, Filter, Split, ViewQuery, compute_overview, window_of};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

/// A fleet of models x regions x hardware types: 10,000 slices = 100
/// models x 25 regions x 4 hardware types.
fn large_fleet(models: usize, regions: usize, hardware: usize) -> qualtop::feed::Fleet {
    let mut b = ui_fixture::FleetBuilder::new();
    let mut seed = 0;
    for m in 0..models {
        for r in 0..regions {
            for h in 0..hardware {
                seed += 1;
                let s = ui_fixture::SliceScript::new(
                    &format!("model-{m:03}"),
                    "api",
                    &format!("region-{r:02}"),
                    &format!("hw-{h}"),
                );
                b.add(&s, seed);
            }
        }
    }
    b.build()
}

const RUNS: usize = 200;

fn median(mut f: impl FnMut()) -> Duration {
    for _ in 0..5 {
        f();
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn report(what: &str, d: Duration, goal_ms: Option<f64>) {
    let ms = d.as_secs_f64() * 1000.0;
    match goal_ms {
        Some(goal) => println!(
            "{what:<52} {ms:>8.3} ms  (goal <= {goal:.0} ms: {})",
            if ms <= goal { "met" } else { "MISSED" }
        ),
        None => println!("{what:<52} {ms:>8.3} ms"),
    }
}

fn main() {
    let built = Instant::now();
    let fleet = large_fleet(100, 25, 4);
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
    let rollup = median(|| {
        black_box(store.rollup_groups(availability, black_box(&members), groups, range));
    });
    report(
        "rollup_groups, 1 ratio signal, 10,000 slices",
        rollup,
        Some(5.0),
    );

    // The view model: every column's rollups (1 availability + 4 suites + 1 gauge).
    let vm_time = median(|| {
        black_box(compute_overview(black_box(&fleet), &query));
    });
    report("view model (6 signals, 101 rows)", vm_time, None);

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
    let frame = median(|| {
        terminal
            .draw(|f| ui::render(f, &app, &vm, &look))
            .expect("draw on a test backend");
    });
    report("one overview frame, 200x50 (TestBackend)", frame, Some(2.0));

    // The same 10,000 slices grouped by another dimension (25 regions).
    let per_slice = ViewQuery {
        split: Split::By("region".to_owned()),
        ..ViewQuery::default()
    };
    let vm_regions = median(|| {
        black_box(compute_overview(black_box(&fleet), &per_slice));
    });
    report("view model split by region (26 rows)", vm_regions, None);

    // What drilling, pivoting and filtering cost: each is one view model
    // for a new query. One hour (the TUI's default window).
    let hour = Some(60 * 60_000);
    let drill_goal = Some(1000.0 / qualtop::tui::MAX_FPS as f64 - 2.0);
    let cases: [(&str, ViewQuery); 6] = [
        (
            "drilled: model-042 › api, by region",
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
            ViewQuery {
                split: Split::By("hardware".into()),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "filtered: hardware=hw-1,hw-2 region-0",
            ViewQuery {
                filter: Filter::parse("hardware=hw-1,hw-2 region-0"),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "drilled+pivoted+filtered: hw-1 by model",
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
            ViewQuery {
                split: Split::Leaves,
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
        (
            "detail of the whole fleet",
            ViewQuery {
                detail: Some(Vec::new()),
                window_ms: hour,
                ..ViewQuery::default()
            },
        ),
    ];
    for (what, query) in cases {
        let rows = compute_overview(&fleet, &query).table.rows.len();
        let t = median(|| {
            black_box(compute_overview(black_box(&fleet), &query));
        });
        report(&format!("{what} ({rows} rows)"), t, drill_goal);
    }
}
