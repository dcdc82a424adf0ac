//! What an action of the key map does outside the input line and the
//! annotation dialog: the help overlay, the popups' keys, sort, quality,
//! the window and time cursor, and the table's moves. Moving around the
//! drill path and the detail views: `nav.rs`.

use super::input::{InputKind, InputLine};
use super::keymap::Action;
use super::time::{self, FAR_STEP, WINDOWS};
use super::{App, Effect, Popup, on_screen};
use crate::view::QualityPick;

impl App {
    pub(super) fn act(&mut self, action: Action) -> Vec<Effect> {
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
