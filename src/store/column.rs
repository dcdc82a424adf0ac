//! Fixed-capacity rings of buckets, one block per slice, in one flat vector
//! per signal. Every block shares the store's time axis, so the position of
//! bucket `b` is `b mod capacity` in every block.

/// `total` value that marks a bucket with no data.
pub const MISSING: u32 = u32::MAX;

/// Counts of one ratio bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ratio {
    pub good: u64,
    pub total: u64,
}

impl Ratio {
    pub fn new(good: u64, total: u64) -> Self {
        Ratio { good, total }
    }
    /// good / total, or `None` when nothing was counted.
    pub fn rate(self) -> Option<f64> {
        (self.total > 0).then(|| self.good as f64 / self.total as f64)
    }
    pub fn add(&mut self, other: Ratio) {
        self.good += other.good;
        self.total += other.total;
    }
}

#[derive(Debug, Clone)]
pub enum Column {
    Ratio { good: Vec<u32>, total: Vec<u32> },
    Gauge { values: Vec<f64> },
}

impl Column {
    pub fn new_ratio() -> Self {
        Column::Ratio {
            good: Vec::new(),
            total: Vec::new(),
        }
    }
    pub fn new_gauge() -> Self {
        Column::Gauge { values: Vec::new() }
    }

    /// Makes room for `slices` blocks of `capacity` buckets, new ones empty.
    pub fn grow(&mut self, slices: usize, capacity: usize) {
        let len = slices * capacity;
        match self {
            Column::Ratio { good, total } => {
                if total.len() < len {
                    good.resize(len, 0);
                    total.resize(len, MISSING);
                }
            }
            Column::Gauge { values } => {
                if values.len() < len {
                    values.resize(len, f64::NAN);
                }
            }
        }
    }

    /// Empties position `pos` of every block.
    pub fn clear_position(&mut self, pos: usize, capacity: usize) {
        match self {
            Column::Ratio { good, total } => {
                for i in (pos..total.len()).step_by(capacity) {
                    total[i] = MISSING;
                    good[i] = 0;
                }
            }
            Column::Gauge { values } => {
                for i in (pos..values.len()).step_by(capacity) {
                    values[i] = f64::NAN;
                }
            }
        }
    }

    pub fn clear_all(&mut self) {
        match self {
            Column::Ratio { good, total } => {
                good.fill(0);
                total.fill(MISSING);
            }
            Column::Gauge { values } => values.fill(f64::NAN),
        }
    }

    /// Bytes held per stored bucket.
    pub fn bytes_per_bucket(&self) -> usize {
        match self {
            Column::Ratio { .. } => 2 * std::mem::size_of::<u32>(),
            Column::Gauge { .. } => std::mem::size_of::<f64>(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Column::Ratio { good, total } => (good.capacity() + total.capacity()) * 4,
            Column::Gauge { values } => values.capacity() * 8,
        }
    }
}
