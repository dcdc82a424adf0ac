//! One rolled-up ratio series over the window, with the figures the table
//! shows: current rate, baseline rate, change, volume, and a downsampled
//! form for a sparkline of any width.
//!
//! The baseline is not computed here: it is the detector's (see
//! [`super::baseline`]), attached per signal with [`RatioTrend::with_baseline`]
//! and carried through sums as the good count expected over the recent part,
//! so a combined or summed row's change is the volume-weighted change of its
//! parts and every surface reads the same figure.

use crate::store::Ratio;

/// The part of the window the "current" figure covers: its last sixth, so a
/// drop shows within minutes but one noisy bucket does not swing it.
pub(super) const RECENT_DIVISOR: usize = 6;

/// Smallest range a sparkline is scaled to, as a rate: one percentage point,
/// so a flat series does not blow sampling noise up to full height.
pub const MIN_SPARK_SPAN: f64 = 0.01;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RatioTrend {
    /// Summed counts per bucket, oldest first; `None` where no member had data.
    pub buckets: Vec<Option<Ratio>>,
    /// Good count expected over the recent part had every member stayed at
    /// its baseline; `None` when a member with recent data has no baseline.
    expected_recent: Option<f64>,
}

impl RatioTrend {
    /// A series with no baseline known.
    pub fn new(buckets: Vec<Option<Ratio>>) -> Self {
        RatioTrend {
            buckets,
            expected_recent: None,
        }
    }

    /// Attaches the healthy rate of this one signal and scope.
    pub fn with_baseline(mut self, rate: Option<f64>) -> Self {
        let total = self.recent().total;
        self.expected_recent = match rate {
            Some(r) => Some(r * total as f64),
            None if total == 0 => Some(0.0),
            None => None,
        };
        self
    }

    /// Counts over the recent part of the window.
    fn recent(&self) -> Ratio {
        let n = self.buckets.len();
        let recent = (n / RECENT_DIVISOR).max(1).min(n);
        sum(&self.buckets[n - recent..])
    }

    /// Rate over the recent part of the window.
    pub fn current(&self) -> Option<f64> {
        self.recent().rate()
    }

    /// The healthy rate: the detector's baseline of each member, weighted by
    /// its volume over the recent part. `None` until every member has one.
    pub fn baseline(&self) -> Option<f64> {
        let total = self.recent().total;
        (total > 0)
            .then_some(self.expected_recent?)
            .map(|e| e / total as f64)
    }

    /// Current minus baseline, in percentage points.
    pub fn change_pp(&self) -> Option<f64> {
        Some((self.current()? - self.baseline()?) * 100.0)
    }

    /// Total count over the window (requests, or evaluations).
    pub fn volume(&self) -> u64 {
        sum(&self.buckets).total
    }

    pub fn has_data(&self) -> bool {
        self.buckets.iter().any(|b| b.is_some_and(|r| r.total > 0))
    }

    /// Adds another series bucket by bucket (same window).
    pub fn add(&mut self, other: &RatioTrend) {
        // A side with no recent data adds nothing to the expectation.
        let known = |t: &RatioTrend| match t.expected_recent {
            Some(e) => Some(e),
            None if t.recent().total == 0 => Some(0.0),
            None => None,
        };
        self.expected_recent = known(self).zip(known(other)).map(|(a, b)| a + b);
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), None);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            if let Some(t) = theirs {
                mine.get_or_insert_with(Ratio::default).add(*t);
            }
        }
    }

    /// Rates for at most `cells` sparkline cells, newest in the last one.
    /// Several buckets per cell are merged by summing counts; a cell none of
    /// whose buckets had data is `None` (drawn as a gap, never as zero).
    pub fn cells(&self, cells: usize) -> Vec<Option<f64>> {
        self.cell_counts(cells)
            .into_iter()
            .map(|c| c.and_then(Ratio::rate))
            .collect()
    }

    /// Availability as nines per cell (see [`AVAILABILITY_NINES`]). Each
    /// cell's error rate is pulled towards the window's by the weight of
    /// `PRIOR_ERRORS` errors, so a minute of a few thousand requests and
    /// no error is not drawn as perfect, nor one error as an outage; an
    /// incident's hundreds of errors outweigh the pull.
    pub fn nines_cells(&self, cells: usize) -> Vec<Option<f64>> {
        let window = sum(&self.buckets);
        let error_rate = window.rate().map_or(0.0, |r| 1.0 - r);
        self.cell_counts(cells)
            .into_iter()
            .map(|c| {
                let c = c.filter(|c| c.total > 0)?;
                let errors = (c.total - c.good.min(c.total)) as f64;
                let rate = if error_rate > 0.0 {
                    (errors + PRIOR_ERRORS) / (c.total as f64 + PRIOR_ERRORS / error_rate)
                } else {
                    0.0
                };
                Some(nines(1.0 - rate))
            })
            .collect()
    }

    /// Summed counts per cell, as [`RatioTrend::cells`] merges them.
    fn cell_counts(&self, cells: usize) -> Vec<Option<Ratio>> {
        let n = self.buckets.len();
        if cells == 0 || n == 0 {
            return Vec::new();
        }
        if n <= cells {
            return self.buckets.clone();
        }
        // Cell i covers buckets [i*n/cells, (i+1)*n/cells): every cell is
        // used, each holds one or two buckets more or less than its neighbour.
        (0..cells)
            .map(|i| {
                let chunk = &self.buckets[i * n / cells..(i + 1) * n / cells];
                chunk.iter().any(Option::is_some).then(|| sum(chunk))
            })
            .collect()
    }
}

/// The availability sparkline's scale, in nines (−log10 of the error rate):
/// 99 % (2) at the bottom to 99.999 % (5) at the top, the same for every row.
/// A tick is about 0.4 nines, so 99.98 % against 99.5 % is three ticks apart
/// and anything under 99 % sits on the floor (the figure says how far).
pub const AVAILABILITY_NINES: (f64, f64) = (2.0, 5.0);

/// How many errors' weight pulls a cell towards its window's error rate.
pub const PRIOR_ERRORS: f64 = 2.0;

/// A success rate as nines, clamped to [`AVAILABILITY_NINES`].
pub fn nines(rate: f64) -> f64 {
    let (lo, hi) = AVAILABILITY_NINES;
    let errors = 1.0 - rate;
    if errors <= 0.0 {
        return hi;
    }
    (-errors.log10()).clamp(lo, hi)
}

/// The range a sparkline of these cells is drawn over: their own minimum
/// and maximum, widened around the middle to at least `min_span`, kept in 0..=1.
pub fn spark_range(cells: &[Option<f64>], min_span: f64) -> Option<(f64, f64)> {
    let mut values = cells.iter().flatten().copied();
    let first = values.next()?;
    let (mut lo, mut hi) = values.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo < min_span {
        let mid = f64::midpoint(hi, lo);
        lo = mid - min_span / 2.0;
        hi = mid + min_span / 2.0;
        if hi > 1.0 {
            (lo, hi) = (1.0 - min_span, 1.0);
        } else if lo < 0.0 {
            (lo, hi) = (0.0, min_span);
        }
    }
    Some((lo, hi))
}

fn sum(buckets: &[Option<Ratio>]) -> Ratio {
    let mut r = Ratio::default();
    for b in buckets.iter().flatten() {
        r.add(*b);
    }
    r
}

/// A rolled-up gauge (worst value over members per bucket), e.g. p99 latency.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeTrend {
    pub buckets: Vec<Option<f64>>,
}

impl GaugeTrend {
    /// The newest value within the recent part of the window.
    pub fn current(&self) -> Option<f64> {
        let n = self.buckets.len();
        let recent = (n / RECENT_DIVISOR).max(1).min(n);
        self.buckets[n - recent..]
            .iter()
            .rev()
            .flatten()
            .next()
            .copied()
    }

    /// Keeps the worse (higher) value bucket by bucket.
    pub fn max_with(&mut self, other: &GaugeTrend) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), None);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            if let Some(t) = theirs {
                *mine = Some(mine.map_or(*t, |m| m.max(*t)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(good: u64, total: u64) -> Option<Ratio> {
        Some(Ratio::new(good, total))
    }

    #[test]
    fn change_compares_recent_part_with_the_attached_baseline() {
        let mut b = vec![r(90, 100); 12];
        b[10] = r(90, 100);
        b[11] = r(90, 100);
        // The window is all at 90 %: no window-relative figure would see a
        // change; against the detector's 99 % the drop stays visible.
        let t = RatioTrend::new(b).with_baseline(Some(0.99));
        assert_eq!(t.current(), Some(0.90));
        assert!((t.baseline().unwrap() - 0.99).abs() < 1e-12);
        let change = t.change_pp().unwrap();
        assert!((change + 9.0).abs() < 1e-9, "{change}");
        assert_eq!(RatioTrend::new(vec![r(9, 10); 12]).change_pp(), None);
    }

    #[test]
    fn summed_baselines_are_weighted_by_recent_volume() {
        // 300 recent trials at a 90 % baseline, 100 at 50 %: 80 % expected.
        let mut a = RatioTrend::new(vec![r(270, 300); 6]).with_baseline(Some(0.9));
        let b = RatioTrend::new(vec![r(50, 100); 6]).with_baseline(Some(0.5));
        a.add(&b);
        assert!((a.baseline().unwrap() - 0.8).abs() < 1e-12);
        // A member with recent data and no baseline leaves the sum unknown;
        // one without recent data does not.
        let mut c = a.clone();
        c.add(&RatioTrend::new(vec![r(1, 2); 6]));
        assert_eq!(c.baseline(), None);
        let mut d = a.clone();
        d.add(&RatioTrend::new(vec![None; 6]));
        assert!((d.baseline().unwrap() - 0.8).abs() < 1e-12);
    }

    #[test]
    fn rates_are_summed_counts_not_averaged_rates() {
        let t = RatioTrend::new(vec![r(1, 1), r(0, 99)]);
        assert_eq!(t.cells(1), vec![Some(0.01)]);
    }

    #[test]
    fn cells_keep_gaps_and_align_newest_to_the_right() {
        let t = RatioTrend::new(vec![r(1, 2), None, None, r(1, 1)]);
        assert_eq!(t.cells(4), vec![Some(0.5), None, None, Some(1.0)]);
        assert_eq!(t.cells(2), vec![Some(0.5), Some(1.0)]);
        assert_eq!(t.cells(3), vec![Some(0.5), None, Some(1.0)]);
        // More cells than buckets: one bucket per cell, no padding invented.
        assert_eq!(t.cells(10).len(), 4);
    }

    #[test]
    fn empty_series_has_no_figures() {
        let t = RatioTrend::new(vec![None; 8]);
        assert_eq!(t.current(), None);
        assert_eq!(t.change_pp(), None);
        assert!(!t.has_data());
        assert_eq!(spark_range(&t.cells(8), MIN_SPARK_SPAN), None);
    }

    #[test]
    fn nines_put_99_98_three_ticks_above_99_5_and_clamp_at_the_ends() {
        let tick = (AVAILABILITY_NINES.1 - AVAILABILITY_NINES.0) / 7.0;
        let apart = (nines(0.9998) - nines(0.995)) / tick;
        assert!(apart > 2.5, "{apart:.2} ticks");
        assert_eq!(nines(1.0), AVAILABILITY_NINES.1);
        assert_eq!(nines(0.5), AVAILABILITY_NINES.0);
    }

    #[test]
    fn availability_cells_dip_for_an_incident_but_not_for_one_error() {
        // 10,000 requests a minute at 0.015 % errors, one minute at 2 %.
        let mut b: Vec<Option<Ratio>> = (0..60)
            .map(|i| r(10_000 - [1, 2, 1, 0, 3][i % 5], 10_000))
            .collect();
        b[50] = r(9_800, 10_000);
        b[20] = None;
        let cells = RatioTrend::new(b).nines_cells(60);
        assert_eq!(cells[20], None, "a gap stays a gap");
        let quiet: Vec<f64> = cells
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 50)
            .filter_map(|(_, c)| *c)
            .collect();
        let (lo, hi) = quiet
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        let tick = (AVAILABILITY_NINES.1 - AVAILABILITY_NINES.0) / 7.0;
        assert!(
            hi - lo < 1.5 * tick,
            "noise spans {:.2} ticks",
            (hi - lo) / tick
        );
        assert!(
            cells[50].unwrap() < lo - 2.0 * tick,
            "the incident stands out: {cells:?}"
        );
    }

    #[test]
    fn spark_range_is_widened_to_the_minimum_span_within_zero_to_one() {
        let (lo, hi) = spark_range(&[Some(0.999), Some(1.0)], 0.01).unwrap();
        assert!((hi - 1.0).abs() < 1e-12 && (lo - 0.99).abs() < 1e-12);
        let (lo, hi) = spark_range(&[Some(0.95), Some(0.98)], 0.01).unwrap();
        assert_eq!((lo, hi), (0.95, 0.98));
    }
}
