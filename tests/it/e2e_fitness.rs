//! Terminal fitness, checked on the bytes the real binary writes to a
//! pseudo-terminal: NO_COLOR means no colour codes at all (attributes
//! stay), TERM=screen means nothing above 16 colours, --ascii means ASCII.

use crate::support;

use support::pty::{colours_in, sgr_params, spawn};

fn run_demo_briefly(name: &str, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let mut p = spawn(name, args, env, 100, 30);
    p.wait_for("atlas-xl");
    // Let a few data updates draw.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send(b"q");
    assert!(p.wait_exit().success(), "exit status; log:\n{}", p.log());
    p.bytes()
}

#[test]
fn no_color_emits_no_colour_codes_but_keeps_attributes() {
    let bytes = run_demo_briefly(
        "nocolor",
        &["demo"],
        &[("NO_COLOR", "1"), ("COLORTERM", "truecolor")],
    );
    let sgr = sgr_params(&bytes);
    assert!(!sgr.is_empty(), "some attributes are drawn");
    for p in &sgr {
        let colours: Vec<_> = colours_in(p)
            .into_iter()
            .filter(|(k, _)| *k != "default")
            .collect();
        assert!(colours.is_empty(), "colour SGR {p:?} under NO_COLOR");
    }
    // Selection is shown by reverse video (7), which must survive.
    assert!(
        sgr.iter().any(|p| p.split(';').any(|x| x == "7")),
        "no reverse video: {sgr:?}"
    );
    // crossterm writes a colour change under NO_COLOR as a bare reset
    // (ESC [ m), which would cancel bold and reverse: none may get through.
    assert!(
        !sgr.iter().any(|p| p.is_empty()),
        "a bare SGR reset reached the terminal"
    );
}

#[test]
fn screen_terminals_get_at_most_16_colours() {
    let bytes = run_demo_briefly("screen", &["demo"], &[("TERM", "screen")]);
    let sgr = sgr_params(&bytes);
    let mut seen16 = false;
    for p in &sgr {
        for (kind, v) in colours_in(p) {
            // crossterm writes the 16 ANSI colours as indices 0-15 (38;5;N).
            let in_16 = matches!(kind, "fg16" | "bg16" | "default")
                || (matches!(kind, "fg256" | "bg256") && v < 16);
            assert!(in_16, "{kind} {v} in {p:?} under TERM=screen");
            seen16 |= kind != "default";
        }
    }
    assert!(
        seen16,
        "the dark theme still has colour on 16-colour terminals"
    );
}

#[test]
fn truecolor_terminals_get_the_themes_own_colours() {
    let bytes = run_demo_briefly("truecolor", &["demo"], &[("COLORTERM", "truecolor")]);
    let rgb = sgr_params(&bytes)
        .iter()
        .flat_map(|p| colours_in(p))
        .any(|(k, _)| k == "fgrgb");
    assert!(rgb, "no 24-bit colour drawn with COLORTERM=truecolor");
}

#[test]
fn ascii_mode_writes_only_ascii() {
    for (name, args, env) in [
        ("ascii-flag", vec!["--ascii", "demo"], vec![]),
        ("ascii-locale", vec!["demo"], vec![("LANG", "C")]),
    ] {
        let bytes = run_demo_briefly(name, &args, &env);
        let bad: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| *b >= 0x80)
            .take(16)
            .collect();
        assert!(bad.is_empty(), "{name}: non-ASCII bytes {bad:x?}");
    }
}
