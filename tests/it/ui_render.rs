//! What the overview looks like, drawn on a `TestBackend` and compared with
//! insta snapshots of the visible text. The wall clock is fixed by the test
//! (and the clock filtered anyway), so snapshots are stable.

use crate::support::ui::*;
use qualtop::app::{App, Event, KeyMap, KeyPress, ViewFacts};
use qualtop::feed::{ConnState, Fleet, SourceStatus};
use qualtop::ui::{self, Look};
use qualtop::view::{SortKey, compute_overview};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Computes the view model, feeds the app what the loop would, draws once.
fn draw(fleet: &Fleet, app: &mut App, width: u16, height: u16, look: &Look) -> Buffer {
    let vm = compute_overview(fleet, &app.query());
    app.update(Event::Clock(WALL_NOW));
    app.update(Event::ViewChanged(ViewFacts::of(&vm)));
    app.update(Event::Viewport(
        ui::layout(Rect::new(0, 0, width, height), app, &vm).viewport(),
    ));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::render(f, app, &vm, look)).unwrap();
    terminal.backend().buffer().clone()
}

fn screen(fleet: &Fleet, width: u16, height: u16) -> String {
    let mut app = App::new(KeyMap::default());
    text_of(&draw(fleet, &mut app, width, height, &Look::default()))
}

/// Replaces the `HH:MM:SS UTC` clock, the one thing that varies with time.
fn mask_clock(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" UTC") {
        let start = i.saturating_sub(8);
        let clock = &rest[start..i];
        let is_clock = clock.len() == 8
            && clock.bytes().enumerate().all(|(k, b)| {
                if k == 2 || k == 5 {
                    b == b':'
                } else {
                    b.is_ascii_digit()
                }
            });
        if is_clock {
            out.push_str(&rest[..start]);
            out.push_str("[clock]");
        } else {
            out.push_str(&rest[..i + 4]);
        }
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    out
}

macro_rules! assert_screen {
    ($name:expr, $text:expr) => {
        insta::assert_snapshot!($name, mask_clock(&$text));
    };
}

#[test]
fn demo_like_overview_at_80x24() {
    let text = screen(&demo_like_fleet(), 80, 24);
    assert!(text.contains("m-large"));
    assert_screen!("demo_like_80x24", text);
}

#[test]
fn demo_like_overview_at_160x48() {
    let text = screen(&demo_like_fleet(), 160, 48);
    assert!(
        text.contains("latency_p99"),
        "wide screens show the latency column"
    );
    assert_screen!("demo_like_160x48", text);
}

#[test]
fn the_quality_drop_is_visible_as_a_negative_change_in_its_row() {
    let text = screen(&demo_like_fleet(), 160, 48);
    let line = text.lines().find(|l| l.starts_with("m-large")).unwrap();
    let change: f64 = line
        .split_whitespace()
        .find_map(|w| w.strip_suffix("pp"))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        (-4.5..-3.5).contains(&change),
        "m-large row shows about -4 points: {line}"
    );
}

fn with_state(mut fleet: Fleet, index: usize, state: ConnState) -> Fleet {
    fleet.sources[index].state = state;
    fleet
}

#[test]
fn a_disconnected_source_says_when_it_retries_and_its_column_is_marked_stale() {
    let fleet = with_state(
        demo_like_fleet(),
        1,
        ConnState::Disconnected {
            reason: "connection refused".to_owned(),
            retry_at: WALL_NOW + 3_000,
        },
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&fleet, w, h);
        assert!(
            text.contains("reconnecting in 3s: connection refused"),
            "{text}"
        );
        assert!(
            text.contains("STALE"),
            "quality column marked stale at {w}x{h}"
        );
        assert_screen!(format!("disconnected_{w}x{h}"), text);
    }
}

#[test]
fn stale_data_is_dimmed_and_marked_stale() {
    let fleet = with_state(demo_like_fleet(), 0, ConnState::Stale);
    let mut app = App::new(KeyMap::default());
    let buffer = draw(&fleet, &mut app, 160, 48, &Look::default());
    let text = text_of(&buffer);
    assert!(text.contains("availability STALE"), "{text}");
    // The availability figure of the fleet row is drawn dimmed.
    // title, two sources, the banner for the stale one, breadcrumbs, column titles
    let y: u16 = 1 + 2 + 1 + 1 + 1;
    let percent_at = (0..160u16)
        .find(|&x| buffer[(x, y)].symbol() == "%")
        .expect("the fleet row shows its availability");
    let row: String = (0..160u16).map(|x| buffer[(x, y)].symbol()).collect();
    let cell = &buffer[(percent_at - 1, y)];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::DIM),
        "{row}"
    );
    for (w, h) in [(80, 24), (160, 48)] {
        assert_screen!(format!("stale_{w}x{h}"), screen(&fleet, w, h));
    }
}

#[test]
fn a_live_source_silent_past_the_limit_is_shown_stale() {
    let mut fleet = demo_like_fleet();
    fleet.sources[1].last_message_at = Some(WALL_NOW - 60_000);
    let text = screen(&fleet, 160, 48);
    assert!(text.contains("STALE"), "{text}");
    assert!(text.contains("heard 1m ago"));
}

#[test]
fn an_empty_fleet_says_so() {
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&Fleet::default(), w, h);
        assert!(text.contains("no sources configured"));
        assert_screen!(format!("empty_{w}x{h}"), text);
    }
    let mut connecting = Fleet::default();
    connecting
        .sources
        .push(SourceStatus::new("ws://metrics.example/metrics"));
    let text = screen(&connecting, 80, 24);
    assert!(text.contains("connecting") && text.contains("waiting for the backends"));
}

#[test]
fn missing_buckets_are_drawn_as_gaps() {
    let mut b = FleetBuilder::new();
    let mut s = SliceScript::new("m-gappy", "api", "eu-west", "gpu-h100");
    // A long hole in the middle of the one-hour window (the last 60 of 120
    // buckets): wide enough to survive merging buckets into sparkline cells.
    s.missing = (80..100).collect();
    b.add(&s, 1);
    let fleet = b.build();
    for (w, h) in [(80, 24), (160, 48)] {
        let text = screen(&fleet, w, h);
        let line = text.lines().find(|l| l.starts_with("m-gappy")).unwrap();
        let bars: Vec<&str> = line
            .split(' ')
            .filter(|s| s.chars().any(|c| ('▁'..='█').contains(&c)))
            .collect();
        assert!(
            bars.len() >= 2,
            "sparkline split by a gap at {w}x{h}: {line}"
        );
        assert_screen!(format!("gaps_{w}x{h}"), text);
    }
}

fn hostile_fleet() -> Fleet {
    let mut b = FleetBuilder::new();
    let evil = "\x1b]0;pwned\x07evil\x1b[2J\u{9b}31m\u{202e}gnp.exe\x7f\x00";
    b.add(&SliceScript::new(evil, "api", "eu\x1b[1m", "gpu"), 1);
    b.add(&SliceScript::new("fine", "api", "eu", "gpu"), 2);
    let mut fleet = b.build();
    fleet.sources[0].label = "ws://x/\x1b[31mred".to_owned();
    fleet.sources[1].state = ConnState::Failed {
        reason: "server said \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\".to_owned(),
    };
    fleet
}

#[test]
fn hostile_strings_reach_the_buffer_without_control_or_escape_characters() {
    let fleet = hostile_fleet();
    for (w, h) in [(80, 24), (160, 48), (250, 70)] {
        let mut app = App::new(KeyMap::default());
        let buffer = draw(&fleet, &mut app, w, h, &Look::default());
        for cell in buffer.content() {
            for c in cell.symbol().chars() {
                assert!(
                    !c.is_control() && !('\u{202a}'..='\u{202e}').contains(&c),
                    "{c:?} reached the screen at {w}x{h}"
                );
            }
        }
        let text = text_of(&buffer);
        assert!(text.contains("evilgnp.exe"), "{text}");
        assert!(text.contains("failed: server said click"), "{text}");
        if w == 80 {
            assert_screen!("hostile_80x24", text);
        }
    }
}

#[test]
fn help_overlay_lists_every_action_from_the_key_map() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Key(KeyPress::char('?')));
    let text = text_of(&draw(
        &demo_like_fleet(),
        &mut app,
        80,
        24,
        &Look::default(),
    ));
    for (action, _) in app.keymap.entries() {
        assert!(
            text.contains(action.describe()),
            "{} missing from help",
            action.name()
        );
    }
    assert_screen!("help_80x24", text);
}

#[test]
fn cycling_the_quality_suite_names_it_in_the_column_header() {
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    draw(&fleet, &mut app, 160, 48, &Look::default());
    app.update(Event::Key(KeyPress::char('c')));
    let text = text_of(&draw(&fleet, &mut app, 160, 48, &Look::default()));
    assert!(text.contains("golden-qa"), "{text}");
}

#[test]
fn ascii_look_draws_only_ascii() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Key(KeyPress::char('?')));
    let look = Look {
        ascii: true,
        ..Look::default()
    };
    let fleet = with_state(demo_like_fleet(), 1, ConnState::Stale);
    let text = text_of(&draw(&fleet, &mut app, 160, 48, &look));
    let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
    assert!(odd.is_empty(), "non-ASCII drawn: {odd:?}");
}

#[test]
fn any_terminal_size_lays_out_without_panicking_or_overflowing() {
    let fleet = demo_like_fleet();
    for w in (0..=250).step_by(7) {
        for h in (0..=70).step_by(5) {
            let mut app = App::new(KeyMap::default());
            app.update(Event::Key(KeyPress::char('?')));
            draw(&fleet, &mut app, w, h, &Look::default());
            let parts = ui::layout(
                Rect::new(0, 0, w, h),
                &app,
                &compute_overview(&fleet, &app.query()),
            );
            assert!(
                parts.header.height + parts.crumbs.height + parts.body.height + parts.footer.height
                    <= h
            );
        }
    }
}

#[test]
fn selection_is_highlighted_and_follows_scrolling() {
    let mut b = FleetBuilder::new();
    for i in 0..40 {
        b.add(
            &SliceScript::new(&format!("model-{i:02}"), "api", "eu", "gpu"),
            i,
        );
    }
    let fleet = b.build();
    let mut app = App::new(KeyMap::default());
    app.sort = SortKey::Name;
    draw(&fleet, &mut app, 80, 24, &Look::default());
    app.update(Event::Key(KeyPress::plain(qualtop::app::Key::End)));
    let text = text_of(&draw(&fleet, &mut app, 80, 24, &Look::default()));
    assert!(text.contains("model-39"), "{text}");
    // Only the breadcrumb names the whole fleet: its row scrolled away.
    assert_eq!(text.matches("whole fleet").count(), 1, "{text}");
    assert!(text.contains("41/41"));
}

#[test]
fn demo_like_overview_uses_a_wide_screen() {
    let text = screen(&demo_like_fleet(), 250, 70);
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(
        widest > 200,
        "the table spreads over a 250-column screen: {widest}"
    );
    assert_screen!("demo_like_250x70", text);
}
