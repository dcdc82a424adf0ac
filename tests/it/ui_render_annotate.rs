//! Annotations on screen, drawn on a `TestBackend`: the dialog and the list
//! at 80x24 and 160x48, counts and markers in the table, the notes under
//! the detail view, and hostile text drawn without a control character.

use std::collections::BTreeMap;

use crate::support::ui::*;
use qualtop::app::{App, Event, KeyMap, KeyPress};
use qualtop::feed::{AnnotationsMode, Fleet};
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::ui::{self, Look};
use qualtop::view::{AnnotationFacts, compute_overview};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

fn draw(fleet: &Fleet, app: &mut App, width: u16, height: u16) -> Buffer {
    draw_with(fleet, app, width, height, &Look::default())
}

fn draw_with(fleet: &Fleet, app: &mut App, width: u16, height: u16, look: &Look) -> Buffer {
    let vm = sync(fleet, app, width, height);
    app.update(Event::Annotations(AnnotationFacts::of(fleet)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::render(f, app, &vm, look)).unwrap();
    terminal.backend().buffer().clone()
}

/// The header's `HH:MM:SS UTC` clock is the one thing that varies.
fn mask_clock(text: &str) -> String {
    text.lines()
        .map(|l| match l.find(" UTC") {
            Some(i)
                if i >= 8
                    && l[..i].ends_with(|c: char| c.is_ascii_digit())
                    && l.as_bytes()[i - 3] == b':'
                    && l.as_bytes()[i - 6] == b':' =>
            {
                format!("{}[clock]{}", &l[..i - 8], &l[i + 4..])
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn note(id: &str, author: &str, scope: &[(&str, &str)], text: &str) -> Annotation {
    Annotation {
        id: id.into(),
        scope: scope
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        signal: None,
        from: DATA_NOW - 20 * BUCKET_MS,
        to: None,
        state: AnnotationState::Suspected,
        text: text.into(),
        author: author.into(),
        rev: Some(1),
        created: Some(WALL_NOW - 300_000),
        updated: Some(WALL_NOW - 300_000),
    }
}

/// The demo-like fleet with a shared note on m-large, one pending on the
/// whole fleet, one refused, and the backend not sharing them.
fn annotated_fleet() -> Fleet {
    let mut fleet = demo_like_fleet();
    fleet.annotations.merge(note(
        "n1",
        "oncall-2",
        &[("model", "m-large")],
        "TPU slices of m-large look off since the deploy",
    ));
    let mut pending = note("n2", "me", &[], "checking the router config");
    pending.rev = None;
    pending.created = None;
    pending.updated = None;
    fleet.pending_annotations.push(pending.clone());
    let mut refused = note("n3", "me", &[("model", "m-code")], "too fast");
    refused.rev = None;
    fleet.pending_annotations.push(refused);
    fleet
        .annotation_errors
        .push(("n3".into(), "rate_limited: 10 a minute".into()));
    fleet.annotations_mode = AnnotationsMode::LocalOnly;
    fleet
}

#[test]
fn the_dialog_at_80x24_and_160x48() {
    let fleet = annotated_fleet();
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = App::new(KeyMap::default());
        draw(&fleet, &mut app, w, h);
        let vm = sync(&fleet, &mut app, w, h);
        select_row(&mut app, &vm, "m-large");
        app.update(Event::Key(KeyPress::char('a')));
        chars(&mut app, "quality of m-large dropped");
        app.update(Event::Key(KeyPress::plain(qualtop::app::Key::Enter)));
        chars(&mut app, "suspect the tpu compiler");
        let text = text_of(&draw(&fleet, &mut app, w, h));
        assert!(text.contains("model=m-large"), "{text}");
        assert!(text.contains("Ctrl-S"), "the dialog says how to save");
        insta::assert_snapshot!(format!("annotate_dialog_{w}x{h}"), mask_clock(&text));
    }
}

#[test]
fn the_list_at_80x24_and_160x48_says_pending_refused_and_local_only() {
    let fleet = annotated_fleet();
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = App::new(KeyMap::default());
        draw(&fleet, &mut app, w, h);
        app.update(Event::Key(KeyPress::char('A')));
        let text = text_of(&draw(&fleet, &mut app, w, h));
        assert!(text.contains("pending"), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert!(text.contains("local only"), "{text}");
        insta::assert_snapshot!(format!("annotate_list_{w}x{h}"), mask_clock(&text));
    }
}

#[test]
fn rows_show_how_many_annotations_touch_them_and_where_one_starts() {
    let fleet = annotated_fleet();
    let mut app = App::new(KeyMap::default());
    let buffer = draw(&fleet, &mut app, 160, 48);
    let text = text_of(&buffer);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
            .to_owned()
    };
    // m-large: its own note and the fleet-wide pending one.
    assert!(line("m-large").contains("✎2"), "{}", line("m-large"));
    assert!(line("m-medium").contains("✎1"), "{}", line("m-medium"));
    assert!(
        line("m-large").matches('✎').count() >= 3,
        "count plus markers in the sparklines: {}",
        line("m-large")
    );
    let vm = compute_overview(&fleet, &app.query());
    let row = vm.table.rows.iter().find(|r| r.name == "m-large").unwrap();
    assert_eq!(row.annotations.count, 2);
    assert_eq!(row.annotations.starts, vec![row.quality.buckets.len() - 21]);
    let ascii = Look {
        ascii: true,
        ..Look::default()
    };
    let text = text_of(&draw_with(&fleet, &mut app, 160, 48, &ascii));
    let line = text.lines().find(|l| l.contains("m-large")).unwrap();
    assert!(line.contains("*2") && line.contains('A'), "ASCII: {line}");
    assert!(line.is_ascii(), "{line}");
}

#[test]
fn the_detail_view_lists_the_annotations_touching_the_group() {
    let fleet = annotated_fleet();
    let mut app = App::new(KeyMap::default());
    let vm = sync(&fleet, &mut app, 160, 48);
    select_row(&mut app, &vm, "m-large");
    app.update(Event::Key(KeyPress::char('d')));
    let text = text_of(&draw(&fleet, &mut app, 160, 48));
    let line = text
        .lines()
        .find(|l| l.contains("oncall-2"))
        .unwrap_or_else(|| panic!("no note listed:\n{text}"));
    assert!(line.contains("suspected") && line.contains("5m"), "{line}");
    assert!(text.contains("pending"), "the fleet-wide pending one too");
    assert!(!text.contains("too fast"), "m-code's note is not m-large's");
}

#[test]
fn hostile_annotation_text_is_drawn_without_control_characters() {
    let mut fleet = demo_like_fleet();
    let evil = "\x1b]0;pwned\x07\x1b[2J\u{202e}rm -rf\r\nnext\u{9b}31m";
    let mut hostile = note("evil", "\x1b[31mmallory", &[("model", "m-large")], evil);
    hostile.created = Some(WALL_NOW);
    fleet.annotations.merge(hostile);
    let mut app = App::new(KeyMap::default());
    app.update(Event::Clock(WALL_NOW));
    // As news (the footer flash), in the list, in the detail view, in the dialog.
    let mut screens = Vec::new();
    screens.push(draw(&fleet, &mut app, 120, 40));
    assert!(app.flash().is_some(), "the note arrived as news");
    app.update(Event::Key(KeyPress::char('A')));
    screens.push(draw(&fleet, &mut app, 120, 40));
    app.update(Event::Key(KeyPress::plain(qualtop::app::Key::Enter)));
    screens.push(draw(&fleet, &mut app, 120, 40));
    for buffer in &screens {
        let text = text_of(buffer);
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{}",
            text.escape_debug()
        );
        assert!(!text.contains("pwned"), "the OSC title string is dropped");
    }
    assert!(text_of(&screens[0]).contains("mallory"));
    assert!(text_of(&screens[1]).contains("rm -rf"));
}

#[test]
fn the_copy_is_the_selected_row_or_the_detail_view_as_plain_text() {
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    let vm = sync(&fleet, &mut app, 160, 48);
    select_row(&mut app, &vm, "m-large");
    let row = ui::copy_text(&app, &vm);
    assert!(
        row.starts_with("model=m-large  at 2025-09-01 12:00 UTC, window 1h\navailability 99.95%"),
        "what, when, over which window, then the figures: {row}"
    );
    assert!(row.contains("vs base -4.01pp"), "{row}");
    app.update(Event::Key(KeyPress::char('d')));
    let vm = sync(&fleet, &mut app, 160, 48);
    let detail = ui::copy_text(&app, &vm);
    assert!(detail.starts_with("detail: model=m-large"), "{detail}");
    assert!(detail.contains("by hardware"), "{detail}");
    assert!(!detail.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn a_conflict_shows_both_versions_and_the_list_says_how_many_are_not_held() {
    let mut fleet = annotated_fleet();
    fleet.annotations_mode = AnnotationsMode::Unknown;
    let theirs = note("c1", "oncall", &[("model", "m-large")], "their newer edit");
    let mut mine = note("c1", "me", &[("model", "m-large")], "my stale edit");
    mine.rev = Some(1);
    fleet.annotations.merge(Annotation {
        rev: Some(2),
        updated: Some(WALL_NOW),
        ..theirs
    });
    fleet
        .refused_annotations
        .push(qualtop::feed::RefusedAnnotation {
            annotation: mine,
            reason:
                "conflict: annotation \"c1\": edited rev 1 but the server holds rev 2 (by oncall)"
                    .into(),
        });
    // Fill past the client's cap so that some are let go.
    for i in 0..qualtop::feed::MAX_HELD_ANNOTATIONS + 3 {
        let mut old = note(&format!("old{i}"), "x", &[], "old");
        old.to = Some(old.from + 1);
        old.rev = Some(1);
        fleet.annotations.merge(old);
    }
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = App::new(KeyMap::default());
        draw(&fleet, &mut app, w, h);
        app.update(Event::Key(KeyPress::char('A')));
        let text = text_of(&draw(&fleet, &mut app, w, h));
        assert!(text.contains("my stale edit"), "{text}");
        assert!(text.contains("their newer edit"), "{text}");
        assert!(
            text.contains("conflict: edited rev 1 but the server"),
            "{text}"
        );
        assert!(
            !text.contains("annotation \"c1\""),
            "the id is the row's: {text}"
        );
        assert!(text.contains("older not held"), "{text}");
    }
}
