//! Figures as short text, the same on screen and in `qualtop snapshot`.

use unicode_width::UnicodeWidthStr;

use crate::protocol::Millis;

/// Shown for a figure that has no data; ASCII so `--ascii` output stays ASCII.
pub const MISSING: &str = "-";

/// A rate as a percentage with two decimals: `99.97%`.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.2}%", r * 100.0),
        None => MISSING.to_owned(),
    }
}

/// A change in percentage points, signed: `-2.31pp`.
pub fn points(pp: Option<f64>) -> String {
    match pp {
        // Round first so that -0.004 does not print as "-0.00".
        Some(v) if (v * 100.0).round() == 0.0 => " 0.00pp".to_owned(),
        Some(v) => format!("{v:+.2}pp"),
        None => MISSING.to_owned(),
    }
}

/// A count in at most six characters: `999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
    for (size, unit) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if v < 100.0 {
                format!("{v:.1}{unit}")
            } else {
                format!("{v:.0}{unit}")
            };
        }
    }
    n.to_string()
}

/// A gauge value with its unit: `812ms`, `0.93`.
pub fn gauge(value: Option<f64>, unit: Option<&str>) -> String {
    match value {
        None => MISSING.to_owned(),
        Some(v) => {
            let digits = if v.abs() >= 100.0 {
                0
            } else if v.abs() >= 10.0 {
                1
            } else {
                2
            };
            format!("{v:.digits$}{}", unit.unwrap_or(""))
        }
    }
}

/// A duration in its two largest units: `45s`, `12m`, `1h30m`, `3d`.
pub fn duration(ms: Millis) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 if s % 60 == 0 || s >= 600 => format!("{}m", s / 60),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86400),
    }
}

/// Data time of day in UTC: `07:26:58 UTC` (one rendering, in `clock`).
pub use crate::text::time::time_of_day as utc_clock;

/// Data time to the minute in UTC: `07:26 UTC`.
pub use crate::text::time::hour_minute as utc_minute;

/// Separators between a leaf's dimension values, widest first.
const NAME_SEPARATORS: [&str; 2] = [" / ", "/"];

/// Cuts a clean name to `width` terminal columns in the middle, with
/// `ellipsis` where text was left out. A path of dimension values keeps its
/// last part whole and shortens the others to their start and short suffix,
/// so values that differ in either still read apart (`atlas-m`, `atlas-xl`;
/// `us-east`, `us-west`): `atlas-xl / api / europe-west-4 / tpu` becomes
/// `at…xl / api / euro…4 / tpu`.
/// Other text loses its middle: `ab…ij`.
pub fn shorten_middle(s: &str, width: usize, ellipsis: &str) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    NAME_SEPARATORS
        .iter()
        .find(|sep| s.contains(*sep))
        .and_then(|sep| shorten_parts(s, sep, width, ellipsis))
        .unwrap_or_else(|| cut_middle(s, width, ellipsis))
}

/// Shortens every part but the last, short parts whole and long ones
/// sharing what is left evenly; `None` if even one column each won't fit.
fn shorten_parts(s: &str, sep: &str, width: usize, ellipsis: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(sep).collect();
    let (last, rest) = parts.split_last()?;
    let fixed = last.width() + sep.width() * rest.len();
    let room = width.checked_sub(fixed)?;
    // Each shortened part keeps two columns (one wide character) and the ellipsis.
    if rest.is_empty() || room < (2 + ellipsis.width()) * rest.len() {
        return None;
    }
    let mut widths = vec![0; rest.len()];
    let mut by_width: Vec<usize> = (0..rest.len()).collect();
    by_width.sort_by_key(|&i| rest[i].width());
    let mut left = room;
    for (k, &i) in by_width.iter().enumerate() {
        let share = left / (rest.len() - k);
        widths[i] = rest[i].width().min(share);
        left -= widths[i];
    }
    // What even shares left over goes to the first parts that were cut.
    for (i, part) in rest.iter().enumerate() {
        let extra = (part.width() - widths[i]).min(left);
        widths[i] += extra;
        left -= extra;
    }
    let shown: Vec<String> = rest
        .iter()
        .zip(widths)
        .map(|(part, w)| {
            if part.width() <= w {
                (*part).to_owned()
            } else {
                shorten_part(part, w, ellipsis)
            }
        })
        .collect();
    Some(format!("{}{sep}{last}", shown.join(sep)))
}

/// Longest suffix kept when a value is shortened: `-xl`, `-2`, `-v5`.
const SHORT_SUFFIX: usize = 3;

/// One dimension value in `width` columns: its start, and its short
/// suffix if it has one (`atlas-xl` → `at…xl`, `us-west` → `us-w…`).
fn shorten_part(part: &str, width: usize, ellipsis: &str) -> String {
    let suffix = part
        .rsplit_once('-')
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty() && s.width() <= SHORT_SUFFIX)
        .map_or(0, UnicodeWidthStr::width);
    // The suffix only if at least two columns of the start remain.
    let keep = if suffix > 0 && suffix + 2 + ellipsis.width() <= width {
        suffix
    } else {
        0
    };
    let head = width.saturating_sub(ellipsis.width() + keep);
    format!(
        "{}{ellipsis}{}",
        take_start(part, head),
        take_end(part, keep)
    )
}

/// The start and the end of `s` around `ellipsis`, in `width` columns.
fn cut_middle(s: &str, width: usize, ellipsis: &str) -> String {
    let budget = width.saturating_sub(ellipsis.width());
    if budget == 0 {
        return take_start(ellipsis, width);
    }
    // The start gets the odd column: it is what a reader scans.
    let tail = budget / 2;
    format!(
        "{}{ellipsis}{}",
        take_start(s, budget - tail),
        take_end(s, tail)
    )
}

/// The longest start of `s` at most `width` columns wide.
fn take_start(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect()
}

/// The longest end of `s` at most `width` columns wide.
fn take_end(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut used = 0;
    let mut tail: Vec<char> = s
        .chars()
        .rev()
        .take_while(|c| {
            used += c.width().unwrap_or(0);
            used <= width
        })
        .collect();
    tail.reverse();
    tail.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_every_dimension_start_and_the_last_one_whole() {
        let leaf = "atlas-m / api / eu-west / tpu";
        assert_eq!(shorten_middle(leaf, 100, "…"), leaf);
        assert_eq!(shorten_middle(leaf, 24, "…"), "at…m / api / eu-w… / tpu");
        assert_eq!(
            shorten_middle("atlas-m/api/eu-west/tpu", 20, "…"),
            "atl…m/api/eu-we…/tpu"
        );
        assert_eq!(
            shorten_middle("atlas-xl / api / europe-west-4 / tpu", 26, "…"),
            "at…xl / api / euro…4 / tpu"
        );
        // Leaves differing only in a middle dimension stay apart.
        let a = shorten_middle(
            "atlas-m-instruct / stratus / europe-west-4 / tpu-v5e",
            30,
            "…",
        );
        let b = shorten_middle("atlas-m-instruct / stratus / us-east-1 / tpu-v5e", 30, "…");
        assert_ne!(a, b);
        assert!(a.ends_with(" / tpu-v5e") && a.width() <= 30, "{a}");
        // Too narrow for every part: the middle of the whole text goes.
        assert_eq!(
            shorten_middle("m / a-very-long-hardware-name", 12, "…"),
            "m / a-…-name"
        );
    }

    #[test]
    fn middle_cuts_fit_the_width_in_terminal_cells() {
        for name in [
            "atlas-m/api/eu-west/tpu",
            "日本語/テキスト/長い名前",
            "plain-name-without-parts-at-all",
        ] {
            for w in 0..30 {
                for ell in ["…", "~"] {
                    let cut = shorten_middle(name, w, ell);
                    assert!(cut.width() <= w, "{name} at {w}: {cut:?}");
                    if name.width() > w && w >= 6 && name.is_ascii() {
                        assert!(cut.contains(ell), "{name} at {w}: {cut:?}");
                        let first = name.chars().next().unwrap_or_default();
                        assert!(cut.starts_with(first), "{cut:?} keeps the start");
                    }
                }
            }
        }
        assert_eq!(
            shorten_middle("atlas-m/api/eu-west/tpu", 16, "~"),
            "at~/api/eu-~/tpu"
        );
        assert_eq!(shorten_middle("abcdefghij", 5, "…"), "ab…ij");
    }

    #[test]
    fn figures_are_short_and_signed() {
        assert_eq!(percent(Some(0.9997)), "99.97%");
        assert_eq!(percent(None), MISSING);
        assert_eq!(points(Some(-2.314)), "-2.31pp");
        assert_eq!(points(Some(0.5)), "+0.50pp");
        assert_eq!(points(Some(-0.001)), " 0.00pp");
        assert_eq!(count(999), "999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(456_789), "457k");
        assert_eq!(count(4_500_000), "4.5M");
    }

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(125_000), "2m5s");
        assert_eq!(duration(7_200_000), "2h");
        assert_eq!(duration(5_400_000), "1h30m");
        assert_eq!(duration(3 * 86_400_000), "3d");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn clock_is_time_of_day_in_utc() {
        assert_eq!(utc_clock(0), "00:00:00 UTC");
        assert_eq!(utc_clock(86_400_000 + 3_723_000), "01:02:03 UTC");
    }
}
