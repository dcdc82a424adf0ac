//! Colours: parsing theme values, fitting them to what the terminal can show,
//! and measuring contrast.

use std::str::FromStr;

use ratatui::style::Color;

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
    /// No colour at all (NO_COLOR): attributes only.
    Mono,
}

impl ColorDepth {
    /// Reads the environment the way terminals advertise themselves:
    /// `NO_COLOR` (any value) wins, then `COLORTERM`, then `TERM`.
    pub fn detect(get: impl Fn(&str) -> Option<String>) -> ColorDepth {
        if get("NO_COLOR").is_some() {
            return ColorDepth::Mono;
        }
        let colorterm = get("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColorDepth::TrueColor;
        }
        let term = get("TERM").unwrap_or_default();
        if term.contains("256color") {
            ColorDepth::Ansi256
        } else if term == "dumb" {
            ColorDepth::Mono
        } else {
            ColorDepth::Ansi16
        }
    }
}

/// Parses a theme colour: a name (`red`, `lightblue`, `reset`...), `#rrggbb`,
/// or a 256-colour index `0`..`255`.
pub fn parse_color(s: &str) -> Result<Color, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty colour".into());
    }
    if let Some(hex) = t.strip_prefix('#')
        && (hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!("{s:?} is not a #rrggbb colour"));
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {s:?} is not in 0-255"));
    }
    Color::from_str(t).map_err(|_| {
        format!("{s:?} is not a colour (a name like \"red\" or \"lightcyan\", \"#rrggbb\", or an index 0-255)")
    })
}

/// The 16 ANSI colours as xterm draws them.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// The RGB value of a colour, where it has a fixed one.
pub fn rgb_of(c: Color) -> Option<(u8, u8, u8)> {
    match c {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => Some(xterm256_rgb(i)),
        Color::Reset => None,
        named => ANSI16
            .iter()
            .find(|(n, _)| *n == named)
            .map(|(_, rgb)| *rgb),
    }
}

fn xterm256_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize].1,
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2) as u32;
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// Fits a colour to the terminal's depth: nearest 256-colour index or
/// nearest of the 16 ANSI colours. `Mono` drops colour (`Reset`).
pub fn fit(c: Color, depth: ColorDepth) -> Color {
    match (depth, c) {
        (ColorDepth::Mono, _) => Color::Reset,
        (ColorDepth::TrueColor, _) | (_, Color::Reset) => c,
        (ColorDepth::Ansi256, Color::Rgb(r, g, b)) => {
            let best = (16..=255u8)
                .min_by_key(|&i| distance(xterm256_rgb(i), (r, g, b)))
                .unwrap_or(16);
            Color::Indexed(best)
        }
        (ColorDepth::Ansi256, _) => c,
        (ColorDepth::Ansi16, c) => match rgb_of(c) {
            Some(rgb) if matches!(c, Color::Rgb(..) | Color::Indexed(_)) => ANSI16
                .iter()
                .min_by_key(|(_, x)| distance(*x, rgb))
                .map_or(c, |(n, _)| *n),
            _ => c,
        },
    }
}

/// Distance that also counts a change of colourfulness, so a grey is
/// replaced by a grey, not by a blue of similar lightness.
fn hue_distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let chroma = |(r, g, b): (u8, u8, u8)| i32::from(r.max(g).max(b)) - i32::from(r.min(g).min(b));
    distance(a, b) + (chroma(a) - chroma(b)).pow(2) as u32 * 2
}

/// [`fit`], but where the theme's colour read on `against` (at `min`
/// contrast) and its nearest palette entry would not, the nearest entry
/// that does: downsampling never makes readable text unreadable.
pub fn fit_readable(c: Color, against: (u8, u8, u8), min: f64, depth: ColorDepth) -> Color {
    let fitted = fit(c, depth);
    let reads = |x: Color| rgb_of(x).is_some_and(|x| contrast_ratio(x, against) >= min);
    let Some(wanted) = rgb_of(c) else {
        return fitted;
    };
    if reads(fitted) || !reads(c) {
        return fitted;
    }
    let candidates: Vec<Color> = match depth {
        ColorDepth::Ansi16 => ANSI16.iter().map(|(n, _)| *n).collect(),
        ColorDepth::Ansi256 => (16..=255u8).map(Color::Indexed).collect(),
        ColorDepth::TrueColor | ColorDepth::Mono => Vec::new(),
    };
    candidates
        .into_iter()
        .filter(|x| reads(*x))
        .min_by_key(|x| rgb_of(*x).map_or(u32::MAX, |rgb| hue_distance(rgb, wanted)))
        .unwrap_or(fitted)
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG 2 contrast ratio between two colours (1.0 to 21.0).
pub fn contrast_ratio(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_hex_and_indices_and_rejects_the_rest() {
        assert_eq!(parse_color("red"), Ok(Color::Red));
        assert_eq!(parse_color("#0a0B0c"), Ok(Color::Rgb(10, 11, 12)));
        assert_eq!(parse_color("208"), Ok(Color::Indexed(208)));
        assert!(parse_color("256").unwrap_err().contains("0-255"));
        assert!(parse_color("#12345").is_err());
        assert!(parse_color("#gggggg").is_err());
        assert!(parse_color("blurple").unwrap_err().contains("not a colour"));
    }

    #[test]
    fn depth_follows_no_color_then_colorterm_then_term() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            ColorDepth::detect(env(&[("NO_COLOR", ""), ("COLORTERM", "truecolor")])),
            ColorDepth::Mono
        );
        assert_eq!(
            ColorDepth::detect(env(&[("COLORTERM", "truecolor")])),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "tmux-256color")])),
            ColorDepth::Ansi256
        );
        assert_eq!(
            ColorDepth::detect(env(&[("TERM", "screen")])),
            ColorDepth::Ansi16
        );
    }

    #[test]
    fn fitting_maps_rgb_to_the_nearest_palette_entry() {
        assert_eq!(
            fit(Color::Rgb(255, 0, 0), ColorDepth::Ansi16),
            Color::LightRed
        );
        assert_eq!(
            fit(Color::Rgb(0, 0, 0), ColorDepth::Ansi256),
            Color::Indexed(16)
        );
        assert_eq!(
            fit(Color::Rgb(128, 128, 128), ColorDepth::Ansi256),
            Color::Indexed(244)
        );
        assert_eq!(
            fit(Color::Indexed(196), ColorDepth::Ansi16),
            Color::LightRed
        );
        assert_eq!(fit(Color::Red, ColorDepth::Mono), Color::Reset);
        assert_eq!(
            fit(Color::Rgb(1, 2, 3), ColorDepth::TrueColor),
            Color::Rgb(1, 2, 3)
        );
    }

    #[test]
    fn fitting_for_readability_skips_palette_entries_that_would_not_read() {
        // #5f5f5f reads on white (6.4), its nearest ANSI colour (dark grey) does not (4.0).
        let white = (255, 255, 255);
        assert_eq!(
            fit(Color::Rgb(95, 95, 95), ColorDepth::Ansi16),
            Color::DarkGray
        );
        assert_eq!(
            fit_readable(Color::Rgb(95, 95, 95), white, 4.5, ColorDepth::Ansi16),
            Color::Black
        );
        // Already readable after fitting: unchanged.
        assert_eq!(
            fit_readable(Color::Rgb(175, 0, 0), white, 4.5, ColorDepth::Ansi16),
            Color::Red
        );
    }

    #[test]
    fn contrast_of_black_on_white_is_21() {
        assert!((contrast_ratio((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio((10, 10, 10), (10, 10, 10)) - 1.0).abs() < 1e-9);
    }
}
