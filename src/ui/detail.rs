//! The detail view: a grid of charts (as many as fit; Tab brings the
//! others), then the breakdown of the group's children by every unfixed
//! dimension, then the scope panel and the markers.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::annotate::{age, scope_text, status_text};
use super::changes::{change_list, change_list_lines, suspect_line};
use super::chart::{TimeFrame, marker_glyph, marker_style, render_chart};
use super::theme::Look;
use crate::app::{App, DetailState};
use crate::text::format;
use crate::text::sanitize::sanitize;
use crate::text::sanitize::width;
use crate::view::{
    AnnotationEntry, Breakdown, DetailModel, MarkerKind, Severity, annotation_applies,
};

/// Most annotations listed under the detail view (the `A` list has them all).
const MAX_NOTES: usize = 5;

/// Smallest chart: border, three plot lines, the axis and its labels.
const CHART_MIN_H: u16 = 7;
/// A chart column wants at least this many columns.
const CHART_MIN_W: u16 = 56;
const MAX_CHART_COLUMNS: u16 = 3;
/// A breakdown block wants at least this many columns, and needs no more
/// than the most (wider, the figures drift away from their names).
const BLOCK_MIN_W: u16 = 36;
const BLOCK_MAX_W: u16 = 52;
/// Share of the body the breakdown may take at most, in percent.
const BREAKDOWN_MAX_SHARE: u16 = 40;

pub fn render_detail(
    f: &mut Frame,
    area: Rect,
    state: &DetailState,
    model: &DetailModel,
    app: &App,
    look: &Look,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let notes: Vec<&AnnotationEntry> = app
        .annotations()
        .entries
        .iter()
        .filter(|e| annotation_applies(&e.annotation.scope, &model.path))
        .take(MAX_NOTES)
        .collect();
    // Bottom up: the scope panel and markers, then the breakdown, then charts.
    let panel_h =
        panel_height(model, notes.len(), area).min(area.height.saturating_sub(CHART_MIN_H));
    let block_cols = (area.width / BLOCK_MIN_W).clamp(1, model.breakdown.len().max(1) as u16);
    let block_rows = (model.breakdown.len() as u16).div_ceil(block_cols);
    let longest = model
        .breakdown
        .iter()
        .map(|b| b.rows.len())
        .max()
        .unwrap_or(0) as u16;
    let wanted = block_rows * (1 + longest);
    let cap = (area.height * BREAKDOWN_MAX_SHARE / 100)
        .min(area.height.saturating_sub(panel_h + CHART_MIN_H));
    let breakdown_h = wanted
        .min(cap.max(block_rows * 2))
        .min(area.height - panel_h);
    let charts_h = area.height - panel_h - breakdown_h;
    let charts = Rect {
        height: charts_h,
        ..area
    };
    let breakdown = Rect {
        y: area.y + charts_h,
        height: breakdown_h,
        ..area
    };
    let panel = Rect {
        y: area.y + charts_h + breakdown_h,
        height: panel_h,
        ..area
    };
    render_charts(f, charts, state, model, look);
    render_breakdown(f, breakdown, state, model, block_cols, look);
    render_panel(f, panel, state, model, look);
    let notes_area = Rect {
        y: panel.y + panel.height.min(model_panel_lines(model)),
        height: panel.height.saturating_sub(model_panel_lines(model)),
        ..panel
    };
    render_notes(f, notes_area, &notes, app.wall_clock, look);
}

/// `notes  suspected  oncall-2  5m  model=m3  TPU slices look off`.
fn render_notes(
    f: &mut Frame,
    area: Rect,
    notes: &[&AnnotationEntry],
    wall_now: crate::protocol::Millis,
    look: &Look,
) {
    if area.height == 0 || notes.is_empty() {
        return;
    }
    let t = &look.theme;
    let w = usize::from(area.width);
    let mut lines = vec![Line::styled("annotations (A lists them all)", t.title)];
    for e in notes {
        let a = &e.annotation;
        let (status, style) = status_text(e, look);
        let head = format!(
            "  {}  {}  {}  ",
            sanitize(&a.author),
            age(a, wall_now),
            scope_text(a)
        );
        let rest = w.saturating_sub(width(&status) + width(&head));
        lines.push(Line::from(vec![
            Span::styled(look.cut(&status, w), style),
            Span::styled(look.cut(&head, w.saturating_sub(width(&status))), t.dim),
            Span::styled(look.cut(&sanitize(&a.text), rest), t.text),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn render_charts(f: &mut Frame, area: Rect, state: &DetailState, model: &DetailModel, look: &Look) {
    let n = model.charts.len();
    if n == 0 || area.height == 0 {
        if area.height > 0 {
            f.render_widget(
                Paragraph::new(Line::styled("no signals to chart yet", look.theme.dim).centered()),
                area,
            );
        }
        return;
    }
    let cols = (area.width / CHART_MIN_W).clamp(1, MAX_CHART_COLUMNS.min(n as u16));
    let fit_rows = (area.height / CHART_MIN_H).max(1);
    let rows = (n as u16).div_ceil(cols).min(fit_rows);
    let per_page = usize::from(rows * cols);
    let paged = per_page < n;
    let first = if paged { state.chart % n } else { 0 };
    let time = TimeFrame {
        range: model.range,
        bucket_ms: model.bucket_ms,
    };
    for slot in 0..per_page.min(n) {
        let index = (first + slot) % n;
        let (r, c) = (slot as u16 / cols, slot as u16 % cols);
        let x = area.x + c * area.width / cols;
        let w = (c + 1) * area.width / cols - c * area.width / cols;
        let y = area.y + r * area.height / rows;
        let h = (r + 1) * area.height / rows - r * area.height / rows;
        let note = if paged {
            let key = if per_page == 1 {
                "Tab: next"
            } else {
                "Tab: more"
            };
            format!("  {}/{n} {key}", index + 1)
        } else {
            String::new()
        };
        render_chart(
            f,
            Rect::new(x, y, w, h),
            &model.charts[index],
            time,
            &model.markers,
            &note,
            look,
        );
    }
}

fn render_breakdown(
    f: &mut Frame,
    area: Rect,
    state: &DetailState,
    model: &DetailModel,
    cols: u16,
    look: &Look,
) {
    if area.height == 0 || model.breakdown.is_empty() {
        return;
    }
    let rows = (model.breakdown.len() as u16).div_ceil(cols);
    let mut first_target = model.scope.len();
    for (i, b) in model.breakdown.iter().enumerate() {
        let (r, c) = (i as u16 / cols, i as u16 % cols);
        let block_w = (area.width / cols).min(BLOCK_MAX_W);
        let x = area.x + c * block_w;
        let w = block_w;
        let y = area.y + r * area.height / rows;
        let h = (r + 1) * area.height / rows - r * area.height / rows;
        let selected = state
            .selected
            .checked_sub(first_target)
            .filter(|&s| s < b.rows.len());
        render_block(
            f,
            Rect::new(x, y, w.saturating_sub(1), h),
            b,
            selected,
            look,
        );
        first_target += b.rows.len();
    }
}

/// One dimension's children: `by hardware`, then `tpu  -3.10pp  REGRESSION`.
fn render_block(f: &mut Frame, area: Rect, b: &Breakdown, selected: Option<usize>, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let w = usize::from(area.width);
    let mut lines = vec![Line::styled(
        look.cut(&format!("by {}", b.dimension), w),
        t.column_header,
    )];
    let room = usize::from(area.height) - 1;
    let more = b.rows.len() > room;
    let shown = if more { room.saturating_sub(1) } else { room };
    // Keep the selected row in view.
    let skip = selected.map_or(0, |s| (s + 1).saturating_sub(shown));
    // One status width for the block, so figures line up row to row.
    let word_w = b
        .rows
        .iter()
        .map(|r| r.status.as_ref().map_or(0, |s| width(s.severity.word())))
        .max()
        .unwrap_or(0);
    for (i, row) in b.rows.iter().enumerate().skip(skip).take(shown) {
        let change = format::points(row.change_pp);
        let quality = format::percent(row.quality);
        let word = row.status.as_ref().map_or("", |s| s.severity.word());
        let fixed = 1 + 8 + 1 + 7 + 1 + word_w;
        let name = look.cut_middle(&row.name, w.saturating_sub(fixed).max(4));
        let pad = w.saturating_sub(fixed + width(&name));
        let change_style = match row.change_pp {
            Some(c) if c <= -1.0 => t.worse,
            Some(c) if c >= 1.0 => t.better,
            _ => t.text,
        };
        let status_style = match row.status.as_ref().map(|s| s.severity) {
            Some(Severity::Regressed) => t.error,
            Some(Severity::Watch) => t.warn,
            _ => t.dim,
        };
        let paint = |s: Style| {
            if Some(i) == selected {
                t.on_selected(s)
            } else {
                s
            }
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{name}{} ", " ".repeat(pad)), paint(Style::new())),
            Span::styled(format!("{change:>8} "), paint(change_style)),
            Span::styled(format!("{quality:>7} "), paint(Style::new())),
            Span::styled(format!("{word:<word_w$}"), paint(status_style)),
        ]));
    }
    if more {
        let hidden = b.rows.len() - shown;
        lines.push(Line::styled(format!("  +{hidden} more (j/k)"), t.dim));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// Lines the scope panel (with each bug's suspect), the changes and the
/// marker list want.
fn model_panel_lines(model: &DetailModel) -> u16 {
    let suspects = model.scope.iter().filter(|e| e.suspect.is_some()).count() as u16;
    let scope = if model.scope.is_empty() {
        1
    } else {
        1 + model.scope.len() as u16 + suspects
    };
    let listed = other_markers(model).count() as u16;
    let markers = u16::from(listed > 0) * (1 + listed);
    scope + change_list_lines(model) + markers
}

/// The markers listed under "markers": changes have their own list.
fn other_markers(model: &DetailModel) -> impl Iterator<Item = &crate::view::TimeMarker> {
    model
        .markers
        .iter()
        .filter(|m| m.kind != MarkerKind::Change)
}

/// Lines for the scope panel, the marker list and the annotations.
fn panel_height(model: &DetailModel, notes: usize, area: Rect) -> u16 {
    let notes = if notes == 0 { 0 } else { 1 + notes as u16 };
    // The panel gets at most a fifth of a tall screen, three lines of a short one.
    let cap = (area.height / 5).max(3);
    (model_panel_lines(model) + notes).min(cap)
}

fn render_panel(f: &mut Frame, area: Rect, state: &DetailState, model: &DetailModel, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    let w = usize::from(area.width);
    let mut lines = Vec::new();
    if model.scope.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("scope ", t.title),
            Span::styled("no regression localised under this group", t.dim),
        ]));
    } else {
        lines.push(Line::styled("scope (Enter jumps there)", t.title));
        for (i, e) in model.scope.iter().enumerate() {
            let style = if state.selected == i {
                t.on_selected(t.text)
            } else {
                t.text
            };
            // Too narrow for the places in full: values only, so that the
            // time and the suites still show.
            let full = format!("  {}", e.text);
            let text = if width(&full) <= w {
                full
            } else {
                format!("  {}", e.short)
            };
            lines.push(Line::styled(look.cut(&text, w), style));
            if let Some(s) = &e.suspect {
                lines.push(suspect_line(s, w, look));
            }
        }
    }
    lines.extend(change_list(model, w, look));
    if other_markers(model).next().is_some() {
        lines.push(Line::styled("markers", t.title));
        for m in other_markers(model) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {} ", marker_glyph(m.kind, look.ascii)),
                    marker_style(m.kind, look),
                ),
                Span::styled(
                    look.cut(
                        &format!("{}  {}", format::utc_minute(m.ts), m.label),
                        w.saturating_sub(4),
                    ),
                    t.text,
                ),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
