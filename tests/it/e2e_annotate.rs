//! The real binary on the in-process demo, in a pty: an annotation typed
//! with `a` and saved with Ctrl-S comes back from the demo's shared store
//! as a count on the rows; `y` copies the selected row with OSC 52.

use crate::support;

use base64::Engine;
use support::pty::spawn;

/// The payload of the last `ESC ] 52 ; c ; <base64> BEL` in `bytes`.
fn last_osc52(bytes: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"\x1b]52;c;";
    let start = bytes.windows(OPEN.len()).rposition(|w| w == OPEN)? + OPEN.len();
    let len = bytes[start..].iter().position(|&b| b == 0x07)?;
    Some(bytes[start..start + len].to_vec())
}

#[test]
fn an_annotation_saved_in_the_demo_shows_as_a_count_on_the_rows() {
    let mut s = spawn("annotate", &[], &[], 120, 36);
    s.wait_for("atlas-xl");
    s.send(b"a");
    s.wait_for("annotation");
    s.send(b"routing looks off");
    s.send(b"\x13");
    // Acknowledged by the demo's store and counted on the whole-fleet row
    // (and any row it touches).
    s.wait_for("\u{270e}1");
    s.send(b"A");
    s.wait_for("routing");
    // Esc closes the list, q quits. On a loaded machine the two bytes can be
    // read together (as Alt-q, which nothing binds): press q until it lands.
    s.send(b"\x1b");
    let start = std::time::Instant::now();
    while s.child.try_wait().unwrap().is_none() && start.elapsed() < support::pty::WAIT {
        s.send(b"q");
        std::thread::sleep(std::time::Duration::from_millis(350));
    }
    assert!(s.wait_exit().success());
}

#[test]
fn y_copies_the_selected_row_as_osc_52_and_says_so() {
    let mut s = spawn("copy", &[], &[], 120, 36);
    s.wait_for("atlas-xl");
    s.send(b"y");
    s.wait_for("copied");
    let payload = last_osc52(&s.bytes()).expect("an OSC 52 sequence was written");
    let text = base64::engine::general_purpose::STANDARD
        .decode(&payload)
        .expect("the payload is base64");
    let text = String::from_utf8(text).expect("the copy is UTF-8");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("whole fleet  at ") && first.ends_with(" UTC, window 1h"),
        "the aggregate row, its data time and window: {text:?}"
    );
    assert!(
        text.contains("\navailability "),
        "and its figures: {text:?}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "plain text: {text:?}"
    );
    assert!(
        s.text().contains(&format!("copied {} bytes", text.len())),
        "the footer names the size"
    );
    s.send(b"?");
    s.wait_for("OSC");
    // q closes the help, then quits from the table.
    s.send(b"q");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "q closed the help only"
    );
    s.send(b"q");
    assert!(s.wait_exit().success());
}
