//! The `a` dialog: every field of an annotation editable. Scope as
//! `dim=value dim=value` (checked against the store's dimensions), signal
//! and state cycled with ←/→, start as `HH:MM` (data time, UTC) or RFC 3339,
//! and the text; Tab moves between them.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::field::TextField;
use super::keys::{Key, KeyPress};
use crate::protocol::{Annotation, AnnotationState, MAX_ANNOTATION_TEXT, Millis};
use crate::text::time::start_words;
use crate::view::DimensionValues;

/// Longest scope or start text accepted.
const MAX_LINE: usize = 256;
const DAY_MS: Millis = 86_400_000;

/// The dialog's fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogField {
    Scope,
    Signal,
    Start,
    State,
    Text,
}

const FIELDS: [DialogField; 5] = [
    DialogField::Scope,
    DialogField::Signal,
    DialogField::Start,
    DialogField::State,
    DialogField::Text,
];

/// A draft annotation being written or edited.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationDialog {
    /// The annotation as opened: id, range end, author; signal and state
    /// are edited here directly, the text fields below.
    pub draft: Annotation,
    /// Editing an existing annotation (same id), not writing a new one.
    pub editing: bool,
    /// Esc or Ctrl-C was pressed with changes made: "discard? y/n" shows.
    pub confirm_discard: bool,
    pub focus: DialogField,
    pub scope: TextField,
    pub start: TextField,
    pub text: TextField,
    /// What the signal field cycles through (`None` = any signal).
    signals: Vec<Option<String>>,
    /// Why the last save was refused (shown until the next key).
    pub error: Option<String>,
    opened: Annotation,
    start_text: String,
}

impl AnnotationDialog {
    /// `data_now` decides how the start shows: `HH:MM` on its day, else RFC 3339.
    pub fn new(draft: Annotation, editing: bool, suites: &[String], data_now: Millis) -> Self {
        let mut signals: Vec<Option<String>> = std::iter::once(None)
            .chain(suites.iter().cloned().map(Some))
            .collect();
        if !signals.contains(&draft.signal) {
            signals.push(draft.signal.clone());
        }
        let start_text = start_words(draft.from, data_now);
        AnnotationDialog {
            scope: TextField::new(&scope_words(&draft.scope), true, MAX_LINE),
            start: TextField::new(&start_text, true, MAX_LINE),
            text: TextField::new(&draft.text, false, MAX_ANNOTATION_TEXT),
            // The text is what is always written; the other fields have defaults.
            focus: DialogField::Text,
            signals,
            error: None,
            opened: draft.clone(),
            start_text,
            draft,
            editing,
            confirm_discard: false,
        }
    }

    /// Whether closing would lose something.
    pub fn is_changed(&self) -> bool {
        self.text.text() != self.opened.text
            || self.scope.text() != scope_words(&self.opened.scope)
            || self.start.text() != self.start_text
            || self.draft.signal != self.opened.signal
            || self.draft.state != self.opened.state
    }

    /// Moves the focus `by` fields (wrapping).
    pub fn move_focus(&mut self, by: isize) {
        let i = FIELDS.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = FIELDS.len() as isize;
        self.focus = FIELDS[(i + by).rem_euclid(n) as usize];
    }

    /// A key for the focused field; whether anything changed.
    pub fn edit(&mut self, key: KeyPress) -> bool {
        let step = match key.key {
            Key::Right | Key::Char(' ') => Some(1),
            Key::Left => Some(-1),
            _ => None,
        };
        match self.focus {
            DialogField::Scope | DialogField::Start if key.key == Key::Enter => {
                self.move_focus(1);
                true
            }
            DialogField::Signal | DialogField::State if key.key == Key::Enter => {
                self.move_focus(1);
                true
            }
            DialogField::Scope => self.scope.key(key),
            DialogField::Start => self.start.key(key),
            DialogField::Text => self.text.key(key),
            DialogField::Signal => match step {
                Some(by) => {
                    let n = self.signals.len() as isize;
                    let i = self
                        .signals
                        .iter()
                        .position(|s| *s == self.draft.signal)
                        .unwrap_or(0) as isize;
                    self.draft.signal = self.signals[(i + by).rem_euclid(n) as usize].clone();
                    true
                }
                None => false,
            },
            DialogField::State => match step {
                Some(1) => {
                    self.draft.state = self.draft.state.next();
                    true
                }
                Some(_) => {
                    // Three steps forward is one back (four states).
                    for _ in 0..3 {
                        self.draft.state = self.draft.state.next();
                    }
                    true
                }
                None => false,
            },
        }
    }

    /// The annotation as it will be saved, or why it cannot be: an unknown
    /// dimension or value, a start that does not parse, no text.
    pub fn annotation(
        &self,
        dims: &[DimensionValues],
        data_now: Millis,
    ) -> Result<Annotation, String> {
        let mut a = self.draft.clone();
        a.scope = parse_scope(&self.scope.text(), dims)?;
        let start = self.start.text();
        if start.trim() != self.start_text.trim() {
            a.from = parse_start(&start, data_now)?;
        }
        a.text = self.text.text().trim_end().to_owned();
        if a.text.trim().is_empty() {
            return Err("an annotation needs some text".into());
        }
        if a.state == AnnotationState::Resolved && a.to.is_none() {
            a.to = Some(data_now.max(a.from));
        }
        if a.state != AnnotationState::Resolved && self.opened.state == AnnotationState::Resolved {
            // Reopened: the range is open again.
            a.to = None;
        }
        Ok(a)
    }
}

/// `model=atlas-m hardware=tpu`; empty for the whole fleet.
pub fn scope_words(scope: &BTreeMap<String, String>) -> String {
    scope
        .iter()
        .map(|(d, v)| format!("{d}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `dim=value` terms (space or comma apart) spelled as the store spells
/// them. Empty, or `whole fleet`, is the whole fleet. With no dimensions
/// known yet, terms are taken as typed.
pub fn parse_scope(
    text: &str,
    dims: &[DimensionValues],
) -> Result<BTreeMap<String, String>, String> {
    let mut scope = BTreeMap::new();
    if text.trim().eq_ignore_ascii_case("whole fleet") {
        return Ok(scope);
    }
    for term in text.split([' ', ',']).filter(|t| !t.is_empty()) {
        let Some((dim, value)) = term.split_once('=') else {
            return Err(format!("scope: {term:?} is not dim=value"));
        };
        let (dim, value) = if dims.is_empty() {
            (dim.to_owned(), value.to_owned())
        } else {
            let known = dims
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(dim))
                .ok_or_else(|| {
                    let names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
                    format!("scope: no dimension {dim:?} ({})", names.join(", "))
                })?;
            let v = known
                .values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(value))
                .ok_or_else(|| format!("scope: {} has no value {value:?}", known.name))?;
            (known.name.clone(), v.clone())
        };
        if scope.insert(dim.clone(), value).is_some() {
            return Err(format!("scope: {dim} is named twice"));
        }
    }
    Ok(scope)
}

/// `HH:MM` on the data clock's day (UTC; a time past `data_now` is the day
/// before), or RFC 3339.
pub fn parse_start(text: &str, data_now: Millis) -> Result<Millis, String> {
    let t = text.trim();
    if let Some((h, m)) = t.split_once(':')
        && h.len() <= 2
        && m.len() == 2
        && let (Ok(h), Ok(m)) = (h.parse::<i64>(), m.parse::<i64>())
    {
        if h > 23 || m > 59 {
            return Err(format!("start: {t:?} is not a time of day"));
        }
        let at = data_now.div_euclid(DAY_MS) * DAY_MS + (h * 60 + m) * 60_000;
        return Ok(if at > data_now { at - DAY_MS } else { at });
    }
    OffsetDateTime::parse(t, &Rfc3339)
        .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as Millis)
        .map_err(|_| format!("start: {t:?} is neither HH:MM (UTC) nor RFC 3339"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_756_771_200_000 + 14 * 3_600_000; // 2025-09-02T14:00Z

    fn dims() -> Vec<DimensionValues> {
        vec![DimensionValues {
            name: "model".into(),
            values: vec!["atlas-m".into(), "atlas-s".into()],
        }]
    }

    #[test]
    fn scope_text_is_checked_against_the_store() {
        let d = dims();
        let s = parse_scope("Model=ATLAS-M", &d).expect("known");
        assert_eq!(s.get("model").map(String::as_str), Some("atlas-m"));
        assert!(
            parse_scope("colour=red", &d)
                .unwrap_err()
                .contains("no dimension")
        );
        assert!(
            parse_scope("model=zeta", &d)
                .unwrap_err()
                .contains("no value")
        );
        assert!(parse_scope("model", &d).is_err());
        assert_eq!(parse_scope("  ", &d), Ok(BTreeMap::new()));
    }

    #[test]
    fn start_is_hh_mm_on_the_data_day_or_rfc_3339() {
        assert_eq!(parse_start("13:30", NOW), Ok(NOW - 30 * 60_000));
        assert_eq!(
            parse_start("15:00", NOW),
            Ok(NOW + 3_600_000 - DAY_MS),
            "a time past now is yesterday's"
        );
        assert_eq!(
            parse_start("2025-09-02T12:00:00Z", NOW),
            Ok(NOW - 7_200_000)
        );
        assert!(parse_start("25:00", NOW).is_err());
        assert!(parse_start("soon", NOW).is_err());
        assert_eq!(start_words(NOW - 60_000, NOW), "13:59");
        assert_eq!(start_words(NOW - DAY_MS, NOW), "2025-09-01T14:00:00Z");
    }
}
