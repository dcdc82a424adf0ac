//! The one table of key bindings: action → keys. The help overlay and the
//! footer are drawn from it, and a config file can rebind by action name.

use super::keys::{Key, KeyPress};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: drill into the row (or open the detail of a leaf); in the
    /// detail view, go to the selected entry.
    Drill,
    /// Esc: close the popup, leave the detail view, clear the filter, or go
    /// up one level, whichever comes first.
    Back,
    /// Backspace: up one level (the filter stays).
    Parent,
    /// The menu of dimensions that can split the current level.
    Pivot,
    /// Every leaf under the current level, flat.
    Flat,
    Filter,
    Command,
    Sort,
    SortReverse,
    CycleQuality,
    Detail,
    NextChart,
    PrevChart,
    ZoomOut,
    ZoomIn,
    Freeze,
    Live,
    TimeBack,
    TimeForward,
    TimeBackFar,
    TimeForwardFar,
    /// Annotate the selected row (or the detail view's group).
    Annotate,
    /// The list of annotations.
    Annotations,
    /// In the list: only those touching the group on screen, or all.
    AnnotationsHere,
    /// In the list: cycle the state shown.
    AnnotationsState,
    /// In the list: move the selected annotation's state on.
    AdvanceState,
    /// Every deploy and config change in the window.
    Changes,
    CycleTheme,
    /// Copy the selected row, or the detail view, to the clipboard (OSC 52).
    Copy,
    Help,
    Quit,
}

impl Action {
    /// Every action, in the order the help overlay lists them.
    pub const ALL: [Action; 37] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Drill,
        Action::Back,
        Action::Parent,
        Action::Pivot,
        Action::Flat,
        Action::Filter,
        Action::Command,
        Action::Sort,
        Action::SortReverse,
        Action::CycleQuality,
        Action::Detail,
        Action::NextChart,
        Action::PrevChart,
        Action::ZoomOut,
        Action::ZoomIn,
        Action::Freeze,
        Action::Live,
        Action::TimeBack,
        Action::TimeForward,
        Action::TimeBackFar,
        Action::TimeForwardFar,
        Action::Annotate,
        Action::Annotations,
        Action::AnnotationsHere,
        Action::AnnotationsState,
        Action::AdvanceState,
        Action::Changes,
        Action::CycleTheme,
        Action::Copy,
        Action::Help,
        Action::Quit,
    ];

    /// The name a config file uses to rebind it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Drill => "drill",
            Action::Back => "back",
            Action::Parent => "parent",
            Action::Pivot => "pivot",
            Action::Flat => "flat",
            Action::Filter => "filter",
            Action::Command => "command",
            Action::Sort => "sort",
            Action::SortReverse => "sort_reverse",
            Action::CycleQuality => "cycle_quality",
            Action::Detail => "detail",
            Action::NextChart => "next_chart",
            Action::PrevChart => "prev_chart",
            Action::ZoomOut => "zoom_out",
            Action::ZoomIn => "zoom_in",
            Action::Freeze => "freeze",
            Action::Live => "live",
            Action::TimeBack => "time_back",
            Action::TimeForward => "time_forward",
            Action::TimeBackFar => "time_back_far",
            Action::TimeForwardFar => "time_forward_far",
            Action::Annotate => "annotate",
            Action::Annotations => "annotations",
            Action::AnnotationsHere => "annotations_here",
            Action::AnnotationsState => "annotations_state",
            Action::AdvanceState => "advance_state",
            Action::Changes => "changes",
            Action::CycleTheme => "cycle_theme",
            Action::Copy => "copy",
            Action::Help => "help",
            Action::Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// One line in the help overlay (short: it shares the width with a
    /// second column at 80 columns).
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "row above",
            Action::Down => "row below",
            Action::PageUp => "one page up",
            Action::PageDown => "one page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Drill => "drill in / open entry",
            Action::Back => "back (filter, level)",
            Action::Parent => "up one level",
            Action::Pivot => "group by... (pivot)",
            Action::Flat => "all leaves, flat",
            Action::Filter => "filter: dim=v,w word",
            Action::Command => "command line (Tab)",
            Action::Sort => "next sort key",
            Action::SortReverse => "reverse the sort",
            Action::CycleQuality => "quality: all, each suite",
            Action::Detail => "detail charts",
            Action::NextChart => "next chart (detail)",
            Action::PrevChart => "previous chart",
            Action::ZoomOut => "wider time window",
            Action::ZoomIn => "narrower time window",
            Action::Freeze => "freeze / unfreeze",
            Action::Live => "back to live",
            Action::TimeBack => "time cursor back",
            Action::TimeForward => "time cursor forward",
            Action::TimeBackFar => "cursor 10 back",
            Action::TimeForwardFar => "cursor 10 forward",
            Action::Annotate => "annotate the row",
            Action::Annotations => "list annotations",
            Action::AnnotationsHere => "list: here / all",
            Action::AnnotationsState => "list: state filter",
            Action::AdvanceState => "list: next state",
            Action::Changes => "list changes (deploys)",
            Action::CycleTheme => "next theme",
            Action::Copy => "copy row (OSC 52)",
            Action::Help => "this help",
            Action::Quit => "close popup, else quit",
        }
    }

    /// Short word for the footer, for the actions worth a place there.
    pub fn footer_word(self) -> Option<&'static str> {
        Some(match self {
            Action::Drill => "drill",
            Action::Back => "back",
            Action::Pivot => "group",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::Detail => "detail",
            Action::NextChart => "chart",
            Action::Freeze => "freeze",
            Action::Live => "live",
            Action::TimeBack => "time",
            Action::Annotate => "note",
            Action::Copy => "copy",
            Action::Help => "help",
            Action::Quit => "quit",
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: Vec<(Action, Vec<KeyPress>)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use Key::{
            BackTab, Backspace, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
        };
        let p = KeyPress::plain;
        let c = KeyPress::char;
        let s = KeyPress::shift;
        KeyMap {
            bindings: vec![
                (Action::Up, vec![p(Up), c('k')]),
                (Action::Down, vec![p(Down), c('j')]),
                (Action::PageUp, vec![p(PageUp)]),
                (Action::PageDown, vec![p(PageDown)]),
                (Action::Top, vec![p(Home)]),
                (Action::Bottom, vec![p(End)]),
                (Action::Drill, vec![p(Enter)]),
                (Action::Back, vec![p(Esc)]),
                (Action::Parent, vec![p(Backspace)]),
                (Action::Pivot, vec![c('g')]),
                (Action::Flat, vec![c('G')]),
                (Action::Filter, vec![c('/')]),
                (Action::Command, vec![c(':')]),
                (Action::Sort, vec![c('s')]),
                (Action::SortReverse, vec![c('S')]),
                (Action::CycleQuality, vec![c('c')]),
                (Action::Detail, vec![c('d')]),
                (Action::NextChart, vec![p(Tab)]),
                (Action::PrevChart, vec![p(BackTab)]),
                (Action::ZoomOut, vec![c('[')]),
                (Action::ZoomIn, vec![c(']')]),
                (Action::Freeze, vec![c('f'), c(' ')]),
                (Action::Live, vec![c('0')]),
                (Action::TimeBack, vec![p(Left), c('h')]),
                (Action::TimeForward, vec![p(Right), c('l')]),
                (Action::TimeBackFar, vec![s(Left), c('H')]),
                (Action::TimeForwardFar, vec![s(Right), c('L')]),
                (Action::Annotate, vec![c('a')]),
                (Action::Annotations, vec![c('A')]),
                (Action::AnnotationsHere, vec![c('p')]),
                (Action::AnnotationsState, vec![c('t')]),
                (Action::AdvanceState, vec![c('r')]),
                (Action::Changes, vec![c('C')]),
                (Action::CycleTheme, vec![c('T')]),
                (Action::Copy, vec![c('y')]),
                (Action::Help, vec![c('?')]),
                (Action::Quit, vec![c('q'), KeyPress::ctrl('c')]),
            ],
        }
    }
}

impl KeyMap {
    /// The action a key press triggers, if any.
    pub fn action_for(&self, key: KeyPress) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(a, _)| *a)
    }

    pub fn keys_for(&self, action: Action) -> &[KeyPress] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, k)| k.as_slice())
    }

    /// Replaces the keys of one action; a key taken by another action is
    /// moved here, so one key never means two things.
    pub fn rebind(&mut self, action: Action, keys: Vec<KeyPress>) {
        for (_, bound) in &mut self.bindings {
            bound.retain(|k| !keys.contains(k));
        }
        match self.bindings.iter_mut().find(|(a, _)| *a == action) {
            Some((_, bound)) => *bound = keys,
            None => self.bindings.push((action, keys)),
        }
    }

    /// (action, keys) in help order.
    pub fn entries(&self) -> impl Iterator<Item = (Action, &[KeyPress])> {
        Action::ALL.into_iter().map(|a| (a, self.keys_for(a)))
    }
}
