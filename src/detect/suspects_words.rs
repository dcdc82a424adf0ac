//! How a suspect is told: the words every surface shows for a change
//! against a regression or a bug (sanitised, titles cut to a width).

use std::ops::Range;

use super::bugs::ONSET_SPREAD_MS;
use super::detections::{DetectedRegression, ScopeMap};
use super::suspects::{ScopeFit, Suspect};
use crate::protocol::{Change, Millis};
use crate::text::sanitize::clean;
use crate::text::scope::scope_text;

/// The widest a title gets in the words.
const TITLE_WIDTH: usize = 48;

/// `3m before onset`, `at onset`, `2m after the estimated onset`.
fn lead_words(lead: Millis) -> String {
    use crate::text::format::duration;
    match lead {
        0 => "at onset".to_owned(),
        l if l > 0 => format!("{} before onset", duration(l)),
        l => format!("{} after the estimated onset", duration(-l)),
    }
}

/// A regression's onset is called unsure in the words when its data place
/// it over at least this long (10th to 90th percentile).
pub const UNSURE_MS: Millis = 3 * 60_000;

/// `; onset unsure: 16m earlier to 1m later` (`up to 16m earlier`, `up to
/// 3m later`): where the data place an onset estimated at `onset`, when
/// its `points` span [`UNSURE_MS`] or more; else `None`. It says why a
/// change well before the onset can rank above one just before it.
pub(super) fn unsure_words(onset: Millis, points: &[Millis]) -> Option<String> {
    use crate::text::format::duration;
    let lo = points.iter().copied().fold(onset, Millis::min);
    let hi = points.iter().copied().fold(onset, Millis::max);
    if hi - lo < UNSURE_MS {
        return None;
    }
    let range = match (onset - lo, hi - onset) {
        (0, later) => format!("up to {} later", duration(later)),
        (earlier, 0) => format!("up to {} earlier", duration(earlier)),
        (earlier, later) => format!("{} earlier to {} later", duration(earlier), duration(later)),
    };
    Some(format!("; onset unsure: {range}"))
}

/// `; 2m before golden-qa dropped on hardware=tpu, still down at onset`:
/// the earlier sighting that decided a suspect; sanitised.
pub(super) fn sighting_words(lead: Millis, signal: &str, scope: &ScopeMap) -> String {
    format!(
        "; {}, still down at onset",
        dropped_words(lead, signal, scope)
    )
}

/// `2m before golden-qa dropped on hardware=tpu`; sanitised.
fn dropped_words(lead: Millis, signal: &str, scope: &ScopeMap) -> String {
    use crate::text::format::duration;
    let when = match lead {
        0 => "just as".to_owned(),
        l if l > 0 => format!("{} before", duration(l)),
        l => format!("{} after", duration(-l)),
    };
    format!(
        "{when} {} dropped on {}",
        clean(signal, TITLE_WIDTH),
        clean(&scope_text(scope), TITLE_WIDTH * 2)
    )
}

/// Where the change's title and scope lie in a suspect's words (byte
/// ranges), so that a narrow screen shortens them without reading the words
/// again: a title may itself hold `" to ` or `, `.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhyParts {
    pub title: Range<usize>,
    pub scope: Range<usize>,
}

/// The reason in words, as every surface shows it.
pub fn why(change: &Change, lead: Millis, fit: ScopeFit) -> (String, WhyParts) {
    told(change, &lead_words(lead), fit)
}

/// `deploy "title" to scope, {when}, {fit}`; sanitised.
fn told(change: &Change, when: &str, fit: ScopeFit) -> (String, WhyParts) {
    let mut out = format!("{} \"", change.kind);
    let title = clean(&change.title, TITLE_WIDTH);
    let title_at = out.len()..out.len() + title.len();
    out.push_str(&title);
    out.push_str("\" to ");
    let scope = scope_text(&change.scope);
    let scope_at = out.len()..out.len() + scope.len();
    out.push_str(&scope);
    out.push_str(&format!(", {when}, {}", fit.words(&change.scope)));
    (
        out,
        WhyParts {
            title: title_at,
            scope: scope_at,
        },
    )
}

/// `s`, the first suspect of `member`, worded against the bug's `onset`
/// (see [`bug_suspect`](super::bug_suspect)).
pub(super) fn dated_for_bug<'a>(
    mut s: Suspect<'a>,
    member: &DetectedRegression,
    onset: Millis,
) -> Suspect<'a> {
    let c = s.change;
    // The unsure words are the member's: told only where its onset is.
    let mut unsure = s.unsure.as_deref();
    if member.onset - onset <= ONSET_SPREAD_MS {
        s.lead_ms = onset - c.at;
        (s.why, s.parts) = why(c, s.lead_ms, s.fit);
        unsure = unsure.filter(|_| member.onset == onset);
    } else {
        let when = dropped_words(member.onset - c.at, &member.signal, &member.scope);
        (s.why, s.parts) = told(c, &when, s.fit);
    }
    if let Some(unsure) = unsure {
        s.why.push_str(unsure);
    }
    if let Some(seen) = &s.sighting {
        s.why.push_str(seen);
    }
    s
}
