use ratatui::style::{Color, Modifier};

use super::*;

#[test]
fn every_builtin_theme_parses_with_every_role() {
    for (name, _) in BUILTIN {
        let t = Theme::builtin(name).unwrap_or_else(|| panic!("built-in theme {name} must parse"));
        assert_eq!(t.name, name);
    }
}

#[test]
fn high_contrast_meets_wcag_aaa_wherever_both_colours_are_set() {
    let t = Theme::builtin("high-contrast").unwrap();
    let mut checked = 0;
    for role in Role::ALL {
        let s = t.style(role);
        if let (Some(fg), Some(bg)) = (s.fg.and_then(rgb_of), s.bg.and_then(rgb_of)) {
            let ratio = contrast_ratio(fg, bg);
            assert!(ratio >= 7.0, "{}: contrast {ratio:.2} < 7", role.name());
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        Role::ALL.len(),
        "high-contrast sets both colours on every role"
    );
}

#[test]
fn colorblind_status_colours_differ_in_lightness_not_only_hue() {
    let t = Theme::builtin("colorblind").unwrap();
    let lum = |r: Role| luminance(t.style(r).fg.and_then(rgb_of).unwrap());
    // Okabe–Ito blue (ok) against vermillion (regression): distinguishable without hue.
    let (ok, bad) = (lum(Role::Ok), lum(Role::Regression));
    assert!((ok - bad).abs() > 0.05, "ok {ok:.3} vs regression {bad:.3}");
    assert!(
        t.style(Role::Regression)
            .add_modifier
            .contains(Modifier::REVERSED)
    );
}

#[test]
fn mono_theme_and_mono_depth_set_no_colour_at_all() {
    let mono = Theme::builtin("mono")
        .unwrap()
        .for_depth(ColorDepth::TrueColor);
    let dark_no_color = Theme::default_theme().for_depth(ColorDepth::Mono);
    for t in [mono, dark_no_color] {
        for role in Role::ALL {
            let s = t.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{} in {}", role.name(), t.name);
        }
    }
    let mono = Theme::builtin("mono").unwrap();
    assert!(
        mono.style(Role::Selection)
            .add_modifier
            .contains(Modifier::REVERSED)
    );
}

#[test]
fn depth_256_leaves_only_indexed_colours() {
    let t = Theme::default_theme().for_depth(ColorDepth::Ansi256);
    for role in Role::ALL {
        for c in [t.style(role).fg, t.style(role).bg].into_iter().flatten() {
            assert!(matches!(c, Color::Indexed(_)), "{}: {c:?}", role.name());
        }
    }
}

#[test]
fn missing_roles_fall_back_to_dark() {
    let t = Theme::parse("name = \"mine\"\n[roles]\nok = \"blue\"\n", "mine.toml").unwrap();
    assert_eq!(t.style(Role::Ok).fg, Some(Color::Blue));
    assert_eq!(
        t.style(Role::Text),
        Theme::default_theme().style(Role::Text)
    );
}

#[test]
fn bad_colour_names_file_line_and_role() {
    let text = "name = \"x\"\n[roles]\ntext = \"white\"\nok = \"#12zz45\"\n";
    let e = Theme::parse(text, "/home/u/.config/qualtop/themes/x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/home/u/.config/qualtop/themes/x.toml:4:"),
        "{e}"
    );
    assert!(e.contains("\"ok\""), "{e}");
}

#[test]
fn unknown_role_and_unknown_attribute_are_errors_with_lines() {
    let e = Theme::parse("[roles]\ntext = \"white\"\nsparkle = \"red\"\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:3:") && e.contains("unknown role \"sparkle\""),
        "{e}"
    );
    let e = Theme::parse("[roles]\nok = { fg = \"red\", blink = true }\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:2:") && e.contains("unknown attribute \"blink\""),
        "{e}"
    );
    let e = Theme::parse("colour = 1\n[roles]\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("t.toml:1:") && e.contains("colour"), "{e}");
}

#[test]
fn toml_syntax_errors_carry_the_line() {
    let e = Theme::parse("[roles]\nok = \"red\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("t.toml:2:"), "{e}");
}

#[test]
fn load_finds_builtin_user_and_path_themes_and_names_unknown_ones() {
    let dir = std::env::temp_dir().join(format!("qualtop-theme-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("night.toml"),
        "name = \"night\"\n[roles]\nok = \"green\"\n",
    )
    .unwrap();
    assert_eq!(Theme::load("light", Some(&dir)).unwrap().name, "light");
    assert_eq!(Theme::load("night", Some(&dir)).unwrap().name, "night");
    let path = dir.join("night.toml");
    assert_eq!(
        Theme::load(path.to_str().unwrap(), None).unwrap().name,
        "night"
    );
    let e = Theme::load("nope", Some(&dir)).unwrap_err().to_string();
    assert!(
        e.contains("nope") && e.contains("high-contrast") && e.contains("night"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_theme_names_its_background_and_contrast_and_user_themes_inherit_them() {
    let t = Theme::parse(
        "background = \"white\"\nmin_contrast = 7.0\n[roles]\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!((t.background, t.min_contrast), (Color::White, 7.0));
    let t = Theme::parse("[roles]\n", "t.toml").unwrap();
    assert_eq!((t.background, t.min_contrast), (Color::Black, 4.5));
    let e = Theme::parse("name = \"x\"\nmin_contrast = 40.0\n[roles]\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:2:") && e.contains("min_contrast"),
        "{e}"
    );
    let e = Theme::parse("background = \"beige-ish\"\n[roles]\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:1:") && e.contains("background"),
        "{e}"
    );
}
