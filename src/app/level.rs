//! One level of the drill path with its own split, selection and scroll, so
//! going back up finds the row where the engineer left it, even if the rows
//! were re-sorted meanwhile.

use crate::feed::{ShownView, ViewLevel};
use crate::view::{DrillStep, RowKey, Split};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Level {
    /// (dimension, value) pairs fixed to reach this level; empty at the top.
    pub path: Vec<DrillStep>,
    pub split: Split,
    /// Selected row (0 = the aggregate row on top).
    pub selected: usize,
    /// The selected row's key: the selection follows it when rows move.
    pub selected_key: Option<RowKey>,
    /// First row shown.
    pub scroll: usize,
}

impl Level {
    pub fn top() -> Self {
        Level::default()
    }

    pub fn at(path: Vec<DrillStep>, split: Split) -> Self {
        Level {
            path,
            split,
            ..Level::default()
        }
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

    /// New rows arrived: the selection moves to where its key went (the
    /// scroll keeps the row at the same place on screen if it can), else
    /// stays at its index; then it remembers the key now under it.
    pub fn rows_changed(&mut self, keys: &[RowKey], page: usize) {
        if let Some(key) = &self.selected_key
            && let Some(i) = keys.iter().position(|k| k == key)
            && i != self.selected
        {
            let on_screen = self.selected.saturating_sub(self.scroll);
            self.selected = i;
            self.scroll = i.saturating_sub(on_screen);
        }
        self.follow_selection(keys.len(), page);
        self.remember(keys);
    }

    /// What this level shows, as a source in scale mode subscribes to it.
    pub fn shown(&self) -> ShownView {
        ShownView {
            path: self
                .path
                .iter()
                .map(|s| (s.dimension.clone(), s.value.clone()))
                .collect(),
            level: match &self.split {
                Split::Next => ViewLevel::Next,
                Split::By(d) => ViewLevel::Group(d.clone()),
                Split::Leaves => ViewLevel::Leaves,
            },
        }
    }

    /// Notes the key of the selected row.
    pub fn remember(&mut self, keys: &[RowKey]) {
        self.selected_key = keys.get(self.selected).cloned();
    }
}
