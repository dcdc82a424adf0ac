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

/// Most combining marks (zero-width characters) kept after one base
/// character: a hundred of them would paint over the row above and below.
pub const MAX_MARKS: usize = 2;

/// Strips control characters, escape sequences, bidi controls, zero-width
/// and filler characters, and combining marks past [`MAX_MARKS`] per base;
/// a tab or newline becomes one space so words stay apart. The result is as
/// wide, for `unicode-width`, as its characters one by one, so a terminal
/// and ratatui agree on where each column starts. Borrows when already clean.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if violation(s).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut marks = Marks::default();
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
            '\t' | '\n' | '\r' => marks.push(&mut out, ' '),
            c if is_plain(c) => marks.push(&mut out, c),
            _ => {}
        }
    }
    if !same_width(&out) {
        out = keep_consistent(&out);
    }
    Cow::Owned(out)
}

/// What makes `s` unfit for the terminal, or `None` when it holds none of
/// it: the property [`sanitize`] guarantees of its output (fuzzed and tested).
pub fn violation(s: &str) -> Option<String> {
    let mut run = 0;
    let mut based = false;
    for c in s.chars() {
        if !is_plain(c) {
            return Some(format!("forbidden character U+{:04X}", c as u32));
        }
        if is_mark(c) {
            run += 1;
            if !based {
                return Some(format!("mark U+{:04X} with no base", c as u32));
            }
            if run > MAX_MARKS {
                return Some(format!("more than {MAX_MARKS} marks on one base"));
            }
        } else {
            run = 0;
            based = true;
        }
    }
    (!same_width(s)).then(|| {
        format!(
            "width {} differs from the sum of its characters' {}",
            s.width(),
            char_widths(s)
        )
    })
}

/// Counts the marks after the last base, and drops those past the limit.
#[derive(Default)]
struct Marks {
    run: usize,
    based: bool,
}

impl Marks {
    fn push(&mut self, out: &mut String, c: char) {
        if is_mark(c) {
            if !self.based || self.run >= MAX_MARKS {
                return;
            }
            self.run += 1;
        } else {
            self.run = 0;
            self.based = true;
        }
        out.push(c);
    }
}

/// A character that takes no column of its own: a combining mark (or a
/// conjoining jamo), drawn over the character before it.
fn is_mark(c: char) -> bool {
    c.width() == Some(0)
}

fn char_widths(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

fn same_width(s: &str) -> bool {
    s.is_ascii() || s.width() == char_widths(s)
}

/// Drops each character whose width depends on its neighbours (a ligature
/// such as lam-alef, an emoji sequence): a terminal counting character by
/// character would disagree with ratatui's count and shift every column after.
fn keep_consistent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut marks = Marks::default();
    for c in s.chars() {
        // unicode-width looks back a few characters at most.
        let tail_start = out.char_indices().rev().nth(15).map_or(0, |(i, _)| i);
        let tail = &out[tail_start..];
        let mut with = String::with_capacity(tail.len() + 4);
        with.push_str(tail);
        with.push(c);
        if with.width() == tail.width() + c.width().unwrap_or(0) {
            marks.push(&mut out, c);
        }
    }
    if same_width(&out) {
        out
    } else {
        // The last resort: what cannot combine at all.
        out.chars().filter(|c| c.is_ascii()).collect()
    }
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
    !(c.is_control() || is_bidi_control(c) || is_invisible(c))
}

/// Zero-width and filler characters: they take no visible room, yet some
/// terminals give them a column (or join their neighbours), so columns shift.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' // soft hyphen
        | '\u{034f}' // combining grapheme joiner
        | '\u{0600}'..='\u{0605}' | '\u{06dd}' | '\u{070f}' | '\u{0890}'..='\u{0891}' | '\u{08e2}'
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
        | '\u{17b4}' | '\u{17b5}' // Khmer inherent vowels
        | '\u{180b}'..='\u{180f}' // Mongolian selectors and vowel separator
        | '\u{200b}'..='\u{200d}' // ZWSP, ZWNJ, ZWJ
        | '\u{2028}' | '\u{2029}' // line and paragraph separators
        | '\u{2060}'..='\u{2065}' | '\u{206a}'..='\u{206f}' // WJ, invisible operators
        | '\u{fe00}'..='\u{fe0f}' // variation selectors
        | '\u{feff}' // BOM, ZWNBSP
        | '\u{fff9}'..='\u{fffb}' // interlinear annotation
        | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e0fff}' // tags, variation selectors supplement
    )
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
        assert_eq!(violation(s), None, "{s:?}");
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
    fn zero_width_and_hangul_fillers_are_removed() {
        let s = sanitize(
            "a\u{200b}b\u{200c}c\u{200d}d\u{2060}e\u{feff}f\u{3164}g\u{115f}h\u{ffa0}i\u{1160}j",
        );
        assert_eq!(s, "abcdefghij");
        assert_no_controls(&s);
    }

    #[test]
    fn combining_marks_are_capped_at_two_per_base() {
        let zalgo = format!("e{}x", "\u{301}".repeat(50));
        assert_eq!(sanitize(&zalgo), "e\u{301}\u{301}x");
        assert_eq!(sanitize("\u{301}a"), "a", "a mark with no base goes");
        assert_eq!(sanitize("e\u{301}"), "e\u{301}", "one mark stays");
    }

    #[test]
    fn characters_whose_width_depends_on_neighbours_go() {
        // unicode-width reads lam-alef as one column; a terminal gives two.
        let s = sanitize("x\u{644}\u{627}y");
        assert_eq!(violation(&s), None, "{s:?}");
        assert_eq!(width(&s), s.chars().count());
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
