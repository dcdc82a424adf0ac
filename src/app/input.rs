//! The one-line editor under the table: the `/` filter and the `:` command
//! line. Typing goes here, not to the key map, while it is open.

use super::keys::{Key, KeyPress};

/// Longest line accepted: a filter or command never needs more.
const MAX_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Command,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    pub kind: InputKind,
    pub text: String,
    /// Tab's candidates (whole lines) and the one shown, while cycling.
    completion: Option<(Vec<String>, usize)>,
}

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Unchanged,
    Submit,
    Cancel,
    /// Tab or Shift-Tab: the owner computes candidates and calls [`InputLine::cycle`].
    Complete {
        backwards: bool,
    },
}

impl InputLine {
    pub fn new(kind: InputKind, text: &str) -> Self {
        InputLine {
            kind,
            text: text.to_owned(),
            completion: None,
        }
    }

    /// The candidates Tab is cycling through, and which one is shown.
    pub fn candidates(&self) -> Option<(&[String], usize)> {
        self.completion.as_ref().map(|(c, i)| (c.as_slice(), *i))
    }

    pub fn is_completing(&self) -> bool {
        self.completion.is_some()
    }

    pub fn key(&mut self, k: KeyPress) -> Edit {
        let edit = match (k.key, k.ctrl) {
            (Key::Enter, _) => Edit::Submit,
            (Key::Esc, _) | (Key::Char('c'), true) => Edit::Cancel,
            (Key::Tab, _) => Edit::Complete { backwards: false },
            (Key::BackTab, _) => Edit::Complete { backwards: true },
            (Key::Backspace, _) => self.changed(|t| t.pop().is_some()),
            (Key::Char('u'), true) => self.changed(|t| {
                let was = !t.is_empty();
                t.clear();
                was
            }),
            (Key::Char('w'), true) => self.changed(|t| {
                let keep = t.trim_end().rfind(' ').map_or(0, |i| i + 1);
                let was = keep < t.len();
                t.truncate(keep);
                was
            }),
            (Key::Char(c), false) if !c.is_control() && self.text.len() < MAX_LEN => {
                self.changed(|t| {
                    t.push(c);
                    true
                })
            }
            _ => Edit::Unchanged,
        };
        if !matches!(edit, Edit::Complete { .. }) {
            self.completion = None;
        }
        edit
    }

    fn changed(&mut self, f: impl FnOnce(&mut String) -> bool) -> Edit {
        if f(&mut self.text) {
            Edit::Changed
        } else {
            Edit::Unchanged
        }
    }

    /// Shows the next (or previous) candidate; `fresh` are the candidates
    /// for the text as typed, used when Tab starts a new cycle.
    pub fn cycle(&mut self, fresh: impl FnOnce(&str) -> Vec<String>, backwards: bool) -> bool {
        let (candidates, index) = match self.completion.take() {
            // One candidate, already taken (`group `): Tab goes on to what
            // follows it (the dimensions), instead of doing nothing.
            Some((c, i)) if c.len() > 1 => {
                let n = c.len();
                let next = if backwards {
                    (i + n - 1) % n
                } else {
                    (i + 1) % n
                };
                (c, next)
            }
            _ => {
                let c = fresh(&self.text);
                if c.is_empty() {
                    return false;
                }
                let first = if backwards { c.len() - 1 } else { 0 };
                (c, first)
            }
        };
        self.text = candidates[index].clone();
        self.completion = Some((candidates, index));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> InputLine {
        let mut line = InputLine::new(InputKind::Command, "");
        for c in s.chars() {
            line.key(KeyPress::char(c));
        }
        line
    }

    #[test]
    fn typing_backspace_and_ctrl_w_edit_the_line() {
        let mut line = typed("filter model=m3");
        assert_eq!(line.key(KeyPress::plain(Key::Backspace)), Edit::Changed);
        assert_eq!(line.text, "filter model=m");
        line.key(KeyPress::ctrl('w'));
        assert_eq!(line.text, "filter ");
        line.key(KeyPress::ctrl('u'));
        assert_eq!(line.text, "");
        assert_eq!(line.key(KeyPress::plain(Key::Backspace)), Edit::Unchanged);
    }

    #[test]
    fn a_second_tab_after_a_single_candidate_completes_what_follows() {
        let mut line = typed("gr");
        let fresh = |t: &str| match t {
            "gr" => vec!["group ".to_owned()],
            "group " => vec!["group model".to_owned(), "group region".to_owned()],
            _ => Vec::new(),
        };
        assert!(line.cycle(fresh, false));
        assert_eq!(line.text, "group ");
        assert!(
            line.cycle(fresh, false),
            "the second Tab lists the arguments"
        );
        assert_eq!(line.text, "group model");
        line.cycle(fresh, false);
        assert_eq!(line.text, "group region");
    }

    #[test]
    fn tab_cycles_through_candidates_and_typing_starts_over() {
        let mut line = typed("g");
        let fresh = |_: &str| vec!["group ".to_owned(), "go ".to_owned()];
        assert!(line.cycle(fresh, false));
        assert_eq!(line.text, "group ");
        line.cycle(
            |_| unreachable!("cycling keeps the first candidates"),
            false,
        );
        assert_eq!(line.text, "go ");
        line.cycle(|_| unreachable!(), false);
        assert_eq!(line.text, "group ");
        line.key(KeyPress::char('h'));
        assert!(!line.is_completing());
        assert!(!line.cycle(|_| Vec::new(), false), "nothing to complete");
        assert_eq!(line.text, "group h");
    }
}
