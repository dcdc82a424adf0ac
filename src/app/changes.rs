//! The `C` list: every change in the window (deploys, config pushes), the
//! newest first; `p` keeps only those touching the group on screen. The
//! lines come from the view model; the app keeps the selection and filter.

use super::keymap::Action;
use super::{App, Effect, Popup};

/// The `C` list's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeList {
    pub selected: usize,
    /// Only those touching the drill path (or detail group) on screen.
    pub only_here: bool,
}

impl App {
    pub(super) fn open_change_list(&mut self) -> Vec<Effect> {
        self.popups.push(Popup::Changes(ChangeList::default()));
        vec![Effect::Redraw]
    }

    /// How many lines the list shows under its filter.
    fn listed_changes(&self, only_here: bool) -> usize {
        if only_here {
            self.facts.changes.here
        } else {
            self.facts.changes.all
        }
    }

    pub(super) fn change_list_key(&mut self, action: Action) -> Vec<Effect> {
        let Some(Popup::Changes(list)) = self.popups.last() else {
            return Vec::new();
        };
        let last = self.listed_changes(list.only_here).saturating_sub(1);
        let Some(Popup::Changes(list)) = self.popups.last_mut() else {
            return Vec::new();
        };
        match action {
            Action::Up => list.selected = list.selected.saturating_sub(1),
            Action::Down => list.selected = (list.selected + 1).min(last),
            Action::Top | Action::PageUp => list.selected = 0,
            Action::Bottom | Action::PageDown => list.selected = last,
            Action::AnnotationsHere => {
                list.only_here = !list.only_here;
                list.selected = 0;
            }
            Action::Back | Action::Changes => {
                self.popups.pop();
            }
            _ => return Vec::new(),
        }
        vec![Effect::Redraw]
    }
}
