//! Themes: a table of semantic roles → styles, loaded from TOML. The built-in
//! themes (top-level `themes/`) are embedded, since a bastion host may have
//! only the binary.

mod color;
mod parse;
mod role;
mod selection;
#[cfg(test)]
mod tests;

pub use color::{ColorDepth, contrast_ratio, fit, fit_readable, luminance, parse_color, rgb_of};
pub use parse::ThemeError;
pub use role::Role;
pub use selection::{WCAG_AA, paint_selected, readable};

use std::path::Path;
use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};

/// Built-in themes: (name, TOML source).
pub const BUILTIN: [(&str, &str); 5] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// A mono theme never sets a colour, whatever the terminal can do.
    pub mono: bool,
    /// The terminal background this theme is drawn on (it paints none of
    /// its own): what contrast is measured against.
    pub background: Color,
    /// Least WCAG contrast every role keeps (4.5 = AA; high-contrast 7).
    pub min_contrast: f64,
    styles: [Style; Role::ALL.len()],
}

impl Theme {
    /// The style of a role.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    /// The default theme, `dark`.
    pub fn default_theme() -> Theme {
        // Parsed once: every user theme falls back to it, key by key.
        static DARK: OnceLock<Theme> = OnceLock::new();
        DARK.get_or_init(|| {
            // The embedded dark theme is tested to parse; fall back to plain
            // styles rather than panic if that ever broke.
            Theme::builtin("dark").unwrap_or_else(|| Theme {
                name: "dark".into(),
                mono: false,
                background: Color::Black,
                min_contrast: WCAG_AA,
                styles: [Style::default(); Role::ALL.len()],
            })
        })
        .clone()
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, src) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        parse::parse(src, &format!("built-in theme {name}"), None).ok()
    }

    /// Parses a theme file's text; roles it leaves out come from `dark`.
    /// `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        parse::parse(text, origin, Some(&Theme::default_theme()))
    }

    /// A theme by built-in name, by name in `user_dir` (`NAME.toml`), or by path.
    pub fn load(name_or_path: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        if let Some(t) = Theme::builtin(name_or_path) {
            return Ok(t);
        }
        let looks_like_path = name_or_path.contains('/')
            || Path::new(name_or_path)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let path = if looks_like_path {
            Path::new(name_or_path).to_path_buf()
        } else if let Some(dir) = user_dir
            .map(|d| d.join(format!("{name_or_path}.toml")))
            .filter(|p| p.exists())
        {
            dir
        } else {
            return Err(ThemeError::Unknown {
                name: name_or_path.to_owned(),
                known: Theme::names(user_dir).join(", "),
            });
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Io {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Theme::parse(&text, &path.display().to_string())
    }

    /// Names of the built-in themes, then the user's own.
    pub fn names(user_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(Ok(entries)) = user_dir.map(std::fs::read_dir) {
            let mut own: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".toml")
                        .map(str::to_owned)
                })
                .filter(|n| !names.contains(n))
                .collect();
            own.sort();
            names.extend(own);
        }
        names
    }

    /// This theme fitted to what the terminal can show. At `Mono` depth (or
    /// for a mono theme) every colour is dropped and only attributes remain.
    pub fn for_depth(&self, depth: ColorDepth) -> Theme {
        // No colour (NO_COLOR, a dumb terminal) means the mono theme: its
        // bold/reverse/underline carry what colours carried here.
        if depth == ColorDepth::Mono && !self.mono {
            return Theme::builtin("mono")
                .unwrap_or_else(|| self.clone())
                .for_depth(ColorDepth::Mono);
        }
        let depth = if self.mono { ColorDepth::Mono } else { depth };
        let mut t = self.clone();
        for s in &mut t.styles {
            let fitted = |c: Option<Color>| c.map(|c| fit(c, depth)).filter(|c| *c != Color::Reset);
            let bg = fitted(s.bg);
            let against = bg.or(s.bg).or(Some(self.background)).and_then(rgb_of);
            s.fg = match (s.fg, against) {
                (Some(fg), Some(against)) => {
                    Some(fit_readable(fg, against, self.min_contrast, depth))
                        .filter(|c| *c != Color::Reset)
                }
                (fg, _) => fitted(fg),
            };
            s.bg = bg;
        }
        if depth == ColorDepth::Mono {
            t.mono = true;
        }
        // Fitting moves fg and bg separately; keep the selection's pair readable.
        let sel = &mut t.styles[Role::Selection.index()];
        sel.fg = selection::readable_fg(sel.fg, sel.bg, self.min_contrast, depth);
        t
    }
}

fn modifier_names() -> [(&'static str, Modifier); 5] {
    [
        ("bold", Modifier::BOLD),
        ("dim", Modifier::DIM),
        ("italic", Modifier::ITALIC),
        ("underline", Modifier::UNDERLINED),
        ("reverse", Modifier::REVERSED),
    ]
}
