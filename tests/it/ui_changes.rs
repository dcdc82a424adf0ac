//! Changes on screen, drawn on a `TestBackend` at 80×24 and 120×40 and
//! compared with insta snapshots: change markers (◆) on the sparklines apart
//! from annotation markers, the detail view's changes list and the bug's top
//! suspect, the `C` list with its here/all filter, the annotation dialog
//! citing the suspect, and hostile change titles drawn clean.

use crate::support::ui::*;
use qualtop::app::{App, Event, Key, KeyMap, KeyPress, Popup};
use qualtop::detect::{DetectedRegression, Detections, ScopeOrigin};
use qualtop::feed::Fleet;
use qualtop::protocol::{Change, ChangeKind, Millis, SignalRole};
use qualtop::ui::{self, Look};
use qualtop::view::ViewModel;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Where `demo_like_fleet`'s m-large on tpu-v5 starts to drop.
const ONSET: Millis = DATA_NOW - 29 * BUCKET_MS;

fn change(
    id: &str,
    minutes_before_onset: i64,
    scope: &[(&str, &str)],
    kind: ChangeKind,
    title: &str,
) -> Change {
    Change {
        id: id.into(),
        at: ONSET - minutes_before_onset * BUCKET_MS,
        scope: scope
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect(),
        kind,
        title: title.into(),
        source: "cd".into(),
        link: None,
        author: None,
    }
}

/// The demo-like fleet with its m-large/tpu-v5 drop detected, a deploy to
/// tpu-v5 three minutes before it, an m-small decoy and an older fleet-wide
/// config push.
fn fleet_with_changes(title: &str) -> Fleet {
    let mut fleet = demo_like_fleet();
    let scope = [("hardware", "tpu-v5"), ("model", "m-large")];
    fleet.detections = Detections {
        through: Some(DATA_NOW),
        since: Some(DATA_NOW - (HISTORY_BUCKETS - 1) * BUCKET_MS),
        bucket_ms: BUCKET_MS,
        regressions: vec![DetectedRegression {
            signal: "golden-qa".into(),
            role: SignalRole::Quality,
            scope: scope
                .iter()
                .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
                .collect(),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            alarms: Vec::new(),
            onset: ONSET,
            onset_spread: None,
            detected_at: ONSET + 6 * BUCKET_MS,
            ended_at: None,
            baseline: 0.9,
            current: 0.82,
            delta_pp: -8.0,
            drop_table: None,
        }],
        ..Detections::default()
    };
    for c in [
        change("cfg-1", 20, &[], ChangeKind::Config, "router weights"),
        change(
            "gpu-7",
            10,
            &[("model", "m-small")],
            ChangeKind::Deploy,
            "m-small tokenizer",
        ),
        change(
            "tpu-42",
            3,
            &[("hardware", "tpu-v5")],
            ChangeKind::Deploy,
            title,
        ),
    ] {
        fleet.merge_change(c);
    }
    fleet
}

fn draw(app: &App, vm: &ViewModel, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| ui::render(f, app, vm, &Look::default()))
        .unwrap();
    mask_clock(&text_of(terminal.backend().buffer()))
}

/// Plays `keys` (syncing the view after each, as the loop would), then draws.
fn screen_after(fleet: &Fleet, keys: &[KeyPress], width: u16, height: u16) -> (App, String) {
    let mut app = App::new(KeyMap::default());
    sync(fleet, &mut app, width, height);
    for k in keys {
        app.update(Event::Key(*k));
        sync(fleet, &mut app, width, height);
    }
    let vm = sync(fleet, &mut app, width, height);
    let text = draw(&app, &vm, width, height);
    (app, text)
}

const DOWN: KeyPress = KeyPress::plain(Key::Down);

/// From the fleet: select m-large (the regressed row sorts first) and open its detail.
fn m_large_detail() -> Vec<KeyPress> {
    vec![DOWN, KeyPress::char('d')]
}

#[test]
fn change_markers_sit_on_the_sparklines_of_the_rows_they_cover() {
    let fleet = fleet_with_changes("tpu-runtime v42");
    let (_, screen) = screen_after(&fleet, &[], 120, 40);
    let row = |name: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(&format!(" {name}")) || l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{screen}"))
            .to_owned()
    };
    // The fleet-wide push covers every row. The tpu deploy touches the
    // fleet and m-large but covers neither: its marker waits for a row it
    // applied to whole (the detail view and `C` list it), so a fleet's
    // stream of partial changes does not bury the sparklines.
    let marks = |name: &str| row(name).matches('◆').count();
    assert_eq!(marks("m-large"), 1, "{screen}");
    assert_eq!(marks("m-medium"), 1, "{screen}");
    // The m-small deploy covers its own row.
    assert_eq!(marks("m-small"), 2, "{screen}");
    insta::assert_snapshot!("changes_overview_120x40", screen);
}

#[test]
fn the_detail_view_lists_changes_and_names_the_bugs_top_suspect() {
    let fleet = fleet_with_changes("tpu-runtime v42");
    let (_, small) = screen_after(&fleet, &m_large_detail(), 80, 24);
    let (_, large) = screen_after(&fleet, &m_large_detail(), 120, 40);
    assert!(
        large.contains("suspect: deploy \"tpu-runtime v42\" to hardware=tpu-v5, 3m before onset"),
        "{large}"
    );
    assert!(large.contains("changes"), "{large}");
    assert!(
        !large.contains("m-small tokenizer"),
        "the m-small deploy does not touch m-large"
    );
    insta::assert_snapshot!("changes_detail_80x24", small);
    insta::assert_snapshot!("changes_detail_120x40", large);
}

#[test]
fn capital_c_lists_every_change_in_the_window_and_p_keeps_those_here() {
    let fleet = fleet_with_changes("tpu-runtime v42");
    let (mut app, all) = screen_after(&fleet, &[KeyPress::char('C')], 80, 24);
    assert!(matches!(app.popup(), Some(Popup::Changes(_))));
    for title in ["tpu-runtime v42", "m-small tokenizer", "router weights"] {
        assert!(all.contains(title), "{title} missing:\n{all}");
    }
    insta::assert_snapshot!("changes_list_80x24", all);
    // From m-large's detail: the m-small deploy is not here.
    let keys = [
        DOWN,
        KeyPress::char('d'),
        KeyPress::char('C'),
        KeyPress::char('p'),
    ];
    let (_, here) = screen_after(&fleet, &keys, 120, 40);
    assert!(
        here.contains("tpu-runtime v42") && !here.contains("m-small tokenizer"),
        "{here}"
    );
    insta::assert_snapshot!("changes_list_here_120x40", here);
    app.update(Event::Key(KeyPress::plain(Key::Esc)));
    assert_eq!(app.popup(), None, "Esc closes the list");
}

#[test]
fn annotating_a_regressed_row_cites_its_top_suspect() {
    let fleet = fleet_with_changes("tpu-runtime v42");
    let mut app = App::new(KeyMap::default());
    sync(&fleet, &mut app, 120, 40);
    app.update(Event::Key(DOWN));
    app.update(Event::Key(KeyPress::char('a')));
    let Some(Popup::Annotate(dialog)) = app.popup() else {
        panic!("no dialog");
    };
    assert_eq!(
        dialog.text.text(),
        "suspect: deploy \"tpu-runtime v42\" (change tpu-42), 3m before onset"
    );
}

#[test]
fn hostile_change_titles_reach_the_screen_clean() {
    let fleet = fleet_with_changes("v42\x1b]0;pwned\x07\u{202e}evil");
    for keys in [vec![], m_large_detail(), vec![KeyPress::char('C')]] {
        let (_, screen) = screen_after(&fleet, &keys, 120, 40);
        assert!(
            !screen.contains('\x1b') && !screen.contains('\u{202e}') && !screen.contains('\x07'),
            "{screen}"
        );
    }
    let (_, list) = screen_after(&fleet, &[KeyPress::char('C')], 120, 40);
    assert!(list.contains("v42evil"), "{list}");
}
