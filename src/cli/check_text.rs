//! `qualtop check` as text for people: a summary line first, then two
//! lines per bug (where and when; what dropped by how much), every line
//! within [`PASTE_WIDTH`] columns so it pastes into a chat unbroken.

use super::check_report::{CheckReport, ReportedBug, ReportedBurn, utc_datetime};
use super::paste::{PASTE_WIDTH, wrap};
use crate::text::sanitize::{truncate, width};
use crate::text::scope::{place_text, scope_text};
use crate::text::time::short_time;

/// The state column, and the indent of a bug's further lines.
const INDENT: &str = "        ";

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `3 active regressions: A; B; +1 more`, cut to fit one line; active
/// burn alerts counted after the regressions.
pub fn summary(report: &CheckReport) -> String {
    let ended = report.bugs.len() - report.active;
    let burns = report.burn_alerts.iter().filter(|b| b.active).count();
    let burning = if burns > 0 {
        format!(
            " and {}",
            plural(burns, "availability burn alert", "availability burn alerts")
        )
    } else {
        String::new()
    };
    if report.active == 0 {
        let mut line = format!("no active regression{burning}");
        if ended > 0 {
            line.push_str(&format!(" ({ended} ended in the data)"));
        }
        return line;
    }
    let mut line = format!(
        "{}{burning}: ",
        plural(report.active, "active regression", "active regressions")
    );
    let scopes: Vec<&str> = report
        .bugs
        .iter()
        .filter(|b| b.active)
        .map(|b| b.where_text.as_str())
        .collect();
    for (i, s) in scopes.iter().enumerate() {
        let rest = scopes.len() - i - 1;
        let more = if rest > 0 {
            format!("; +{rest} more")
        } else {
            String::new()
        };
        let sep = if i > 0 { "; " } else { "" };
        let room = PASTE_WIDTH.saturating_sub(width(&line) + width(sep) + width(&more));
        if width(s) > room {
            if i == 0 {
                line.push_str(&truncate(s, room));
                line.push_str(&more);
            } else {
                line.push_str(&format!("{sep}+{} more", scopes.len() - i));
            }
            return line;
        }
        line.push_str(sep);
        line.push_str(s);
    }
    line
}

fn bug_lines(bug: &ReportedBug, reference: i64, out: &mut Vec<String>) {
    let state = if bug.active { "ACTIVE  " } else { "ended   " };
    let when = match bug.ended_at {
        None => format!(
            "since {} (detected {})",
            short_time(bug.onset, reference),
            short_time(bug.detected_at, reference)
        ),
        Some(end) => format!(
            "{} to {} (detected {})",
            short_time(bug.onset, reference),
            short_time(end, reference),
            short_time(bug.detected_at, reference)
        ),
    };
    out.extend(wrap(
        &format!("{}  {when}", bug.where_text),
        state,
        INDENT,
        PASTE_WIDTH,
    ));
    let w = &bug.worst;
    let mut what = format!(
        "{} {:+.2} pp ({:.2}% → {:.2}%)",
        w.signal,
        w.delta_pp,
        w.baseline * 100.0,
        w.current * 100.0
    );
    if scope_text(&w.slice) != bug.where_text {
        what.push_str(&format!(" in {}", scope_text(&w.slice)));
    }
    let others: Vec<&str> = bug
        .signals
        .iter()
        .map(String::as_str)
        .filter(|s| *s != w.signal)
        .collect();
    if !others.is_empty() {
        what.push_str(&format!("; also {}", others.join(", ")));
    }
    out.extend(wrap(&what, INDENT, INDENT, PASTE_WIDTH));
    if bug.places.len() > 1 {
        out.push(places_line(bug));
    }
    for part in &bug.recovered {
        out.extend(wrap(
            &format!(
                "recovered {}: {}",
                short_time(part.ended_at, reference),
                part.where_text
            ),
            INDENT,
            INDENT,
            PASTE_WIDTH,
        ));
    }
    if let Some(s) = bug.top_suspect() {
        out.extend(wrap(
            &format!("suspect: {}", s.why),
            INDENT,
            INDENT,
            PASTE_WIDTH,
        ));
    }
}

/// `in A; B; +3 more`: the places inside the envelope, one line at most.
fn places_line(bug: &ReportedBug) -> String {
    let mut line = format!("{INDENT}in ");
    let n = bug.places.len();
    for (i, place) in bug.places.iter().enumerate() {
        let text = place_text(place);
        let sep = if i > 0 { "; " } else { "" };
        let more = if i + 1 < n {
            format!("; +{} more", n - i - 1)
        } else {
            String::new()
        };
        if width(&line) + width(sep) + width(&text) + width(&more) > PASTE_WIDTH {
            if i == 0 {
                let room = PASTE_WIDTH.saturating_sub(width(&line) + width(&more));
                line.push_str(&truncate(&text, room));
                line.push_str(&more);
            } else {
                line.push_str(&format!("{sep}+{} more", n - i));
            }
            return line;
        }
        line.push_str(sep);
        line.push_str(&text);
    }
    line
}

fn burn_lines(b: &ReportedBurn, reference: i64, out: &mut Vec<String>) {
    let state = if b.active { "BURN    " } else { "burned  " };
    let until = b
        .ended_at
        .map_or_else(String::new, |e| format!(" to {}", short_time(e, reference)));
    let text = format!(
        "{} {:.1}x the error budget since {}{until} in {}",
        b.signal,
        b.peak_burn,
        short_time(b.since, reference),
        scope_text(&b.slice)
    );
    out.extend(wrap(&text, state, INDENT, PASTE_WIDTH));
}

/// The whole report as text, one `\n` after every line.
pub fn render(report: &CheckReport) -> String {
    let mut lines = Vec::new();
    if !report.clock_warnings.is_empty() {
        let warning = format!(
            "NOT TRUSTED: backends disagree on time: {}; their data are left out",
            report.clock_warnings.join("; ")
        );
        lines.extend(wrap(&warning, "", INDENT, PASTE_WIDTH));
    }
    lines.push(summary(report));
    lines.push(format!(
        "data {} to {} UTC, {} slices",
        utc_datetime(report.from),
        short_time(report.to, report.from),
        report.slices
    ));
    for bug in &report.bugs {
        bug_lines(bug, report.to, &mut lines);
    }
    for burn in &report.burn_alerts {
        burn_lines(burn, report.to, &mut lines);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
