//! The real binary in a pseudo-terminal: it takes the terminal, draws, and
//! gives the terminal back (alternate screen left, raw mode off) whether it
//! quits on `q` or is sent SIGTERM. Bounded in time; loopback only.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";
const ENTER_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049h";
const WAIT: Duration = Duration::from_secs(15);

struct Session {
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    log: PathBuf,
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qualtop-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(name: &str, args: &[&str]) -> Session {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pty can be opened");
    let dir = scratch_dir(name);
    let log = dir.join("qualtop.log");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_qualtop"));
    cmd.args(args);
    cmd.arg("--log");
    cmd.arg(&log);
    cmd.env("TERM", "xterm-256color");
    cmd.env("LANG", "C.UTF-8");
    cmd.env("XDG_STATE_HOME", &dir);
    cmd.env("XDG_CONFIG_HOME", &dir);
    cmd.env("XDG_DATA_HOME", &dir);
    let child = pty.slave.spawn_command(cmd).expect("the binary starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let writer = pty.master.take_writer().unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&output);
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Session {
        master: pty.master,
        child,
        writer,
        output,
        log,
    }
}

impl Session {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, what: &str) {
        let start = Instant::now();
        while !self.text().contains(what) {
            assert!(
                start.elapsed() < WAIT,
                "{what:?} never appeared; output so far:\n{}\nlog:\n{}",
                self.text().escape_debug(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types keys, then gives the loop a moment to take them in.
    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        thread::sleep(Duration::from_millis(150));
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader drain what the child wrote last.
                thread::sleep(Duration::from_millis(200));
                return status;
            }
            if start.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!(
                    "qualtop did not exit; output:\n{}",
                    self.text().escape_debug()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the terminal is in canonical mode with echo: the shell's way.
    fn cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("a unix pty has a fd");
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is the open master of our pty, `t` a valid termios.
        assert_eq!(
            unsafe { libc::tcgetattr(fd, &mut t) },
            0,
            "tcgetattr on the pty"
        );
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    fn assert_restored(&self) {
        let bytes = self.output.lock().unwrap().clone();
        assert!(
            bytes
                .windows(ENTER_ALTERNATE_SCREEN.len())
                .any(|w| w == ENTER_ALTERNATE_SCREEN),
            "never entered the alternate screen"
        );
        assert!(
            bytes.ends_with(LEAVE_ALTERNATE_SCREEN),
            "output does not end by leaving the alternate screen: ...{:?}",
            String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(80)..])
        );
        assert!(self.cooked(), "raw mode still on after exit");
    }
}

#[test]
fn quits_on_q_and_gives_the_terminal_back() {
    // Port 1 on loopback refuses connections: the source cannot be live.
    let mut s = start("quit", &["--metrics", "ws://127.0.0.1:1"]);
    s.wait_for("ws://127.0.0.1:1");
    let text = s.text();
    assert!(
        text.contains("reconnecting") || text.contains("failed"),
        "the unreachable source is shown as not live: {}",
        text.escape_debug()
    );
    assert!(!s.cooked(), "raw mode is on while the TUI runs");
    s.writer.write_all(b"q").unwrap();
    s.writer.flush().unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_restored();
}

#[test]
fn sigterm_while_running_restores_the_terminal() {
    let mut s = start("sigterm", &["--metrics", "ws://127.0.0.1:1", "--no-mouse"]);
    s.wait_for("ws://127.0.0.1:1");
    let pid = s.child.process_id().expect("the child has a pid") as libc::pid_t;
    // SAFETY: sending a signal to the child we spawned.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 128 + 15, "exit status {status:?}");
    s.assert_restored();
    let text = s.text();
    assert!(
        !text.contains("\x1b[?1000h"),
        "--no-mouse does not capture the mouse"
    );
}

#[test]
fn mouse_capture_is_on_by_default_and_off_after_exit() {
    let mut s = start("mouse", &["--metrics", "ws://127.0.0.1:1"]);
    s.wait_for("ws://127.0.0.1:1");
    s.writer.write_all(b"q").unwrap();
    s.wait_exit();
    let text = s.text();
    assert!(text.contains("\x1b[?1000h"), "mouse capture enabled");
    assert!(text.contains("\x1b[?1000l"), "mouse capture disabled again");
}

#[test]
fn shows_the_demo_fleet_with_sparklines() {
    let mut s = start("demo", &[]);
    s.wait_for("whole fleet");
    s.wait_for("live");
    let start_wait = Instant::now();
    while !s.text().chars().any(|c| ('▁'..='█').contains(&c)) {
        assert!(
            start_wait.elapsed() < WAIT,
            "no sparkline drawn: {}",
            s.text().escape_debug()
        );
        thread::sleep(Duration::from_millis(50));
    }
    // The demo's first dimension is model: one row per model. (The raw
    // stream skips unchanged blank cells, so look for words, not phrases.)
    s.wait_for("atlas-xl");
    s.writer.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}

#[test]
fn drills_into_the_demo_by_command_filter_and_detail_then_freezes() {
    let mut s = start("drill", &[]);
    s.wait_for("atlas-xl");
    s.send(b":group hardware\r");
    s.send(b"/hardware=tpu\r");
    // Row 0 is the aggregate; the filter leaves tpu alone under it.
    s.send(b"j\r");
    s.wait_for("hardware=tpu");
    s.send(b"d");
    s.wait_for("golden-qa");
    s.wait_for("detail:");
    s.send(b"f");
    s.wait_for("FROZEN");
    s.send(b"q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}
