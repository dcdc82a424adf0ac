//! One level of the drill path with its own selection and scroll, so going
//! back up finds the row where the engineer left it.

use crate::view::DrillStep;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Level {
    /// (dimension, value) pairs fixed to reach this level; empty at the top.
    pub path: Vec<DrillStep>,
    /// The dimension whose values are the rows; `None` = the first declared.
    pub split: Option<String>,
    /// Selected row (0 = the aggregate row on top).
    pub selected: usize,
    /// First row shown.
    pub scroll: usize,
}

impl Level {
    pub fn top() -> Self {
        Level::default()
    }

    /// Moves the selection by `delta` rows, within `0..rows`.
    pub fn move_by(&mut self, delta: isize, rows: usize, page: usize) {
        let last = rows.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.follow_selection(rows, page);
    }

    pub fn select(&mut self, row: usize, rows: usize, page: usize) {
        self.selected = row.min(rows.saturating_sub(1));
        self.follow_selection(rows, page);
    }

    /// Keeps the selection on screen and the screen full where possible.
    pub fn follow_selection(&mut self, rows: usize, page: usize) {
        let page = page.max(1);
        self.selected = self.selected.min(rows.saturating_sub(1));
        if self.selected < self.scroll {
            self.scroll = self.selected;
        } else if self.selected >= self.scroll + page {
            self.scroll = self.selected + 1 - page;
        }
        self.scroll = self.scroll.min(rows.saturating_sub(page));
    }
}
