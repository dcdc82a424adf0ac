//! The one table of key bindings: action → keys. The help overlay and the
//! footer are drawn from it, and a config file can rebind by action name.

use super::keys::{Key, KeyPress};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    /// Closes the top popup (later: also goes up one drill level).
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    CycleQuality,
}

impl Action {
    /// Every action, in the order the help overlay lists them.
    pub const ALL: [Action; 10] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::CycleQuality,
        Action::Help,
        Action::Back,
        Action::Quit,
    ];

    /// The name a config file uses to rebind it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Back => "back",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::CycleQuality => "cycle_quality",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show or hide this help",
            Action::Back => "close the popup",
            Action::Up => "select the row above",
            Action::Down => "select the row below",
            Action::PageUp => "one page up",
            Action::PageDown => "one page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::CycleQuality => "quality column: combined, then each suite",
        }
    }

    /// Short word for the footer, for the actions worth a place there.
    pub fn footer_word(self) -> Option<&'static str> {
        match self {
            Action::Quit => Some("quit"),
            Action::Help => Some("help"),
            Action::CycleQuality => Some("suite"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: Vec<(Action, Vec<KeyPress>)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use Key::*;
        let p = KeyPress::plain;
        let c = KeyPress::char;
        KeyMap {
            bindings: vec![
                (Action::Up, vec![p(Up), c('k')]),
                (Action::Down, vec![p(Down), c('j')]),
                (Action::PageUp, vec![p(PageUp)]),
                (Action::PageDown, vec![p(PageDown)]),
                (Action::Top, vec![p(Home), c('g')]),
                (Action::Bottom, vec![p(End), c('G')]),
                (Action::CycleQuality, vec![c('s')]),
                (Action::Help, vec![c('?')]),
                (Action::Back, vec![p(Esc)]),
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
