//! The pure state machine of the TUI: events in ([`Event`]), state and
//! effects out ([`Effect`]). Knows nothing of crossterm, sockets or drawing.
//!
//! State: a stack of [`Level`]s (drill path, split, selection and scroll per
//! level), a stack of open detail views, popups, the input line, the filter,
//! the sort, the window and the time cursor, the annotations the client
//! knows (for the `A` list and the footer's flash of a colleague's new one).
//! [`App::query`] turns it into the question the view model answers.

mod act;
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
}

/// The last level (the stack is never empty).
fn on_screen(levels: &mut [Level]) -> &mut Level {
    let i = levels.len() - 1;
    &mut levels[i]
}
