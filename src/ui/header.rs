//! Top lines: title, window and clock; then one line per backend saying
//! whether its figures can be trusted right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use super::theme::Look;
use crate::feed::ConnState;
use crate::protocol::Millis;
use crate::view::{HeaderModel, OverviewTable, SourceLine};

/// Longest a source's label may be before it is cut with an ellipsis.
const LABEL_MAX: usize = 48;

pub fn render_header(
    f: &mut Frame,
    area: Rect,
    header: &HeaderModel,
    table: &OverviewTable,
    wall_now: Millis,
    look: &Look,
) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let mut title = vec![Span::styled("qualtop", t.title)];
    if let Some(split) = &table.split {
        title.push(Span::styled(format!("  by {split}"), t.text));
    }
    if let Some(w) = header.window_ms {
        title.push(Span::styled(
            format!("  window {}", format::duration(w)),
            t.text,
        ));
    }
    let clock = format::utc_clock(wall_now);
    let title_area = Rect { height: 1, ..area };
    f.render_widget(Paragraph::new(Line::from(title)), title_area);
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(clock, t.text)).right_aligned()),
        title_area,
    );

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
