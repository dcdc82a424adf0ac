//! Raw mode, alternate screen and mouse capture, always undone: on normal
//! exit (the guard's drop), on panic (a hook that restores before it
//! reports), on SIGTERM/SIGHUP/SIGINT (the loop returns, the guard drops),
//! and on abort: an allocation failure, a stack overflow or `abort()` raise
//! SIGABRT, whose handler writes the restore bytes and puts back the saved
//! termios with async-signal-safe calls only (`set_alloc_error_hook` is
//! unstable; this is the stable way). `process::exit` is covered by atexit.
//! Only SIGKILL (the OOM killer) escapes: the store's memory budget keeps
//! qualtop far from it.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{execute, queue};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::sgr_filter::NoBareReset;

pub type Tty = Terminal<CrosstermBackend<NoBareReset<BufWriter<Stdout>>>>;

/// Whether the terminal is in our hands (raw, alternate screen) right now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook, so the loop stops drawing on a restored terminal.
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
static ABORT_HOOK: Once = Once::new();
/// The terminal's settings before raw mode, and the fd they were read from,
/// for the abort path (which may not call crossterm: it locks and allocates).
static SAVED: OnceLock<(libc::c_int, libc::termios)> = OnceLock::new();
/// Show the cursor, mouse reporting off, leave the alternate screen: what
/// `restore` writes, as one constant the signal handler can write.
const RESTORE_BYTES: &[u8] =
    b"\x1b[?25h\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1049l";
const ABORT_NOTE: &[u8] = b"qualtop aborted; the terminal was restored (see the log)\n";

/// Holds the terminal; dropping it gives the terminal back.
pub struct TerminalGuard {
    pub terminal: Tty,
}

impl TerminalGuard {
    /// Takes the terminal: raw mode, alternate screen, hidden cursor, and
    /// mouse capture if asked. Undoes what it did if a step fails.
    pub fn enter(mouse: bool) -> io::Result<Self> {
        install_panic_hook();
        install_abort_restore();
        MOUSE.store(mouse, Ordering::SeqCst);
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = (|| {
            let mut out = io::stdout();
            execute!(out, EnterAlternateScreen, Hide)?;
            if mouse {
                execute!(out, EnableMouseCapture)?;
            }
            Terminal::new(CrosstermBackend::new(NoBareReset::new(BufWriter::new(
                io::stdout(),
            ))))
        })();
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // ratatui's Terminal shows a hidden cursor when it drops, which would
        // come after leaving the alternate screen; show it now instead.
        let _ = self.terminal.show_cursor();
        let _ = self.terminal.backend_mut().flush();
        restore();
    }
}

/// Gives the terminal back; does nothing if it is not ours. Leaving the
/// alternate screen is the last thing written, then raw mode goes off.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = queue!(out, Show);
    if MOUSE.load(Ordering::SeqCst) {
        let _ = queue!(out, DisableMouseCapture);
    }
    let _ = queue!(out, LeaveAlternateScreen);
    let _ = out.flush();
    let _ = disable_raw_mode();
}

/// Whether any thread panicked while the terminal was ours.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first: a report printed in raw mode on the alternate
            // screen would vanish or come out as a staircase.
            if ACTIVE.load(Ordering::SeqCst) {
                PANICKED.store(true, Ordering::SeqCst);
            }
            restore();
            tracing::error!("panic: {info}");
            previous(info);
        }));
    });
}

/// Saves the termios and installs the SIGABRT handler and the atexit hook.
fn install_abort_restore() {
    ABORT_HOOK.call_once(|| {
        for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
            // SAFETY: isatty and tcgetattr read the fd's state into `t`, a
            // plain C struct that zeroes are a valid value of.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::isatty(fd) == 1 && libc::tcgetattr(fd, &raw mut t) == 0 {
                    let _ = SAVED.set((fd, t));
                    break;
                }
            }
        }
        // SAFETY: the handler only uses async-signal-safe calls (an atomic
        // swap, write, tcsetattr); SA_RESETHAND lets the abort go on after it.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_abort as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(libc::SIGABRT, &raw const action, std::ptr::null_mut());
            libc::atexit(on_exit);
        }
    });
}

extern "C" fn on_abort(_signal: libc::c_int) {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        restore_raw();
        // SAFETY: write(2) of a static buffer is async-signal-safe.
        unsafe {
            libc::write(
                libc::STDERR_FILENO,
                ABORT_NOTE.as_ptr().cast(),
                ABORT_NOTE.len(),
            );
        }
    }
}

extern "C" fn on_exit() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        restore_raw();
    }
}

/// The restore with no lock and no allocation: for signal handlers.
fn restore_raw() {
    // SAFETY: write(2) of a static buffer and tcsetattr with the termios
    // saved before raw mode; both are async-signal-safe.
    unsafe {
        libc::write(
            libc::STDOUT_FILENO,
            RESTORE_BYTES.as_ptr().cast(),
            RESTORE_BYTES.len(),
        );
        if let Some((fd, t)) = SAVED.get() {
            libc::tcsetattr(*fd, libc::TCSANOW, t);
        }
    }
}
