//! The real binary in a pseudo-terminal, with a clean environment: its own
//! XDG directories (no user config leaks in), a chosen TERM and locale.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Pty {
    pub master: Box<dyn MasterPty + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    pub writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    pub dir: PathBuf,
}

/// Starts `qualtop ARGS` at `cols`×`rows` with `env` on top of a minimal,
/// predictable environment (LANG=C.UTF-8, TERM=xterm-256color, no NO_COLOR
/// or COLORTERM unless given).
pub fn spawn(name: &str, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
    // Unique per spawn: every test of the binary shares its process id.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("qualtop-pty-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pty can be opened");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_qualtop"));
    cmd.args(args);
    cmd.arg("--log");
    cmd.arg(dir.join("qualtop.log"));
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", &dir);
    cmd.env("XDG_CONFIG_HOME", dir.join("config"));
    cmd.env("XDG_STATE_HOME", dir.join("state"));
    cmd.env("XDG_DATA_HOME", dir.join("data"));
    cmd.env("LANG", "C.UTF-8");
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = pty.slave.spawn_command(cmd).expect("the binary starts");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let writer = pty.master.take_writer().unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&output);
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    Pty {
        master: pty.master,
        child,
        writer,
        output,
        dir,
    }
}

impl Pty {
    pub fn bytes(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("qualtop.log")).unwrap_or_default()
    }

    /// Waits until the output holds `what` (as written: the raw stream
    /// skips unchanged cells, so look for single words).
    pub fn wait_for(&self, what: &str) {
        let start = Instant::now();
        while !self.text().contains(what) {
            assert!(
                start.elapsed() < WAIT,
                "{what:?} never appeared; output so far:\n{}\nlog:\n{}",
                self.text().escape_debug(),
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `keys`, then gives the screen a moment to answer.
    pub fn send(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).unwrap();
        self.writer.flush().unwrap();
        thread::sleep(Duration::from_millis(150));
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(200));
                return status;
            }
            if start.elapsed() > WAIT {
                let _ = self.child.kill();
                let text = self.text();
                let tail: String = text
                    .chars()
                    .skip(text.chars().count().saturating_sub(800))
                    .collect();
                panic!(
                    "qualtop did not exit; output ends:\n{}\nlog:\n{}",
                    tail.escape_debug(),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

const ENTER_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049h";
const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";

impl Pty {
    /// Whether the terminal is in canonical mode with echo: the shell's way.
    pub fn cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("a unix pty has a fd");
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is the open master of our pty, `t` a valid termios.
        assert_eq!(
            unsafe { libc::tcgetattr(fd, &raw mut t) },
            0,
            "tcgetattr on the pty"
        );
        t.c_lflag & libc::ICANON != 0 && t.c_lflag & libc::ECHO != 0
    }

    /// The terminal was taken and given back: the alternate screen entered,
    /// left as the very last thing written, and raw mode off.
    pub fn assert_restored(&self) {
        let bytes = self.bytes();
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

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every SGR sequence (`ESC [ params m`) in a byte stream, as its params.
pub fn sgr_params(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == 0x1b && bytes[i + 1] == b'[' {
            let start = i + 2;
            let mut j = start;
            while j < bytes.len()
                && (bytes[j].is_ascii_digit() || bytes[j] == b';' || bytes[j] == b':')
            {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'm' {
                out.push(String::from_utf8_lossy(&bytes[start..j]).into_owned());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The colour codes an SGR parameter list sets: (kind, value) where kind is
/// "fg16", "bg16", "fg256", "bg256", "fgrgb", "bgrgb", "default".
pub fn colours_in(params: &str) -> Vec<(&'static str, u32)> {
    let nums: Vec<u32> = params
        .split([';', ':'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < nums.len() {
        match nums[i] {
            30..=37 | 90..=97 => out.push(("fg16", nums[i])),
            40..=47 | 100..=107 => out.push(("bg16", nums[i])),
            39 | 49 | 59 => out.push(("default", nums[i])),
            38 | 48 | 58 => {
                let kind = nums[i];
                match nums.get(i + 1) {
                    Some(5) => {
                        out.push((
                            if kind == 38 { "fg256" } else { "bg256" },
                            nums.get(i + 2).copied().unwrap_or(0),
                        ));
                        i += 2;
                    }
                    Some(2) => {
                        out.push((if kind == 38 { "fgrgb" } else { "bgrgb" }, 0));
                        i += 4;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}
