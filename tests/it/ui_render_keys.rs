//! What the key fixes look like, drawn on a `TestBackend`: the help fits
//! (or scrolls) at 80x24 and 120x40, the `:` Tab list names the commands
//! that take an argument, a filter that matches nothing says so.

use crate::support::ui::*;
use qualtop::app::{App, Key, KeyPress};
use qualtop::feed::Fleet;
use qualtop::ui::{self, Look};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(fleet: &Fleet, app: &mut App, width: u16, height: u16) -> String {
    let vm = sync(fleet, app, width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|f| ui::render(f, app, &vm, &Look::default()))
        .expect("draws");
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_help_fits_its_box_at_120x40_and_scrolls_at_80x24() {
    let fleet = demo_like_fleet();
    for (w, h) in [(120, 40), (80, 24), (80, 20)] {
        let (mut app, _) = started(&fleet, w, h);
        press(&mut app, KeyPress::char('?'));
        let text = screen(&fleet, &mut app, w, h);
        let top = text
            .lines()
            .position(|l| l.contains("╭ keys"))
            .expect("a box");
        let lines: Vec<&str> = text.lines().collect();
        let bottom = lines
            .iter()
            .rposition(|l| l.contains('╰'))
            .expect("its bottom");
        assert!(bottom > top, "{w}x{h}");
        // Every line of the box is closed on the right: nothing is cut.
        for line in text.lines().skip(top + 1).take(bottom - top - 1) {
            assert_eq!(line.matches('│').count(), 2, "{w}x{h}: {line}");
        }
        let scrolls = text.contains("scroll");
        if scrolls {
            // Scrolled to the end, the last command shows.
            press(&mut app, KeyPress::plain(Key::End));
            let end = screen(&fleet, &mut app, w, h);
            assert!(end.contains(":quit"), "{w}x{h}\n{end}");
        } else {
            assert!(
                text.contains(":quit"),
                "{w}x{h}: every command shows\n{text}"
            );
        }
    }
}

#[test]
fn the_tab_list_names_commands_that_take_an_argument() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, 120, 30);
    press(&mut app, KeyPress::char(':'));
    press(&mut app, KeyPress::plain(Key::Tab));
    let text = screen(&fleet, &mut app, 120, 30);
    let footer = text.lines().last().expect("a footer");
    for name in ["group", "filter", "sort", "window"] {
        assert!(footer.contains(name), "{name} in {footer}");
    }
}

#[test]
fn a_filter_that_matches_nothing_names_itself_and_the_top_row_says_matching() {
    let fleet = demo_like_fleet();
    let (mut app, _) = started(&fleet, 100, 30);
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "zzz");
    let text = screen(&fleet, &mut app, 100, 30);
    assert!(
        text.contains("no slice matches /zzz — Esc clears"),
        "{text}"
    );
    press(&mut app, KeyPress::plain(Key::Esc));
    press(&mut app, KeyPress::char('/'));
    chars(&mut app, "large");
    let text = screen(&fleet, &mut app, 100, 30);
    assert!(
        text.contains("all matching") && text.matches("whole fleet").count() == 1,
        "{text}"
    );
}
