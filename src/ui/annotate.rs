//! The annotation dialog (`a`, Enter in the list) and the list (`A`).
//! Every annotation string is sanitised and cut before it is drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::popup::{centered, frame_block, show};
use super::theme::Look;
use crate::app::{Action, App, Popup};
use crate::protocol::{Annotation, AnnotationState, Millis};
use crate::text::format;
use crate::text::sanitize::{sanitize, width};
use crate::view::{AnnotationEntry, EntryStatus};

/// `hardware=tpu ∧ model=m3`, or `whole fleet` for `{}`. Sanitised.
pub fn scope_text(a: &Annotation) -> String {
    crate::text::scope::scope_text(&a.scope)
}

/// How long ago an annotation was last written: `5m`, or `now` if unknown.
pub fn age(a: &Annotation, wall_now: Millis) -> String {
    match a.updated.or(a.created) {
        Some(t) => format::duration(wall_now - t),
        None => "now".to_owned(),
    }
}

/// The word for where an annotation stands, and its style.
pub fn status_text(e: &AnnotationEntry, look: &Look) -> (String, Style) {
    match &e.status {
        EntryStatus::Shared => (e.annotation.state.as_str().to_owned(), look.theme.text),
        EntryStatus::Pending => ("pending".to_owned(), look.theme.warn),
        // A conflict is not an error of the writer: both versions show.
        EntryStatus::Refused(reason) if reason.starts_with("conflict:") => (
            format!(
                "conflict: {}",
                sanitize(without_id(reason.trim_start_matches("conflict:").trim()))
            ),
            look.theme.error,
        ),
        EntryStatus::Refused(reason) => {
            let shown = match reason.split_once(": ") {
                Some((code, message)) => format!("{code}: {}", without_id(message)),
                None => reason.clone(),
            };
            (format!("refused: {}", sanitize(&shown)), look.theme.error)
        }
    }
}

/// A server's refusal without its `annotation "<id>": ` lead: the row already
/// says which, and a UUID would push the reason off the line.
fn without_id(message: &str) -> &str {
    message
        .strip_prefix("annotation \"")
        .and_then(|rest| rest.split_once("\": "))
        .map_or(message, |(_, reason)| reason)
}

pub fn render_list(f: &mut Frame, area: Rect, app: &App, look: &Look) {
    let t = &look.theme;
    let Some(Popup::Annotations(list)) = app.popup() else {
        return;
    };
    let popup = centered(area, 120, area.height.saturating_sub(2).max(6));
    let inner_w = usize::from(popup.width.saturating_sub(2));
    let inner_h = usize::from(popup.height.saturating_sub(2));
    let facts = app.annotations();
    let entries = app.listed_annotations();
    let mut lines = Vec::new();
    if facts.local_only {
        lines.push(Line::styled(
            look.cut(
                " local only: the backend does not share annotations; they stay on this machine",
                inner_w,
            ),
            t.warn,
        ));
    }
    let filters = format!(
        " {}  state: {}",
        if list.only_here {
            "here only"
        } else {
            "all places"
        },
        list.state.map_or("any", AnnotationState::as_str)
    );
    lines.push(Line::styled(look.cut(&filters, inner_w), t.dim));
    let keys = |a: Action| {
        app.keymap
            .keys_for(a)
            .first()
            .map_or(String::new(), |k| k.label(look.ascii))
    };
    let hint = format!(
        " {} edit  {} next state  {} here/all  {} state  {} close",
        keys(Action::Drill),
        keys(Action::AdvanceState),
        keys(Action::AnnotationsHere),
        keys(Action::AnnotationsState),
        keys(Action::Back),
    );
    let room = inner_h.saturating_sub(lines.len() + 1);
    if entries.is_empty() {
        lines.push(Line::styled(
            " no annotations here yet (a on a row writes one)",
            t.dim,
        ));
    }
    let skip = (list.selected + 1).saturating_sub(room);
    for (i, e) in entries.iter().enumerate().skip(skip).take(room) {
        let a = &e.annotation;
        let (status, status_style) = status_text(e, look);
        let base = if i == list.selected {
            t.selected
        } else {
            Style::new()
        };
        let head = format!(
            " {:<10} {:<12} {:>5}  {}  ",
            look.cut(&status, 10),
            look.cut(&sanitize(&a.author), 12),
            age(a, app.wall_clock),
            look.cut(&scope_text(a), 28),
        );
        let text = look.cut(&sanitize(&a.text), inner_w.saturating_sub(width(&head)));
        let status_part = head.chars().take(12).collect::<String>();
        let rest: String = head.chars().skip(12).collect();
        lines.push(Line::from(vec![
            Span::styled(status_part, base.patch(status_style)),
            Span::styled(rest, base),
            Span::styled(text, base),
        ]));
        // The reason in full: it says what to change before saving again.
        if let EntryStatus::Refused(_) = e.status {
            lines.push(Line::styled(
                look.cut(&format!("   {status}"), inner_w),
                t.error,
            ));
        }
    }
    while lines.len() + 1 < inner_h {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(look.cut(&hint, inner_w), t.dim));
    let title = format!(
        " annotations ({}){}{} ",
        entries.len(),
        if facts.not_held > 0 {
            format!(" - {} older not held", facts.not_held)
        } else {
            String::new()
        },
        if facts.local_only {
            " - local only"
        } else {
            ""
        }
    );
    show(
        f,
        popup,
        Paragraph::new(lines).block(frame_block(title, look)),
    );
}
