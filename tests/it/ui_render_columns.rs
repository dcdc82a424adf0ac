//! The table's columns as drawn: long names lose their middle (never their
//! last dimension), the status column grows to the longest status, and the
//! selected row keeps every cell readable.

use crate::support::ui::*;
use qualtop::app::{App, Event, KeyMap, KeyPress};
use qualtop::feed::Fleet;
use qualtop::theme::{ColorDepth, Theme, contrast_ratio, rgb_of};
use qualtop::ui::{self, Look};
use qualtop::view::{RowStatus, Severity, ViewModel};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

fn draw(app: &App, vm: &ViewModel, width: u16, height: u16, look: &Look) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::render(f, app, vm, look)).unwrap();
    terminal.backend().buffer().clone()
}

fn lines(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
            line.trim_end().to_owned()
        })
        .collect()
}

/// The screen as text, the wall clock (last field of the title) masked.
fn mask_clock(screen: &[String]) -> String {
    let mut lines = screen.to_vec();
    if let Some(title) = lines.first_mut()
        && let Some(at) = title.rfind(" UTC")
    {
        title.replace_range(at.saturating_sub(8)..at + 4, "[clock]");
    }
    lines.join("\n")
}

/// Slices whose leaf names are long: `atlas-m-instruct / stratus-batch / ...`.
fn long_named_fleet() -> Fleet {
    let mut b = FleetBuilder::new();
    let mut seed = 0;
    for region in ["europe-west-4", "us-east-1"] {
        for hardware in ["trainium-2", "tpu-v5e"] {
            seed += 1;
            let s = SliceScript::new("atlas-m-instruct", "stratus-batch", region, hardware);
            b.add(&s, seed);
        }
    }
    b.build()
}

/// The flat view (`G`) of `fleet` at `width` columns.
fn flat_view(fleet: &Fleet, width: u16, look: &Look) -> Vec<String> {
    let mut app = App::new(KeyMap::default());
    sync(fleet, &mut app, width, 24);
    app.update(Event::Key(KeyPress::char('G')));
    let vm = sync(fleet, &mut app, width, 24);
    lines(&draw(&app, &vm, width, 24, look))
}

#[test]
fn flat_view_names_are_shortened_in_the_middle_and_keep_the_hardware() {
    let fleet = long_named_fleet();
    let narrow = flat_view(&fleet, 80, &Look::default());
    let leaf_lines: Vec<&String> = narrow
        .iter()
        .filter(|l| l.starts_with("at") && l.contains(" / "))
        .collect();
    assert_eq!(leaf_lines.len(), 4, "{narrow:#?}");
    for hardware in ["trainium-2", "tpu-v5e"] {
        assert!(
            leaf_lines
                .iter()
                .any(|l| l.contains('…') && l.contains(&format!(" / {hardware} "))),
            "{hardware} kept after shortened dimensions: {narrow:#?}"
        );
    }
    insta::assert_snapshot!("flat_long_names_80x24", mask_clock(&narrow));
    // Leaves that differ only in their region still read apart.
    let names: std::collections::BTreeSet<&str> = leaf_lines
        .iter()
        .filter_map(|l| l.split("  ").next())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    // At 200 columns every name is whole.
    let wide = flat_view(&fleet, 200, &Look::default());
    assert!(
        wide.iter().any(|l| l.starts_with("atlas-m-instruct / stratus-batch / europe-west-4 / trainium-2")),
        "{wide:#?}"
    );
    assert!(!wide.iter().any(|l| l.contains('…')), "{wide:#?}");
}

#[test]
fn ascii_mode_shortens_names_with_a_tilde() {
    let look = Look {
        ascii: true,
        ..Look::default()
    };
    let narrow = flat_view(&long_named_fleet(), 80, &look);
    assert!(
        narrow
            .iter()
            .any(|l| l.starts_with("at") && l.contains('~') && l.contains(" / tpu-v5e ")),
        "{narrow:#?}"
    );
}

const LONG_STATUS: &str = "REGRESSION 14:05 -3.1pp in tpu·api";

fn with_long_status(width: u16) -> (App, ViewModel) {
    let fleet = demo_like_fleet();
    let mut app = App::new(KeyMap::default());
    let mut vm = sync(&fleet, &mut app, width, 24);
    vm.table.rows[1].status = Some(RowStatus {
        severity: Severity::Regressed,
        text: LONG_STATUS.into(),
    });
    vm.table.rows[2].status = Some(RowStatus {
        severity: Severity::Watch,
        text: "since 13:50".into(),
    });
    (app, vm)
}

#[test]
fn at_80_columns_the_status_shows_its_word_and_as_much_of_the_rest_as_fits() {
    let (app, vm) = with_long_status(80);
    let screen = lines(&draw(&app, &vm, 80, 24, &Look::default()));
    let row = screen
        .iter()
        .find(|l| l.starts_with(&vm.table.rows[1].name))
        .unwrap();
    let at = row
        .find("REGRESSION")
        .unwrap_or_else(|| panic!("{screen:#?}"));
    let shown = &row[at..];
    assert!(shown.starts_with("REGRESSION 14:05 -3.1pp"), "{shown:?}");
    assert!(row.chars().count() <= 80);
    assert!(
        screen.iter().any(|l| l.contains("WATCH since 13:50")),
        "{screen:#?}"
    );
    insta::assert_snapshot!("long_status_80x24", mask_clock(&screen));
    // The quality figures stay; the counts gave way.
    let head = screen.iter().find(|l| l.starts_with("model")).unwrap();
    assert!(head.contains("qual") && head.contains("vs base"), "{head}");
}

#[test]
fn at_200_columns_the_longest_status_is_shown_whole() {
    let (app, vm) = with_long_status(200);
    let screen = lines(&draw(&app, &vm, 200, 24, &Look::default()));
    assert!(
        screen.iter().any(|l| l.contains(LONG_STATUS)),
        "{screen:#?}"
    );
    let head = screen.iter().find(|l| l.starts_with("model")).unwrap();
    assert!(
        head.contains("reqs") && head.contains("availability"),
        "{head}"
    );
}

#[test]
fn every_cell_of_the_selected_row_reads_on_the_bar_in_every_theme_and_depth() {
    let (mut app, vm) = with_long_status(160);
    // Select the regressed row: its status, sparklines and range are all drawn on the bar.
    app.update(Event::Key(KeyPress::char('j')));
    let name = vm.table.rows[1].name.clone();
    for theme in ["dark", "light", "colorblind", "high-contrast"] {
        for depth in [
            ColorDepth::Ansi16,
            ColorDepth::Ansi256,
            ColorDepth::TrueColor,
        ] {
            let roles = Theme::builtin(theme).unwrap().for_depth(depth);
            let look = Look {
                theme: ui::Styles::from_roles(&roles),
                ascii: false,
            };
            let buffer = draw(&app, &vm, 160, 24, &look);
            let y = (0..24)
                .find(|&y| {
                    let line: String = (0..160).map(|x| buffer[(x, y)].symbol()).collect();
                    line.starts_with(&name)
                })
                .unwrap();
            for x in 0..160 {
                let cell = &buffer[(x, y)];
                if cell.symbol().trim().is_empty() {
                    continue;
                }
                let rgb = |c: Color| {
                    rgb_of(c).unwrap_or_else(|| panic!("{theme} {depth:?} x={x}: {c:?}"))
                };
                let ratio = contrast_ratio(rgb(cell.fg), rgb(cell.bg));
                assert!(
                    ratio >= roles.min_contrast,
                    "{theme} {depth:?} x={x} {:?}: {ratio:.2}",
                    cell.symbol()
                );
            }
        }
    }
}
