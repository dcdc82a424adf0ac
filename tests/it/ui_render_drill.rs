//! What drilling looks like, drawn on a `TestBackend` and compared with insta
//! snapshots: breadcrumbs, the filter line, the pivot menu, the FROZEN mark,
//! the status column at 80 columns, and the detail view at 80x24, 160x48
//! and 250x70. The clock is fixed by the test and masked anyway.

use crate::support::ui::*;
use qualtop::app::{App, Event, Key, KeyMap, KeyPress};
use qualtop::detect::ScopeFit;
use qualtop::feed::Fleet;
use qualtop::protocol::{Annotation, AnnotationState};
use qualtop::ui::{self, Look};
use qualtop::view::{RowStatus, Severity, SuspectWords, ViewModel};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

fn draw_vm(app: &App, vm: &ViewModel, width: u16, height: u16, look: &Look) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::render(f, app, vm, look)).unwrap();
    terminal.backend().buffer().clone()
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
    let text = text_of(&draw_vm(&app, &vm, width, height, &Look::default()));
    (app, text)
}

fn typed(text: &str) -> Vec<KeyPress> {
    text.chars().map(KeyPress::char).collect()
}

fn keys(parts: &[&[KeyPress]]) -> Vec<KeyPress> {
    parts.concat()
}

const ENTER: KeyPress = KeyPress::plain(Key::Enter);
const DOWN: KeyPress = KeyPress::plain(Key::Down);

/// Fleet → pivot to hardware → drill into tpu-v5.
fn tpu_keys() -> Vec<KeyPress> {
    keys(&[&[KeyPress::char('g'), DOWN, DOWN, DOWN, ENTER, DOWN, ENTER]])
}

#[test]
fn a_drilled_level_shows_breadcrumbs_and_its_split() {
    let (app, text) = screen_after(&demo_like_fleet(), &tpu_keys(), 80, 24);
    assert_eq!(app.levels().len(), 2);
    assert!(text.contains("fleet › hardware=tpu-v5  by model"), "{text}");
    assert!(text.contains("all tpu-v5"), "{text}");
    insta::assert_snapshot!("drilled_tpu_80x24", mask_clock(&text));
}

#[test]
fn the_filter_line_shows_what_is_typed_and_tab_candidates() {
    let fleet = demo_like_fleet();
    let k = keys(&[&typed("/hardware=t"), &[KeyPress::plain(Key::Tab)]]);
    let (_, text) = screen_after(&fleet, &k, 80, 24);
    assert!(text.contains("/hardware=tpu-v5"), "{text}");
    insta::assert_snapshot!("filter_typing_80x24", mask_clock(&text));
    let k = keys(&[&typed("/model=m-large,m-small"), &[ENTER]]);
    let (_, text) = screen_after(&fleet, &k, 80, 24);
    assert!(
        text.contains("filter model=m-large,m-small  (Esc clears)"),
        "{text}"
    );
    insta::assert_snapshot!("filter_active_80x24", mask_clock(&text));
}

#[test]
fn the_pivot_menu_marks_the_current_split() {
    let (_, text) = screen_after(&demo_like_fleet(), &[KeyPress::char('g')], 80, 24);
    assert!(
        text.contains("group by (Enter)") && text.contains("● model"),
        "{text}"
    );
    assert!(text.contains("every leaf, flat"));
    insta::assert_snapshot!("pivot_menu_80x24", mask_clock(&text));
}

#[test]
fn a_frozen_screen_says_so_with_the_cursor_in_data_time() {
    let k = [KeyPress::char('f'), KeyPress::shift(Key::Left)];
    let (_, text) = screen_after(&demo_like_fleet(), &k, 80, 24);
    let title = text.lines().next().unwrap();
    assert!(title.contains(" FROZEN "), "{title}");
    // One clock: the wall-clock freeze time (12:00:05) is not shown.
    assert!(!title.contains("12:00:05"), "{title}");
    assert!(title.contains("cursor 11:50 UTC (-10m)"), "{title}");
    assert!(text.contains("←→ time  0 live"), "{text}");
    insta::assert_snapshot!("frozen_80x24", mask_clock(&text));
}

#[test]
fn status_words_keep_their_column_at_80_columns_and_the_header_counts_regressions() {
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    let mut vm = sync(&fleet, &mut app, 80, 24);
    vm.table.rows[1].status = Some(RowStatus {
        severity: Severity::Regressed,
        text: "14m".into(),
    });
    vm.table.rows[2].status = Some(RowStatus {
        severity: Severity::Watch,
        text: String::new(),
    });
    vm.header.active_regressions = 2;
    let text = text_of(&draw_vm(&app, &vm, 80, 24, &Look::default()));
    assert!(
        text.lines().next().unwrap().contains("2 regressions"),
        "{text}"
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(
        line(&vm.table.rows[1].name).contains("REGRESSION"),
        "{text}"
    );
    assert!(line(&vm.table.rows[2].name).contains("WATCH"), "{text}");
    insta::assert_snapshot!("status_words_80x24", mask_clock(&text));
}

fn with_annotation(mut fleet: Fleet) -> Fleet {
    fleet.annotations.merge(Annotation {
        id: "n1".into(),
        scope: [("model".to_owned(), "m-large".to_owned())].into(),
        signal: None,
        from: DATA_NOW - 30 * BUCKET_MS,
        to: None,
        state: AnnotationState::Confirmed,
        text: "tpu-v5 rollout".into(),
        author: "oncall".into(),
        rev: Some(1),
        created: None,
        updated: None,
    });
    fleet
}

/// Fleet → m-large (the worst model) → d.
fn detail_keys() -> Vec<KeyPress> {
    vec![DOWN, KeyPress::char('d')]
}

#[test]
fn the_detail_view_fits_80x24_with_one_chart_at_a_time() {
    let fleet = with_annotation(demo_like_fleet());
    let (app, text) = screen_after(&fleet, &detail_keys(), 80, 24);
    assert!(app.detail().is_some());
    assert!(
        text.contains("fleet › model=m-large  detail: 4 slices"),
        "{text}"
    );
    assert!(
        text.contains("Tab: more") || text.contains("Tab: next"),
        "{text}"
    );
    assert!(text.contains("by hardware"), "{text}");
    assert!(text.contains('A'), "annotation marker drawn: {text}");
    insta::assert_snapshot!("detail_80x24", mask_clock(&text));
    // Tab brings the next chart.
    let k = keys(&[&detail_keys(), &[KeyPress::plain(Key::Tab)]]);
    let (_, next) = screen_after(&fleet, &k, 80, 24);
    assert_ne!(text, next);
}

#[test]
fn the_detail_view_uses_160x48_for_every_chart_and_the_breakdown() {
    let fleet = with_annotation(demo_like_fleet());
    let (_, text) = screen_after(&fleet, &detail_keys(), 160, 48);
    for title in [
        "golden-qa",
        "code-syntax",
        "language-consistency",
        "user-feedback",
        "availability",
        "latency_p99",
    ] {
        assert!(text.contains(title), "{title} chart missing:\n{text}");
    }
    assert!(!text.contains("Tab: more"), "all charts fit: {text}");
    for b in ["by platform", "by region", "by hardware"] {
        assert!(text.contains(b), "{b} missing");
    }
    let tpu = text.lines().find(|l| l.contains("tpu-v5")).unwrap();
    assert!(tpu.contains("pp"), "tpu-v5 with its change: {tpu}");
    assert!(
        text.contains("confirmed: tpu-v5 rollout"),
        "marker listed: {text}"
    );
    insta::assert_snapshot!("detail_160x48", mask_clock(&text));
}

#[test]
fn the_detail_view_spreads_over_250x70() {
    let fleet = with_annotation(demo_like_fleet());
    let (_, text) = screen_after(&fleet, &detail_keys(), 250, 70);
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest > 240, "{widest}");
    let chart_rows = text.lines().filter(|l| l.contains("vs base")).count();
    assert!(chart_rows >= 2, "charts side by side in rows: {text}");
}

#[test]
fn a_gap_in_the_data_is_a_gap_in_the_detail_chart() {
    let mut b = FleetBuilder::new();
    let mut s = SliceScript::new("m-gappy", "api", "eu-west", "gpu-h100");
    s.missing = (80..100).collect();
    b.add(&s, 1);
    let fleet = b.build();
    // The latency chart (the last; no baseline drawn over it), alone at 80x24.
    let k = [KeyPress::char('d'), KeyPress::plain(Key::BackTab)];
    let (_, text) = screen_after(&fleet, &k, 80, 24);
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let top = lines
        .iter()
        .position(|l| l.iter().collect::<String>().contains("latency_p99"))
        .unwrap_or_else(|| panic!("latency chart on screen: {text}"));
    let axis = top + lines[top..].iter().position(|l| l.contains(&'└')).unwrap();
    let plot = &lines[top + 1..axis];
    let braille = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c);
    let columns: Vec<bool> = (0..80)
        .map(|x| plot.iter().any(|l| l.get(x).is_some_and(|&c| braille(c))))
        .collect();
    let first = columns.iter().position(|&d| d).unwrap();
    let last = columns.iter().rposition(|&d| d).unwrap();
    let longest_blank = columns[first..last]
        .split(|&d| d)
        .map(<[bool]>::len)
        .max()
        .unwrap_or(0);
    // 20 of 60 buckets over ~73 columns: about 24 blank columns.
    assert!(
        longest_blank >= 15,
        "gap of {longest_blank} columns:\n{text}"
    );
}

#[test]
fn hostile_values_in_breadcrumbs_filter_and_detail_reach_the_screen_clean() {
    let mut b = FleetBuilder::new();
    let evil = "\x1b]0;pwned\x07evil\u{202e}";
    b.add(&SliceScript::new(evil, "api", "eu", "gpu"), 1);
    let fleet = b.build();
    let k = keys(&[&[ENTER], &[KeyPress::char('d')]]);
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = App::new(KeyMap::default());
        sync(&fleet, &mut app, w, h);
        for key in keys(&[&[DOWN], &k, &typed("/e")]) {
            app.update(Event::Key(key));
            sync(&fleet, &mut app, w, h);
        }
        let vm = sync(&fleet, &mut app, w, h);
        let buffer = draw_vm(&app, &vm, w, h, &Look::default());
        for cell in buffer.content() {
            for c in cell.symbol().chars() {
                assert!(
                    !c.is_control() && !('\u{202a}'..='\u{202e}').contains(&c),
                    "{c:?} reached the screen at {w}x{h}"
                );
            }
        }
        assert!(
            text_of(&buffer).contains("model=evil"),
            "{}",
            text_of(&buffer)
        );
    }
}

#[test]
fn ascii_drill_screens_draw_only_ascii() {
    let look = Look {
        ascii: true,
        ..Look::default()
    };
    let fleet = with_annotation(demo_like_fleet());
    for k in [
        tpu_keys(),
        detail_keys(),
        vec![KeyPress::char('g')],
        vec![KeyPress::char('f')],
    ] {
        let mut app = App::new(KeyMap::default());
        sync(&fleet, &mut app, 160, 48);
        for key in &k {
            app.update(Event::Key(*key));
            sync(&fleet, &mut app, 160, 48);
        }
        let vm = sync(&fleet, &mut app, 160, 48);
        let text = text_of(&draw_vm(&app, &vm, 160, 48, &look));
        let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "non-ASCII drawn: {odd:?}\n{text}");
    }
}

#[test]
fn every_drill_screen_lays_out_at_any_size_without_panicking() {
    let fleet = with_annotation(demo_like_fleet());
    for k in [
        tpu_keys(),
        detail_keys(),
        vec![KeyPress::char('g')],
        typed("/m"),
    ] {
        for w in (0..=250).step_by(13) {
            for h in (0..=70).step_by(7) {
                let mut app = App::new(KeyMap::default());
                sync(&fleet, &mut app, w, h);
                for key in &k {
                    app.update(Event::Key(*key));
                }
                let vm = sync(&fleet, &mut app, w, h);
                draw_vm(&app, &vm, w, h, &Look::default());
            }
        }
    }
}

#[test]
fn scope_entries_and_detection_markers_are_drawn_and_enter_jumps_to_a_scope() {
    use qualtop::app::ViewFacts;
    use qualtop::view::{DrillStep, MarkerKind, ScopeEntry, TimeMarker};
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    sync(&fleet, &mut app, 160, 48);
    app.update(Event::Key(KeyPress::char('d')));
    let mut vm = sync(&fleet, &mut app, 160, 48);
    let detail = vm.detail.as_mut().expect("detail open");
    let target = vec![
        DrillStep::new("model", "m-large"),
        DrillStep::new("hardware", "tpu-v5"),
    ];
    detail.scope.push(ScopeEntry {
        path: target.clone(),
        active: true,
        text: "model=m-large ∧ hardware=tpu-v5  -8.0pp  since 11:10  golden-qa".into(),
        short: "m-large/tpu-v5  -8.0pp  since 11:10  golden-qa".into(),
        suspect: None,
    });
    detail.markers.push(TimeMarker {
        ts: DATA_NOW - 25 * BUCKET_MS,
        kind: MarkerKind::Detected,
        label: "detected -8.0pp golden-qa".into(),
    });
    app.update(Event::ViewChanged(ViewFacts::of(&vm)));
    let text = text_of(&draw_vm(&app, &vm, 160, 48, &Look::default()));
    assert!(text.contains("scope (Enter jumps there)"), "{text}");
    assert!(text.contains("hardware=tpu-v5  -8.0pp"), "{text}");
    assert!(
        text.contains("! 11:35 UTC  detected -8.0pp golden-qa"),
        "{text}"
    );
    // The first target is the scope entry: Enter sets the drill path to it.
    app.update(Event::Key(ENTER));
    assert_eq!(app.detail(), None);
    assert_eq!(app.level().path, target);
    assert_eq!(
        app.levels().len(),
        3,
        "one level per step, so Esc climbs back"
    );
}

/// The detail view at 80×24 with its scope panel holding `entries`
/// (`(text, short, suspect)`, each on `model=m-large`), as text.
fn detail_at_80_with(entries: &[(&str, &str, Option<SuspectWords>)]) -> String {
    use qualtop::view::{DrillStep, ScopeEntry};
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    sync(&fleet, &mut app, 80, 24);
    app.update(Event::Key(KeyPress::char('d')));
    let mut vm = sync(&fleet, &mut app, 80, 24);
    let detail = vm.detail.as_mut().expect("detail open");
    detail.scope = entries
        .iter()
        .map(|(text, short, suspect)| ScopeEntry {
            path: vec![DrillStep::new("model", "m-large")],
            active: true,
            text: (*text).into(),
            short: (*short).into(),
            suspect: suspect.clone(),
        })
        .collect();
    text_of(&draw_vm(&app, &vm, 80, 24, &Look::default()))
}

#[test]
fn a_scope_entry_too_wide_for_the_screen_says_its_place_by_values_and_keeps_its_time() {
    let text = detail_at_80_with(&[
        (
            "hardware=tpu-v5 ∧ model=m-large,m-medium,m-small ∧ platform=api  -4.6pp  since 05:04  code-syntax",
            "tpu-v5/m-large,m-medium,m-small/api  -4.6pp  since 05:04  code-syntax",
            None,
        ),
        (
            "model=m-large  -2.0pp  since 06:10  golden-qa",
            "m-large  -2.0pp  since 06:10  golden-qa",
            None,
        ),
    ]);
    assert!(
        text.contains("tpu-v5/m-large,m-medium,m-small/api  -4.6pp  since 05:04"),
        "{text}"
    );
    // One that fits keeps its dimensions named.
    assert!(
        text.contains("model=m-large  -2.0pp  since 06:10"),
        "{text}"
    );
}

/// The words every surface gives a `config` change titled `title` to
/// `hardware=tpu ∧ platform=api`, 2 min after a regression's onset.
fn suspect_words(title: &str) -> SuspectWords {
    let change = qualtop::protocol::Change {
        id: "c1".into(),
        at: 0,
        scope: [("hardware", "tpu"), ("platform", "api")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        kind: qualtop::protocol::ChangeKind::Config,
        title: title.into(),
        source: "test".into(),
        link: None,
        author: None,
    };
    let (text, parts) = qualtop::detect::why(&change, -120_000, ScopeFit::Wider(1));
    SuspectWords { text, parts }
}

/// The suspect line of the detail view at 80×24 for a change titled `title`.
fn suspect_line_at_80(title: &str) -> String {
    let text = detail_at_80_with(&[(
        "model=m-large  -2.0pp  since 06:10  golden-qa",
        "m-large  -2.0pp  since 06:10  golden-qa",
        Some(suspect_words(title)),
    )]);
    text.lines()
        .find(|l| l.contains("suspect:"))
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned()
}

/// A suspect line at 80 columns: its title cut in the middle, its scope by
/// values, the time against the onset kept.
fn assert_title_cut_scope_by_values(line: &str) {
    assert!(line.contains("…"), "{line}");
    assert!(
        line.contains("to tpu/api, 2m after the estimated onset"),
        "{line}"
    );
    assert!(qualtop::text::sanitize::width(line) <= 80, "{line}");
}

#[test]
fn a_suspect_too_wide_for_the_screen_gives_up_its_title_before_its_time() {
    let line = suspect_line_at_80("tpu-serving config: sampler defaults v7");
    // The title is shortened in its middle; the time against the onset stays.
    assert!(line.contains("config \"tpu-se"), "{line}");
    assert_title_cut_scope_by_values(&line);
}

#[test]
fn a_suspect_title_that_holds_the_words_own_marks_is_cut_as_a_title() {
    // A title holding `" to ` and `, `: read back from the words, the scope
    // was taken from inside the title and the real one left in full.
    let line =
        suspect_line_at_80("move \" to canary, then pool weights for the long-context fleet");
    assert!(line.contains("config \"move"), "{line}");
    assert_title_cut_scope_by_values(&line);
}
