//! Text meant to be pasted into a chat or a ticket: lines wrapped to a
//! width, times short when the date is the report's, Markdown escaped.

use crate::text::sanitize::{truncate, width};

/// Widest line of text output: fits a chat message and an 100-column terminal.
pub const PASTE_WIDTH: usize = 100;

/// `text` wrapped at spaces to `max` columns; the first line starts with
/// `first`, the others with `indent`. A word wider than a line is cut.
pub fn wrap(text: &str, first: &str, indent: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let gap = usize::from(!empty);
        if !empty && width(&line) + gap + width(word) > max {
            lines.push(std::mem::replace(&mut line, indent.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let room = max.saturating_sub(width(&line)).max(1);
        line.push_str(&truncate(word, room));
        empty = false;
    }
    lines.push(line);
    lines
}

/// Escapes what Markdown would read as markup (`|` would end a table cell,
/// `*` start emphasis); the text is already sanitised.
pub fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span's content: a backtick would end it, so it becomes `'`.
pub fn md_code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_carry_the_indent() {
        let text = "alpha beta gamma delta epsilon zeta eta theta";
        let lines = wrap(text, "ACTIVE  ", "        ", 24);
        assert!(lines.iter().all(|l| width(l) <= 24), "{lines:?}");
        assert!(lines[0].starts_with("ACTIVE  alpha"));
        assert!(lines[1].starts_with("        "));
        assert_eq!(lines.join(" ").split_whitespace().count(), 9);
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let lines = wrap(&"x".repeat(50), "> ", "  ", 20);
        assert_eq!(lines.len(), 1);
        assert_eq!(width(&lines[0]), 20);
    }

    #[test]
    fn markdown_markup_is_escaped() {
        assert_eq!(md_escape("a|b*c_d"), "a\\|b\\*c\\_d");
        assert_eq!(md_code("x`y"), "`x'y`");
    }
}
