//! The app state machine without a terminal: events in, state and effects out.

use qualtop::app::{
    Action, App, Effect, Event, Key, KeyMap, KeyPress, MouseInput, Popup, ViewFacts, Viewport,
};
use qualtop::view::QualityPick;

fn suites() -> Vec<String> {
    ["golden-qa", "code-syntax"].map(str::to_owned).to_vec()
}

/// An app that has seen a view of `rows` rows in a body of `height` lines at screen row 5.
fn app_with(rows: usize, height: u16) -> App {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Viewport(Viewport { top: 5, height }));
    app.update(Event::ViewChanged(facts(rows, suites())));
    app
}

fn facts(rows: usize, suites: Vec<String>) -> ViewFacts {
    ViewFacts {
        suites,
        ..ViewFacts::with_rows(rows)
    }
}

fn press(app: &mut App, key: KeyPress) -> Vec<Effect> {
    app.update(Event::Key(key))
}

#[test]
fn down_and_up_move_the_selection_within_the_rows() {
    let mut app = app_with(3, 10);
    assert_eq!(
        press(&mut app, KeyPress::plain(Key::Down)),
        vec![Effect::Redraw]
    );
    press(&mut app, KeyPress::char('j'));
    assert_eq!(app.level().selected, 2);
    assert_eq!(
        press(&mut app, KeyPress::char('j')),
        vec![],
        "no redraw at the last row"
    );
    assert_eq!(app.level().selected, 2);
    press(&mut app, KeyPress::char('k'));
    press(&mut app, KeyPress::plain(Key::Up));
    press(&mut app, KeyPress::plain(Key::Up));
    assert_eq!(app.level().selected, 0);
}

#[test]
fn page_keys_move_by_the_body_height_and_scroll_follows() {
    let mut app = app_with(100, 10);
    press(&mut app, KeyPress::plain(Key::PageDown));
    assert_eq!(app.level().selected, 10);
    assert_eq!(app.level().scroll, 1, "selection is the last visible row");
    press(&mut app, KeyPress::plain(Key::PageDown));
    press(&mut app, KeyPress::plain(Key::PageUp));
    assert_eq!(app.level().selected, 10);
    assert_eq!(app.level().scroll, 10, "selection is the first visible row");
}

#[test]
fn home_and_end_jump_to_the_first_and_last_rows() {
    let mut app = app_with(50, 10);
    press(&mut app, KeyPress::plain(Key::End));
    assert_eq!((app.level().selected, app.level().scroll), (49, 40));
    press(&mut app, KeyPress::plain(Key::Home));
    assert_eq!((app.level().selected, app.level().scroll), (0, 0));
}

#[test]
fn fewer_rows_after_new_data_pull_the_selection_back_in() {
    let mut app = app_with(50, 10);
    press(&mut app, KeyPress::plain(Key::End));
    app.update(Event::ViewChanged(facts(5, suites())));
    assert_eq!((app.level().selected, app.level().scroll), (4, 0));
}

#[test]
fn a_taller_body_scrolls_back_so_the_screen_stays_full() {
    let mut app = app_with(20, 5);
    press(&mut app, KeyPress::plain(Key::End));
    assert_eq!(app.level().scroll, 15);
    app.update(Event::Viewport(Viewport { top: 5, height: 15 }));
    assert_eq!(app.level().scroll, 5);
    assert_eq!(app.level().selected, 19);
}

#[test]
fn q_and_ctrl_c_quit() {
    for key in [KeyPress::char('q'), KeyPress::ctrl('c')] {
        let mut app = app_with(3, 10);
        assert_eq!(press(&mut app, key), vec![Effect::Quit]);
        assert!(app.should_quit());
    }
    let mut app = app_with(3, 10);
    press(&mut app, KeyPress::char('c'));
    assert!(!app.should_quit(), "a plain c is not Ctrl-C");
}

#[test]
fn help_opens_with_question_mark_and_closes_with_esc_or_question_mark() {
    let mut app = app_with(10, 5);
    press(&mut app, KeyPress::char('?'));
    assert_eq!(app.popup(), Some(&Popup::Help));
    // Keys under the popup do not move the table.
    press(&mut app, KeyPress::plain(Key::Down));
    app.update(Event::Mouse(MouseInput::WheelDown));
    assert_eq!(app.level().selected, 0);
    press(&mut app, KeyPress::plain(Key::Esc));
    assert_eq!(app.popup(), None);
    press(&mut app, KeyPress::char('?'));
    press(&mut app, KeyPress::char('?'));
    assert_eq!(app.popup(), None);
    press(&mut app, KeyPress::char('?'));
    assert_eq!(
        press(&mut app, KeyPress::char('q')),
        vec![Effect::Redraw],
        "q closes the help, as in less and k9s"
    );
    assert_eq!(app.popup(), None);
    assert!(!app.should_quit());
}

#[test]
fn the_suite_key_cycles_combined_then_each_suite_and_asks_for_a_recompute() {
    let mut app = app_with(3, 10);
    assert_eq!(app.quality, QualityPick::Combined);
    assert_eq!(
        press(&mut app, KeyPress::char('c')),
        vec![Effect::Recompute]
    );
    assert_eq!(app.quality, QualityPick::Suite("golden-qa".into()));
    assert_eq!(
        app.query().quality,
        app.quality,
        "the query carries the pick"
    );
    press(&mut app, KeyPress::char('c'));
    assert_eq!(app.quality, QualityPick::Suite("code-syntax".into()));
    press(&mut app, KeyPress::char('c'));
    assert_eq!(app.quality, QualityPick::Combined);
}

#[test]
fn a_picked_suite_that_disappears_falls_back_to_combined() {
    let mut app = app_with(3, 10);
    press(&mut app, KeyPress::char('c'));
    let effects = app.update(Event::ViewChanged(facts(3, vec!["other".into()])));
    assert!(effects.contains(&Effect::Recompute));
    assert_eq!(app.quality, QualityPick::Combined);
}

#[test]
fn a_click_selects_the_row_under_the_pointer_and_only_inside_the_body() {
    let mut app = app_with(30, 10);
    app.update(Event::Mouse(MouseInput::Click { column: 3, row: 8 }));
    assert_eq!(app.level().selected, 3);
    for row in [4, 15, 200] {
        assert_eq!(
            app.update(Event::Mouse(MouseInput::Click { column: 3, row })),
            vec![]
        );
    }
    assert_eq!(app.level().selected, 3);
    // Past the last row of a short table.
    let mut short = app_with(2, 10);
    short.update(Event::Mouse(MouseInput::Click { column: 0, row: 9 }));
    assert_eq!(short.level().selected, 0);
}

#[test]
fn the_wheel_moves_the_selection_three_rows() {
    let mut app = app_with(30, 10);
    app.update(Event::Mouse(MouseInput::WheelDown));
    assert_eq!(app.level().selected, 3);
    app.update(Event::Mouse(MouseInput::WheelUp));
    app.update(Event::Mouse(MouseInput::WheelUp));
    assert_eq!(app.level().selected, 0);
}

#[test]
fn the_clock_asks_for_a_redraw_once_per_second() {
    let mut app = app_with(3, 10);
    assert_eq!(app.update(Event::Clock(10_000)), vec![Effect::Redraw]);
    assert_eq!(app.update(Event::Clock(10_400)), vec![]);
    assert_eq!(app.update(Event::Clock(11_000)), vec![Effect::Redraw]);
    assert_eq!(app.wall_clock, 11_000);
}

#[test]
fn rebinding_an_action_moves_its_key_and_frees_the_old_one() {
    let mut keymap = KeyMap::default();
    keymap.rebind(Action::Quit, vec![KeyPress::char('x')]);
    keymap.rebind(Action::Down, vec![KeyPress::char('x'), KeyPress::char('n')]);
    assert_eq!(keymap.action_for(KeyPress::char('q')), None);
    assert_eq!(keymap.action_for(KeyPress::char('x')), Some(Action::Down));
    assert!(keymap.keys_for(Action::Quit).is_empty());
    assert_eq!(
        Action::from_name("cycle_quality"),
        Some(Action::CycleQuality)
    );
}

#[test]
fn every_action_has_a_key_and_no_key_means_two_actions() {
    let keymap = KeyMap::default();
    let mut seen = Vec::new();
    for (action, keys) in keymap.entries() {
        assert!(!keys.is_empty(), "{} unbound", action.name());
        for k in keys {
            assert!(!seen.contains(k), "{k} bound twice");
            seen.push(*k);
        }
    }
}

#[test]
fn the_overview_query_starts_at_the_whole_fleet_split_by_the_first_dimension() {
    let app = App::new(KeyMap::default());
    let q = app.query();
    assert!(q.path.is_empty());
    assert_eq!(q.split, qualtop::view::Split::Next);
    assert_eq!(app.levels().len(), 1);
}
