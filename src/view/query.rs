//! What the screen asks of the data: which level of the drill path, split by
//! which dimension, filtered how, in which order, over which window, at which
//! time. Built by `app` from its state, answered by [`super::compute_overview`].

use super::filter::Filter;
use crate::protocol::Millis;

/// One fixed (dimension, value) on the way down from the whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DrillStep {
    pub dimension: String,
    pub value: String,
}

impl DrillStep {
    pub fn new(dimension: impl Into<String>, value: impl Into<String>) -> Self {
        DrillStep {
            dimension: dimension.into(),
            value: value.into(),
        }
    }
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

/// Row order below the aggregate row (which always stays on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Regressed rows first, then watched ones, then by worst quality change:
    /// what on-call must look at is always at the top.
    #[default]
    Status,
    /// Lowest current availability first.
    Availability,
    /// Most requests first.
    Volume,
    /// By name; the empty value last.
    Name,
}

impl SortKey {
    /// In the order `s` cycles through them.
    pub const ALL: [SortKey; 4] = [
        SortKey::Status,
        SortKey::Availability,
        SortKey::Volume,
        SortKey::Name,
    ];

    /// The name the header and the `:sort` command use.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Status => "status",
            SortKey::Availability => "availability",
            SortKey::Volume => "volume",
            SortKey::Name => "name",
        }
    }

    pub fn from_name(name: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}

/// What the rows of a level are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Split {
    /// The first declared dimension the path has not fixed yet.
    #[default]
    Next,
    /// Values of this dimension (raw name), whichever the path has fixed.
    By(String),
    /// Every leaf slice under the path, flat; a row's name joins the values
    /// of the dimensions the path has not fixed.
    Leaves,
}

/// Live follows the newest bucket; frozen holds the screen at one bucket
/// (the time cursor), which the arrow keys move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeCursor {
    #[default]
    Live,
    Frozen {
        last_bucket: i64,
    },
}

/// Buckets shown when the query does not say: two hours of one-minute
/// buckets, fewer if the store holds fewer. (`qualtop snapshot` uses this;
/// the TUI always names its window.)
pub const DEFAULT_WINDOW_BUCKETS: usize = 120;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewQuery {
    /// Fixed so far, outermost first; empty at the whole-fleet level.
    pub path: Vec<DrillStep>,
    pub split: Split,
    pub quality: QualityPick,
    pub sort: SortKey,
    /// The sort key's order turned around.
    pub sort_reversed: bool,
    /// Applied to leaf slices before any rollup, at every level.
    pub filter: Filter,
    pub time: TimeCursor,
    /// Window length in data time; `None` = [`DEFAULT_WINDOW_BUCKETS`].
    /// Rounded up to whole buckets and cut to what the store holds.
    pub window_ms: Option<Millis>,
    /// The group whose detail view is open, if one is.
    pub detail: Option<Vec<DrillStep>>,
}
