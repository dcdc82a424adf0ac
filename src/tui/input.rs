//! The edge where crossterm's events become the app's own.

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

use crate::app::{Event, Key, KeyPress, MouseInput};

/// The app event for a terminal event; `None` for those the app ignores
/// (key releases, mouse moves). Resizes are handled by the loop.
pub fn translate(event: &TermEvent) -> Option<Event> {
    match event {
        TermEvent::Key(k) => key(k).map(Event::Key),
        TermEvent::Mouse(m) => mouse(m).map(Event::Mouse),
        _ => None,
    }
}

fn key(k: &KeyEvent) -> Option<KeyPress> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    let key = match k.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    // Terminals report Ctrl-C as 'c' with CONTROL; some as 'C'.
    let key = match key {
        Key::Char(c) if ctrl => Key::Char(c.to_ascii_lowercase()),
        other => other,
    };
    // Shift is part of a character already ('G'); for the other keys it is a modifier.
    let shift =
        k.modifiers.contains(KeyModifiers::SHIFT) && !matches!(key, Key::Char(_) | Key::BackTab);
    Some(KeyPress {
        key,
        ctrl,
        alt: k.modifiers.contains(KeyModifiers::ALT),
        shift,
    })
}

fn mouse(m: &MouseEvent) -> Option<MouseInput> {
    match m.kind {
        MouseEventKind::ScrollUp => Some(MouseInput::WheelUp),
        MouseEventKind::ScrollDown => Some(MouseInput::WheelDown),
        MouseEventKind::Down(MouseButton::Left) => Some(MouseInput::Click {
            column: m.column,
            row: m.row,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_becomes_the_ctrl_c_key_press() {
        let ev = TermEvent::Key(KeyEvent::new(KeyCode::Char('C'), KeyModifiers::CONTROL));
        assert_eq!(translate(&ev), Some(Event::Key(KeyPress::ctrl('c'))));
    }

    #[test]
    fn shift_is_kept_for_arrows_and_folded_into_characters() {
        let ev = TermEvent::Key(KeyEvent::new(KeyCode::Left, KeyModifiers::SHIFT));
        assert_eq!(translate(&ev), Some(Event::Key(KeyPress::shift(Key::Left))));
        let ev = TermEvent::Key(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(translate(&ev), Some(Event::Key(KeyPress::char('G'))));
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        k.kind = KeyEventKind::Release;
        assert_eq!(translate(&TermEvent::Key(k)), None);
    }
}
