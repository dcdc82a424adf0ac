//! The input line and the commands it runs: the `/` filter as it is typed,
//! `:` commands with completion, and what each command does to the app.

use super::command::{self, Command, Vocabulary};
use super::input::{Edit, InputKind};
use super::keymap::Action;
use super::{App, Effect};
use crate::text::time::span_words;
use crate::theme::BUILTIN;
use crate::view::{Filter, Split};

impl App {
    pub(super) fn input_key(&mut self, key: super::KeyPress) -> Vec<Effect> {
        let groupable = self.unfixed(&self.level().path);
        let Some(line) = self.input.as_mut() else {
            return Vec::new();
        };
        let kind = line.kind;
        let edit = line.key(key);
        let changed = match edit {
            Edit::Unchanged => return Vec::new(),
            Edit::Changed => true,
            Edit::Complete { backwards } => {
                let dims = &self.facts.dimensions;
                let vocab = Vocabulary {
                    dimensions: dims,
                    groupable: &groupable,
                    themes: &theme_names(),
                };
                line.cycle(
                    |text| match kind {
                        InputKind::Filter => command::complete_filter(text, dims),
                        InputKind::Command => command::complete(text, &vocab),
                    },
                    backwards,
                )
            }
            Edit::Submit => {
                let text = self.input.take().map(|l| l.text).unwrap_or_default();
                return match kind {
                    InputKind::Filter => vec![Effect::Redraw],
                    InputKind::Command => self.run_line(&text, &groupable),
                };
            }
            Edit::Cancel => {
                self.input = None;
                return match kind {
                    InputKind::Filter => self.set_filter(""),
                    InputKind::Command => vec![Effect::Redraw],
                };
            }
        };
        match (kind, changed) {
            // The filter applies as it is typed.
            (InputKind::Filter, true) => {
                let text = self
                    .input
                    .as_ref()
                    .map(|l| l.text.clone())
                    .unwrap_or_default();
                self.set_filter(&text)
            }
            (_, true) => vec![Effect::Redraw],
            (_, false) => Vec::new(),
        }
    }

    fn set_filter(&mut self, text: &str) -> Vec<Effect> {
        let filter = Filter::parse(text);
        if filter == self.filter {
            return vec![Effect::Redraw];
        }
        self.filter = filter;
        vec![Effect::Recompute]
    }

    fn run_line(&mut self, text: &str, groupable: &[String]) -> Vec<Effect> {
        let vocab = Vocabulary {
            dimensions: &self.facts.dimensions,
            groupable,
            themes: &theme_names(),
        };
        match command::parse(text, &vocab) {
            Ok(cmd) => self.run(cmd),
            Err(message) => {
                self.message = Some(message);
                vec![Effect::Redraw]
            }
        }
    }

    /// Runs a command of the `:` line.
    pub fn run(&mut self, cmd: Command) -> Vec<Effect> {
        let axis = self.facts.time;
        let now = self.wall_clock;
        match cmd {
            Command::Group(dim) => {
                if self.level().path.iter().any(|s| s.dimension == dim) {
                    self.message = Some(format!("{dim} is already fixed at this level"));
                    return vec![Effect::Redraw];
                }
                self.details.clear();
                self.set_split(Split::By(dim))
            }
            Command::Flat => {
                self.details.clear();
                self.set_split(Split::Leaves)
            }
            Command::Filter(text) => self.set_filter(&text),
            Command::Sort(key) => {
                self.sort = key;
                vec![Effect::Recompute]
            }
            Command::Reverse => self.act(Action::SortReverse),
            Command::Window(ms) => {
                let held = super::time::history_ms(&axis);
                if held > 0 && ms > held {
                    // Say so rather than show a narrower window than asked.
                    self.time.set_window(held);
                    self.message = Some(format!(
                        "only {} of history: window {}",
                        span_words(held),
                        span_words(self.time.window_ms())
                    ));
                } else {
                    self.time.set_window(ms);
                }
                vec![Effect::Recompute]
            }
            Command::Theme(name) => {
                self.theme = Some(name);
                vec![Effect::ThemeChanged, Effect::Redraw]
            }
            Command::Freeze => {
                self.time.freeze(&axis, now);
                vec![Effect::Redraw]
            }
            Command::Live => self.act(Action::Live),
            Command::Detail => self.open_detail_of_selected(),
            Command::Top => {
                self.levels.truncate(1);
                self.details.clear();
                vec![Effect::Recompute]
            }
            Command::Help => self.act(Action::Help),
            Command::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
        }
    }
}

fn theme_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}
