//! Moving around: drilling in and back out, pivoting, the flat view, the
//! detail views and their jumps. The input line and commands: `line.rs`;
//! what a key-map action does: `act.rs`.

use super::keymap::Action;
use super::level::Level;
use super::{App, DetailState, Effect, MouseInput, PivotOption, Popup, WHEEL_ROWS, on_screen};
use crate::view::{DrillStep, Filter, RowKey, Split};

impl App {
    /// What the level on screen shows, for sources in scale mode: emitted as
    /// [`Effect::View`] whenever it changes.
    pub fn shown_view(&self) -> crate::feed::ShownView {
        self.level().shown()
    }

    /// From now on, says [`Effect::View`] whenever the drill path or the
    /// level's split changes; returns the view shown now, to start from.
    pub fn follow_views(&mut self) -> crate::feed::ShownView {
        self.follow_views = true;
        self.shown_view()
    }

    /// Dimensions (raw names) a path has not fixed, in declaration order.
    pub fn unfixed(&self, path: &[DrillStep]) -> Vec<String> {
        self.facts
            .dimensions
            .iter()
            .map(|d| d.name.clone())
            .filter(|name| !path.iter().any(|s| s.dimension == *name))
            .collect()
    }

    /// The pivot menu of the level on screen: its unfixed dimensions, then
    /// the flat view of every leaf.
    pub fn pivot_options(&self) -> Vec<PivotOption> {
        self.unfixed(&self.level().path)
            .into_iter()
            .map(PivotOption::Dimension)
            .chain([PivotOption::Leaves])
            .collect()
    }

    /// The group a row stands for: the level's path plus the row's steps.
    pub(super) fn path_of_row(&self, key: &RowKey) -> Vec<DrillStep> {
        let mut path = self.level().path.clone();
        match key {
            RowKey::All => {}
            RowKey::Value(v) => {
                if let Some(dim) = &self.facts.split
                    && !path.iter().any(|s| s.dimension == *dim)
                {
                    path.push(DrillStep::new(dim, v));
                }
            }
            RowKey::Leaf(steps) => path.extend(steps.iter().cloned()),
        }
        path
    }

    /// Enter on a row: the aggregate opens the level's detail; a group opens
    /// the next level, or its detail when nothing is left to split.
    pub(super) fn drill_selected(&mut self) -> Vec<Effect> {
        let Some(key) = self.facts.rows.get(self.level().selected).cloned() else {
            return Vec::new();
        };
        let path = self.path_of_row(&key);
        if key == RowKey::All || path.len() == self.level().path.len() {
            return self.open_detail(path);
        }
        if self.unfixed(&path).is_empty() {
            return self.open_detail(path);
        }
        self.levels.push(Level::at(path, Split::Next));
        vec![Effect::Recompute]
    }

    pub(super) fn open_detail_of_selected(&mut self) -> Vec<Effect> {
        let path = match self.facts.rows.get(self.level().selected) {
            Some(key) => self.path_of_row(&key.clone()),
            None => self.level().path.clone(),
        };
        self.open_detail(path)
    }

    fn open_detail(&mut self, path: Vec<DrillStep>) -> Vec<Effect> {
        self.details.push(DetailState {
            path,
            ..DetailState::default()
        });
        vec![Effect::Recompute]
    }

    /// Esc: the filter goes first (k9s), then the level.
    pub(super) fn back(&mut self) -> Vec<Effect> {
        if !self.filter.is_empty() {
            self.filter = Filter::default();
            return vec![Effect::Recompute];
        }
        self.pop_level()
    }

    pub(super) fn pop_level(&mut self) -> Vec<Effect> {
        if self.levels.len() > 1 {
            self.levels.pop();
            vec![Effect::Recompute]
        } else {
            Vec::new()
        }
    }

    pub(super) fn open_pivot(&mut self) -> Vec<Effect> {
        let options = self.pivot_options();
        let current = match &self.level().split {
            Split::Next => 0,
            Split::By(d) => options
                .iter()
                .position(|o| *o == PivotOption::Dimension(d.clone()))
                .unwrap_or(0),
            Split::Leaves => options.len() - 1,
        };
        self.popups.push(Popup::Pivot { selected: current });
        vec![Effect::Redraw]
    }

    pub(super) fn pivot_key(&mut self, action: Action, selected: usize) -> Vec<Effect> {
        let options = self.pivot_options();
        let last = options.len().saturating_sub(1);
        let moved = match action {
            Action::Up => selected.saturating_sub(1),
            Action::Down => (selected + 1).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            Action::Back | Action::Pivot => {
                self.popups.pop();
                return vec![Effect::Redraw];
            }
            Action::Drill => {
                self.popups.pop();
                let split = match options.get(selected) {
                    Some(PivotOption::Dimension(d)) => Split::By(d.clone()),
                    Some(PivotOption::Leaves) => Split::Leaves,
                    None => return vec![Effect::Redraw],
                };
                return self.set_split(split);
            }
            _ => return Vec::new(),
        };
        if let Some(Popup::Pivot { selected }) = self.popups.last_mut() {
            *selected = moved;
        }
        vec![Effect::Redraw]
    }

    pub(super) fn set_split(&mut self, split: Split) -> Vec<Effect> {
        let level = self.level_mut();
        level.split = split;
        level.selected = 0;
        level.scroll = 0;
        level.selected_key = None;
        vec![Effect::Recompute]
    }

    pub(super) fn toggle_flat(&mut self) -> Vec<Effect> {
        let split = if self.level().split == Split::Leaves {
            Split::Next
        } else {
            Split::Leaves
        };
        self.set_split(split)
    }

    pub(super) fn detail_key(&mut self, action: Action) -> Vec<Effect> {
        let targets = self.facts.targets.len();
        let charts = self.facts.charts.max(1);
        let Some(detail) = self.details.last_mut() else {
            return Vec::new();
        };
        let before = (detail.selected, detail.chart);
        match action {
            Action::Up => detail.selected = detail.selected.saturating_sub(1),
            Action::Down => detail.selected = (detail.selected + 1).min(targets.saturating_sub(1)),
            Action::Top | Action::PageUp => detail.selected = 0,
            Action::Bottom | Action::PageDown => detail.selected = targets.saturating_sub(1),
            Action::NextChart => detail.chart = (detail.chart + 1) % charts,
            Action::PrevChart => detail.chart = (detail.chart + charts - 1) % charts,
            Action::Drill => return self.enter_target(),
            Action::Back | Action::Parent | Action::Detail => {
                self.details.pop();
                return vec![Effect::Recompute];
            }
            _ => return Vec::new(),
        }
        if (detail.selected, detail.chart) == before {
            Vec::new()
        } else {
            vec![Effect::Redraw]
        }
    }

    /// Enter in the detail view: a scope entry jumps there (the drill path
    /// becomes its path); a breakdown row opens that child's detail.
    fn enter_target(&mut self) -> Vec<Effect> {
        let Some(detail) = self.details.last() else {
            return Vec::new();
        };
        let Some(path) = self.facts.targets.get(detail.selected).cloned() else {
            return Vec::new();
        };
        if detail.selected < self.facts.scope_targets {
            self.jump_to(path)
        } else {
            self.open_detail(path)
        }
    }

    /// Sets the drill path to `path`, one level per step so Esc climbs back
    /// through each, with the row of the next step selected at every level.
    pub fn jump_to(&mut self, path: Vec<DrillStep>) -> Vec<Effect> {
        self.details.clear();
        self.popups.clear();
        let mut levels: Vec<Level> = (0..path.len())
            .map(|i| {
                let mut level = Level::at(path[..i].to_vec(), Split::By(path[i].dimension.clone()));
                level.selected_key = Some(RowKey::Value(path[i].value.clone()));
                level
            })
            .collect();
        let leaf = self.unfixed(&path).is_empty();
        if !leaf || levels.is_empty() {
            levels.push(Level::at(path.clone(), Split::Next));
        }
        self.levels = levels;
        if leaf && !path.is_empty() {
            self.details.push(DetailState {
                path,
                ..DetailState::default()
            });
        }
        vec![Effect::Recompute]
    }
}

impl App {
    /// The wheel moves the selection; a click selects the row under it.
    pub(super) fn mouse(&mut self, m: MouseInput) -> Vec<Effect> {
        if self.popup().is_some() || self.input.is_some() {
            return Vec::new();
        }
        if !self.details.is_empty() {
            return match m {
                MouseInput::WheelUp => self.detail_key(Action::Up),
                MouseInput::WheelDown => self.detail_key(Action::Down),
                MouseInput::Click { .. } => Vec::new(),
            };
        }
        let (rows, page) = (self.facts.rows.len(), self.page());
        match m {
            MouseInput::WheelUp => self.level_mut().move_by(-WHEEL_ROWS, rows, page),
            MouseInput::WheelDown => self.level_mut().move_by(WHEEL_ROWS, rows, page),
            MouseInput::Click { row, .. } => {
                let Some(line) = self.viewport.line_at(row) else {
                    return Vec::new();
                };
                let target = self.level().scroll + line;
                if target >= rows {
                    return Vec::new();
                }
                self.level_mut().select(target, rows, page);
            }
        }
        let level = on_screen(&mut self.levels);
        level.remember(&self.facts.rows);
        vec![Effect::Redraw]
    }
}
