//! Sparklines as text, with gaps where data is missing. Built on the
//! `sparklines` crate, one run of present values at a time, so the scale is
//! shared and a gap stays a gap instead of closing up or reading as zero.

use crate::view::{AVAILABILITY_NINES, RatioTrend};

use sparklines::{StringSpark, TICKS};

/// Lowest to highest, for `--ascii`.
pub const ASCII_TICKS: [char; 8] = ['_', '.', ':', '-', '=', '+', '*', '#'];
const GAP: char = ' ';

/// Exactly `width` characters: the cells right-aligned (newest at the right
/// edge), each present cell a tick scaled to `range`, each missing one a gap.
pub fn spark(cells: &[Option<f64>], range: (f64, f64), width: usize, ascii: bool) -> String {
    let ticks: &[char] = if ascii { &ASCII_TICKS } else { &TICKS };
    let cells = &cells[cells.len().saturating_sub(width)..];
    let mut out = String::with_capacity(width * 3);
    out.extend(std::iter::repeat_n(GAP, width - cells.len()));
    let (lo, hi) = range;
    let mut run: Vec<f64> = Vec::with_capacity(cells.len());
    let flush = |run: &mut Vec<f64>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        if hi > lo {
            if let Ok(s) =
                StringSpark::<sparklines::BuildAlgorithmicIndexer>::new_with_min_max(ticks, lo, hi)
            {
                out.push_str(&s.spark(run));
            }
        } else {
            out.extend(std::iter::repeat_n(ticks[ticks.len() / 2], run.len()));
        }
        run.clear();
    };
    for cell in cells {
        match cell {
            Some(v) if v.is_finite() => run.push(*v),
            _ => {
                flush(&mut run, &mut out);
                out.push(GAP);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Availability in nines on one scale for every row ([`AVAILABILITY_NINES`]):
/// a fixed 99–100 % range drew a solid bar, its own range blew noise up.
pub fn availability_spark(trend: &RatioTrend, width: usize, ascii: bool) -> String {
    let cells = trend.nines_cells(width);
    if cells.iter().all(Option::is_none) {
        return String::new();
    }
    spark(&cells, AVAILABILITY_NINES, width, ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cells_are_gaps_not_the_lowest_tick() {
        let s = spark(&[Some(0.0), None, Some(1.0)], (0.0, 1.0), 3, false);
        assert_eq!(s, "▁ █");
    }

    #[test]
    fn short_series_are_right_aligned_to_the_width() {
        let s = spark(&[Some(1.0)], (0.0, 1.0), 4, true);
        assert_eq!(s, "   #");
    }

    #[test]
    fn long_series_keep_the_newest_cells() {
        let s = spark(&[Some(0.0), Some(0.0), Some(1.0)], (0.0, 1.0), 2, true);
        assert_eq!(s, "_#");
    }

    #[test]
    fn values_outside_the_range_are_clamped_to_the_end_ticks() {
        let s = spark(&[Some(-5.0), Some(5.0)], (0.0, 1.0), 2, false);
        assert_eq!(s, "▁█");
    }
}
