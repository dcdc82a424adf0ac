//! The header on a `TestBackend`: data time in the clock, data age against
//! the backend's clock, and a dead backend that cannot be missed (banner,
//! `(stale)` count), at 80x24 and in the mono theme.

use crate::support::ui::*;
use qualtop::app::{App, Event, KeyMap, ViewFacts};
use qualtop::feed::{ConnState, Fleet};
use qualtop::text::format;
use qualtop::theme::Theme as RoleTheme;
use qualtop::ui::{self, Look, Styles};
use qualtop::view::{ViewModel, compute_overview};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

/// Lines of text, and whether each is reverse video from end to end.
fn draw_vm(
    vm: &ViewModel,
    wall_now: i64,
    width: u16,
    height: u16,
    look: &Look,
) -> Vec<(String, bool)> {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Clock(wall_now));
    app.update(Event::ViewChanged(ViewFacts::of(vm)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::render(f, &app, vm, look)).unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            let text: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            let reversed = [0, width - 1]
                .iter()
                .all(|&x| buf[(x, y)].modifier.contains(Modifier::REVERSED));
            (text.trim_end().to_owned(), reversed)
        })
        .collect()
}

fn vm_of(fleet: &Fleet) -> ViewModel {
    compute_overview(fleet, &App::new(KeyMap::default()).query())
}

fn mono() -> Look {
    let roles = RoleTheme::builtin("mono").expect("mono is built in");
    Look {
        theme: Styles::from_roles(&roles),
        ascii: true,
    }
}

/// The evals backend went away `silent_ms` ago, its clock then at DATA_NOW.
fn evals_down(silent_ms: i64) -> Fleet {
    let mut fleet = demo_like_fleet();
    let evals = &mut fleet.sources[1];
    evals.label = "demo/evals".into();
    evals.snapshots = 1;
    evals.backend_now = Some((DATA_NOW, WALL_NOW - silent_ms));
    evals.last_message_at = Some(WALL_NOW - silent_ms);
    evals.state = ConnState::Disconnected {
        reason: "connection closed by the backend".into(),
        retry_at: WALL_NOW + 4_000,
    };
    fleet
}

#[test]
fn header_clock_is_data_time_not_the_wall_clock() {
    let mut fleet = demo_like_fleet();
    // The demo is three hours ahead of the wall and runs at 60x.
    let data = WALL_NOW + 3 * 3_600_000;
    for s in &mut fleet.sources {
        s.backend_now = Some((data, WALL_NOW - 1_000));
        s.time_scale = Some(60.0);
        s.snapshots = 1;
    }
    let vm = vm_of(&fleet);
    let top = &draw_vm(&vm, WALL_NOW, 80, 24, &Look::default())[0].0;
    // One real second since the heartbeat: one data minute on.
    assert!(top.contains(&format::utc_clock(data + 60_000)), "{top}");
    assert!(top.contains("demo ×60"), "{top}");
    assert!(!top.contains(&format::utc_clock(WALL_NOW)), "{top}");
}

#[test]
fn data_age_is_counted_against_the_backends_clock() {
    let mut fleet = demo_like_fleet();
    // Newest bucket ended half a bucket before the backend's clock: fresh.
    fleet.sources[0].data_lag_ms = Some(BUCKET_MS / 2);
    // Newest bucket ended ten minutes before the backend's clock: old.
    fleet.sources[1].data_lag_ms = Some(10 * 60_000);
    let screen = draw_vm(&vm_of(&fleet), WALL_NOW, 120, 40, &Look::default());
    assert!(screen[1].0.contains("data fresh"), "{}", screen[1].0);
    assert!(screen[2].0.contains("data 10m old"), "{}", screen[2].0);
}

#[test]
fn a_dead_backend_gets_a_full_width_reverse_video_banner_at_80x24() {
    let vm = vm_of(&evals_down(130_000));
    let screen = draw_vm(&vm, WALL_NOW, 80, 24, &Look::default());
    let (text, reversed) = &screen[3];
    assert_eq!(
        text, " demo/evals disconnected 2m10s — figures below are as of 12:01 UTC",
        "{screen:#?}"
    );
    assert!(reversed, "the banner is reverse video end to end");
    // The table still starts under it.
    assert!(screen[4].0.starts_with("whole fleet"), "{screen:#?}");
}

#[test]
fn the_banner_and_the_stale_count_hold_in_the_mono_theme() {
    let mut vm = vm_of(&evals_down(130_000));
    vm.header.active_regressions = 6;
    let screen = draw_vm(&vm, WALL_NOW, 80, 24, &mono());
    assert!(
        screen[0].0.contains("6 regressions (stale)"),
        "{}",
        screen[0].0
    );
    let (text, reversed) = &screen[3];
    assert!(
        text.contains("demo/evals disconnected 2m10s - figures"),
        "{text}"
    );
    assert!(reversed, "mono keeps reverse video: {text}");
}

#[test]
fn a_live_fleet_has_no_banner_and_an_unmarked_count() {
    let mut vm = vm_of(&demo_like_fleet());
    vm.header.active_regressions = 6;
    let screen = draw_vm(&vm, WALL_NOW, 80, 24, &Look::default());
    assert!(screen[0].0.contains("6 regressions"), "{}", screen[0].0);
    assert!(!screen[0].0.contains("stale"), "{}", screen[0].0);
    // Title, two sources, then straight to the crumbs: no banner line.
    assert!(screen[3].0.starts_with("whole fleet"), "{screen:#?}");
    assert!(
        screen[..3].iter().all(|(_, reversed)| !reversed),
        "{screen:#?}"
    );
}

#[test]
fn a_refused_clock_is_named_on_its_source_line_and_not_shown_as_the_clock() {
    let mut fleet = demo_like_fleet();
    for s in &mut fleet.sources {
        s.backend_now = Some((DATA_NOW, WALL_NOW - 1_000));
        s.snapshots = 1;
    }
    fleet.sources[0].label = "metrics".into();
    // Its clock 8 h ahead: the feed refused it.
    fleet.sources[0].backend_now = Some((DATA_NOW + 8 * 3_600_000, WALL_NOW - 1_000));
    fleet.sources[0].clock_refused_ms = Some(8 * 3_600_000);
    let vm = vm_of(&fleet);
    for (width, height) in [(80, 24), (120, 40)] {
        let lines = draw_vm(&vm, WALL_NOW, width, height, &Look::default());
        let metrics = lines
            .iter()
            .find(|(l, _)| l.contains("metrics"))
            .expect("a metrics line");
        assert!(metrics.0.contains("clock 8h ahead"), "{lines:?}");
        // The header clock is the agreeing backend's, not 8 h on.
        let shown = format::utc_clock(DATA_NOW + 1_000);
        assert!(lines[0].0.contains(&shown), "{} vs {shown}", lines[0].0);
    }
}
