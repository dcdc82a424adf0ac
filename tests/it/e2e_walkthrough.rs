//! The README's walk-through, followed as a person would: the real binary
//! on the built-in demo in a pseudo-terminal, one key a second (and more),
//! and at each step the screen (read through a terminal emulator) must
//! show what the README says it shows. If this fails, the README lies.

use crate::support;

use std::thread;
use std::time::{Duration, Instant};

use support::pty::{Pty, spawn};

const COLS: u16 = 120;
const ROWS: u16 = 40;
/// A person reads the screen before the next key.
const PACE: Duration = Duration::from_millis(1100);

/// The screen as the terminal shows it now.
fn screen(p: &Pty) -> Vec<String> {
    let mut parser = vt100::Parser::new(ROWS, COLS, 0);
    parser.process(&p.bytes());
    parser
        .screen()
        .rows(0, COLS)
        .map(|r| r.trim_end().to_owned())
        .collect()
}

fn shown(p: &Pty) -> String {
    screen(p).join("\n")
}

/// Waits up to `limit` for a screen where `test` holds; panics with the
/// screen and what was expected otherwise.
fn until(p: &Pty, what: &str, limit: Duration, test: impl Fn(&[String]) -> bool) -> Vec<String> {
    let start = Instant::now();
    loop {
        let s = screen(p);
        if test(&s) {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "README step not seen: {what}\nscreen:\n{}\nlog:\n{}",
            s.join("\n"),
            p.log()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

fn key(p: &mut Pty, bytes: &[u8]) {
    p.send(bytes);
    thread::sleep(PACE);
}

/// The table row whose first word is `name` (a row has figures; the
/// breadcrumb above the table may start with the same word).
fn row<'a>(s: &'a [String], name: &str) -> Option<&'a String> {
    s.iter()
        .find(|l| l.split_whitespace().next() == Some(name) && l.contains('%'))
}

fn row_says(s: &[String], name: &str, word: &str) -> bool {
    row(s, name).is_some_and(|l| l.contains(word))
}

/// A row of the detail view's breakdown blocks, which stand side by side:
/// from `name` (a word of its own) to the next block.
fn cell<'a>(s: &'a [String], name: &str) -> Option<&'a str> {
    s.iter().find_map(|l| {
        let at = l
            .match_indices(name)
            .map(|(i, _)| i)
            .find(|&i| (i == 0 || l[..i].ends_with(' ')) && l[i + name.len()..].starts_with(' '))?;
        let rest = &l[at..];
        let end = rest.char_indices().nth(40).map_or(rest.len(), |(i, _)| i);
        Some(&rest[..end])
    })
}

fn cell_says(s: &[String], name: &str, word: &str) -> bool {
    cell(s, name).is_some_and(|c| c.contains(word))
}

#[test]
fn the_readme_walkthrough_holds_at_a_human_pace() {
    let mut p = spawn("walkthrough", &[], &[], COLS, ROWS);
    let minute = Duration::from_secs(60);

    // 1. About a minute in: one regression in the header; the whole fleet
    //    says where; availability stays green.
    let s = until(
        &p,
        "1: one regression, whole fleet in tpu/api",
        3 * minute,
        |s| {
            s[0].contains("1 regression")
                && row(s, "whole")
                    .is_some_and(|l| l.contains("REGRESSION") && l.contains("in tpu/api"))
        },
    );
    let fleet = row(&s, "whole").expect("the whole-fleet row");
    assert!(fleet.contains("99.9"), "availability stays green: {fleet}");

    // 2. g, down to hardware, Enter: tpu regressed, gpu and trainium OK.
    key(&mut p, b"g");
    until(&p, "2: the group-by menu", minute, |s| {
        s.iter().any(|l| l.contains("group by"))
    });
    for _ in 0..3 {
        key(&mut p, b"\x1b[B");
    }
    key(&mut p, b"\r");
    let s = until(&p, "2: split by hardware, tpu regressed", minute, |s| {
        s.iter().any(|l| l.contains("by hardware")) && row_says(s, "tpu", "REGRESSION")
    });
    for healthy in ["gpu", "trainium"] {
        assert!(
            !row_says(&s, healthy, "REGRESSION"),
            "{healthy}:\n{}",
            s.join("\n")
        );
    }

    // 3. Down to tpu, Enter: the three larger models regressed, in api.
    key(&mut p, b"\x1b[B");
    key(&mut p, b"\r");
    let s = until(&p, "3: inside tpu, three models in api", minute, |s| {
        s.iter().any(|l| l.contains("hardware=tpu"))
            && ["atlas-m", "atlas-l", "atlas-xl"]
                .iter()
                .all(|m| row_says(s, m, "REGRESSION") && row_says(s, m, "in api"))
    });
    assert!(!row_says(&s, "atlas-s", "in api"), "{}", s.join("\n"));

    // 4. d: one bug in the scope panel, and api against nimbus below.
    key(&mut p, b"d");
    let s = until(&p, "4: detail with scope and breakdown", minute, |s| {
        s.iter()
            .any(|l| l.contains("hardware=tpu ∧") && l.contains("platform=api  "))
            && cell_says(s, "api", "REGRESSION")
    });
    assert!(
        cell(&s, "nimbus").is_some_and(|c| !c.contains("REGRESSION")),
        "{}",
        s.join("\n")
    );

    // 5. f, then H until the cursor is before the onset: api reads OK again.
    key(&mut p, b"f");
    until(&p, "5: frozen", minute, |s| s[0].contains("FROZEN"));
    let mut presses = 0;
    while cell_says(&screen(&p), "api", "REGRESSION") {
        presses += 1;
        assert!(presses <= 15, "never before the onset:\n{}", shown(&p));
        key(&mut p, b"H");
    }
    assert!(presses >= 1);
    key(&mut p, b"0");
    until(&p, "5: live again", minute, |s| !s[0].contains("FROZEN"));
    key(&mut p, b"\x1b");
    until(&p, "5: back to the table", minute, |s| {
        s.iter().any(|l| l.contains("by model"))
    });

    // 6. a on the selected model: the dialog holds its scope; type, save.
    key(&mut p, b"a");
    until(&p, "6: the annotation dialog", minute, |s| {
        s.iter().any(|l| l.contains("hardware=tpu")) && s.iter().any(|l| l.contains("annotat"))
    });
    for c in b"tpu runtime rollout?" {
        p.send(&[*c]);
    }
    thread::sleep(PACE);
    key(&mut p, b"\x13");
    until(&p, "6: the note is counted on its row", minute, |s| {
        s.iter().any(|l| l.contains('✎'))
    });

    // q quits from the table and gives the terminal back.
    key(&mut p, b"q");
    assert!(p.wait_exit().success());
    p.assert_restored();
}
