//! Keys as the app knows them: the TUI edge translates crossterm's events
//! into these, so the state machine never sees a terminal type.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    F(u8),
}

/// A key with its modifiers. Shift is folded into `Char` (`'Q'`, `'?'`);
/// `shift` is for the other keys (Shift-Left moves the time cursor further).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyPress {
    pub key: Key,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

impl KeyPress {
    pub const fn plain(key: Key) -> Self {
        KeyPress {
            key,
            ctrl: false,
            alt: false,
            shift: false,
        }
    }
    pub const fn char(c: char) -> Self {
        Self::plain(Key::Char(c))
    }
    pub const fn ctrl(c: char) -> Self {
        KeyPress {
            ctrl: true,
            ..Self::char(c)
        }
    }
    pub const fn shift(key: Key) -> Self {
        KeyPress {
            shift: true,
            ..Self::plain(key)
        }
    }
}

impl KeyPress {
    /// The key as the help and footer show it; words instead of arrows
    /// when drawing ASCII only.
    pub fn label(&self, ascii: bool) -> String {
        let word = match self.key {
            Key::Up => "Up",
            Key::Down => "Down",
            Key::Left => "Left",
            Key::Right => "Right",
            _ => return self.to_string(),
        };
        if ascii {
            let mut s = String::new();
            if self.ctrl {
                s.push_str("Ctrl-");
            }
            if self.alt {
                s.push_str("Alt-");
            }
            if self.shift {
                s.push_str("Shift-");
            }
            s.push_str(word);
            s
        } else {
            self.to_string()
        }
    }
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        if self.shift {
            f.write_str("Shift-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("Space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Up => f.write_str("↑"),
            Key::Down => f.write_str("↓"),
            Key::Left => f.write_str("←"),
            Key::Right => f.write_str("→"),
            Key::PageUp => f.write_str("PgUp"),
            Key::PageDown => f.write_str("PgDn"),
            Key::Home => f.write_str("Home"),
            Key::End => f.write_str("End"),
            Key::Enter => f.write_str("Enter"),
            Key::Esc => f.write_str("Esc"),
            Key::Tab => f.write_str("Tab"),
            Key::BackTab => f.write_str("Shift-Tab"),
            Key::Backspace => f.write_str("Backspace"),
            Key::Delete => f.write_str("Delete"),
            Key::F(n) => write!(f, "F{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_shift_of_non_character_keys() {
        assert_eq!(KeyPress::shift(Key::Left).to_string(), "Shift-←");
        assert_eq!(KeyPress::shift(Key::Left).label(true), "Shift-Left");
    }
}
