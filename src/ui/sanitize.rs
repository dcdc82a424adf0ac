//! Every string that came from a backend passes through here before it is
//! drawn: a dimension value such as `"\x1b]0;pwned\x07"` must not retitle the
//! on-call engineer's terminal, and `"\u{202e}"` must not reverse the table.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// C1 controls that open a string ended by ST (or BEL, for OSC).
const C1_CSI: char = '\u{9b}';
const C1_STRING_OPENERS: [char; 5] = ['\u{90}', '\u{98}', '\u{9d}', '\u{9e}', '\u{9f}'];
const C1_ST: char = '\u{9c}';
const ELLIPSIS: &str = "…";
/// The ellipsis when drawing ASCII only.
pub const ASCII_ELLIPSIS: &str = "~";

/// Strips control characters, escape sequences and bidi controls; a tab or
/// newline becomes one space so words stay apart. Borrows when already clean.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                // CSI: parameters and intermediates up to one final byte.
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: a string up to ST or BEL.
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // nF sequences: intermediates (0x20..0x2F), then one final byte.
                Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
                    while chars
                        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                        .is_some()
                    {}
                    chars.next();
                }
                // Any other ESC x is a two-character sequence; x goes too.
                Some(_) | None => {}
            },
            C1_CSI => skip_csi(&mut chars),
            c if C1_STRING_OPENERS.contains(&c) => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_plain(c) => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// [`sanitize`], then cut to `max_width` terminal columns, ending in `…`
/// when something was cut.
pub fn clean(s: &str, max_width: usize) -> String {
    truncate(&sanitize(s), max_width)
}

/// Cuts a clean string to `max_width` display columns, with an ellipsis
/// (counted in the width) when it had to cut.
pub fn truncate(s: &str, max_width: usize) -> String {
    truncate_with(s, max_width, ELLIPSIS)
}

/// [`truncate`] with a chosen one-column ellipsis (see [`ASCII_ELLIPSIS`]).
pub fn truncate_with(s: &str, max_width: usize, ellipsis: &str) -> String {
    if s.width() <= max_width {
        return s.to_owned();
    }
    if max_width == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(max_width + 3);
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max_width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push_str(ellipsis);
    out
}

/// Display width of a clean string.
pub fn width(s: &str) -> usize {
    s.width()
}

fn is_plain(c: char) -> bool {
    !(c.is_control() || is_bidi_control(c) || c == '\u{feff}')
}

/// Bidi embeddings, overrides, isolates and marks: they reorder what follows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameter and intermediate bytes are 0x20..=0x3F; the final byte is
    // 0x40..=0x7E. Anything else ends the sequence early (and is dropped).
    for c in chars.by_ref() {
        if !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL | C1_ST => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_no_controls(s: &str) {
        assert!(
            s.chars().all(is_plain),
            "control or bidi character left in {s:?}"
        );
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        assert!(matches!(sanitize("gpt-5 · eu-west"), Cow::Borrowed(_)));
    }

    #[test]
    fn csi_sequences_are_removed_whole() {
        assert_eq!(sanitize("a\x1b[31;1mred\x1b[0m"), "ared");
        assert_eq!(sanitize("a\u{9b}2Jb"), "ab");
    }

    #[test]
    fn osc_title_change_is_removed_up_to_its_terminator() {
        assert_eq!(sanitize("x\x1b]0;pwned\x07y"), "xy");
        assert_eq!(
            sanitize("x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y"),
            "xlinky"
        );
        assert_eq!(sanitize("x\u{9d}0;t\u{9c}y"), "xy");
    }

    #[test]
    fn c0_c1_del_and_bidi_controls_are_removed() {
        let s = sanitize("a\x00b\x7fc\u{85}d\u{202e}e\u{2066}f\x1bcg");
        assert_eq!(s, "abcdefg");
        assert_no_controls(&s);
    }

    #[test]
    fn tabs_and_newlines_become_spaces() {
        assert_eq!(sanitize("a\tb\nc"), "a b c");
    }

    #[test]
    fn unterminated_sequences_swallow_the_rest_without_panicking() {
        assert_eq!(sanitize("ok\x1b]0;never ends"), "ok");
        assert_eq!(sanitize("ok\x1b"), "ok");
        assert_eq!(sanitize("ok\x1b[12"), "ok");
    }

    #[test]
    fn truncation_counts_display_width_and_adds_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        // Wide characters take two columns each.
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert!(width(&truncate("日本語テキスト", 5)) <= 5);
        assert_eq!(truncate("abc", 0), "");
    }
}
