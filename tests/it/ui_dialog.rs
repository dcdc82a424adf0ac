//! The annotation dialog's fields, state only: the scope takes the filter's
//! single-valued terms, every field can be edited (scope checked against
//! the store, signal and state cycled, start as HH:MM or RFC 3339), shell
//! editing keys work, Ctrl-C cancels and never quits.

use std::collections::BTreeMap;

use crate::support::ui::*;
use qualtop::app::{App, DialogField, Effect, Event, Key, KeyMap, KeyPress, Popup, ViewFacts};
use qualtop::protocol::Annotation;
use qualtop::view::DimensionValues;

fn dialog(app: &App) -> &qualtop::app::AnnotationDialog {
    match app.popup() {
        Some(Popup::Annotate(d)) => d,
        other => panic!("no dialog open: {other:?}"),
    }
}

fn scope(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(d, v)| (d.to_string(), v.to_string()))
        .collect()
}

fn saved(effects: Vec<Effect>) -> Option<Annotation> {
    effects.into_iter().find_map(|e| match e {
        Effect::SubmitAnnotation(a) => Some(*a),
        _ => None,
    })
}

/// An app over rows `all, atlas-s, atlas-m` split by model, with two suites.
fn app_with_models() -> App {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(0);
    facts.rows = vec![
        qualtop::view::RowKey::All,
        qualtop::view::RowKey::Value("atlas-s".into()),
        qualtop::view::RowKey::Value("atlas-m".into()),
    ];
    facts.split = Some("model".into());
    facts.suites = vec!["golden-qa".into(), "code-syntax".into()];
    facts.dimensions = vec![
        DimensionValues {
            name: "model".into(),
            values: vec!["atlas-m".into(), "atlas-s".into()],
        },
        DimensionValues {
            name: "hardware".into(),
            values: vec!["gpu".into(), "tpu".into()],
        },
    ];
    facts.data_now = Some(DATA_NOW);
    app.update(Event::ViewChanged(facts));
    app
}

fn focus(app: &mut App, field: DialogField) {
    for _ in 0..5 {
        if dialog(app).focus == field {
            return;
        }
        press(app, KeyPress::plain(Key::Tab));
    }
    panic!("Tab never reached {field:?}");
}

#[test]
fn the_scope_is_the_row_plus_the_filters_single_valued_terms() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "hardware=TPU region=a,b word");
    enter(&mut app);
    press(&mut app, KeyPress::char('j'));
    press(&mut app, KeyPress::char('a'));
    assert_eq!(
        dialog(&app).draft.scope,
        scope(&[("model", "atlas-s"), ("hardware", "tpu")]),
        "hardware=tpu holds one value (spelled as the store does); region=a,b and words do not"
    );
    assert_eq!(dialog(&app).scope.text(), "hardware=tpu model=atlas-s");
}

#[test]
fn every_field_can_be_edited_and_saved() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('j'));
    press(&mut app, KeyPress::char('a'));
    assert_eq!(dialog(&app).focus, DialogField::Text, "the text first");
    chars(&mut app, "routing, not tpu");
    focus(&mut app, DialogField::Scope);
    press(&mut app, KeyPress::ctrl('u'));
    chars(&mut app, "model=atlas-m");
    focus(&mut app, DialogField::Signal);
    press(&mut app, KeyPress::plain(Key::Right));
    press(&mut app, KeyPress::plain(Key::Right));
    focus(&mut app, DialogField::Start);
    press(&mut app, KeyPress::ctrl('u'));
    chars(&mut app, "2025-09-01T11:30:00Z");
    focus(&mut app, DialogField::State);
    press(&mut app, KeyPress::plain(Key::Left));
    let a = saved(press(&mut app, KeyPress::ctrl('s'))).expect("saved");
    assert_eq!(a.scope, scope(&[("model", "atlas-m")]));
    assert_eq!(
        a.signal.as_deref(),
        Some("code-syntax"),
        "any → golden-qa → code-syntax"
    );
    assert_eq!(a.from, 1_756_726_200_000);
    assert_eq!(
        a.state,
        qualtop::protocol::AnnotationState::Resolved,
        "← from suspected"
    );
    assert_eq!(a.to, Some(DATA_NOW), "resolved closes the range");
    assert_eq!(a.text, "routing, not tpu");
}

#[test]
fn the_start_takes_hh_mm_in_data_time() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "x");
    focus(&mut app, DialogField::Start);
    press(&mut app, KeyPress::ctrl('u'));
    chars(&mut app, "11:15");
    let a = saved(press(&mut app, KeyPress::ctrl('s'))).expect("saved");
    // DATA_NOW is 2025-09-01T12:00Z.
    assert_eq!(a.from, DATA_NOW - 45 * 60_000);
}

#[test]
fn a_bad_scope_or_start_keeps_the_dialog_open_and_says_why() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "x");
    focus(&mut app, DialogField::Scope);
    chars(&mut app, "colour=red");
    assert!(saved(press(&mut app, KeyPress::ctrl('s'))).is_none());
    let why = dialog(&app).error.clone().expect("an error shows");
    assert!(why.contains("no dimension \"colour\""), "{why}");
    press(&mut app, KeyPress::ctrl('u'));
    assert_eq!(dialog(&app).error, None, "the next key clears it");
    chars(&mut app, "model=zeta");
    press(&mut app, KeyPress::ctrl('s'));
    assert!(
        dialog(&app)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no value"))
    );
    press(&mut app, KeyPress::ctrl('u'));
    focus(&mut app, DialogField::Start);
    chars(&mut app, "x");
    press(&mut app, KeyPress::ctrl('s'));
    assert!(
        dialog(&app)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("HH:MM"))
    );
}

#[test]
fn editing_keys_move_inside_the_text_as_in_a_shell() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "tpu looks off");
    press(&mut app, KeyPress::ctrl('w'));
    press(&mut app, KeyPress::plain(Key::Home));
    chars(&mut app, "the ");
    press(&mut app, KeyPress::plain(Key::End));
    press(&mut app, KeyPress::plain(Key::Left));
    chars(&mut app, "!");
    assert_eq!(dialog(&app).text.text(), "the tpu looks! ");
    press(&mut app, KeyPress::ctrl('u'));
    assert_eq!(
        dialog(&app).text.text(),
        " ",
        "Ctrl-U: to the start of the line"
    );
}

#[test]
fn ctrl_c_cancels_the_dialog_and_never_quits() {
    let mut app = app_with_models();
    press(&mut app, KeyPress::char('a'));
    let effects = press(&mut app, KeyPress::ctrl('c'));
    assert!(!effects.contains(&Effect::Quit) && !app.should_quit());
    assert_eq!(app.popup(), None, "nothing typed: closes at once");
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "half a thought");
    press(&mut app, KeyPress::ctrl('c'));
    assert!(dialog(&app).confirm_discard, "something typed: asks first");
    let effects = press(&mut app, KeyPress::ctrl('c'));
    assert_eq!(app.popup(), None, "a second Ctrl-C discards");
    assert!(!effects.contains(&Effect::Quit) && !app.should_quit());
    // Out of the dialog, Ctrl-C quits as before.
    assert!(press(&mut app, KeyPress::ctrl('c')).contains(&Effect::Quit));
}
