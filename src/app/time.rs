//! The time window (zoom through 15m / 1h / 6h / 24h) and the time cursor:
//! live, or frozen at one bucket that the arrow keys move.

use crate::protocol::Millis;
use crate::view::{TimeAxis, TimeCursor};

const MINUTE: Millis = 60_000;

/// The windows `[` and `]` step through, narrowest first.
pub const WINDOWS: [(&str, Millis); 4] = [
    ("15m", 15 * MINUTE),
    ("1h", 60 * MINUTE),
    ("6h", 360 * MINUTE),
    ("24h", 1440 * MINUTE),
];

/// The window the TUI opens with: one hour.
pub const DEFAULT_WINDOW: usize = 1;

/// Buckets Shift-arrow moves the cursor.
pub const FAR_STEP: i64 = 10;

/// Data time the store holds (0 before any data).
pub fn history_ms(axis: &TimeAxis) -> Millis {
    axis.history_buckets as Millis * axis.bucket_ms
}

/// The window (an index into [`WINDOWS`]) and the time cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeState {
    pub window: usize,
    pub cursor: TimeCursor,
    /// Wall-clock time the screen was frozen at.
    pub frozen_at: Option<Millis>,
}

impl Default for TimeState {
    fn default() -> Self {
        TimeState {
            window: DEFAULT_WINDOW,
            cursor: TimeCursor::Live,
            frozen_at: None,
        }
    }
}

impl TimeState {
    pub fn window_ms(&self) -> Millis {
        WINDOWS[self.window.min(WINDOWS.len() - 1)].1
    }

    /// The narrowest window at least `ms` long (or the widest).
    pub fn set_window(&mut self, ms: Millis) {
        self.window = WINDOWS
            .iter()
            .position(|(_, w)| *w >= ms)
            .unwrap_or(WINDOWS.len() - 1);
    }

    /// One step wider, unless the store's history is already covered.
    pub fn zoom_out(&mut self, axis: &TimeAxis) -> bool {
        let history = history_ms(axis);
        let covered = history > 0 && self.window_ms() >= history;
        if self.window + 1 < WINDOWS.len() && !covered {
            self.window += 1;
            true
        } else {
            false
        }
    }

    pub fn zoom_in(&mut self) -> bool {
        if self.window > 0 {
            self.window -= 1;
            true
        } else {
            false
        }
    }

    pub fn is_frozen(&self) -> bool {
        matches!(self.cursor, TimeCursor::Frozen { .. })
    }

    /// Freezes at the newest bucket; `false` if there is no data yet.
    pub fn freeze(&mut self, axis: &TimeAxis, wall_now: Millis) -> bool {
        match (self.cursor, axis.head) {
            (TimeCursor::Live, Some(head)) => {
                self.cursor = TimeCursor::Frozen { last_bucket: head };
                self.frozen_at = Some(wall_now);
                true
            }
            _ => false,
        }
    }

    /// Back to live; `false` if it was live.
    pub fn go_live(&mut self) -> bool {
        let was = self.is_frozen();
        self.cursor = TimeCursor::Live;
        self.frozen_at = None;
        was
    }

    /// Moves the cursor by `delta` buckets, within what the store holds:
    /// not past its newest bucket, not before its oldest. Moving back from
    /// live freezes first. Returns whether the cursor moved.
    pub fn step(&mut self, delta: i64, axis: &TimeAxis, wall_now: Millis) -> bool {
        let Some(head) = axis.head else {
            return false;
        };
        if !self.is_frozen() {
            if delta >= 0 {
                return false;
            }
            self.freeze(axis, wall_now);
        }
        let TimeCursor::Frozen { last_bucket } = self.cursor else {
            return false;
        };
        let oldest = head - (axis.history_buckets.max(1) as i64) + 1;
        let to = last_bucket.saturating_add(delta).clamp(oldest, head);
        self.cursor = TimeCursor::Frozen { last_bucket: to };
        // Freezing itself was a change, even at the oldest bucket.
        to != last_bucket || delta < 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(head: i64, history: usize) -> TimeAxis {
        TimeAxis {
            bucket_ms: MINUTE,
            head: Some(head),
            history_buckets: history,
        }
    }

    #[test]
    fn zoom_steps_through_the_windows_and_stops_at_the_history_held() {
        let mut t = TimeState::default();
        assert_eq!(t.window_ms(), 60 * MINUTE);
        let six_hours = axis(1000, 360);
        assert!(t.zoom_out(&six_hours));
        assert_eq!(t.window_ms(), 360 * MINUTE);
        assert!(!t.zoom_out(&six_hours), "6 h of history: no 24 h window");
        assert!(t.zoom_in() && t.zoom_in());
        assert!(!t.zoom_in());
        assert_eq!(t.window_ms(), 15 * MINUTE);
    }

    #[test]
    fn the_cursor_stays_within_the_buckets_held() {
        let mut t = TimeState::default();
        let a = axis(1000, 360);
        assert!(!t.step(1, &a, 0), "forward from live does nothing");
        assert!(t.step(-1, &a, 5));
        assert_eq!(t.cursor, TimeCursor::Frozen { last_bucket: 999 });
        assert_eq!(t.frozen_at, Some(5));
        t.step(50, &a, 0);
        assert_eq!(t.cursor, TimeCursor::Frozen { last_bucket: 1000 });
        t.step(-10_000, &a, 0);
        assert_eq!(t.cursor, TimeCursor::Frozen { last_bucket: 641 });
        assert!(t.go_live());
        assert!(!t.go_live());
    }
}
