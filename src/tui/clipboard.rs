//! Copying to the clipboard with OSC 52: the terminal (local, or at the far
//! end of an SSH session) puts the payload on the system clipboard.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Most bytes of text copied: terminals cap OSC 52 payloads (often ~100 KB
/// of base64, some far less), and a row or a detail view never needs more.
pub const MAX_COPY_BYTES: usize = 8 * 1024;

/// `ESC ] 52 ; c ; <base64> BEL` for `text`, cut to [`MAX_COPY_BYTES`] at a
/// character boundary. Returns the sequence and how many text bytes it carries.
pub fn osc52(text: &str) -> (Vec<u8>, usize) {
    let mut end = text.len().min(MAX_COPY_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let payload = &text[..end];
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(STANDARD.encode(payload).as_bytes());
    out.push(0x07);
    (out, payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_base64_between_the_osc_52_brackets() {
        let (bytes, n) = osc52("hi ✎");
        assert_eq!(n, "hi ✎".len());
        assert_eq!(bytes, b"\x1b]52;c;aGkg4pyO\x07");
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let text = "é".repeat(MAX_COPY_BYTES);
        let (_, n) = osc52(&text);
        assert!(n <= MAX_COPY_BYTES && n % 2 == 0, "{n}");
    }
}
