//! What goes into the state machine and what comes out.

use super::keys::KeyPress;
use crate::protocol::Millis;

/// Where the table's rows are on screen, so clicks and page keys know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewport {
    /// First screen row of the table body.
    pub top: u16,
    /// Rows of the table body.
    pub height: u16,
}

impl Viewport {
    /// The body line a screen row falls on, if it falls in the body.
    pub fn line_at(&self, screen_row: u16) -> Option<usize> {
        (screen_row >= self.top && screen_row < self.top.saturating_add(self.height))
            .then(|| usize::from(screen_row - self.top))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseInput {
    WheelUp,
    WheelDown,
    /// Left click at a screen cell.
    Click {
        column: u16,
        row: u16,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyPress),
    Mouse(MouseInput),
    /// The table body moved or changed size (resize, first draw).
    Viewport(Viewport),
    /// A new view model was computed: how many rows it has, which suites exist.
    ViewChanged {
        rows: usize,
        suites: Vec<String>,
    },
    /// Wall-clock time, for the header clock and the ages.
    Clock(Millis),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The screen changed: draw a frame (the loop caps the rate).
    Redraw,
    /// The query changed: compute the view model again, then draw.
    Recompute,
    Quit,
}
