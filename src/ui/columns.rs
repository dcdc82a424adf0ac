//! Which table columns fit a width, and how wide each is. At 80 columns the
//! least urgent ones go; at 250 everything shows with long sparklines.

/// Space between columns.
pub const GAP: u16 = 1;
/// Longest the name column grows, and shortest it shrinks.
const NAME_MAX: u16 = 28;
const NAME_MIN: u16 = 10;
const SPARK_MIN: u16 = 6;
/// Widest the status column grows, for "REGRESSION regressed 14m".
const STATUS_MAX: u16 = 26;
/// Room for the status word, its onset and its change.
const STATUS_WORDS: u16 = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Name,
    AvailabilitySpark,
    Availability,
    QualitySpark,
    Quality,
    QualityRange,
    Change,
    Status,
    Requests,
    Evals,
    Latency,
}

impl Col {
    /// Left to right.
    pub const ORDER: [Col; 11] = [
        Col::Name,
        Col::AvailabilitySpark,
        Col::Availability,
        Col::QualitySpark,
        Col::Quality,
        Col::QualityRange,
        Col::Change,
        Col::Status,
        Col::Requests,
        Col::Evals,
        Col::Latency,
    ];
    /// Dropped first to last when the width is short. The name, the
    /// quality figure and the status word never go: they say what is wrong.
    const DROP_ORDER: [Col; 8] = [
        Col::QualityRange,
        Col::AvailabilitySpark,
        Col::Latency,
        Col::Evals,
        Col::Requests,
        Col::Change,
        Col::Availability,
        Col::QualitySpark,
    ];

    fn fixed_width(self) -> u16 {
        match self {
            Col::Name => NAME_MIN,
            Col::AvailabilitySpark => SPARK_MIN,
            // Quality is what on-call came for: its trend keeps some room.
            Col::QualitySpark => 2 * SPARK_MIN,
            Col::Availability | Col::Quality => 7,
            Col::QualityRange => 11,
            Col::Change => 8,
            // "REGRESSION"; the detection's words ("14m") when there is room.
            Col::Status => 10,
            Col::Requests | Col::Evals => 6,
            Col::Latency => 11,
        }
    }

    pub fn is_numeric(self) -> bool {
        !matches!(
            self,
            Col::Name | Col::AvailabilitySpark | Col::QualitySpark | Col::Status
        )
    }
}

/// The columns shown and their widths, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    pub columns: Vec<(Col, u16)>,
}

impl ColumnPlan {
    /// Plans `width` columns for names up to `longest_name` wide and series
    /// of `window` buckets (a sparkline wider than that has nothing to show).
    pub fn fit(width: u16, longest_name: u16, window: u16, has_latency: bool) -> Self {
        let mut cols: Vec<Col> = Col::ORDER
            .into_iter()
            .filter(|c| has_latency || *c != Col::Latency)
            .collect();
        let need = |cols: &[Col]| -> u16 {
            cols.iter().map(|c| c.fixed_width()).sum::<u16>()
                + GAP * (cols.len() as u16).saturating_sub(1)
        };
        for drop in Col::DROP_ORDER {
            if need(&cols) <= width {
                break;
            }
            cols.retain(|c| *c != drop);
        }
        let mut spare = width.saturating_sub(need(&cols));
        let mut widths: Vec<(Col, u16)> = cols.iter().map(|c| (*c, c.fixed_width())).collect();
        // The name first gets what it needs, then the sparklines share the
        // rest (quality, the point of the tool, gets the larger part).
        grow(
            &mut widths,
            Col::Name,
            longest_name.clamp(NAME_MIN, NAME_MAX),
            &mut spare,
        );
        // "REGRESSION 14:05 -3.1pp" says since when and how much: worth more
        // than the last cells of a sparkline once the sparklines have some room.
        if spare >= 40 {
            grow(&mut widths, Col::Status, STATUS_WORDS, &mut spare);
        }
        let window = window.max(SPARK_MIN);
        let has_avail_spark = cols.contains(&Col::AvailabilitySpark);
        let quality_share = if has_avail_spark {
            spare * 3 / 5
        } else {
            spare
        };
        let mut quality_spare = quality_share;
        grow(&mut widths, Col::QualitySpark, window, &mut quality_spare);
        spare = spare - quality_share + quality_spare;
        grow(&mut widths, Col::AvailabilitySpark, window, &mut spare);
        grow(&mut widths, Col::QualitySpark, window, &mut spare);
        grow(&mut widths, Col::Status, STATUS_MAX, &mut spare);
        ColumnPlan { columns: widths }
    }

    pub fn has(&self, col: Col) -> bool {
        self.width_of(col).is_some()
    }

    pub fn width_of(&self, col: Col) -> Option<u16> {
        self.columns
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, w)| *w)
    }

    pub fn total_width(&self) -> u16 {
        self.columns.iter().map(|(_, w)| w).sum::<u16>()
            + GAP * (self.columns.len() as u16).saturating_sub(1)
    }
}

/// Widens `col` towards `target` out of `spare`.
fn grow(widths: &mut [(Col, u16)], col: Col, target: u16, spare: &mut u16) {
    if let Some((_, w)) = widths.iter_mut().find(|(c, _)| *c == col) {
        let add = target.saturating_sub(*w).min(*spare);
        *w += add;
        *spare -= add;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_columns_keep_the_quality_figures_and_fit_exactly() {
        let plan = ColumnPlan::fit(80, 20, 120, true);
        assert!(plan.total_width() <= 80);
        for col in [
            Col::Name,
            Col::QualitySpark,
            Col::Quality,
            Col::Change,
            Col::Availability,
        ] {
            assert!(
                plan.width_of(col).is_some(),
                "{col:?} dropped at 80 columns"
            );
        }
        assert_eq!(plan.width_of(Col::Latency), None);
    }

    #[test]
    fn wide_screens_show_every_column_and_cap_sparklines_at_the_window() {
        let plan = ColumnPlan::fit(250, 20, 60, true);
        assert_eq!(plan.columns.len(), Col::ORDER.len());
        assert_eq!(plan.width_of(Col::QualitySpark), Some(60));
        assert!(plan.total_width() <= 250);
    }

    #[test]
    fn eighty_columns_keep_the_status_word_and_drop_range_and_availability_trend_first() {
        let plan = ColumnPlan::fit(80, 20, 60, true);
        assert!(plan.has(Col::Status), "{plan:?}");
        assert!(!plan.has(Col::QualityRange) && !plan.has(Col::AvailabilitySpark));
        assert!(
            plan.width_of(Col::Status).unwrap() >= 10,
            "room for REGRESSION"
        );
    }

    #[test]
    fn narrow_widths_drop_columns_until_the_table_fits() {
        // Name, quality and status never go: 10 + 7 + 10 and two gaps.
        for width in 29..120 {
            let plan = ColumnPlan::fit(width, 40, 120, true);
            assert!(plan.total_width() <= width, "{width}: {plan:?}");
            assert!(plan.has(Col::Quality) && plan.has(Col::Status) && plan.has(Col::Name));
        }
        // Below that the table is clipped by the frame, but planning still works.
        assert!(!ColumnPlan::fit(0, 40, 120, true).columns.is_empty());
    }
}
