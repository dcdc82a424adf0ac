//! Changes on screen: the detail view's "changes" list and each bug's top
//! suspect under it in the scope panel, and the `C` popup of every change
//! in the window. The text comes sanitised from the view model.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::chart::marker_glyph;
use super::popup::{centered, frame_block, show};
use super::theme::Look;
use crate::app::{Action, App, Popup};
use crate::text::sanitize::width;
use crate::text::time::hh_mm;
use crate::view::{ChangeLine, DetailModel, MarkerKind, SuspectWords, ViewModel};

/// Most changes listed under the detail view (the `C` list has them all).
const MAX_LISTED: usize = 4;

/// Lines the detail view's change list wants (none without changes).
pub fn change_list_lines(model: &DetailModel) -> u16 {
    if model.changes.is_empty() {
        0
    } else {
        1 + model.changes.len().min(MAX_LISTED) as u16
    }
}

fn glyph(look: &Look) -> &'static str {
    marker_glyph(MarkerKind::Change, look.ascii)
}

/// `  ◆ 14:02  deploy "tpu-runtime v42" to hardware=tpu ∧ platform=api`.
fn change_line(c: &ChangeLine, w: usize, base: Style, look: &Look) -> Line<'static> {
    let head = format!("  {} ", glyph(look));
    let rest = format!("{}  {}", hh_mm(c.at), c.text);
    Line::from(vec![
        Span::styled(head, base.patch(look.theme.change)),
        Span::styled(
            look.cut(&rest, w.saturating_sub(4)),
            base.patch(look.theme.text),
        ),
    ])
}

/// The detail view's list: changes in the window touching its group.
pub fn change_list(model: &DetailModel, w: usize, look: &Look) -> Vec<Line<'static>> {
    if model.changes.is_empty() {
        return Vec::new();
    }
    let more = model.changes.len().saturating_sub(MAX_LISTED);
    let title = if more > 0 {
        format!("changes (+{more} more: C lists them)")
    } else {
        "changes".to_owned()
    };
    let mut lines = vec![Line::styled(title, look.theme.title)];
    lines.extend(
        model
            .changes
            .iter()
            .take(MAX_LISTED)
            .map(|c| change_line(c, w, Style::new(), look)),
    );
    lines
}

/// `    suspect: deploy "tpu-runtime v42" to …, 3m before onset, same scope`.
pub fn suspect_line(why: &SuspectWords, w: usize, look: &Look) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("    {} suspect: ", glyph(look)), look.theme.change),
        Span::styled(fit_why(why, w.saturating_sub(15), look), look.theme.text),
    ])
}

/// The fewest columns a title or a scope is cut to before the words' end is.
const MIN_PART: usize = 12;

/// A suspect's words (`kind "title" to scope, lead, fit…`) in `avail`
/// columns: the scope is written by values (`tpu/api`), then the title
/// and the scope give way in their middle, so that when the change came
/// against the onset still shows; then the end is cut. The title and the
/// scope are where the words say they are (a title may hold `" to `).
pub fn fit_why(why: &SuspectWords, avail: usize, look: &Look) -> String {
    let text = why.text.as_str();
    let (t, s) = (&why.parts.title, &why.parts.scope);
    let (Some(pre), Some(title), Some(mid), Some(scope), Some(post)) = (
        text.get(..t.start),
        text.get(t.clone()),
        text.get(t.end..s.start),
        text.get(s.clone()),
        text.get(s.end..),
    ) else {
        return look.cut(text, avail);
    };
    let (mut title, mut scope) = (title.to_owned(), scope.to_owned());
    let over = |title: &str, scope: &str| {
        (width(pre) + width(title) + width(mid) + width(scope) + width(post)).saturating_sub(avail)
    };
    if over(&title, &scope) > 0 {
        scope = values_only(&scope);
    }
    let shorter = |part: &str, over: usize| {
        look.cut_middle(part, width(part).saturating_sub(over).max(MIN_PART))
    };
    let excess = over(&title, &scope);
    if excess > 0 {
        title = shorter(&title, excess);
    }
    let excess = over(&title, &scope);
    if excess > 0 {
        scope = shorter(&scope, excess);
    }
    look.cut(&format!("{pre}{title}{mid}{scope}{post}"), avail)
}

/// `hardware=tpu ∧ platform=api` → `tpu/api`, as the rows' status column
/// writes places; anything else as it is.
fn values_only(scope: &str) -> String {
    scope
        .split(" ∧ ")
        .map(|pair| pair.split_once('=').map_or(pair, |(_, v)| v))
        .collect::<Vec<_>>()
        .join("/")
}

/// The `C` popup.
pub fn render_change_list(f: &mut Frame, area: Rect, app: &App, vm: &ViewModel, look: &Look) {
    let t = &look.theme;
    let Some(Popup::Changes(list)) = app.popup() else {
        return;
    };
    let popup = centered(area, 120, area.height.saturating_sub(2).max(6));
    let inner_w = usize::from(popup.width.saturating_sub(2));
    let inner_h = usize::from(popup.height.saturating_sub(2));
    let shown: Vec<&ChangeLine> = vm
        .changes
        .iter()
        .filter(|c| !list.only_here || c.here)
        .collect();
    let filter = if list.only_here {
        " touching the group on screen"
    } else {
        " every change in the window, newest first"
    };
    let mut lines = vec![Line::styled(look.cut(filter, inner_w), t.dim)];
    let key = |a: Action| {
        app.keymap
            .keys_for(a)
            .first()
            .map_or(String::new(), |k| k.label(look.ascii))
    };
    let hint = format!(
        " {} here/all  {} close",
        key(Action::AnnotationsHere),
        key(Action::Back)
    );
    if shown.is_empty() {
        lines.push(Line::styled(
            if list.only_here {
                " no change touched this group in the window"
            } else {
                " no change reported in the window"
            },
            t.dim,
        ));
    }
    let room = inner_h.saturating_sub(lines.len() + 1);
    let skip = (list.selected + 1).saturating_sub(room);
    for (i, c) in shown.iter().enumerate().skip(skip).take(room) {
        let base = if i == list.selected {
            t.selected
        } else {
            Style::new()
        };
        lines.push(change_line(c, inner_w, base, look));
    }
    while lines.len() + 1 < inner_h {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(look.cut(&hint, inner_w), t.dim));
    let title = format!(" changes ({}) ", shown.len());
    show(
        f,
        popup,
        Paragraph::new(lines).block(frame_block(title, look)),
    );
}
