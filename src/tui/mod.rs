//! The terminal side of the TUI: taking and always giving back the
//! terminal, translating its events, and the one event loop.

mod clipboard;
mod event_loop;
mod input;
mod screen;
mod sgr_filter;
mod terminal;

pub use clipboard::{
    CopyPlan, MAX_COPY_BYTES, Route, TmuxClipboard, osc52, plan_copy, tmux_passthrough,
};
pub use event_loop::{EventLoop, Exit, LoopStats, MAX_FPS, Pacing, ThemeSwitch};
pub use input::translate;
pub use screen::Screen;
pub use terminal::{TerminalGuard, Tty, panicked, restore};
