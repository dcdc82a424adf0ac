//! Keys that do not surprise, state only: `q` closes what is on top and
//! quits only from the table; Ctrl-C quits from anywhere but the dialog;
//! a second Tab completes a command's argument; the window keys and
//! `:window` say why when the history is shorter; the help scrolls.

use crate::support::ui::*;
use qualtop::app::{App, Effect, Event, Key, KeyMap, KeyPress, Popup, ViewFacts};
use qualtop::view::{DimensionValues, TimeAxis};

const HOUR: i64 = 3_600_000;

fn app_with_six_hours() -> App {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(3);
    facts.time = TimeAxis {
        bucket_ms: 60_000,
        head: Some(1_000),
        history_buckets: 360,
    };
    facts.dimensions = vec![DimensionValues {
        name: "model".into(),
        values: vec!["atlas-m".into()],
    }];
    app.update(Event::ViewChanged(facts));
    app
}

fn q(app: &mut App) -> Vec<Effect> {
    press(app, KeyPress::char('q'))
}

#[test]
fn q_closes_popups_and_the_detail_view_and_quits_only_from_the_table() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char('f'));
    assert!(app.is_frozen());
    for (key, what) in [('?', "help"), ('A', "annotation list"), ('g', "g menu")] {
        press(&mut app, KeyPress::char(key));
        assert!(app.popup().is_some(), "{what} opens");
        let effects = q(&mut app);
        assert_eq!(app.popup(), None, "q closes the {what}");
        assert!(
            !effects.contains(&Effect::Quit) && !app.should_quit(),
            "{what}"
        );
    }
    press(&mut app, KeyPress::char('d'));
    assert!(app.detail().is_some());
    let effects = q(&mut app);
    assert_eq!(app.detail(), None, "q leaves the detail view");
    assert!(!effects.contains(&Effect::Quit));
    assert!(app.is_frozen(), "the frozen view survives");
    assert!(
        q(&mut app).contains(&Effect::Quit),
        "from the table q quits"
    );
}

#[test]
fn ctrl_c_quits_even_from_a_popup() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char('?'));
    assert!(press(&mut app, KeyPress::ctrl('c')).contains(&Effect::Quit));
}

#[test]
fn ctrl_c_cancels_the_input_line_as_in_a_shell() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "gro");
    let effects = press(&mut app, KeyPress::ctrl('c'));
    assert!(!effects.contains(&Effect::Quit) && app.input().is_none());
}

#[test]
fn a_second_tab_completes_the_argument_of_a_command() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "gr");
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.input().map(|l| l.text.as_str()), Some("group "));
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(
        app.input().map(|l| l.text.as_str()),
        Some("group model"),
        "the second Tab lists the dimensions"
    );
}

#[test]
fn window_wider_than_the_history_says_so() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "window 24h");
    enter(&mut app);
    assert_eq!(app.time().window_ms(), 6 * HOUR);
    assert_eq!(app.message(), Some("only 6h of history: window 6h"));
    let effects = press(&mut app, KeyPress::char('['));
    assert!(!effects.contains(&Effect::Recompute));
    assert_eq!(
        app.message(),
        Some("only 6h of history: the 6h window shows it all")
    );
    for _ in 0..4 {
        press(&mut app, KeyPress::char(']'));
    }
    assert_eq!(app.message(), Some("15m is the narrowest window"));
}

#[test]
fn the_widest_window_says_it_is_the_widest() {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(1);
    facts.time = TimeAxis {
        bucket_ms: 60_000,
        head: Some(5_000),
        history_buckets: 2_880,
    };
    app.update(Event::ViewChanged(facts));
    for _ in 0..3 {
        press(&mut app, KeyPress::char('['));
    }
    assert_eq!(app.time().window_ms(), 24 * HOUR);
    assert_eq!(app.message(), Some("24h is the widest window"));
}

#[test]
fn the_help_scrolls_and_reopens_at_the_top() {
    let mut app = app_with_six_hours();
    press(&mut app, KeyPress::char('?'));
    assert_eq!(app.popup(), Some(&Popup::Help));
    press(&mut app, KeyPress::plain(Key::PageDown));
    press(&mut app, KeyPress::char('j'));
    assert_eq!(app.help_scroll(), 11);
    press(&mut app, KeyPress::char('k'));
    assert_eq!(app.help_scroll(), 10);
    press(&mut app, KeyPress::plain(Key::Esc));
    press(&mut app, KeyPress::char('?'));
    assert_eq!(app.help_scroll(), 0);
}
