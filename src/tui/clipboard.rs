//! Copying to the clipboard with OSC 52: the terminal (local, or at the far
//! end of an SSH session) puts the payload on the system clipboard. Under
//! tmux the sequence reaches the terminal only if tmux lets it: with
//! `set-clipboard on` as is, with `allow-passthrough on` wrapped; otherwise
//! the footer says how to enable it instead of claiming a copy.

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

/// What tmux does with an application's OSC 52.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmuxClipboard {
    /// `set-clipboard on`: tmux takes the sequence and sets the clipboard.
    pub set_clipboard: bool,
    /// `allow-passthrough on`: a `\ePtmux;` wrapped sequence goes through.
    pub passthrough: bool,
}

/// Where the sequence goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Terminal,
    /// Inside tmux; `None` when its options could not be read.
    Tmux(Option<TmuxClipboard>),
}

/// The bytes to write and the footer's words for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyPlan {
    pub bytes: Vec<u8>,
    pub notice: String,
}

/// The sequence for `text` by `route`, and what to tell the engineer.
pub fn plan_copy(text: &str, route: Route) -> CopyPlan {
    let (plain, n) = osc52(text);
    let cut = if n < text.len() { " (cut)" } else { "" };
    let copied = format!("copied {n} bytes{cut}");
    let (bytes, notice) = match route {
        Route::Terminal
        | Route::Tmux(Some(TmuxClipboard {
            set_clipboard: true,
            ..
        })) => (plain, copied),
        Route::Tmux(Some(TmuxClipboard {
            passthrough: true, ..
        })) => (
            tmux_passthrough(&plain),
            format!("{copied} (tmux passthrough)"),
        ),
        Route::Tmux(Some(_)) => (
            plain,
            "not copied: tmux keeps OSC 52 to itself; `set -g set-clipboard on` \
             (or allow-passthrough on) lets it through"
                .to_owned(),
        ),
        Route::Tmux(None) => {
            let mut both = plain.clone();
            both.extend(tmux_passthrough(&plain));
            (
                both,
                format!("{copied}; under tmux it needs `set -g set-clipboard on`"),
            )
        }
    };
    CopyPlan { bytes, notice }
}

/// `ESC P tmux; <sequence, each ESC doubled> ESC \`: tmux hands it on as is.
pub fn tmux_passthrough(sequence: &[u8]) -> Vec<u8> {
    let mut out = b"\x1bPtmux;".to_vec();
    for &b in sequence {
        if b == 0x1b {
            out.push(0x1b);
        }
        out.push(b);
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

/// The route from the environment: `$TMUX` set means inside tmux, whose
/// options are asked of tmux itself.
pub fn route_from_env() -> Route {
    if std::env::var_os("TMUX").is_none_or(|v| v.is_empty()) {
        return Route::Terminal;
    }
    let option = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("tmux")
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let set_clipboard = option(&["show-options", "-gqv", "set-clipboard"]);
    // The pane's own value, else the inherited one (-A).
    let passthrough = option(&["show-options", "-Apqv", "allow-passthrough"])
        .or_else(|| option(&["show-options", "-gqv", "allow-passthrough"]));
    match (set_clipboard, passthrough) {
        (None, None) => Route::Tmux(None),
        (s, p) => Route::Tmux(Some(TmuxClipboard {
            set_clipboard: s.as_deref() == Some("on"),
            passthrough: matches!(p.as_deref(), Some("on" | "all")),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmux(set_clipboard: bool, passthrough: bool) -> Route {
        Route::Tmux(Some(TmuxClipboard {
            set_clipboard,
            passthrough,
        }))
    }

    #[test]
    fn tmux_with_its_default_clipboard_setting_says_how_to_enable_it() {
        let plan = plan_copy("row", tmux(false, false));
        assert!(plan.notice.starts_with("not copied"), "{}", plan.notice);
        assert!(plan.notice.contains("set -g set-clipboard on"));
    }

    #[test]
    fn tmux_with_set_clipboard_on_takes_the_plain_sequence() {
        let plan = plan_copy("hi", tmux(true, false));
        assert_eq!(plan.bytes, osc52("hi").0);
        assert_eq!(plan.notice, "copied 2 bytes");
    }

    #[test]
    fn tmux_passthrough_wraps_the_sequence_and_doubles_its_escapes() {
        let plan = plan_copy("hi", tmux(false, true));
        assert_eq!(plan.bytes, b"\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
        assert!(plan.notice.contains("passthrough"));
        let direct = plan_copy("hi", Route::Terminal);
        assert_eq!(direct.bytes, osc52("hi").0);
    }

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
