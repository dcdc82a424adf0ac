//! Theme files: TOML with a `[roles]` table. Errors name the file and line.

use ratatui::style::{Color, Style};
use toml::Spanned;

use super::color::parse_color;
use super::role::Role;
use super::{Theme, modifier_names};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("{origin}:{line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("cannot read theme {path}: {error}")]
    Io { path: String, error: String },
    #[error("no theme named {name:?} (known: {known})")]
    Unknown { name: String, known: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    mono: bool,
    /// The terminal background assumed (for contrast), e.g. "black".
    background: Option<String>,
    /// Least contrast the theme promises, e.g. 7.0 for AAA.
    min_contrast: Option<f64>,
    roles: Option<Spanned<toml::Table>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// Parses a theme. With a `base`, missing roles fall back to it; without
/// one (built-in themes) every role must be present.
pub(super) fn parse(text: &str, origin: &str, base: Option<&Theme>) -> Result<Theme, ThemeError> {
    let err = |offset: usize, message: String| ThemeError::Invalid {
        origin: origin.to_owned(),
        line: line_of(text, offset),
        message,
    };
    let file: ThemeFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        err(offset, e.message().to_owned())
    })?;
    let mut styles: [Option<Style>; Role::ALL.len()] = [None; Role::ALL.len()];
    let roles = file
        .roles
        .ok_or_else(|| err(0, "missing [roles] table".into()))?;
    let roles_at = roles.span().start;
    let table = roles.into_inner();
    for (key, value) in &table {
        // toml::Table does not keep spans per entry; find the key's line by text.
        let at = find_key(text, roles_at, key).unwrap_or(roles_at);
        let role = Role::from_name(key).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
            err(
                at,
                format!("unknown role {key:?} (roles: {})", known.join(", ")),
            )
        })?;
        let style = role_style(value).map_err(|m| err(at, format!("role {key:?}: {m}")))?;
        styles[role.index()] = Some(style);
    }
    let mut out = [Style::default(); Role::ALL.len()];
    for role in Role::ALL {
        out[role.index()] = match (styles[role.index()], base) {
            (Some(s), _) => s,
            (None, Some(b)) => b.style(role),
            (None, None) => return Err(err(roles_at, format!("missing role {:?}", role.name()))),
        };
    }
    let background = match (&file.background, base) {
        (Some(c), _) => parse_color(c).map_err(|m| {
            let at = find_key(text, 0, "background").unwrap_or(0);
            err(at, format!("background: {m}"))
        })?,
        (None, Some(b)) => b.background,
        (None, None) => Color::Black,
    };
    let min_contrast = match (file.min_contrast, base) {
        (Some(m), _) if (1.0..=21.0).contains(&m) => m,
        (Some(m), _) => {
            let at = find_key(text, 0, "min_contrast").unwrap_or(0);
            return Err(err(at, format!("min_contrast {m} is not in 1-21")));
        }
        (None, Some(b)) => b.min_contrast,
        (None, None) => super::WCAG_AA,
    };
    Ok(Theme {
        name: file.name.unwrap_or_else(|| origin.to_owned()),
        mono: file.mono,
        background,
        min_contrast,
        styles: out,
    })
}

fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let rest = text.get(from..)?;
    let mut offset = from;
    for line in rest.split_inclusive('\n') {
        let t = line.trim_start();
        let name = t.split(['=', ' ']).next().unwrap_or("").trim_matches('"');
        if name == key {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

fn role_style(value: &toml::Value) -> Result<Style, String> {
    match value {
        toml::Value::String(c) => Ok(Style::default().fg(parse_color(c)?)),
        toml::Value::Table(t) => {
            let mut style = Style::default();
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("fg", toml::Value::String(c)) => style = style.fg(parse_color(c)?),
                    ("bg", toml::Value::String(c)) => style = style.bg(parse_color(c)?),
                    ("fg" | "bg", _) => return Err(format!("{k} must be a string colour")),
                    (name, toml::Value::Boolean(on)) => {
                        let m = modifier_names()
                            .into_iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, m)| m)
                            .ok_or_else(|| unknown_attr(name))?;
                        if *on {
                            style = style.add_modifier(m);
                        }
                    }
                    (name, _) if modifier_names().iter().any(|(n, _)| *n == name) => {
                        return Err(format!("{name} must be true or false"));
                    }
                    (name, _) => return Err(unknown_attr(name)),
                }
            }
            Ok(style)
        }
        toml::Value::Integer(i) => {
            let i = u8::try_from(*i).map_err(|_| format!("colour index {i} is not in 0-255"))?;
            Ok(Style::default().fg(Color::Indexed(i)))
        }
        _ => Err("expected a colour string or a table like { fg = \"red\", bold = true }".into()),
    }
}

fn unknown_attr(name: &str) -> String {
    let names: Vec<&str> = modifier_names().iter().map(|(n, _)| *n).collect();
    format!("unknown attribute {name:?} (fg, bg, {})", names.join(", "))
}
