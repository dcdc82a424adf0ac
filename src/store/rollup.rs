//! Rollups: sums of good and total over groups of slices, bucket by bucket.
//! Ratios are never averaged; counts are summed, then divided.

use super::column::{CellKind, MISSING, Ratio, cell_ratio};
use super::{SignalId, SliceId, Store};

/// A run of consecutive buckets, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRange {
    pub first: i64,
    pub len: usize,
}

impl BucketRange {
    /// The `len` buckets ending with `last`.
    pub fn ending_at(last: i64, len: usize) -> Self {
        BucketRange {
            first: last - len as i64 + 1,
            len,
        }
    }
    pub fn last(&self) -> i64 {
        self.first + self.len as i64 - 1
    }
    pub fn iter(&self) -> impl Iterator<Item = i64> + use<> {
        self.first..self.first + self.len as i64
    }
}

/// Per group, per bucket of a range: summed counts (ratios) or the worst
/// value (gauges: the highest, as for a p99 latency), `None` where no member
/// had data.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupRollup {
    Ratio(Vec<Vec<Option<Ratio>>>),
    Gauge(Vec<Vec<Option<f64>>>),
}

impl Store {
    /// Rolls up `signal` over the given members, each `(slice, group)`,
    /// into `groups` series over `range`. Buckets outside the ring are `None`.
    pub fn rollup_groups(
        &self,
        signal: SignalId,
        members: &[(SliceId, u32)],
        groups: usize,
        range: BucketRange,
    ) -> GroupRollup {
        let cap = self.capacity;
        // Which positions of a block the range covers, and where each lands.
        let mut spans: Vec<(usize, usize, usize)> = Vec::new(); // (block pos, out index, len)
        if let Some(head) = self.head {
            let lo = range.first.max(head.saturating_sub(cap as i64 - 1));
            let hi = range.last().min(head);
            let mut b = lo;
            while b <= hi {
                let pos = b.rem_euclid(cap as i64) as usize;
                let run = ((cap - pos) as i64).min(hi - b + 1) as usize;
                spans.push((pos, (b - range.first) as usize, run));
                b += run as i64;
            }
        }
        let column = &self.signals[signal.index()].column;
        match column.kind {
            CellKind::Ratio => {
                // Flat, one allocation each; split into a series per group at the end.
                let n = range.len;
                let mut sums = vec![Ratio::default(); groups * n];
                let mut seen = vec![false; groups * n];
                for &(slice, g) in members {
                    // A slice with no ring has no data: nothing to add.
                    let Some(ring) = column.ring(slice.index()) else {
                        continue;
                    };
                    let at = g as usize * n;
                    let (sum, seen) = (&mut sums[at..at + n], &mut seen[at..at + n]);
                    for &(pos, out, len) in &spans {
                        ring.for_each_run(pos, len, |k, cells| {
                            let at = out + k..out + k + cells.len();
                            for ((&c, s), seen) in
                                cells.iter().zip(&mut sum[at.clone()]).zip(&mut seen[at])
                            {
                                let (good, t) = cell_ratio(c);
                                if t != MISSING {
                                    s.good += u64::from(good);
                                    s.total += u64::from(t);
                                    *seen = true;
                                }
                            }
                        });
                    }
                }
                GroupRollup::Ratio(
                    (0..groups)
                        .map(|g| {
                            let at = g * n..(g + 1) * n;
                            sums[at.clone()]
                                .iter()
                                .zip(&seen[at])
                                .map(|(&r, &ok)| ok.then_some(r))
                                .collect()
                        })
                        .collect(),
                )
            }
            CellKind::Gauge => {
                let mut out = vec![vec![None::<f64>; range.len]; groups];
                for &(slice, g) in members {
                    let Some(ring) = column.ring(slice.index()) else {
                        continue;
                    };
                    let row = &mut out[g as usize];
                    for &(pos, o, len) in &spans {
                        ring.for_each_run(pos, len, |k, cells| {
                            for (&c, cell) in cells.iter().zip(&mut row[o + k..o + k + cells.len()])
                            {
                                let v = f64::from_bits(c);
                                if !v.is_nan() {
                                    *cell = Some(cell.map_or(v, |c: f64| c.max(v)));
                                }
                            }
                        });
                    }
                }
                GroupRollup::Gauge(out)
            }
        }
    }

    /// Rolls up a ratio signal over some slices into one series.
    pub fn rollup_ratio(
        &self,
        signal: SignalId,
        slices: &[SliceId],
        range: BucketRange,
    ) -> Vec<Option<Ratio>> {
        let members: Vec<(SliceId, u32)> = slices.iter().map(|&s| (s, 0)).collect();
        match self.rollup_groups(signal, &members, 1, range) {
            GroupRollup::Ratio(mut v) => v.pop().unwrap_or_default(),
            GroupRollup::Gauge(_) => vec![None; range.len],
        }
    }
}
