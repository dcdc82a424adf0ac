//! Raw mode, alternate screen and mouse capture, always undone: on normal
//! exit (the guard's drop), on panic (a hook that restores before it
//! reports), and on SIGTERM/SIGHUP/SIGINT (the loop returns, the guard drops).

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Holds the terminal; dropping it gives the terminal back.
pub struct TerminalGuard {
    pub terminal: Tty,
}

impl TerminalGuard {
    /// Takes the terminal: raw mode, alternate screen, hidden cursor, and
    /// mouse capture if asked. Undoes what it did if a step fails.
    pub fn enter(mouse: bool) -> io::Result<Self> {
        install_panic_hook();
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
