//! Which table columns fit a width, and how wide each is. At 80 columns the
//! least urgent ones go; at 250 everything shows with long sparklines.

/// Space between columns.
pub const GAP: u16 = 1;
/// Shortest the name column shrinks to, and how far it grows before the
/// sparklines get their share (past that it takes what is left).
const NAME_MIN: u16 = 10;
const NAME_FIRST: u16 = 28;
const SPARK_MIN: u16 = 6;
/// Sparkline cells worth more than the rest of a long name: enough to see a shape.
const QUALITY_SPARK_FIRST: u16 = 30;
const AVAILABILITY_SPARK_FIRST: u16 = 20;
/// The longest status word, "REGRESSION": never cut.
pub const STATUS_WORD: u16 = 10;

/// What the rows would like: their longest name and status texts, the
/// series length, and whether there is a latency gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    pub name: u16,
    pub status: u16,
    pub window: u16,
    pub latency: bool,
}

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
    /// What a long status may push out, in this order: figures a glance can
    /// do without, never the quality trend or the figures beside the name.
    const OPTIONAL: [Col; 5] = [
        Col::QualityRange,
        Col::AvailabilitySpark,
        Col::Latency,
        Col::Evals,
        Col::Requests,
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
            // "REGRESSION"; the detection's words when there is room.
            Col::Status => STATUS_WORD,
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
    /// Plans `width` columns for what the rows want.
    pub fn fit(width: u16, wants: Wants) -> Self {
        let mut cols: Vec<Col> = Col::ORDER
            .into_iter()
            .filter(|c| wants.latency || *c != Col::Latency)
            .collect();
        for drop in Col::DROP_ORDER {
            if need(&cols) <= width {
                break;
            }
            cols.retain(|c| *c != drop);
        }
        let name_first = wants.name.clamp(NAME_MIN, NAME_FIRST);
        // A name (up to its first share) and a long status (onset, change,
        // where) are worth more than optional figures: those give way until
        // both fit, or none is left.
        let status = wants.status.max(STATUS_WORD);
        for drop in Col::OPTIONAL {
            let room = width.saturating_sub(need(&cols));
            let wanted = (name_first - NAME_MIN) + (status - STATUS_WORD);
            if room >= wanted || !cols.contains(&drop) {
                continue;
            }
            cols.retain(|c| *c != drop);
        }
        let mut spare = width.saturating_sub(need(&cols));
        let mut widths: Vec<(Col, u16)> = cols.iter().map(|c| (*c, c.fixed_width())).collect();
        grow(&mut widths, Col::Name, name_first, &mut spare);
        grow(&mut widths, Col::Status, status, &mut spare);
        // The sparklines get enough to show a shape (quality, the point of
        // the tool, first), then the name all it needs, then the sparklines
        // the rest up to the window (wider has nothing to show).
        let window = wants.window.max(SPARK_MIN);
        let first = |n: u16| n.min(window);
        grow(
            &mut widths,
            Col::QualitySpark,
            first(QUALITY_SPARK_FIRST),
            &mut spare,
        );
        grow(
            &mut widths,
            Col::AvailabilitySpark,
            first(AVAILABILITY_SPARK_FIRST),
            &mut spare,
        );
        grow(&mut widths, Col::Name, wants.name.max(NAME_MIN), &mut spare);
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

/// Width of these columns at their smallest, with the gaps between them.
fn need(cols: &[Col]) -> u16 {
    cols.iter().map(|c| c.fixed_width()).sum::<u16>() + GAP * (cols.len() as u16).saturating_sub(1)
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

    fn wants(name: u16, status: u16, window: u16) -> Wants {
        Wants {
            name,
            status,
            window,
            latency: true,
        }
    }

    #[test]
    fn eighty_columns_keep_the_quality_figures_and_fit_exactly() {
        let plan = ColumnPlan::fit(80, wants(20, 0, 120));
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
        let plan = ColumnPlan::fit(250, wants(20, 0, 60));
        assert_eq!(plan.columns.len(), Col::ORDER.len());
        assert_eq!(plan.width_of(Col::QualitySpark), Some(60));
        assert!(plan.total_width() <= 250);
    }

    #[test]
    fn eighty_columns_keep_the_status_word_and_drop_range_and_availability_trend_first() {
        let plan = ColumnPlan::fit(80, wants(20, 0, 60));
        assert!(plan.has(Col::Status), "{plan:?}");
        assert!(!plan.has(Col::QualityRange) && !plan.has(Col::AvailabilitySpark));
        assert!(
            plan.width_of(Col::Status).unwrap() >= STATUS_WORD,
            "room for REGRESSION"
        );
    }

    #[test]
    fn narrow_widths_drop_columns_until_the_table_fits() {
        // Name, quality and status never go: 10 + 7 + 10 and two gaps.
        for width in 29..120 {
            for status in [0, 34, 80] {
                let plan = ColumnPlan::fit(width, wants(40, status, 120));
                assert!(plan.total_width() <= width, "{width}: {plan:?}");
                assert!(plan.has(Col::Quality) && plan.has(Col::Status) && plan.has(Col::Name));
                assert!(plan.width_of(Col::Status) >= Some(STATUS_WORD));
            }
        }
        // Below that the table is clipped by the frame, but planning still works.
        assert!(!ColumnPlan::fit(0, wants(40, 0, 120)).columns.is_empty());
    }

    /// "REGRESSION 14:05 -3.1pp in tpu·api"
    const LONG_STATUS: u16 = 34;

    #[test]
    fn at_80_columns_a_long_status_pushes_out_optional_figures_but_not_the_quality_trend() {
        let plan = ColumnPlan::fit(80, wants(12, LONG_STATUS, 60));
        assert!(plan.total_width() <= 80, "{plan:?}");
        assert!(
            !plan.has(Col::Requests) && !plan.has(Col::Evals),
            "{plan:?}"
        );
        for col in [
            Col::QualitySpark,
            Col::Quality,
            Col::Change,
            Col::Availability,
        ] {
            assert!(plan.has(col), "{col:?} kept: {plan:?}");
        }
        let status = plan.width_of(Col::Status).unwrap();
        assert!(status > 20, "the word and most of the rest: {status}");
        // Without a long status, nothing is pushed out.
        let calm = ColumnPlan::fit(80, wants(12, 0, 60));
        assert!(calm.has(Col::Requests) && calm.has(Col::Evals), "{calm:?}");
    }

    #[test]
    fn at_200_columns_the_status_column_holds_the_longest_status_whole() {
        let plan = ColumnPlan::fit(200, wants(24, LONG_STATUS, 120));
        assert_eq!(plan.width_of(Col::Status), Some(LONG_STATUS), "{plan:?}");
        assert_eq!(plan.width_of(Col::Name), Some(24));
        assert!(
            plan.has(Col::AvailabilitySpark) && plan.has(Col::Requests),
            "{plan:?}"
        );
        assert!(plan.total_width() <= 200);
    }

    #[test]
    fn long_names_get_the_room_left_once_the_sparklines_show_a_shape() {
        // The flat view's "model / platform / region / hardware" at 300 columns.
        let plan = ColumnPlan::fit(300, wants(52, 0, 120));
        assert_eq!(plan.width_of(Col::Name), Some(52), "{plan:?}");
        // At 120 (104 for every column at its minimum) the range figure gives
        // way so the name gets its first 28; the quality trend keeps the rest.
        let plan = ColumnPlan::fit(120, wants(52, 0, 120));
        assert_eq!(plan.width_of(Col::Name), Some(NAME_FIRST), "{plan:?}");
        assert!(
            !plan.has(Col::QualityRange) && plan.has(Col::Requests),
            "{plan:?}"
        );
        assert!(
            plan.width_of(Col::QualitySpark) > Some(2 * SPARK_MIN),
            "{plan:?}"
        );
    }
}
