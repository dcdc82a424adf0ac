//! What the screen asks of the data: which level of the drill path, split by
//! which dimension, which quality suite, in which order, at which time.
//! Built by `app` from its state, answered by [`super::compute_overview`].

/// One fixed (dimension, value) on the way down from the whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DrillStep {
    pub dimension: String,
    pub value: String,
}

/// Which quality signals the quality column sums.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum QualityPick {
    /// Good and total summed over every quality-role ratio signal.
    #[default]
    Combined,
    /// One suite, by signal name.
    Suite(String),
}

/// Row order below the whole-fleet row (which always stays on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    /// Biggest quality drop against the baseline first.
    QualityChange,
    /// Most requests first.
    Requests,
}

/// Live follows the newest bucket; frozen holds the table at one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeCursor {
    #[default]
    Live,
    Frozen {
        last_bucket: i64,
    },
}

/// Buckets shown when the query does not say: two hours of one-minute
/// buckets, fewer if the store holds fewer.
pub const DEFAULT_WINDOW_BUCKETS: usize = 120;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewQuery {
    /// Fixed so far, outermost first; empty at the whole-fleet level.
    pub path: Vec<DrillStep>,
    /// The dimension whose values make the rows; `None` = the first declared.
    pub split: Option<String>,
    pub quality: QualityPick,
    pub sort: SortKey,
    /// Case-insensitive substring of the row name; `None` or empty = all rows.
    pub filter: Option<String>,
    pub time: TimeCursor,
    /// Window length in buckets; `None` = [`DEFAULT_WINDOW_BUCKETS`].
    pub window_buckets: Option<usize>,
}
