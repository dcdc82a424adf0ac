//! Every role of every built-in theme, on the normal and on the selected
//! background, at 16, 256 and truecolour, reads at WCAG AA (4.5:1), or at
//! what the theme promises (high-contrast: 7:1).
//!
//! Colours are resolved as the renderer resolves them: `Theme::for_depth`
//! (the same `fit` downsampling) and `paint_selected` (what the table does
//! to a selected row's cells). At 16 colours the terminal's palette is
//! unknown; we assume xterm's default palette (`rgb_of`: red 205,0,0,
//! bright red 255,0,0, blue 0,0,238 ...), the common default.

use qualtop::theme::{BUILTIN, ColorDepth, Role, Theme, contrast_ratio, paint_selected, rgb_of};
use ratatui::style::{Color, Modifier, Style};

const DEPTHS: [ColorDepth; 3] = [
    ColorDepth::Ansi16,
    ColorDepth::Ansi256,
    ColorDepth::TrueColor,
];

fn rgb(c: Color, what: &str) -> (u8, u8, u8) {
    rgb_of(c).unwrap_or_else(|| panic!("{what}: {c:?} has no fixed colour"))
}

/// Foreground and background as drawn: the role's own, else the terminal's
/// background the theme assumes. Reverse video swaps them, which leaves the
/// ratio unchanged.
fn ratio(style: Style, background: Color, what: &str) -> f64 {
    let fg = style.fg.unwrap_or_else(|| panic!("{what}: no foreground"));
    let bg = style.bg.unwrap_or(background);
    contrast_ratio(rgb(fg, what), rgb(bg, what))
}

fn colour_themes() -> Vec<Theme> {
    BUILTIN
        .iter()
        .filter_map(|(name, _)| Theme::builtin(name))
        .filter(|t| !t.mono)
        .collect()
}

#[test]
fn every_role_reads_on_normal_and_selected_background_at_every_depth() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for theme in colour_themes() {
        for depth in DEPTHS {
            let fitted = theme.for_depth(depth);
            let selection = fitted.style(Role::Selection);
            for role in Role::ALL {
                let normal = fitted.style(role);
                let selected = paint_selected(normal, selection, fitted.min_contrast);
                for (bg_name, style) in [("normal", normal), ("selected", selected)] {
                    let what = format!("{} {depth:?} {} on {bg_name}", theme.name, role.name());
                    let r = ratio(style, fitted.background, &what);
                    checked += 1;
                    if r < theme.min_contrast {
                        failures.push(format!("{what}: {r:.2} < {}", theme.min_contrast));
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 3 * Role::ALL.len() * 2, "every combination");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn high_contrast_promises_seven_and_the_others_at_least_aa() {
    for theme in colour_themes() {
        let want = if theme.name == "high-contrast" {
            7.0
        } else {
            4.5
        };
        assert_eq!(theme.min_contrast, want, "{}", theme.name);
    }
}

#[test]
fn the_selection_differs_from_the_background_at_every_depth() {
    for theme in colour_themes() {
        for depth in DEPTHS {
            let fitted = theme.for_depth(depth);
            let sel = fitted.style(Role::Selection);
            let what = format!("{} {depth:?} selection", theme.name);
            let text_bg = fitted.style(Role::Text).bg.unwrap_or(fitted.background);
            let sel_bg = sel.bg.unwrap_or_else(|| panic!("{what}: no background"));
            let r = contrast_ratio(rgb(sel_bg, &what), rgb(text_bg, &what));
            // A selection bar as dark as the screen would not be seen.
            assert!(r >= 1.2, "{what}: bar vs screen {r:.2}");
        }
    }
}

#[test]
fn status_colours_survive_on_the_selected_row_in_truecolour() {
    // The fallback to the selection's colour is a safety net, not the design:
    // in truecolour the selected row still shows what is wrong in colour.
    for name in ["dark", "light", "colorblind"] {
        let theme = Theme::builtin(name)
            .unwrap()
            .for_depth(ColorDepth::TrueColor);
        let sel = theme.style(Role::Selection);
        for role in [
            Role::Regression,
            Role::Watch,
            Role::Availability,
            Role::Quality,
        ] {
            let normal = theme.style(role);
            let painted = paint_selected(normal, sel, theme.min_contrast);
            assert_eq!(
                painted.fg,
                normal.fg,
                "{name} {} lost its colour",
                role.name()
            );
        }
    }
}

#[test]
fn colorblind_never_tells_regression_from_ok_by_red_and_green_alone() {
    let t = Theme::builtin("colorblind").unwrap();
    let hue_free = |r: Role| {
        let s = t.style(r);
        (
            s.add_modifier,
            s.fg.and_then(rgb_of).map(qualtop::theme::luminance),
        )
    };
    let (ok, bad) = (hue_free(Role::Ok), hue_free(Role::Regression));
    assert!(
        bad.0.contains(Modifier::REVERSED),
        "regression in reverse video"
    );
    assert!(!ok.0.contains(Modifier::REVERSED));
    let (ok, bad) = (ok.1.unwrap(), bad.1.unwrap());
    assert!(
        (ok - bad).abs() > 0.05,
        "lightness differs: {ok:.3} vs {bad:.3}"
    );
}

#[test]
fn mono_uses_attributes_only_and_its_selection_still_shows() {
    let mono = Theme::builtin("mono").unwrap();
    for depth in DEPTHS.into_iter().chain([ColorDepth::Mono]) {
        let t = mono.for_depth(depth);
        for role in Role::ALL {
            let s = t.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{} at {depth:?}", role.name());
        }
        let sel = t.style(Role::Selection);
        assert!(sel.add_modifier.contains(Modifier::REVERSED));
        let text = t.style(Role::Text);
        let painted = paint_selected(text, sel, t.min_contrast);
        assert_ne!(painted, text, "a selected plain cell looks selected");
        let regression = paint_selected(t.style(Role::Regression), sel, t.min_contrast);
        assert!(
            regression.add_modifier.contains(Modifier::BOLD),
            "REGRESSION stands out on the bar"
        );
        assert_ne!(regression, painted);
    }
}
