//! `qualtop snapshot --format markdown`, for an incident channel: a title
//! line with the time range and the sources, the active regressions with
//! their scope first, then the table. Everything from a backend is already
//! sanitised; here it is also escaped, so a `|` cannot break the table.

use super::check_report::{CheckReport, ReportedBug, ReportedBurn};
use super::paste::{md_code, md_escape};
use super::snapshot::{COLUMNS, NUMERIC, SnapshotOptions, grid, source_line};
use crate::text::scope::scope_text;
use crate::text::time::short_time;
use crate::text::time::utc_minute;
use crate::view::ViewModel;

fn bug_item(bug: &ReportedBug, reference: i64) -> String {
    let w = &bug.worst;
    let mut line = format!(
        "- {} since {} UTC: {} {:+.2} pp ({:.2}% → {:.2}%)",
        md_code(&bug.where_text),
        short_time(bug.onset, reference),
        md_escape(&w.signal),
        w.delta_pp,
        w.baseline * 100.0,
        w.current * 100.0
    );
    let others: Vec<String> = bug
        .signals
        .iter()
        .filter(|s| **s != w.signal)
        .map(|s| md_escape(s))
        .collect();
    if !others.is_empty() {
        line.push_str(&format!("; also {}", others.join(", ")));
    }
    for part in &bug.recovered {
        line.push_str(&format!(
            "\n  - recovered {} UTC: {}",
            short_time(part.ended_at, reference),
            md_code(&part.where_text)
        ));
    }
    if let Some(s) = bug.top_suspect() {
        line.push_str(&format!("\n  - suspect: {}", md_escape(&s.why)));
    }
    line
}

/// The whole snapshot as Markdown.
pub fn render(vm: &ViewModel, report: &CheckReport, o: &SnapshotOptions) -> String {
    let mut out = String::new();
    // Title: what, over which data-time range, from where.
    let mut title = "**qualtop snapshot**".to_owned();
    if let (Some(now), Some(range)) = (vm.data_now, vm.table.range) {
        let start = range.first * vm.time.bucket_ms;
        title.push_str(&format!(
            " {} to {} UTC",
            utc_minute(start),
            short_time(now, start)
        ));
    }
    if let Some(split) = &vm.table.split {
        title.push_str(&format!(", by {}", md_escape(split)));
    }
    if !o.query.filter.is_empty() {
        let filter = crate::text::sanitize::sanitize(o.query.filter.text());
        title.push_str(&format!(", filter {}", md_code(&filter)));
    }
    let sources: Vec<String> = vm
        .header
        .sources
        .iter()
        .map(|s| md_escape(&source_line(s, o.wall_now)))
        .collect();
    title.push_str(&format!(", sources: {}", sources.join("; ")));
    out.push_str(&title);
    out.push_str("\n\n");
    let active: Vec<&ReportedBug> = report.bugs.iter().filter(|b| b.active).collect();
    // No bucket tested (the pure render of a fleet detection never saw).
    let untested = report.from == report.to && report.bugs.is_empty();
    match active.len() {
        0 if untested => out.push_str("**Detection has not run on this data**\n\n"),
        0 => out.push_str("**No active regression**\n\n"),
        n => {
            let noun = if n == 1 { "regression" } else { "regressions" };
            out.push_str(&format!("**{n} active {noun}**\n\n"));
            for bug in active {
                out.push_str(&bug_item(bug, report.to));
                out.push('\n');
            }
            out.push('\n');
        }
    }
    let burns: Vec<&ReportedBurn> = report.burn_alerts.iter().filter(|b| b.active).collect();
    if !burns.is_empty() {
        out.push_str(&format!(
            "**{} availability burn alert(s)**\n\n",
            burns.len()
        ));
        for b in burns {
            out.push_str(&format!(
                "- {} since {} UTC: {} at {:.1}x the error budget\n",
                md_code(&scope_text(&b.slice)),
                short_time(b.since, report.to),
                md_escape(&b.signal),
                b.peak_burn
            ));
        }
        out.push('\n');
    }
    if vm.table.rows.is_empty() {
        out.push_str("no data\n");
        return out;
    }
    let grid = grid(vm, o);
    for (i, row) in grid.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| match c {
                // Sparklines in code spans keep their spacing.
                1 | 3 if i > 0 && !cell.trim().is_empty() => md_code(cell),
                _ => md_escape(cell),
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if i == 0 {
            let rule: Vec<&str> = (0..COLUMNS)
                .map(|c| if NUMERIC[c] { "--:" } else { ":--" })
                .collect();
            out.push_str(&format!("|{}|\n", rule.join("|")));
        }
    }
    out
}
