//! The pure state machine of the TUI: events in ([`Event`]), state and
//! effects out ([`Effect`]). Knows nothing of crossterm, sockets or drawing.
//!
//! State: a stack of [`Level`]s (drill path, split, selection and scroll per
//! level), a stack of open detail views, popups, the input line, the filter,
//! the sort, the window and the time cursor, the annotations the client
//! knows (for the `A` list and the footer's flash of a colleague's new one).
//! [`App::query`] turns it into the question the view model answers.

mod annotate;
mod changes;
mod command;
mod dialog;
mod event;
mod field;
mod input;
mod keymap;
mod keyparse;
mod keys;
mod level;
mod line;
mod nav;
mod time;

pub use annotate::{AnnotationList, FLASH_MS, Flash};
pub use changes::ChangeList;
pub use command::{COMMANDS, Command, Vocabulary, complete, complete_filter, parse};
pub use dialog::{AnnotationDialog, DialogField, parse_scope, parse_start, scope_words};
pub use event::{Effect, Event, MouseInput, ViewFacts, Viewport};
pub use field::TextField;
pub use input::{Edit, InputKind, InputLine};
pub use keymap::{Action, KeyMap};
pub use keys::{Key, KeyPress};
pub use level::Level;
pub use time::{DEFAULT_WINDOW, FAR_STEP, TimeState, WINDOWS};

use std::collections::HashSet;

use crate::protocol::Millis;
use crate::view::{AnnotationFacts, DrillStep, Filter, QualityPick, SortKey, ViewQuery};

/// Rows the mouse wheel moves the selection.
const WHEEL_ROWS: isize = 3;

/// Windows drawn over the screen; Esc closes the top one.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    /// Which dimension splits the level: [`App::pivot_options`], one selected.
    Pivot {
        selected: usize,
    },
    /// Writing or editing an annotation.
    Annotate(Box<AnnotationDialog>),
    /// Every annotation the client knows.
    Annotations(AnnotationList),
    /// Every change in the window (`C`).
    Changes(ChangeList),
}

/// An entry of the pivot menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PivotOption {
    /// Split by this dimension (raw name).
    Dimension(String),
    /// Every leaf, flat.
    Leaves,
}

/// One open detail view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetailState {
    pub path: Vec<DrillStep>,
    /// First chart shown when not all fit (Tab moves it).
    pub chart: usize,
    /// Selected jump target (scope entries, then breakdown rows).
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Emit [`Effect::View`] when the level shown changes (the TUI, whose
    /// sources may be in scale mode; off for headless uses of the app).
    follow_views: bool,
    /// Never empty: the first is the whole-fleet level.
    levels: Vec<Level>,
    popups: Vec<Popup>,
    /// First line of the help overlay shown (it scrolls when it does not fit).
    help_scroll: usize,
    /// Detail views, the one on screen last; empty = the table.
    details: Vec<DetailState>,
    input: Option<InputLine>,
    pub quality: QualityPick,
    pub sort: SortKey,
    pub sort_reversed: bool,
    filter: Filter,
    time: TimeState,
    /// Theme asked for with `:theme`, for whoever applies themes.
    theme: Option<String>,
    /// One line of feedback (a command's error), until the next key.
    message: Option<String>,
    facts: ViewFacts,
    viewport: Viewport,
    /// Wall-clock time, for the header's clock and ages.
    pub wall_clock: Millis,
    pub keymap: KeyMap,
    quit: bool,
    /// Every annotation the client knows (the loop sends them on change).
    annotations: AnnotationFacts,
    /// Ids this client submitted: their arrival is no news.
    own_annotations: HashSet<String>,
    /// Ids seen shared so far: only a new one may flash.
    known_annotations: HashSet<String>,
    flash: Option<Flash>,
    /// The id the next new annotation gets.
    new_id: String,
    /// Where the next ids come from (given, so the app draws no randomness).
    ids: AnnotationIds,
    /// Who writes the annotations (given by the caller: `$USER` in the TUI).
    pub author: String,
}

/// Fresh annotation ids without randomness in the app: UUIDs (v4 layout)
/// counted up from a seed the caller draws once. Two clients collide only if
/// their 122-bit seeds do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationIds {
    seed: u128,
    issued: u128,
}

impl AnnotationIds {
    pub fn from_seed(seed: u128) -> Self {
        AnnotationIds { seed, issued: 0 }
    }

    /// The next id: `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    pub fn next_id(&mut self) -> String {
        let n = self.seed.wrapping_add(self.issued);
        self.issued += 1;
        uuid::Builder::from_random_bytes(n.to_be_bytes())
            .into_uuid()
            .to_string()
    }
}

impl App {
    /// An app with no author (`unknown`) and ids counted from seed 0: for
    /// tests and tools; the TUI gives its own with [`App::with_identity`].
    pub fn new(keymap: KeyMap) -> Self {
        Self::with_identity(keymap, "unknown".to_owned(), AnnotationIds::from_seed(0))
    }

    /// An app whose annotations carry `author` and ids from `ids`.
    pub fn with_identity(keymap: KeyMap, author: String, mut ids: AnnotationIds) -> Self {
        App {
            follow_views: false,
            levels: vec![Level::top()],
            popups: Vec::new(),
            help_scroll: 0,
            details: Vec::new(),
            input: None,
            quality: QualityPick::Combined,
            sort: SortKey::default(),
            sort_reversed: false,
            filter: Filter::default(),
            time: TimeState::default(),
            theme: None,
            message: None,
            facts: ViewFacts::default(),
            viewport: Viewport::default(),
            wall_clock: 0,
            keymap,
            quit: false,
            annotations: AnnotationFacts::default(),
            own_annotations: HashSet::new(),
            known_annotations: HashSet::new(),
            flash: None,
            new_id: ids.next_id(),
            ids,
            author,
        }
    }

    /// The level on screen (under any detail view).
    pub fn level(&self) -> &Level {
        // `levels` is never empty: it starts with the top and `pop_level` keeps it.
        &self.levels[self.levels.len() - 1]
    }

    fn level_mut(&mut self) -> &mut Level {
        on_screen(&mut self.levels)
    }

    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    pub fn popup(&self) -> Option<&Popup> {
        self.popups.last()
    }

    /// First line of the help overlay shown (the renderer clamps it).
    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    /// The detail view on screen, if any.
    pub fn detail(&self) -> Option<&DetailState> {
        self.details.last()
    }

    pub fn input(&self) -> Option<&InputLine> {
        self.input.as_ref()
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn time(&self) -> &TimeState {
        &self.time
    }

    pub fn is_frozen(&self) -> bool {
        self.time.is_frozen()
    }

    /// The theme `:theme` asked for last.
    pub fn theme(&self) -> Option<&str> {
        self.theme.as_deref()
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// What the last view model said (rows, dimensions, time axis).
    pub fn facts(&self) -> &ViewFacts {
        &self.facts
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn rows(&self) -> usize {
        self.facts.rows.len()
    }

    /// Sets the window to the narrowest of [`WINDOWS`] at least `ms` long
    /// (the config file's `display.window`).
    pub fn set_window(&mut self, ms: Millis) {
        self.time.set_window(ms);
    }

    /// What the view model must answer for the screen.
    pub fn query(&self) -> ViewQuery {
        let level = self.level();
        ViewQuery {
            path: level.path.clone(),
            split: level.split.clone(),
            quality: self.quality.clone(),
            sort: self.sort,
            sort_reversed: self.sort_reversed,
            filter: self.filter.clone(),
            time: self.time.cursor,
            window_ms: Some(self.time.window_ms()),
            detail: self.details.last().map(|d| d.path.clone()),
        }
    }

    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        if !self.follow_views {
            return self.handle(event);
        }
        let shown = self.shown_view();
        let mut effects = self.handle(event);
        let now = self.shown_view();
        if now != shown {
            effects.push(Effect::View(now));
        }
        effects
    }

    fn handle(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => {
                let had_message = self.message.take().is_some();
                let mut effects = if matches!(self.popups.last(), Some(Popup::Annotate(_))) {
                    self.dialog_key(key)
                } else if self.input.is_some() {
                    // Ctrl-C cancels the line, as in a shell.
                    self.input_key(key)
                } else if key == KeyPress::ctrl('c') {
                    // Ctrl-C quits from anywhere else, popups included.
                    self.quit = true;
                    vec![Effect::Quit]
                } else {
                    match self.keymap.action_for(key) {
                        Some(action) => self.act(action),
                        None => Vec::new(),
                    }
                };
                if had_message && effects.is_empty() {
                    effects.push(Effect::Redraw);
                }
                effects
            }
            Event::Mouse(m) => self.mouse(m),
            Event::Viewport(v) => {
                self.viewport = v;
                let page = self.page();
                if self.details.is_empty() {
                    let level = on_screen(&mut self.levels);
                    level.follow_selection(self.facts.rows.len(), page);
                    level.remember(&self.facts.rows);
                }
                vec![Effect::Redraw]
            }
            Event::ViewChanged(facts) => self.view_changed(facts),
            Event::Annotations(facts) => self.annotations_changed(facts),
            Event::Notice(text) => {
                self.message = Some(text);
                vec![Effect::Redraw]
            }
            Event::Clock(now) => {
                let changed = now / 1000 != self.wall_clock / 1000;
                let flash_ended = self.flash.as_ref().is_some_and(|f| f.until <= now);
                if flash_ended {
                    self.flash = None;
                }
                self.wall_clock = now;
                if changed || flash_ended {
                    vec![Effect::Redraw]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn view_changed(&mut self, facts: ViewFacts) -> Vec<Effect> {
        let mut effects = vec![Effect::Redraw];
        if let QualityPick::Suite(name) = &self.quality
            && !facts.suites.contains(name)
        {
            // The suite went away with its backend: fall back.
            self.quality = QualityPick::Combined;
            effects.push(Effect::Recompute);
        }
        self.facts = facts;
        let page = self.page();
        match self.details.last_mut() {
            // The table's rows are not computed behind a detail view: the
            // level keeps its selection for the way back.
            Some(d) => d.selected = d.selected.min(self.facts.targets.len().saturating_sub(1)),
            None => on_screen(&mut self.levels).rows_changed(&self.facts.rows, page),
        }
        effects
    }

    fn page(&self) -> usize {
        usize::from(self.viewport.height).max(1)
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::Quit {
            return self.quit_or_close();
        }
        match self.popup() {
            Some(Popup::Help) => {
                return if matches!(action, Action::Help | Action::Back) {
                    self.popups.pop();
                    vec![Effect::Redraw]
                } else if let Some(scroll) = help_scroll(action) {
                    self.help_scroll = scroll(self.help_scroll);
                    vec![Effect::Redraw]
                } else {
                    Vec::new()
                };
            }
            Some(Popup::Pivot { selected }) => return self.pivot_key(action, *selected),
            Some(Popup::Annotations(_)) => return self.list_key(action),
            Some(Popup::Changes(_)) => return self.change_list_key(action),
            // Its keys never reach the key map (see `update`).
            Some(Popup::Annotate(_)) => return Vec::new(),
            None => {}
        }
        let axis = self.facts.time;
        let now = self.wall_clock;
        let recompute_if = |changed: bool| {
            if changed {
                vec![Effect::Recompute]
            } else {
                Vec::new()
            }
        };
        match action {
            Action::Help => {
                self.help_scroll = 0;
                self.popups.push(Popup::Help);
                vec![Effect::Redraw]
            }
            Action::Annotate => self.open_new_annotation(),
            Action::Annotations => self.open_annotation_list(),
            Action::Changes => self.open_change_list(),
            Action::CycleTheme => vec![Effect::CycleTheme],
            Action::Copy => vec![Effect::CopySelection],
            Action::Filter => {
                self.input = Some(InputLine::new(InputKind::Filter, self.filter.text()));
                vec![Effect::Redraw]
            }
            Action::Command => {
                self.input = Some(InputLine::new(InputKind::Command, ""));
                vec![Effect::Redraw]
            }
            Action::Sort => {
                self.sort = self.sort.next();
                vec![Effect::Recompute]
            }
            Action::SortReverse => {
                self.sort_reversed = !self.sort_reversed;
                vec![Effect::Recompute]
            }
            Action::CycleQuality => {
                self.quality = next_pick(&self.quality, &self.facts.suites);
                vec![Effect::Recompute]
            }
            Action::ZoomOut if self.time.zoom_out(&axis) => vec![Effect::Recompute],
            Action::ZoomOut => {
                self.message = Some(if self.time.window + 1 >= WINDOWS.len() {
                    format!("{} is the widest window", WINDOWS[WINDOWS.len() - 1].0)
                } else {
                    format!(
                        "only {} of history: the {} window shows it all",
                        crate::text::time::span_words(time::history_ms(&axis)),
                        WINDOWS[self.time.window].0
                    )
                });
                vec![Effect::Redraw]
            }
            Action::ZoomIn if self.time.zoom_in() => vec![Effect::Recompute],
            Action::ZoomIn => {
                self.message = Some(format!("{} is the narrowest window", WINDOWS[0].0));
                vec![Effect::Redraw]
            }
            Action::Freeze if self.time.is_frozen() => recompute_if(self.time.go_live()),
            Action::Freeze => {
                // The screen already shows the newest bucket: nothing to compute.
                if self.time.freeze(&axis, now) {
                    vec![Effect::Redraw]
                } else {
                    Vec::new()
                }
            }
            Action::Live => recompute_if(self.time.go_live()),
            Action::TimeBack => recompute_if(self.time.step(-1, &axis, now)),
            Action::TimeForward => recompute_if(self.time.step(1, &axis, now)),
            Action::TimeBackFar => recompute_if(self.time.step(-FAR_STEP, &axis, now)),
            Action::TimeForwardFar => recompute_if(self.time.step(FAR_STEP, &axis, now)),
            _ if self.details.is_empty() => self.table_key(action),
            _ => self.detail_key(action),
        }
    }

    /// `q`, as in less and k9s: closes the popup or the detail view on
    /// top, and quits only from the table (a frozen view is not lost by a
    /// `q` meant for a popup).
    fn quit_or_close(&mut self) -> Vec<Effect> {
        if self.popups.pop().is_some() {
            return vec![Effect::Redraw];
        }
        if self.details.pop().is_some() {
            return vec![Effect::Recompute];
        }
        self.quit = true;
        vec![Effect::Quit]
    }

    fn table_key(&mut self, action: Action) -> Vec<Effect> {
        let (rows, page) = (self.facts.rows.len(), self.page());
        let level = on_screen(&mut self.levels);
        let before = (level.selected, level.scroll);
        match action {
            Action::Up => level.move_by(-1, rows, page),
            Action::Down => level.move_by(1, rows, page),
            Action::PageUp => level.move_by(-(page as isize), rows, page),
            Action::PageDown => level.move_by(page as isize, rows, page),
            Action::Top => level.select(0, rows, page),
            Action::Bottom => level.select(usize::MAX, rows, page),
            Action::Drill => return self.drill_selected(),
            Action::Detail => return self.open_detail_of_selected(),
            Action::Back => return self.back(),
            Action::Parent => return self.pop_level(),
            Action::Pivot => return self.open_pivot(),
            Action::Flat => return self.toggle_flat(),
            _ => return Vec::new(),
        }
        level.remember(&self.facts.rows);
        if (level.selected, level.scroll) == before {
            Vec::new()
        } else {
            vec![Effect::Redraw]
        }
    }
}

/// How a key scrolls the help overlay, if it does.
fn help_scroll(action: Action) -> Option<fn(usize) -> usize> {
    Some(match action {
        Action::Up => |s| s.saturating_sub(1),
        Action::Down => |s| s + 1,
        Action::PageUp => |s| s.saturating_sub(10),
        Action::PageDown => |s| s + 10,
        Action::Top => |_| 0,
        Action::Bottom => |_| usize::MAX / 2,
        _ => return None,
    })
}

/// The last level (the stack is never empty).
fn on_screen(levels: &mut [Level]) -> &mut Level {
    let i = levels.len() - 1;
    &mut levels[i]
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
