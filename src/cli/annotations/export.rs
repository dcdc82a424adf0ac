//! `qualtop annotations export`: the postmortem timeline
//! ([`crate::view::timeline`]) as JSON or Markdown. Pure: timeline in, text out.

use crate::view::timeline::{FIGURE_BUCKETS, Timeline};

use super::when::rfc3339;
use crate::cli::TimelineFormat;
use crate::text::format::percent;
use crate::text::sanitize::sanitize;

pub fn render(t: &Timeline, format: TimelineFormat) -> String {
    match format {
        TimelineFormat::Json => {
            // Plain structs with string keys: serialising cannot fail.
            let mut s = escape_for_terminals(&serde_json::to_string_pretty(t).unwrap_or_default());
            s.push('\n');
            s
        }
        TimelineFormat::Markdown => markdown(t),
    }
}

/// serde_json escapes C0 controls (ESC included) but writes C1 controls
/// and bidi overrides as they are; `\uXXXX` says the same to a JSON reader
/// and nothing to a terminal. Outside strings JSON is ASCII, so this only
/// touches string contents.
fn escape_for_terminals(json: &str) -> String {
    let risky = |c: char| {
        matches!(c, '\u{80}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !json.chars().any(risky) {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if risky(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A rate as a percentage, or words where there is no data (a postmortem
/// is read without the TUI's legend).
fn figure(rate: Option<f64>) -> String {
    rate.map_or_else(|| "no data".to_owned(), |r| percent(Some(r)))
}

/// Markdown for a postmortem document. Every string that came from a
/// backend or a colleague is sanitised: no escape sequence reaches the
/// terminal or the document.
fn markdown(t: &Timeline) -> String {
    let mut out = String::from("# Annotation timeline\n\n");
    out.push_str(&format!(
        "{} annotation{}{}; backend time now {}. Quality: counts summed over every slice in the scope, over the {FIGURE_BUCKETS} buckets around the start and the newest {FIGURE_BUCKETS}.\n",
        t.entries.len(),
        if t.entries.len() == 1 { "" } else { "s" },
        t.since
            .map(|s| format!(" since {}", rfc3339(s)))
            .unwrap_or_default(),
        rfc3339(t.now),
    ));
    for e in &t.entries {
        let until = e.to.map_or_else(|| "open".to_owned(), rfc3339);
        let signal = e
            .signal
            .as_deref()
            .map(|s| format!(" · {}", sanitize(s)))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n## {} → {} · {} · {}{}\n\n",
            rfc3339(e.from),
            until,
            e.state,
            crate::text::scope::scope_text(&e.scope),
            signal
        ));
        let rev = e.rev.map(|r| format!(", rev {r}")).unwrap_or_default();
        out.push_str(&format!(
            "**{}**{}: {}\n",
            sanitize(&e.author),
            rev,
            sanitize(&e.text)
        ));
        if let Some(s) = &e.suspect {
            out.push_str(&format!("\nSuspect change: {}\n", sanitize(&s.why)));
        }
        if !e.quality.is_empty() {
            out.push('\n');
        }
        for q in &e.quality {
            let signal = sanitize(&q.signal);
            if q.slices == 0 {
                out.push_str(&format!("- {signal}: no slice matches this scope\n"));
                continue;
            }
            out.push_str(&format!(
                "- {signal}: {} at start, {} now ({} slice{})\n",
                figure(q.at_start),
                figure(q.now),
                q.slices,
                if q.slices == 1 { "" } else { "s" }
            ));
        }
    }
    out
}
