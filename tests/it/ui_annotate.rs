//! Annotating from the screen, state only: `a` opens a dialog scoped to the
//! selected row at the drill path, Esc asks before losing text, saving
//! emits the annotation for the sync task; `A` lists, edits, moves states
//! on; a colleague's new annotation flashes in the footer for a moment.

use std::collections::BTreeMap;

use crate::support::ui::*;
use qualtop::app::{App, Effect, Event, FLASH_MS, Key, KeyMap, KeyPress, Popup, ViewFacts};
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::view::{AnnotationEntry, AnnotationFacts, EntryStatus, TimeAxis};

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

fn save(app: &mut App) -> Annotation {
    let effects = press(app, KeyPress::ctrl('s'));
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::SubmitAnnotation(a) => Some(*a),
            _ => None,
        })
        .expect("saving emits the annotation")
}

fn note(id: &str, author: &str, state: AnnotationState, created: i64) -> Annotation {
    Annotation {
        id: id.into(),
        scope: scope(&[("model", "m-large")]),
        signal: None,
        from: DATA_NOW - 600_000,
        to: None,
        state,
        text: format!("note {id}"),
        author: author.into(),
        rev: Some(1),
        created: Some(created),
        updated: Some(created),
    }
}

fn shared(list: &[Annotation]) -> AnnotationFacts {
    AnnotationFacts {
        entries: list
            .iter()
            .map(|a| AnnotationEntry {
                annotation: a.clone(),
                status: EntryStatus::Shared,
            })
            .collect(),
        local_only: false,
        not_held: 0,
    }
}

#[test]
fn a_at_a_drilled_path_scopes_the_dialog_to_the_selected_row() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, 160, 48);
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    let vm = sync(&fleet, &mut app, 160, 48);
    select_row(&mut app, &vm, "api");
    press(&mut app, KeyPress::char('a'));
    let d = dialog(&app);
    assert_eq!(
        d.draft.scope,
        scope(&[("model", "m-large"), ("platform", "api")])
    );
    assert_eq!(
        d.draft.signal, None,
        "no suite picked: every quality signal"
    );
    assert_eq!(
        d.draft.from,
        vm.data_now.expect("data arrived"),
        "live: now"
    );
    assert_eq!(d.draft.to, None, "open-ended");
    assert!(!d.editing);
}

#[test]
fn the_aggregate_row_annotates_the_path_and_the_top_one_the_whole_fleet() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, 160, 48);
    press(&mut app, KeyPress::char('a'));
    assert_eq!(dialog(&app).draft.scope, BTreeMap::new());
    press(&mut app, KeyPress::plain(Key::Esc));
    assert_eq!(app.popup(), None, "nothing typed: Esc closes at once");
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    sync(&fleet, &mut app, 160, 48);
    press(&mut app, KeyPress::plain(Key::Home));
    // A picked suite is the annotation's signal.
    press(&mut app, KeyPress::char('c'));
    sync(&fleet, &mut app, 160, 48);
    press(&mut app, KeyPress::char('a'));
    let d = dialog(&app);
    assert_eq!(d.draft.scope, scope(&[("model", "m-large")]));
    assert_eq!(d.draft.signal.as_deref(), Some(SUITES[0]));
}

#[test]
fn the_start_is_the_rows_onset_else_the_frozen_cursor() {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(3);
    facts.row_onsets = vec![None, Some(42_000), None];
    facts.data_now = Some(99_000);
    facts.time = TimeAxis {
        bucket_ms: 1_000,
        head: Some(90),
        history_buckets: 60,
    };
    app.update(Event::ViewChanged(facts));
    press(&mut app, KeyPress::char('j'));
    press(&mut app, KeyPress::char('a'));
    assert_eq!(dialog(&app).draft.from, 42_000, "the regression's onset");
    press(&mut app, KeyPress::plain(Key::Esc));
    press(&mut app, KeyPress::char('j'));
    press(&mut app, KeyPress::char('a'));
    assert_eq!(dialog(&app).draft.from, 99_000, "no onset, live: data now");
    press(&mut app, KeyPress::plain(Key::Esc));
    press(&mut app, KeyPress::char('f'));
    press(&mut app, KeyPress::char('h'));
    press(&mut app, KeyPress::char('a'));
    assert_eq!(
        dialog(&app).draft.from,
        89_000,
        "frozen: the cursor's bucket"
    );
}

#[test]
fn esc_with_text_typed_asks_before_discarding() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::ViewChanged(ViewFacts::with_rows(2)));
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "tpu looks off");
    press(&mut app, KeyPress::plain(Key::Esc));
    assert!(dialog(&app).confirm_discard, "asks first");
    press(&mut app, KeyPress::char('n'));
    assert!(!dialog(&app).confirm_discard);
    assert_eq!(
        dialog(&app).text.text(),
        "tpu looks off",
        "n keeps the text"
    );
    press(&mut app, KeyPress::plain(Key::Esc));
    press(&mut app, KeyPress::char('y'));
    assert_eq!(app.popup(), None, "y discards");
}

#[test]
fn typing_goes_to_the_text_not_the_key_map() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::ViewChanged(ViewFacts::with_rows(2)));
    press(&mut app, KeyPress::char('a'));
    let effects = press(&mut app, KeyPress::char('q'));
    assert!(!effects.contains(&Effect::Quit), "q is a letter here");
    assert!(!app.should_quit());
    enter(&mut app);
    chars(&mut app, "x");
    assert_eq!(dialog(&app).text.text(), "q\nx", "Enter is a new line");
}

#[test]
fn saving_emits_the_annotation_with_a_fresh_id_and_the_local_author() {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(2);
    facts.data_now = Some(77_000);
    app.update(Event::ViewChanged(facts));
    press(&mut app, KeyPress::char('j'));
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "routing bug?");
    // Shift-Tab goes back from the text to the state; → moves it on.
    press(&mut app, KeyPress::plain(Key::BackTab));
    press(&mut app, KeyPress::plain(Key::Right));
    let a = save(&mut app);
    assert_eq!(app.popup(), None, "the dialog closes");
    assert_eq!(a.text, "routing bug?");
    assert_eq!(
        a.state,
        AnnotationState::Confirmed,
        "→ on the state field moved it on"
    );
    assert_eq!(a.author, qualtop::annotations::local_author());
    assert_eq!(a.from, 77_000);
    assert_eq!(
        (a.rev, a.created, a.updated, a.to),
        (None, None, None, None)
    );
    assert!(!a.id.is_empty());
    // Alt-Enter saves too, and the next annotation is a new one.
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "second");
    let effects = press(
        &mut app,
        KeyPress {
            alt: true,
            ..KeyPress::plain(Key::Enter)
        },
    );
    let Some(Effect::SubmitAnnotation(b)) = effects.into_iter().next() else {
        panic!("Alt-Enter saves");
    };
    assert_ne!(b.id, a.id);
}

#[test]
fn an_empty_annotation_is_not_saved() {
    let mut app = App::new(KeyMap::default());
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "   ");
    let effects = press(&mut app, KeyPress::ctrl('s'));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SubmitAnnotation(_)))
    );
    assert_eq!(
        dialog(&app).error.as_deref(),
        Some("an annotation needs some text"),
        "says why, and the dialog stays"
    );
}

#[test]
fn the_list_shows_annotations_filters_them_and_edits_one_under_its_id() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Clock(WALL_NOW));
    let older = note(
        "older",
        "oncall-1",
        AnnotationState::Suspected,
        WALL_NOW - 3_600_000,
    );
    let mut elsewhere = note(
        "newer",
        "oncall-2",
        AnnotationState::Confirmed,
        WALL_NOW - 60_000,
    );
    elsewhere.scope = scope(&[("model", "m-small")]);
    app.update(Event::Annotations(shared(&[elsewhere, older])));
    press(&mut app, KeyPress::char('A'));
    assert!(matches!(app.popup(), Some(Popup::Annotations(_))));
    assert_eq!(app.listed_annotations().len(), 2);
    // The state filter: suspected only.
    press(&mut app, KeyPress::char('t'));
    let ids: Vec<&str> = app
        .listed_annotations()
        .iter()
        .map(|e| e.annotation.id.as_str())
        .collect();
    assert_eq!(ids, ["older"]);
    press(&mut app, KeyPress::char('t'));
    press(&mut app, KeyPress::char('t'));
    press(&mut app, KeyPress::char('t'));
    press(&mut app, KeyPress::char('t'));
    assert_eq!(app.listed_annotations().len(), 2, "back to every state");
    enter(&mut app);
    let d = dialog(&app);
    assert!(d.editing);
    assert_eq!(d.draft.id, "newer");
    chars(&mut app, " (m-small only)");
    let a = save(&mut app);
    assert_eq!(a.id, "newer", "an edit keeps the id");
    assert_eq!(a.text, "note newer (m-small only)");
    assert!(
        matches!(app.popup(), Some(Popup::Annotations(_))),
        "back in the list"
    );
}

#[test]
fn here_only_keeps_the_annotations_touching_the_drill_path() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, 160, 48);
    select_row(&mut app, &vm, "m-large");
    enter(&mut app);
    sync(&fleet, &mut app, 160, 48);
    let mine = note("mine", "a", AnnotationState::Suspected, WALL_NOW);
    let mut other = note("other", "b", AnnotationState::Suspected, WALL_NOW);
    other.scope = scope(&[("model", "m-small")]);
    app.update(Event::Annotations(shared(&[mine, other])));
    press(&mut app, KeyPress::char('A'));
    press(&mut app, KeyPress::char('p'));
    let ids: Vec<&str> = app
        .listed_annotations()
        .iter()
        .map(|e| e.annotation.id.as_str())
        .collect();
    assert_eq!(ids, ["mine"]);
}

#[test]
fn r_moves_the_state_on_and_resolved_closes_the_range() {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(1);
    facts.data_now = Some(DATA_NOW);
    app.update(Event::ViewChanged(facts));
    let mitigated = note("m", "oncall", AnnotationState::Mitigated, WALL_NOW);
    app.update(Event::Annotations(shared(std::slice::from_ref(&mitigated))));
    press(&mut app, KeyPress::char('A'));
    let effects = press(&mut app, KeyPress::char('r'));
    let Some(Effect::SubmitAnnotation(a)) = effects.into_iter().next() else {
        panic!("r submits the change");
    };
    assert_eq!(a.id, "m");
    assert_eq!(a.state, AnnotationState::Resolved);
    assert_eq!(a.to, Some(DATA_NOW), "resolved: the range ends now");
    assert_eq!(a.rev, Some(1), "the edit names the rev it was made on");
    assert_eq!(
        (a.created, a.updated),
        (None, None),
        "server fields are the server's"
    );
}

#[test]
fn saving_a_conflicting_version_again_edits_the_servers_newer_rev() {
    let mut app = App::new(KeyMap::default());
    let mut facts = ViewFacts::with_rows(1);
    facts.data_now = Some(DATA_NOW);
    app.update(Event::ViewChanged(facts));
    let theirs = Annotation {
        rev: Some(3),
        text: "theirs".into(),
        ..note("c", "oncall", AnnotationState::Confirmed, WALL_NOW)
    };
    let mine = Annotation {
        text: "mine".into(),
        updated: None,
        created: None,
        ..note("c", "oncall", AnnotationState::Suspected, WALL_NOW)
    };
    let mut both = shared(std::slice::from_ref(&theirs));
    both.entries.insert(
        0,
        AnnotationEntry {
            annotation: mine,
            status: EntryStatus::Refused(
                "conflict: edited rev 1 but the server holds rev 3".into(),
            ),
        },
    );
    app.update(Event::Annotations(both));
    press(&mut app, KeyPress::char('A'));
    let listed: Vec<&str> = app
        .listed_annotations()
        .iter()
        .map(|e| e.annotation.text.as_str())
        .collect();
    assert_eq!(listed, ["mine", "theirs"], "both versions are listed");
    let effects = press(&mut app, KeyPress::char('r'));
    let Some(Effect::SubmitAnnotation(a)) = effects.into_iter().next() else {
        panic!("r submits the change");
    };
    assert_eq!(
        (a.text.as_str(), a.rev),
        ("mine", Some(3)),
        "rebased on the rev on screen"
    );
}

#[test]
fn a_colleagues_new_annotation_flashes_for_a_moment_and_ours_do_not() {
    let mut app = App::new(KeyMap::default());
    app.update(Event::Clock(WALL_NOW));
    let old = note(
        "old",
        "oncall-1",
        AnnotationState::Suspected,
        WALL_NOW - 86_400_000,
    );
    app.update(Event::Annotations(shared(std::slice::from_ref(&old))));
    assert!(
        app.flash().is_none(),
        "history from the snapshot is no news"
    );
    // Ours, echoed back: no news either.
    press(&mut app, KeyPress::char('a'));
    chars(&mut app, "mine");
    let mut ours = save(&mut app);
    ours.created = Some(WALL_NOW);
    app.update(Event::Annotations(shared(&[ours.clone(), old.clone()])));
    assert!(app.flash().is_none());
    let news = note("news", "oncall-2", AnnotationState::Suspected, WALL_NOW);
    app.update(Event::Annotations(shared(&[news, ours, old])));
    let flash = app.flash().expect("a colleague's note flashes");
    assert_eq!(flash.author, "oncall-2");
    assert!(app.popup().is_none(), "never steals focus");
    app.update(Event::Clock(WALL_NOW + FLASH_MS + 1_000));
    assert!(app.flash().is_none(), "gone after a few seconds");
}
