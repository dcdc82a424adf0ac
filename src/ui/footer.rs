//! The bottom line: the keys that matter here and where the selection is;
//! or a command's message; or the `/` and `:` input line with Tab's candidates.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Look;
use crate::app::{Action, App, COMMANDS, InputKind, InputLine};
use crate::text::sanitize::{sanitize, width};
use crate::view::{QualityPick, ViewModel};

/// Actions in the footer, most useful first, per screen.
const TABLE_KEYS: [Action; 9] = [
    Action::Drill,
    Action::Pivot,
    Action::Filter,
    Action::Detail,
    Action::Sort,
    Action::Freeze,
    Action::Annotate,
    Action::Back,
    Action::Quit,
];
const DETAIL_KEYS: [Action; 5] = [
    Action::NextChart,
    Action::Drill,
    Action::Back,
    Action::Freeze,
    Action::Quit,
];
const FROZEN_KEYS: [Action; 2] = [Action::TimeBack, Action::Live];

pub fn render_footer(f: &mut Frame, area: Rect, app: &App, vm: &ViewModel, look: &Look) {
    if area.height == 0 {
        return;
    }
    let t = &look.theme;
    if let Some(line) = app.input() {
        f.render_widget(Paragraph::new(input_line(line, area.width, look)), area);
        return;
    }
    if let Some(message) = app.message() {
        let text = look.cut(&sanitize(message), usize::from(area.width));
        f.render_widget(Paragraph::new(Line::styled(text, t.warn)), area);
        return;
    }
    if let Some(flash) = app.flash() {
        let mark = if look.ascii { "*" } else { "✎" };
        let text = format!(
            "{mark} {}: {}",
            sanitize(&flash.author),
            sanitize(&flash.text)
        );
        let text = look.cut(&text, usize::from(area.width));
        f.render_widget(Paragraph::new(Line::styled(text, t.annotation)), area);
        return;
    }
    let position = match app.detail() {
        None if !vm.table.rows.is_empty() => Some(format!(
            "{}/{}",
            app.level().selected + 1,
            vm.table.rows.len()
        )),
        _ => None,
    };
    let room = usize::from(area.width).saturating_sub(position.as_ref().map_or(0, |p| p.len() + 2));
    let mut actions: Vec<Action> = Vec::new();
    if app.is_frozen() {
        actions.extend(FROZEN_KEYS);
    }
    if app.detail().is_some() {
        actions.extend(DETAIL_KEYS);
    } else {
        actions.extend(TABLE_KEYS);
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for action in actions {
        let (Some(word), Some(key)) = (action.footer_word(), app.keymap.keys_for(action).first())
        else {
            continue;
        };
        let key = match action {
            // The pair reads better than one arrow.
            Action::TimeBack if !look.ascii => "←→".to_owned(),
            Action::TimeBack => "h/l".to_owned(),
            _ => key.label(look.ascii),
        };
        let word = match (action, &app.quality) {
            (Action::Drill, _) if app.detail().is_some() => "open",
            (Action::CycleQuality, QualityPick::Suite(_)) => "suite (one)",
            _ => word,
        };
        items.push((key, word.to_owned()));
    }
    // Help always shows: it leads to everything else.
    let help = app
        .keymap
        .keys_for(Action::Help)
        .first()
        .map(|k| (k.label(look.ascii), "help".to_owned()));
    let item_width = |(k, w): &(String, String)| width(k) + 1 + width(w) + 2;
    let mut used = help.as_ref().map_or(0, item_width);
    let mut spans = Vec::new();
    for item in &items {
        if used + item_width(item) > room {
            break;
        }
        used += item_width(item);
        spans.push(Span::styled(item.0.clone(), t.title));
        spans.push(Span::styled(format!(" {}  ", item.1), t.dim));
    }
    if let Some((k, w)) = help {
        spans.push(Span::styled(k, t.title));
        spans.push(Span::styled(format!(" {w}"), t.dim));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    if let Some(pos) = position {
        f.render_widget(
            Paragraph::new(Line::styled(pos, t.dim).right_aligned()),
            area,
        );
    }
}

/// What a command typed in full takes (`window ` → `15m|1h|6h|24h`).
fn argument_hint(text: &str) -> Option<&'static str> {
    let name = text.strip_suffix(' ')?;
    COMMANDS
        .iter()
        .find(|(n, takes)| *n == name && !takes.is_empty())
        .map(|(_, takes)| *takes)
}

/// `/text█` or `:text█`, then Tab's candidates with the shown one marked.
fn input_line(line: &InputLine, width_cols: u16, look: &Look) -> Line<'static> {
    let t = &look.theme;
    let prompt = match line.kind {
        InputKind::Filter => "/",
        InputKind::Command => ":",
    };
    let cursor = if look.ascii { "_" } else { "█" };
    let text = sanitize(&line.text).into_owned();
    let mut spans = vec![
        Span::styled(prompt, t.title),
        Span::styled(text.clone(), t.text),
        Span::styled(cursor, t.text),
    ];
    let mut used = 2 + width(&text);
    match line.candidates() {
        Some((candidates, shown)) if candidates.len() > 1 => {
            spans.push(Span::styled("   ", t.dim));
            used += 3;
            for (i, c) in candidates.iter().enumerate() {
                // Only the last word differs between candidates: show that.
                // `group ` (a command that takes more) shows as `group`.
                let c = c.trim_end();
                let word = c.rsplit([' ', ',']).next().unwrap_or(c);
                let word = sanitize(word).into_owned();
                if used + width(&word) + 2 > usize::from(width_cols) {
                    spans.push(Span::styled(if look.ascii { "~" } else { "…" }, t.dim));
                    break;
                }
                used += width(&word) + 2;
                let style = if i == shown { t.selected } else { t.dim };
                spans.push(Span::styled(word, style));
                spans.push(Span::styled("  ", t.dim));
            }
        }
        _ if line.kind == InputKind::Command && argument_hint(&line.text).is_some() => {
            let hint = argument_hint(&line.text).unwrap_or_default();
            spans.push(Span::styled(format!("   {hint}  (Tab lists)"), t.dim));
        }
        _ if line.kind == InputKind::Command && line.text.is_empty() => {
            spans.push(Span::styled(
                "   Tab completes: group filter sort window theme freeze live top quit",
                t.dim,
            ));
        }
        _ if line.kind == InputKind::Filter => {
            spans.push(Span::styled(
                "   dim=v1,v2 word ...  Tab completes  Enter keeps  Esc clears",
                t.dim,
            ));
        }
        _ => {}
    }
    Line::from(spans)
}
