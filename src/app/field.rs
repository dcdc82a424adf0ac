//! One editable text field of the annotation dialog, on ratatui-textarea:
//! ←/→, Home/End, Ctrl-W, Ctrl-U and friends work as in a shell. The app's
//! own key type is converted here, so no terminal type reaches the state.

use ratatui_textarea::{Input, Key as TaKey, TextArea, WrapMode};

use super::keys::{Key, KeyPress};
use crate::text::sanitize::sanitize;

#[derive(Debug, Clone)]
pub struct TextField {
    area: TextArea<'static>,
    /// One line only: Enter never reaches it.
    single_line: bool,
    max_bytes: usize,
}

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.area.lines() == other.area.lines() && self.area.cursor() == other.area.cursor()
    }
}

impl TextField {
    /// A field holding `text` (sanitised: it may come from a colleague),
    /// the cursor at its end.
    pub fn new(text: &str, single_line: bool, max_bytes: usize) -> Self {
        let lines: Vec<String> = text.split('\n').map(|l| sanitize(l).into_owned()).collect();
        let mut area = TextArea::new(lines);
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        if !single_line {
            area.set_wrap_mode(WrapMode::WordOrGlyph);
        }
        TextField {
            area,
            single_line,
            max_bytes,
        }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// The widget state, for the renderer (which styles a copy).
    pub fn area(&self) -> &TextArea<'static> {
        &self.area
    }

    /// Edits with `key`; whether the text or the cursor changed.
    pub fn key(&mut self, key: KeyPress) -> bool {
        let before = (self.area.cursor(), self.area.lines().to_vec());
        match (key.key, key.ctrl, key.alt) {
            // Shell: Ctrl-U deletes to the start of the line (the widget's undo).
            (Key::Char('u'), true, false) => {
                self.area.delete_line_by_head();
            }
            (Key::Char('z'), true, false) => {
                self.area.undo();
            }
            (Key::Enter, _, _) if self.single_line => return false,
            (Key::Char(c), false, _) if c.is_control() => return false,
            _ => {
                let Some(input) = to_input(key) else {
                    return false;
                };
                self.area.input(input);
            }
        }
        if self.text().len() > self.max_bytes {
            self.area.undo();
        }
        (self.area.cursor(), self.area.lines().to_vec()) != before
    }
}

/// The widget's own key type for an app key; `None` for keys it must not see.
fn to_input(k: KeyPress) -> Option<Input> {
    let key = match k.key {
        Key::Char(c) => TaKey::Char(c),
        Key::Up => TaKey::Up,
        Key::Down => TaKey::Down,
        Key::Left => TaKey::Left,
        Key::Right => TaKey::Right,
        Key::PageUp => TaKey::PageUp,
        Key::PageDown => TaKey::PageDown,
        Key::Home => TaKey::Home,
        Key::End => TaKey::End,
        Key::Enter => TaKey::Enter,
        Key::Backspace => TaKey::Backspace,
        Key::Delete => TaKey::Delete,
        Key::Esc | Key::Tab | Key::BackTab | Key::F(_) => return None,
    };
    Some(Input {
        key,
        ctrl: k.ctrl,
        alt: k.alt,
        shift: k.shift,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(field: &mut TextField, s: &str) {
        for c in s.chars() {
            field.key(KeyPress::char(c));
        }
    }

    #[test]
    fn editing_keys_work_as_in_a_shell() {
        let mut f = TextField::new("", true, 100);
        typed(&mut f, "tpu looks off");
        f.key(KeyPress::ctrl('w'));
        assert_eq!(f.text(), "tpu looks ");
        f.key(KeyPress::plain(Key::Home));
        typed(&mut f, "the ");
        assert_eq!(f.text(), "the tpu looks ");
        f.key(KeyPress::plain(Key::Right));
        f.key(KeyPress::plain(Key::Delete));
        assert_eq!(f.text(), "the tu looks ");
        f.key(KeyPress::plain(Key::End));
        f.key(KeyPress::plain(Key::Left));
        f.key(KeyPress::ctrl('u'));
        assert_eq!(f.text(), " ", "Ctrl-U deletes to the start of the line");
        assert!(!f.key(KeyPress::plain(Key::Enter)), "one line only");
    }

    #[test]
    fn text_past_the_limit_is_refused_and_escapes_are_dropped() {
        let mut f = TextField::new("abc", false, 4);
        typed(&mut f, "de");
        assert_eq!(f.text(), "abcd");
        let g = TextField::new("a\x1b[31mb\nc", false, 100);
        assert_eq!(g.text(), "ab\nc");
    }
}
