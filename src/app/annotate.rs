//! Annotating from the screen: `a` opens the dialog for the selected row
//! (or the detail view's group), `A` lists every annotation the client
//! knows; Enter edits one, `r` moves its state on. Saving is an effect: the
//! loop hands the annotation to the sync task, the app never sees sockets.

use std::collections::BTreeMap;

use super::dialog::AnnotationDialog;
use super::keymap::Action;
use super::keys::{Key, KeyPress};
use super::{App, Effect, Popup};
use crate::protocol::{Annotation, AnnotationState, Millis};
use crate::view::{
    AnnotationEntry, AnnotationFacts, EntryStatus, QualityPick, TimeCursor, annotation_applies,
    filter_pins,
};

/// How long another engineer's new annotation shows in the footer.
pub const FLASH_MS: Millis = 5_000;
/// An annotation created longer ago than this is history, not news: it
/// arrives with the first snapshot and does not flash.
const NEWS_MS: Millis = 120_000;

/// The `A` list: which annotations show, and the selected one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnnotationList {
    pub selected: usize,
    /// Only those touching the drill path on screen.
    pub only_here: bool,
    /// Only those in this state.
    pub state: Option<AnnotationState>,
}

/// Another engineer's new annotation, shown in the footer for a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    /// Raw: sanitised when drawn.
    pub author: String,
    pub text: String,
    pub until: Millis,
}

/// The state filter of the list: all → each state → all.
fn next_filter(f: Option<AnnotationState>) -> Option<AnnotationState> {
    match f {
        None => Some(AnnotationState::Suspected),
        Some(AnnotationState::Resolved) => None,
        Some(s) => Some(s.next()),
    }
}

impl App {
    /// Annotations the client knows, newest first.
    pub fn annotations(&self) -> &AnnotationFacts {
        &self.annotations
    }

    /// The footer's flash, while it lasts.
    pub fn flash(&self) -> Option<&Flash> {
        self.flash.as_ref().filter(|f| f.until > self.wall_clock)
    }

    /// The entries the `A` list shows under its filters.
    pub fn listed_annotations(&self) -> Vec<&AnnotationEntry> {
        let list = match self.popups.last() {
            Some(Popup::Annotations(l)) => l.clone(),
            _ => AnnotationList::default(),
        };
        let here = self.here();
        self.annotations
            .entries
            .iter()
            .filter(|e| !list.only_here || annotation_applies(&e.annotation.scope, &here))
            .filter(|e| list.state.is_none_or(|s| e.annotation.state == s))
            .collect()
    }

    /// The group on screen: the detail view's, else the level's path.
    fn here(&self) -> Vec<crate::view::DrillStep> {
        match self.details.last() {
            Some(d) => d.path.clone(),
            None => self.level().path.clone(),
        }
    }

    /// Data time now, for new annotations and for `resolved`.
    fn data_now(&self) -> Millis {
        self.facts.data_now.unwrap_or(self.wall_clock)
    }

    /// `a`: a new annotation of the selected row (or the detail's group).
    /// Its scope is the row's group plus the filter's single-valued terms;
    /// it starts at the onset of the regression that scope holds, else at
    /// the frozen cursor, else at data time now.
    pub(super) fn open_new_annotation(&mut self) -> Vec<Effect> {
        let selected = self.level().selected;
        let (path, onset) = match self.details.last() {
            Some(d) => (d.path.clone(), None),
            None => match self.facts.rows.get(selected).cloned() {
                Some(key) => (
                    self.path_of_row(&key),
                    self.facts.row_onsets.get(selected).copied().flatten(),
                ),
                None => (self.level().path.clone(), None),
            },
        };
        // A regression's note starts by citing its top suspect change (editable).
        let cited = match (self.details.last(), onset) {
            (None, Some(_)) => self
                .facts
                .changes
                .row_suspects
                .get(selected)
                .cloned()
                .flatten(),
            _ => None,
        };
        let pins = filter_pins(&self.filter, &self.facts.dimensions, &path);
        let from = onset.unwrap_or_else(|| match self.time.cursor {
            TimeCursor::Frozen { last_bucket } => last_bucket * self.facts.time.bucket_ms,
            TimeCursor::Live => self.data_now(),
        });
        let draft = Annotation {
            id: self.new_id.clone(),
            scope: path
                .into_iter()
                .chain(pins)
                .map(|s| (s.dimension, s.value))
                .collect::<BTreeMap<_, _>>(),
            signal: match &self.quality {
                QualityPick::Suite(name) => Some(name.clone()),
                QualityPick::Combined => None,
            },
            from,
            to: None,
            state: AnnotationState::Suspected,
            text: cited.unwrap_or_default(),
            author: self.author.clone(),
            rev: None,
            created: None,
            updated: None,
        };
        self.open_dialog(draft, false)
    }

    fn open_dialog(&mut self, draft: Annotation, editing: bool) -> Vec<Effect> {
        let dialog = AnnotationDialog::new(draft, editing, &self.facts.suites, self.data_now());
        self.popups.push(Popup::Annotate(Box::new(dialog)));
        vec![Effect::Redraw]
    }

    pub(super) fn open_annotation_list(&mut self) -> Vec<Effect> {
        self.popups
            .push(Popup::Annotations(AnnotationList::default()));
        vec![Effect::Redraw]
    }

    /// Keys while the dialog is open: typing goes to the focused field.
    /// Esc or Ctrl-C cancels (asking first when something changed; a second
    /// Ctrl-C, like `y`, discards); Ctrl-C never quits from here.
    pub(super) fn dialog_key(&mut self, key: KeyPress) -> Vec<Effect> {
        let Some(Popup::Annotate(dialog)) = self.popups.last_mut() else {
            return Vec::new();
        };
        let ctrl_c = key == KeyPress::ctrl('c');
        if dialog.confirm_discard {
            match key.key {
                Key::Char('y' | 'Y') => {
                    self.popups.pop();
                }
                _ if ctrl_c => {
                    self.popups.pop();
                }
                _ => dialog.confirm_discard = false,
            }
            return vec![Effect::Redraw];
        }
        dialog.error = None;
        match (key.key, key.ctrl, key.alt) {
            (Key::Char('s'), true, _) | (Key::Enter, _, true) => return self.save_dialog(),
            (Key::Esc, _, _) | (Key::Char('c'), true, false) => {
                if dialog.is_changed() {
                    dialog.confirm_discard = true;
                } else {
                    self.popups.pop();
                }
            }
            (Key::Tab, _, _) => dialog.move_focus(1),
            (Key::BackTab, _, _) => dialog.move_focus(-1),
            _ => {
                if !dialog.edit(key) {
                    return Vec::new();
                }
            }
        }
        vec![Effect::Redraw]
    }

    fn save_dialog(&mut self) -> Vec<Effect> {
        let data_now = self.data_now();
        let Some(Popup::Annotate(dialog)) = self.popups.last_mut() else {
            return Vec::new();
        };
        let a = match dialog.annotation(&self.facts.dimensions, data_now) {
            Ok(a) => a,
            Err(why) => {
                dialog.error = Some(why);
                return vec![Effect::Redraw];
            }
        };
        let editing = dialog.editing;
        self.popups.pop();
        if !editing {
            // The next `a` gets a fresh id.
            self.new_id = self.ids.next_id();
        }
        self.submit(a)
    }

    /// Queues an edit on the rev it was made from (`rev` names it; `None`
    /// for a new id), so a stale edit is a conflict, never a silent revert.
    /// Saving a refused (say, conflicting) version again is a choice made
    /// with the server's version on screen: it edits that rev.
    fn submit(&mut self, mut a: Annotation) -> Vec<Effect> {
        let entries = &self.annotations.entries;
        let was_refused = entries
            .iter()
            .any(|e| matches!(e.status, EntryStatus::Refused(_)) && e.annotation.id == a.id);
        let server_rev = entries
            .iter()
            .find(|e| e.status == EntryStatus::Shared && e.annotation.id == a.id)
            .and_then(|e| e.annotation.rev);
        if was_refused && server_rev.is_some() {
            a.rev = server_rev;
        }
        a.created = None;
        a.updated = None;
        self.own_annotations.insert(a.id.clone());
        vec![Effect::SubmitAnnotation(Box::new(a)), Effect::Redraw]
    }

    /// Keys while the list is open.
    pub(super) fn list_key(&mut self, action: Action) -> Vec<Effect> {
        let shown = self.listed_annotations().len();
        let selected_entry = self
            .listed_annotations()
            .get(match self.popups.last() {
                Some(Popup::Annotations(l)) => l.selected,
                _ => 0,
            })
            .map(|e| e.annotation.clone());
        let Some(Popup::Annotations(list)) = self.popups.last_mut() else {
            return Vec::new();
        };
        let last = shown.saturating_sub(1);
        match action {
            Action::Up => list.selected = list.selected.saturating_sub(1),
            Action::Down => list.selected = (list.selected + 1).min(last),
            Action::Top | Action::PageUp => list.selected = 0,
            Action::Bottom | Action::PageDown => list.selected = last,
            Action::AnnotationsHere => {
                list.only_here = !list.only_here;
                list.selected = 0;
            }
            Action::AnnotationsState => {
                list.state = next_filter(list.state);
                list.selected = 0;
            }
            Action::Back | Action::Annotations => {
                self.popups.pop();
            }
            Action::Drill => {
                let Some(a) = selected_entry else {
                    return Vec::new();
                };
                return self.open_dialog(a, true);
            }
            Action::AdvanceState => {
                let Some(mut a) = selected_entry else {
                    return Vec::new();
                };
                a.state = a.state.next();
                a.to = match a.state {
                    AnnotationState::Resolved => Some(self.data_now().max(a.from)),
                    _ => None,
                };
                return self.submit(a);
            }
            _ => return Vec::new(),
        }
        vec![Effect::Redraw]
    }

    /// What the fleet says about annotations now: remembered for the list;
    /// another engineer's new one flashes in the footer.
    pub(super) fn annotations_changed(&mut self, facts: AnnotationFacts) -> Vec<Effect> {
        if facts == self.annotations {
            return Vec::new();
        }
        let mut news = None;
        for e in &facts.entries {
            let a = &e.annotation;
            if e.status != EntryStatus::Shared || !self.known_annotations.insert(a.id.clone()) {
                continue;
            }
            let recent = a
                .created
                .or(a.updated)
                .is_none_or(|t| t >= self.wall_clock - NEWS_MS);
            if !self.own_annotations.contains(&a.id) && recent && news.is_none() {
                news = Some(Flash {
                    author: a.author.clone(),
                    text: a.text.clone(),
                    until: self.wall_clock + FLASH_MS,
                });
            }
        }
        if news.is_some() {
            self.flash = news;
        }
        self.annotations = facts;
        let shown = self.listed_annotations().len();
        if let Some(Popup::Annotations(list)) = self.popups.last_mut() {
            list.selected = list.selected.min(shown.saturating_sub(1));
        }
        vec![Effect::Redraw]
    }
}
