//! What goes into the state machine and what comes out.

use super::keys::KeyPress;
use crate::protocol::{Annotation, Millis};
use crate::view::{AnnotationFacts, DimensionValues, DrillStep, RowKey, TimeAxis, ViewModel};

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
    /// A new view model was computed: what the state machine needs of it.
    ViewChanged(ViewFacts),
    /// Wall-clock time, for the header clock and the ages.
    Clock(Millis),
    /// The annotations the client knows changed (sent even while frozen).
    Annotations(AnnotationFacts),
    /// One line for the footer from the loop ("copied 312 bytes", a theme error).
    Notice(String),
}

/// What the state machine learns from a view model: the rows (to drill
/// into the selected one), the dimensions and values (pivot menu,
/// completion), the time axis (cursor and window bounds), the detail view's
/// jump targets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewFacts {
    pub rows: Vec<RowKey>,
    /// The raw dimension splitting the table, if one does.
    pub split: Option<String>,
    pub suites: Vec<String>,
    pub dimensions: Vec<DimensionValues>,
    pub time: TimeAxis,
    /// Where Enter goes from the detail view: the first `scope_targets`
    /// are scope entries (a jump), the rest breakdown rows (a deeper detail).
    pub targets: Vec<Vec<DrillStep>>,
    pub scope_targets: usize,
    /// Charts in the detail view (Tab cycles through them).
    pub charts: usize,
    /// Per row, the onset of the regression it shows (a new annotation's start).
    pub row_onsets: Vec<Option<Millis>>,
    /// What the app needs of the changes (boxed: events stay small).
    pub changes: Box<ChangeFacts>,
    /// The backends' clock (data time).
    pub data_now: Option<Millis>,
}

/// The changes as the state machine needs them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeFacts {
    /// Per row, what a new annotation of it cites: the top suspect change.
    pub row_suspects: Vec<Option<String>>,
    /// Changes in the window, and those touching the group on screen.
    pub all: usize,
    pub here: usize,
}

impl ViewFacts {
    pub fn of(vm: &ViewModel) -> Self {
        ViewFacts {
            rows: vm.table.rows.iter().map(|r| r.key.clone()).collect(),
            split: vm.table.split_raw.clone(),
            suites: vm.suites.clone(),
            dimensions: vm.dimensions.clone(),
            time: vm.time,
            targets: vm.detail.as_ref().map(|d| d.targets()).unwrap_or_default(),
            scope_targets: vm.detail.as_ref().map_or(0, |d| d.scope.len()),
            charts: vm.detail.as_ref().map_or(0, |d| d.charts.len()),
            row_onsets: vm.table.rows.iter().map(|r| r.onset).collect(),
            changes: Box::new(ChangeFacts {
                row_suspects: vm.table.rows.iter().map(|r| r.suspect.clone()).collect(),
                all: vm.changes.len(),
                here: vm.changes.iter().filter(|c| c.here).count(),
            }),
            data_now: vm.data_now,
        }
    }

    /// Facts with `rows` plain value rows under the aggregate, for tests.
    pub fn with_rows(rows: usize) -> Self {
        ViewFacts {
            rows: (0..rows)
                .map(|i| {
                    if i == 0 {
                        RowKey::All
                    } else {
                        RowKey::Value(format!("row-{i}"))
                    }
                })
                .collect(),
            ..ViewFacts::default()
        }
    }
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The screen changed: draw a frame (the loop caps the rate).
    Redraw,
    /// The query changed: compute the view model again, then draw.
    Recompute,
    /// `:theme NAME` asked for another theme: [`super::App::theme`] names it.
    ThemeChanged,
    /// The next theme, live.
    CycleTheme,
    /// Hand this annotation to the sync task (new, or an edit: same id).
    SubmitAnnotation(Box<Annotation>),
    /// Copy the selected row (or the detail view) to the clipboard.
    CopySelection,
    /// The drill path or the level's split changed: sources in scale mode
    /// subscribe to what is shown now.
    View(crate::feed::ShownView),
    Quit,
}
