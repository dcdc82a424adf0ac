//! An abort (an allocation failure, a stack overflow) while qualtop holds
//! the terminal still gives it back: alternate screen left, cursor shown,
//! raw mode off. The test runs itself in a pty as the aborting child.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const CHILD: &str = "QUALTOP_TEST_ABORT_CHILD";
const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// In the child: take the terminal, then fail an allocation as std does.
#[test]
fn child_takes_the_terminal_then_fails_an_allocation() {
    let Ok(how) = std::env::var(CHILD) else {
        return;
    };
    let _guard = qualtop::tui::TerminalGuard::enter(true).expect("a pty");
    match how.as_str() {
        "alloc" => {
            let layout = std::alloc::Layout::from_size_align(1 << 40, 8).expect("layout");
            std::alloc::handle_alloc_error(layout)
        }
        "exit" => std::process::exit(3),
        _ => std::process::abort(),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn run_child(how: &str) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pty can be opened");
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = CommandBuilder::new(exe);
    cmd.args([
        "--exact",
        "tui_abort_restore::child_takes_the_terminal_then_fails_an_allocation",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(CHILD, how);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("the child starts");
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("status") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "child hangs");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!status.success(), "{how}: the child should have died");
    let bytes = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let text = String::from_utf8_lossy(&bytes);
    let entered =
        find(&bytes, ENTER_ALT).unwrap_or_else(|| panic!("{how}: never entered: {text:?}"));
    let left = find(&bytes, LEAVE_ALT).unwrap_or_else(|| panic!("{how}: never left: {text:?}"));
    assert!(left > entered, "{how}: left before entering");
    assert!(
        find(&bytes, SHOW_CURSOR).is_some_and(|s| s > entered),
        "{how}: cursor hidden"
    );
    let fd = pty.master.as_raw_fd().expect("a unix pty has a fd");
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is the open master of our pty, `t` a valid termios.
    assert_eq!(unsafe { libc::tcgetattr(fd, &raw mut t) }, 0);
    assert!(
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0,
        "{how}: raw mode still on"
    );
}

#[test]
fn an_allocation_failure_gives_the_terminal_back() {
    run_child("alloc");
}

#[test]
fn an_abort_gives_the_terminal_back() {
    run_child("abort");
}

#[test]
fn process_exit_gives_the_terminal_back() {
    run_child("exit");
}
