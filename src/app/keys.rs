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

    /// Parses a key as the config file writes it: a single character, or a
    /// name (`Up`, `PageDown`, `Enter`, `Space`, `F5`, ...), with `C-`, `A-`
    /// and `S-` prefixes for Ctrl, Alt and Shift (`C-c`, `S-Left`).
    pub fn parse(spec: &str) -> Result<KeyPress, String> {
        let mut rest = spec;
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        // A prefix must leave a key after it: "C-" alone is no key.
        while rest.chars().count() > 2 {
            match rest.get(..2) {
                Some("C-") => ctrl = true,
                Some("A-") => alt = true,
                Some("S-") => shift = true,
                _ => break,
            }
            rest = &rest[2..];
        }
        let mut chars = rest.chars();
        let key = match (chars.next(), chars.next()) {
            (Some(c), None) => Key::Char(c),
            _ => match rest {
                "Up" => Key::Up,
                "Down" => Key::Down,
                "Left" => Key::Left,
                "Right" => Key::Right,
                "PageUp" => Key::PageUp,
                "PageDown" => Key::PageDown,
                "Home" => Key::Home,
                "End" => Key::End,
                "Enter" => Key::Enter,
                "Esc" => Key::Esc,
                "Tab" => Key::Tab,
                "BackTab" => Key::BackTab,
                "Backspace" => Key::Backspace,
                "Space" => Key::Char(' '),
                f if f.starts_with('F') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => Key::F(n),
                    _ => return Err(format!("{spec:?} is not a key")),
                },
                _ => return Err(format!("{spec:?} is not a key")),
            },
        };
        let key = match key {
            // Shift is part of the character itself: S-g is G.
            Key::Char(c) if shift => Key::Char(c.to_uppercase().next().unwrap_or(c)),
            Key::Tab if shift => Key::BackTab,
            other => other,
        };
        let shift = shift && !matches!(key, Key::Char(_) | Key::BackTab);
        Ok(KeyPress {
            key,
            ctrl,
            alt,
            shift,
        })
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
            Key::F(n) => write!(f, "F{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_key_specs_parse_with_modifiers() {
        assert_eq!(KeyPress::parse("j"), Ok(KeyPress::char('j')));
        assert_eq!(KeyPress::parse("C-c"), Ok(KeyPress::ctrl('c')));
        assert_eq!(KeyPress::parse("S-Left"), Ok(KeyPress::shift(Key::Left)));
        assert_eq!(KeyPress::parse("S-g"), Ok(KeyPress::char('G')));
        assert_eq!(KeyPress::parse("Space"), Ok(KeyPress::char(' ')));
        assert_eq!(KeyPress::parse("F5"), Ok(KeyPress::plain(Key::F(5))));
        assert_eq!(KeyPress::parse("-"), Ok(KeyPress::char('-')));
        assert!(KeyPress::parse("Banana").is_err());
        assert!(KeyPress::parse("F13").is_err());
        assert!(KeyPress::parse("").is_err());
    }

    #[test]
    fn labels_name_the_shift_of_non_character_keys() {
        assert_eq!(KeyPress::shift(Key::Left).to_string(), "Shift-←");
        assert_eq!(KeyPress::shift(Key::Left).label(true), "Shift-Left");
    }
}
