//! The real binary on the demo, in a pty: `q` in a popup closes it and
//! keeps a frozen view; Ctrl-C in the annotation dialog cancels it (a
//! second one discards what was typed) and never quits.

use crate::support;

use std::time::Duration;

use support::pty::{Pty, spawn};

fn alive_after(s: &mut Pty, keys: &[u8]) -> bool {
    s.send(keys);
    std::thread::sleep(Duration::from_millis(400));
    s.child.try_wait().expect("child status").is_none()
}

#[test]
fn q_in_a_popup_and_ctrl_c_in_the_dialog_never_quit() {
    let mut s = spawn("keys", &[], &[], 120, 36);
    s.wait_for("atlas-xl");
    s.send(b"f");
    s.wait_for("FROZEN");
    s.send(b"?");
    s.wait_for("Esc or ? to close");
    assert!(alive_after(&mut s, b"q"), "q closes the help");
    s.send(b"g");
    s.wait_for("group by");
    assert!(alive_after(&mut s, b"q"), "q closes the g menu");
    s.send(b"A");
    s.wait_for("no annotations");
    assert!(alive_after(&mut s, b"q"), "q closes the annotation list");
    s.send(b"a");
    s.wait_for("RFC 3339");
    assert!(
        alive_after(&mut s, b"\x03"),
        "Ctrl-C closes the empty dialog"
    );
    s.send(b"a");
    s.send(b"half a thought");
    assert!(alive_after(&mut s, b"\x03"), "Ctrl-C asks first");
    s.wait_for("discard");
    assert!(alive_after(&mut s, b"\x03"), "a second Ctrl-C discards");
    // From the table, q quits (pressed until it lands on a loaded machine).
    let start = std::time::Instant::now();
    while s.child.try_wait().expect("status").is_none() && start.elapsed() < support::pty::WAIT {
        s.send(b"q");
        std::thread::sleep(Duration::from_millis(350));
    }
    assert!(s.wait_exit().success());
}
