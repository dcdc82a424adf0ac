//! The `:` command line and Tab completion, over a real view model.

use crate::support::ui::*;
use qualtop::app::{App, Effect, Key, KeyPress};
use qualtop::view::Split;

const W: u16 = 160;
const H: u16 = 48;

#[test]
fn the_command_line_runs_actions_by_name() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    let run = |app: &mut App, line: &str| {
        press(app, KeyPress::char(':'));
        chars(app, line);
        enter(app)
    };
    run(&mut app, "group hardware");
    assert_eq!(app.level().split, Split::By("hardware".into()));
    run(&mut app, "filter model=m-large");
    assert_eq!(app.filter().text(), "model=m-large");
    run(&mut app, "window 15m");
    assert_eq!(app.query().window_ms, Some(15 * BUCKET_MS));
    let effects = run(&mut app, "theme high-contrast");
    assert!(effects.contains(&Effect::ThemeChanged), "{effects:?}");
    assert_eq!(app.theme(), Some("high-contrast"));
    run(&mut app, "frobnicate");
    assert!(app.message().unwrap().contains("unknown command"));
    press(&mut app, KeyPress::char('j'));
    assert_eq!(app.message(), None, "a message lasts until the next key");
    assert_eq!(run(&mut app, "quit"), vec![Effect::Quit]);
}

#[test]
fn tab_completes_command_names_and_dimension_values() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, W, H);
    press(&mut app, KeyPress::char(':'));
    chars(&mut app, "gr");
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.input().unwrap().text, "group ");
    chars(&mut app, "h");
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.input().unwrap().text, "group hardware");
    press(&mut app, KeyPress::ctrl('u'));
    chars(&mut app, "filter model=m-s");
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.input().unwrap().text, "filter model=m-small");
    press(&mut app, KeyPress::plain(Key::Esc));
    assert!(
        app.filter().is_empty(),
        "Esc on the command line runs nothing"
    );
    // The filter line completes too.
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "hard");
    press(&mut app, KeyPress::plain(Key::Tab));
    assert_eq!(app.input().unwrap().text, "hardware=");
}
