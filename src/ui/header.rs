//! Top lines: title, window, sort, open regressions, the data clock (or
//! the FROZEN mark); then one line per backend saying whether its figures
//! can be trusted right now; then, while a backend is down, a reverse-video
//! banner saying so. Every time shown is data time (the backends' clock).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Look;
use crate::app::App;
use crate::feed::ConnState;
use crate::protocol::Millis;
use crate::text::format;
use crate::view::{DownBanner, SourceLine, TimeCursor, ViewModel};

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
    let wall_now = app.wall_clock;
    if header.active_regressions > 0 {
        let n = header.active_regressions;
        let word = if n == 1 { "regression" } else { "regressions" };
        // Counted on data from a backend that is down: say so.
        let stale = if header.any_down(wall_now) {
            " (stale)"
        } else {
            ""
        };
        title.push(Span::styled(format!("  {n} {word}{stale}"), t.error));
    }
    if let Some(from) = header.findings_from {
        let style = if from.is_warning() { t.warn } else { t.dim };
        title.push(Span::styled(format!("  {}", from.words()), style));
    }
    let left_width: usize = title.iter().map(|s| s.width()).sum();
    let title_area = Rect { height: 1, ..area };
    f.render_widget(Paragraph::new(Line::from(title)), title_area);
    let room = usize::from(area.width).saturating_sub(left_width + 2);
    let right = right_side(app, vm, room, look);
    f.render_widget(Paragraph::new(right.right_aligned()), title_area);

    let mut lines: Vec<Line> = if header.sources.is_empty() {
        vec![Line::styled("no sources", t.dim)]
    } else {
        header
            .sources
            .iter()
            .map(|s| source_line(s, wall_now, look))
            .collect()
    };
    let banner = header.down_banner(wall_now);
    let rest = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    if let Some(b) = &banner {
        // The banner takes the header's last line, under the sources.
        let keep = usize::from(rest.height.saturating_sub(1));
        lines.truncate(keep);
        lines.resize(keep, Line::default());
        lines.push(banner_line(b, usize::from(area.width), look));
    }
    f.render_widget(Paragraph::new(lines), rest);
}

/// Header lines the banner needs at wall time `wall_now` (0 or 1), for the layout.
pub fn banner_height(vm: &ViewModel, wall_now: Millis) -> u16 {
    u16::from(vm.header.down_banner(wall_now).is_some())
}

/// `demo/evals disconnected 2m10s — figures below are as of 14:05 UTC`,
/// cut to `width` and padded so the reverse video runs the full line.
fn banner_line(b: &DownBanner, width: usize, look: &Look) -> Line<'static> {
    let dash = if look.ascii { "-" } else { "—" };
    let silent = b
        .silent_ms
        .map(|ms| format!(" {}", format::duration(ms)))
        .unwrap_or_default();
    let as_of = b
        .as_of
        .map(|t| format!(" {dash} figures below are as of {}", format::utc_minute(t)))
        .unwrap_or_default();
    let short_as_of = b
        .as_of
        .map(|t| format!(" {dash} figures as of {}", format::utc_minute(t)))
        .unwrap_or_default();
    let who = match b.labels.as_slice() {
        [one] => look.cut(one, 40),
        many => format!("{} backends", many.len()),
    };
    let candidates = [
        format!(" {} {}{silent}{as_of} ", b.labels.join(", "), b.word),
        format!(" {who} {}{silent}{as_of} ", b.word),
        format!(" {who} {}{silent}{short_as_of} ", b.word),
        format!(" {} {}{silent}{short_as_of} ", "backend", b.word),
        format!(" backend {}{silent} ", b.word),
    ];
    let text = candidates
        .iter()
        .find(|c| c.chars().count() <= width)
        .unwrap_or(&candidates[4]);
    let text = format!("{:<width$}", look.cut(text, width));
    let style = look
        .theme
        .error
        .add_modifier(Modifier::REVERSED | Modifier::BOLD);
    Line::styled(text, style)
}

/// The right of the title line: the clock, and while frozen a FROZEN mark
/// with the freeze time and the time the screen shows. Parts that do not
/// fit in `room` go, the clock first.
fn right_side(app: &App, vm: &ViewModel, room: usize, look: &Look) -> Line<'static> {
    let t = &look.theme;
    let header = &vm.header;
    let times = if look.ascii { "x" } else { "×" };
    let scale = header
        .time_scale()
        .map(|s| format!("demo {times}{s:.0}  "))
        .unwrap_or_default();
    let clock = format!(
        "{scale}{}",
        format::utc_clock(header.data_clock(app.wall_clock))
    );
    let TimeCursor::Frozen { last_bucket } = app.time().cursor else {
        if clock.chars().count() > room {
            return Line::styled(format::utc_clock(header.data_clock(app.wall_clock)), t.text);
        }
        return Line::styled(clock, t.text);
    };
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
        vec![" FROZEN ".to_owned(), shown.clone(), format!("  {clock}")],
        vec![" FROZEN ".to_owned(), shown],
        vec![" FROZEN ".to_owned()],
    ];
    let parts = candidates
        .iter()
        .find(|parts| parts.iter().map(|p| p.chars().count()).sum::<usize>() <= room)
        .unwrap_or(&candidates[2]);
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
        ConnState::Live => match s.loading {
            // A new snapshot (another filter) loads behind the data shown.
            Some((got, all)) => ("●", format!("live, loading snapshot {got}/{all}"), t.live),
            None => ("●", "live".to_owned(), t.live),
        },
        ConnState::Connecting => match s.loading {
            Some((got, all)) => ("○", format!("loading snapshot {got}/{all}"), t.warn),
            None => ("○", "connecting".to_owned(), t.warn),
        },
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
    if let Some((words, loading)) = &s.scale {
        // Which rows are held, and that detection sees only those.
        let style = if *loading { t.warn } else { t.dim };
        spans.push(Span::styled(format!("  {words}"), style));
    }
    if let Some(clock) = &s.clock_warning {
        spans.push(Span::styled(format!("  {clock}"), t.error));
    }
    if let Some(why) = &s.findings_refused {
        spans.push(Span::styled(format!("  {}", look.cut(why, 60)), t.warn));
    }
    let held = s.backend_now.filter(|_| !state.is_live());
    match s.data_age_ms {
        // A source that is not live is as old as its last word, whatever its lag.
        Some(_) if held.is_some() => {
            let (data, _) = held.unwrap_or_default();
            let at = format::utc_minute(data);
            spans.push(Span::styled(format!("  data as of {at}"), figures));
        }
        // Measured against the backend's own clock: a steady feed is fresh.
        Some(_) if s.data_is_fresh() && state.is_live() => {
            spans.push(Span::styled("  data fresh", figures));
        }
        Some(age) => spans.push(Span::styled(
            format!("  data {} old", format::duration(age)),
            t.warn,
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
