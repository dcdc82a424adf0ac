//! The pure step between the store and the screen: turns `&Fleet` and a
//! [`ViewQuery`] into plain rows and header lines, once per data change (not
//! per frame). The TUI and `qualtop snapshot` draw the same model.

mod annotations;
mod baseline;
mod bug_status;
mod changes;
mod detail;
mod filter;
mod findings;
mod findings_detail;
mod header;
mod held;
mod overview;
mod query;
mod rollup;
mod select;
mod sort;
pub mod timeline;
mod trend;

pub use annotations::{
    AnnotationEntry, AnnotationFacts, EntryStatus, RowAnnotations, cell_of_bucket, row_annotations,
};
pub use baseline::Baselines;
pub use bug_status::{BugMap, Fit};
pub use changes::{
    ChangeLine, best_suspect, change_lines, change_markers, change_text, citation,
    row_change_starts, touches,
};
pub use detail::{
    Breakdown, BreakdownRow, ChartKind, ChartSeries, DetailModel, SeriesValues, annotation_applies,
};
pub use filter::{Filter, FilterTerm};
pub use findings::{
    ENDED_SHOWN_MS, MarkerKind, RowAt, ScopeEntry, SuspectWords, TimeMarker, active_burns,
    active_regressions, burn_status, detail_markers, row_status, row_status_in, scope_entries,
};
pub use header::{DownBanner, FindingsFrom, HeaderModel, STALE_AFTER_MS, SourceLine};
pub use held::{filter_pins, held_onset, held_regression, scope_of};
pub use overview::{
    DimensionValues, OverviewRow, OverviewTable, RowKey, RowStatus, Severity, TimeAxis, ViewModel,
    compute_overview, path_of, window_of,
};
pub use query::{
    DEFAULT_WINDOW_BUCKETS, DrillStep, QualityPick, SortKey, Split, TimeCursor, ViewQuery,
};
pub use select::{NO_VALUE, display_value};
pub use trend::{AVAILABILITY_NINES, GaugeTrend, MIN_SPARK_SPAN, RatioTrend, nines, spark_range};
