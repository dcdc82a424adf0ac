//! The pure state machine of the TUI: events in ([`Event`]), state and
//! effects out ([`Effect`]). Knows nothing of crossterm, sockets or drawing.
//!
//! Shaped for the drill-down to come: a stack of [`Level`]s (drill path,
//! split dimension, selection and scroll per level), a filter, a sort key and
//! a time cursor, of which the overview uses only the top level for now.

mod event;
mod keymap;
mod keyparse;
mod keys;
mod level;

pub use event::{Effect, Event, MouseInput, Viewport};
pub use keymap::{Action, KeyMap};
pub use keys::{Key, KeyPress};
pub use level::Level;

use crate::protocol::Millis;
use crate::view::{QualityPick, SortKey, TimeCursor, ViewQuery};

/// Rows the mouse wheel moves the selection.
const WHEEL_ROWS: isize = 3;

/// Windows drawn over the screen; Esc closes the top one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Never empty: the first is the whole-fleet level.
    levels: Vec<Level>,
    popups: Vec<Popup>,
    pub quality: QualityPick,
    pub sort: SortKey,
    pub filter: Option<String>,
    pub time: TimeCursor,
    /// Quality suites the data offers (raw names), from the last view model.
    suites: Vec<String>,
    /// Rows in the last view model.
    rows: usize,
    viewport: Viewport,
    /// Wall-clock time, for the header's clock and ages.
    pub wall_clock: Millis,
    pub keymap: KeyMap,
    quit: bool,
}

impl App {
    pub fn new(keymap: KeyMap) -> Self {
        App {
            levels: vec![Level::top()],
            popups: Vec::new(),
            quality: QualityPick::Combined,
            sort: SortKey::default(),
            filter: None,
            time: TimeCursor::Live,
            suites: Vec::new(),
            rows: 0,
            viewport: Viewport::default(),
            wall_clock: 0,
            keymap,
            quit: false,
        }
    }

    /// The level on screen.
    pub fn level(&self) -> &Level {
        // `levels` is never empty: it starts with the top and `Back` keeps it.
        &self.levels[self.levels.len() - 1]
    }

    fn level_mut(&mut self) -> &mut Level {
        let i = self.levels.len() - 1;
        &mut self.levels[i]
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    pub fn popup(&self) -> Option<Popup> {
        self.popups.last().copied()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// What the view model must answer for the level on screen.
    pub fn query(&self) -> ViewQuery {
        let level = self.level();
        ViewQuery {
            path: level.path.clone(),
            split: level.split.clone(),
            quality: self.quality.clone(),
            sort: self.sort,
            filter: self.filter.clone(),
            time: self.time,
            window_buckets: None,
        }
    }

    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => match self.keymap.action_for(key) {
                Some(action) => self.act(action),
                None => Vec::new(),
            },
            Event::Mouse(m) => self.mouse(m),
            Event::Viewport(v) => {
                self.viewport = v;
                let (rows, page) = (self.rows, self.page());
                self.level_mut().follow_selection(rows, page);
                vec![Effect::Redraw]
            }
            Event::ViewChanged { rows, suites } => {
                self.rows = rows;
                let mut effects = vec![Effect::Redraw];
                if let QualityPick::Suite(name) = &self.quality
                    && !suites.contains(name)
                {
                    // The suite went away with its backend: fall back.
                    self.quality = QualityPick::Combined;
                    effects.push(Effect::Recompute);
                }
                self.suites = suites;
                let page = self.page();
                self.level_mut().follow_selection(rows, page);
                effects
            }
            Event::Clock(now) => {
                let changed = now / 1000 != self.wall_clock / 1000;
                self.wall_clock = now;
                if changed {
                    vec![Effect::Redraw]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn page(&self) -> usize {
        usize::from(self.viewport.height).max(1)
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::Quit {
            self.quit = true;
            return vec![Effect::Quit];
        }
        if self.popup().is_some() {
            return match action {
                Action::Help | Action::Back => {
                    self.popups.pop();
                    vec![Effect::Redraw]
                }
                _ => Vec::new(),
            };
        }
        let (rows, page) = (self.rows, self.page());
        let level = self.level_mut();
        let before = (level.selected, level.scroll);
        match action {
            Action::Up => level.move_by(-1, rows, page),
            Action::Down => level.move_by(1, rows, page),
            Action::PageUp => level.move_by(-(page as isize), rows, page),
            Action::PageDown => level.move_by(page as isize, rows, page),
            Action::Top => level.select(0, rows, page),
            Action::Bottom => level.select(usize::MAX, rows, page),
            Action::Help => {
                self.popups.push(Popup::Help);
                return vec![Effect::Redraw];
            }
            Action::CycleQuality => {
                self.quality = next_pick(&self.quality, &self.suites);
                return vec![Effect::Recompute];
            }
            Action::Back | Action::Quit => return Vec::new(),
        }
        let level = self.level();
        if (level.selected, level.scroll) == before {
            Vec::new()
        } else {
            vec![Effect::Redraw]
        }
    }

    fn mouse(&mut self, m: MouseInput) -> Vec<Effect> {
        if self.popup().is_some() {
            return Vec::new();
        }
        let (rows, page) = (self.rows, self.page());
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
        vec![Effect::Redraw]
    }
}

/// Combined → each suite in order → Combined.
fn next_pick(current: &QualityPick, suites: &[String]) -> QualityPick {
    let next_index = match current {
        QualityPick::Combined => 0,
        QualityPick::Suite(name) => suites.iter().position(|s| s == name).map_or(0, |i| i + 1),
    };
    suites
        .get(next_index)
        .map_or(QualityPick::Combined, |s| QualityPick::Suite(s.clone()))
}
