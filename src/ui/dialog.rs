//! The annotation dialog on screen: one line per field (the focused one's
//! name marked), the text below, then the keys or why saving failed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;

use super::popup::{centered, frame_block};
use super::theme::Look;
use crate::app::{AnnotationDialog, DialogField, TextField};
use crate::protocol::AnnotationState;
use crate::text::sanitize::sanitize;

/// Width of the field names.
const NAME_W: u16 = 8;

pub fn render_dialog(f: &mut Frame, area: Rect, d: &AnnotationDialog, look: &Look) {
    let t = &look.theme;
    let popup = centered(area, 76, 16);
    f.render_widget(Clear, popup);
    let title = if d.editing {
        " edit annotation "
    } else {
        " new annotation "
    };
    let block = frame_block(title, look);
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    if inner.height < 4 || inner.width <= NAME_W + 4 {
        return;
    }
    let inner_w = usize::from(inner.width);
    let row = |i: u16| Rect {
        y: inner.y + i,
        height: 1,
        ..inner
    };
    let value_of = |r: Rect| Rect {
        x: r.x + NAME_W,
        width: r.width - NAME_W,
        ..r
    };
    let name = |field: DialogField, word: &str| {
        let style = if d.focus == field {
            t.selected
        } else {
            t.title
        };
        Span::styled(format!(" {word:<w$}", w = usize::from(NAME_W) - 1), style)
    };
    let arrows = if look.ascii {
        "(Left/Right)"
    } else {
        "(←→)"
    };

    // Scope and start: editable lines, with what they take after them.
    f.render_widget(Paragraph::new(name(DialogField::Scope, "scope")), row(0));
    let scope_hint = if d.scope.text().trim().is_empty() {
        "whole fleet"
    } else {
        ""
    };
    render_field(
        f,
        value_of(row(0)),
        &d.scope,
        d.focus == DialogField::Scope,
        scope_hint,
        look,
    );

    let signal = d
        .draft
        .signal
        .as_deref()
        .map_or("any signal".to_owned(), |s| sanitize(s).into_owned());
    f.render_widget(
        Paragraph::new(Line::from(vec![
            name(DialogField::Signal, "signal"),
            Span::styled(look.cut(&signal, inner_w.saturating_sub(24)), t.text),
            Span::styled(format!("  {arrows}"), t.dim),
        ])),
        row(1),
    );

    f.render_widget(Paragraph::new(name(DialogField::Start, "start")), row(2));
    let start_w = 22.min(inner.width - NAME_W);
    let start_at = Rect {
        width: start_w,
        ..value_of(row(2))
    };
    render_field(
        f,
        start_at,
        &d.start,
        d.focus == DialogField::Start,
        "",
        look,
    );
    let to = match d.draft.to {
        Some(ms) => format!(" to {} UTC", crate::text::time::utc_minute(ms)),
        None => " UTC, HH:MM or RFC 3339".to_owned(),
    };
    f.render_widget(
        Paragraph::new(Line::styled(to, t.dim)),
        Rect {
            x: start_at.x + start_w,
            width: inner.width.saturating_sub(NAME_W + start_w),
            ..row(2)
        },
    );

    let mut states = vec![name(DialogField::State, "state")];
    for s in AnnotationState::ALL {
        let style = if s == d.draft.state {
            t.selected
        } else {
            t.dim
        };
        states.push(Span::styled(s.as_str(), style));
        states.push(Span::raw(" "));
    }
    states.push(Span::styled(arrows, t.dim));
    f.render_widget(Paragraph::new(Line::from(states)), row(3));

    let rule = if look.ascii { "-" } else { "─" };
    let text_name = if d.focus == DialogField::Text {
        t.selected
    } else {
        t.title
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" text ", text_name),
            Span::styled(rule.repeat(inner_w.saturating_sub(6)), t.dim),
        ])),
        row(4),
    );
    let text_h = inner.height.saturating_sub(6);
    let text_at = Rect {
        x: inner.x + 1,
        y: inner.y + 5,
        width: inner.width - 2,
        height: text_h,
    };
    render_field(
        f,
        text_at,
        &d.text,
        d.focus == DialogField::Text,
        "what you see, what you suspect",
        look,
    );

    let hint = if d.confirm_discard {
        Line::styled(" discard your changes? y/n", t.warn)
    } else if let Some(why) = &d.error {
        Line::styled(look.cut(&format!(" {}", sanitize(why)), inner_w), t.error)
    } else {
        Line::styled(
            look.cut(
                " Ctrl-S saves  Tab next field  Enter new line  Esc/Ctrl-C cancels",
                inner_w,
            ),
            t.dim,
        )
    };
    f.render_widget(Paragraph::new(hint), row(inner.height - 1));
}

/// A text field; the cursor shows only in the focused one.
fn render_field(
    f: &mut Frame,
    at: Rect,
    field: &TextField,
    focused: bool,
    placeholder: &str,
    look: &Look,
) {
    let t = &look.theme;
    let mut area: TextArea<'static> = field.area().clone();
    area.set_style(t.text);
    area.set_cursor_line_style(Style::default());
    area.set_cursor_style(if focused {
        t.text.add_modifier(Modifier::REVERSED)
    } else {
        t.text
    });
    if !placeholder.is_empty() {
        area.set_placeholder_text(placeholder);
        area.set_placeholder_style(t.dim);
    }
    f.render_widget(&area, at);
}
