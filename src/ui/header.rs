//! Top lines: title, window, sort, open regressions, clock (or the FROZEN
//! mark); then one line per backend saying whether its figures can be
//! trusted right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use super::theme::Look;
use crate::app::App;
use crate::feed::ConnState;
use crate::protocol::Millis;
use crate::view::{SourceLine, TimeCursor, ViewModel};

/// Longest a source's label may be before it is cut with an ellipsis.
const LABEL_MAX: usize = 48;

pub fn render_header(f: &mut Frame, area: Rect, app: &App, vm: &ViewModel, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let header = &vm.header;
    let mut title = vec![Span::styled("qualtop", t.title)];
    if let Some(w) = header.window_ms {
        title.push(Span::styled(
            format!("  window {}", format::duration(w)),
            t.text,
        ));
    }
    let arrow = match (app.sort_reversed, look.ascii) {
        (false, false) => "↓",
        (true, false) => "↑",
        (false, true) => " v",
        (true, true) => " ^",
    };
    title.push(Span::styled(
        format!("  sort {}{arrow}", app.sort.name()),
        t.text,
    ));
    if header.active_regressions > 0 {
        let n = header.active_regressions;
        let word = if n == 1 { "regression" } else { "regressions" };
        title.push(Span::styled(format!("  {n} {word}"), t.error));
    }
    let left_width: usize = title.iter().map(|s| s.width()).sum();
    let title_area = Rect { height: 1, ..area };
    f.render_widget(Paragraph::new(Line::from(title)), title_area);
    let room = usize::from(area.width).saturating_sub(left_width + 2);
    let right = right_side(app, vm, room, look);
    f.render_widget(Paragraph::new(right.right_aligned()), title_area);

    let wall_now = app.wall_clock;
    let lines: Vec<Line> = if header.sources.is_empty() {
        vec![Line::styled("no sources", t.dim)]
    } else {
        header
            .sources
            .iter()
            .map(|s| source_line(s, wall_now, look))
            .collect()
    };
    let rest = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    f.render_widget(Paragraph::new(lines), rest);
}

/// The right of the title line: the clock, and while frozen a FROZEN mark
/// with the freeze time and the time the screen shows. Parts that do not
/// fit in `room` go, the clock first.
fn right_side(app: &App, vm: &ViewModel, room: usize, look: &Look) -> Line<'static> {
    let t = &look.theme;
    let clock = format::utc_clock(app.wall_clock);
    let TimeCursor::Frozen { last_bucket } = app.time().cursor else {
        return Line::styled(clock, t.text);
    };
    let since = app
        .time()
        .frozen_at
        .map(|at| format!(" {}", format::utc_clock(at).trim_end_matches(" UTC")))
        .unwrap_or_default();
    let axis = vm.time;
    let behind = axis.head.map_or(0, |h| (h - last_bucket).max(0)) * axis.bucket_ms;
    let shown = format!(
        " cursor {}{}",
        format::utc_minute(last_bucket * axis.bucket_ms),
        if behind > 0 {
            format!(" (-{})", format::duration(behind))
        } else {
            String::new()
        }
    );
    let frozen = Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let candidates = [
        vec![
            format!(" FROZEN{since} "),
            shown.clone(),
            format!("  {clock}"),
        ],
        vec![format!(" FROZEN{since} "), shown.clone()],
        vec![" FROZEN ".to_owned(), shown],
        vec![" FROZEN ".to_owned()],
    ];
    let parts = candidates
        .iter()
        .find(|parts| parts.iter().map(|p| p.chars().count()).sum::<usize>() <= room)
        .unwrap_or(&candidates[3]);
    let mut spans = vec![Span::styled(parts[0].clone(), t.warn.patch(frozen))];
    for p in &parts[1..] {
        spans.push(Span::styled(p.clone(), t.text));
    }
    Line::from(spans)
}

fn source_line<'a>(s: &'a SourceLine, wall_now: Millis, look: &Look) -> Line<'a> {
    let t = &look.theme;
    let state = s.shown_state(wall_now);
    let (mark, word, style) = match &state {
        ConnState::Live => ("●", "live".to_owned(), t.live),
        ConnState::Connecting => ("○", "connecting".to_owned(), t.warn),
        ConnState::Stale => ("◌", "STALE".to_owned(), t.stale),
        ConnState::Disconnected { reason, retry_at } => {
            let secs = ((retry_at - wall_now).max(0) + 999) / 1000;
            ("○", format!("reconnecting in {secs}s: {reason}"), t.warn)
        }
        ConnState::Failed { reason } => ("✖", format!("failed: {reason}"), t.error),
    };
    let mark = if look.ascii {
        match state {
            ConnState::Live => "*",
            ConnState::Failed { .. } => "x",
            _ => "o",
        }
    } else {
        mark
    };
    // Figures from a source that is not live are dimmed along with its word.
    let figures = if state.is_live() { t.text } else { t.dim };
    let mut spans = vec![
        Span::styled(format!("{mark} "), style),
        Span::styled(look.cut(&s.label, LABEL_MAX), figures),
    ];
    if let Some(server) = &s.server {
        spans.push(Span::styled(format!(" ({})", look.cut(server, 24)), t.dim));
    }
    spans.push(Span::styled(format!("  {word}"), style));
    match s.data_age_ms {
        Some(age) => spans.push(Span::styled(
            format!("  data {} old", format::duration(age)),
            figures,
        )),
        None => spans.push(Span::styled("  no data yet", t.dim)),
    }
    if let Some(at) = s.last_message_at {
        spans.push(Span::styled(
            format!("  heard {} ago", format::duration(wall_now - at)),
            figures,
        ));
    }
    if let Some(drops) = &s.drops {
        spans.push(Span::styled(format!("  dropped: {drops}"), t.warn));
    }
    Line::from(spans)
}
