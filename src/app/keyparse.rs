//! Key bindings as people write them in the config file: `j`, `Down`,
//! `C-c`, `A-x`, `S-Tab`, `F1`, `Space`, `PageDown`.

use std::collections::BTreeMap;

use super::keymap::{Action, KeyMap};
use super::keys::{Key, KeyPress};

impl KeyPress {
    /// Parses one key spec.
    pub fn parse(spec: &str) -> Result<KeyPress, String> {
        let mut rest = spec.trim();
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        // A lone "-" is a key, not a prefix separator.
        while rest.len() > 2 && rest.as_bytes()[1] == b'-' {
            match rest.as_bytes()[0].to_ascii_uppercase() {
                b'C' => ctrl = true,
                b'A' | b'M' => alt = true,
                b'S' => shift = true,
                _ => break,
            }
            rest = &rest[2..];
        }
        let mut chars = rest.chars();
        let key = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => {
                Key::Char(if shift { c.to_ascii_uppercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => Key::Up,
                "down" => Key::Down,
                "left" => Key::Left,
                "right" => Key::Right,
                "pageup" | "pgup" => Key::PageUp,
                "pagedown" | "pgdn" => Key::PageDown,
                "home" => Key::Home,
                "end" => Key::End,
                "enter" | "return" => Key::Enter,
                "esc" | "escape" => Key::Esc,
                "tab" if shift => Key::BackTab,
                "tab" => Key::Tab,
                "backtab" => Key::BackTab,
                "backspace" => Key::Backspace,
                "delete" | "del" => Key::Delete,
                "space" => Key::Char(' '),
                f if f.starts_with('f') && f.len() > 1 => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => Key::F(n),
                    _ => return Err(format!("{spec:?} is not a key (F1-F12)")),
                },
                _ => {
                    return Err(format!(
                        "{spec:?} is not a key (a character, or Up, Down, Left, Right, PageUp, PageDown, Home, End, Enter, Esc, Tab, Backspace, Space, F1-F12, with C-/A-/S- prefixes)"
                    ));
                }
            },
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

impl KeyMap {
    /// Applies a `[keys]` table (action name → key specs). The first bad
    /// entry is returned as (action, message) for the caller to place.
    pub fn apply_bindings(
        &mut self,
        table: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), (String, String)> {
        for (name, specs) in table {
            let action = Action::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = self.entries().map(|(a, _)| a.name()).collect();
                (
                    name.clone(),
                    format!("unknown action (actions: {})", known.join(", ")),
                )
            })?;
            if specs.is_empty() {
                return Err((name.clone(), "give at least one key".into()));
            }
            let keys = specs
                .iter()
                .map(|s| KeyPress::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| (name.clone(), m))?;
            self.rebind(action, keys);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_to_keys_with_modifiers() {
        assert_eq!(KeyPress::parse("j"), Ok(KeyPress::char('j')));
        assert_eq!(KeyPress::parse("C-c"), Ok(KeyPress::ctrl('c')));
        assert_eq!(KeyPress::parse("S-g"), Ok(KeyPress::char('G')));
        assert_eq!(KeyPress::parse("S-Tab"), Ok(KeyPress::plain(Key::BackTab)));
        assert_eq!(
            KeyPress::parse("PageDown"),
            Ok(KeyPress::plain(Key::PageDown))
        );
        assert_eq!(KeyPress::parse("F5"), Ok(KeyPress::plain(Key::F(5))));
        assert_eq!(KeyPress::parse("Space"), Ok(KeyPress::char(' ')));
        assert_eq!(KeyPress::parse("-"), Ok(KeyPress::char('-')));
        let alt = KeyPress::parse("A-x").unwrap();
        assert!(alt.alt && !alt.ctrl);
        assert!(KeyPress::parse("F13").is_err());
        assert!(KeyPress::parse("Hyper").unwrap_err().contains("not a key"));
        assert!(KeyPress::parse("").is_err());
    }

    #[test]
    fn bindings_rebind_actions_and_name_bad_entries() {
        let mut km = KeyMap::default();
        let (action, _) = km.entries().next().map(|(a, k)| (a, k.to_vec())).unwrap();
        let table: BTreeMap<String, Vec<String>> =
            [(action.name().to_string(), vec!["F9".to_string()])].into();
        km.apply_bindings(&table).unwrap();
        assert_eq!(km.action_for(KeyPress::plain(Key::F(9))), Some(action));
        assert_eq!(km.keys_for(action), &[KeyPress::plain(Key::F(9))]);

        let bad: BTreeMap<String, Vec<String>> =
            [("fly".to_string(), vec!["x".to_string()])].into();
        let (name, msg) = km.apply_bindings(&bad).unwrap_err();
        assert_eq!(name, "fly");
        assert!(msg.contains("unknown action"), "{msg}");
        let bad_key: BTreeMap<String, Vec<String>> =
            [(action.name().to_string(), vec!["Hyper-x".to_string()])].into();
        assert!(
            km.apply_bindings(&bad_key)
                .unwrap_err()
                .1
                .contains("not a key")
        );
    }
}
