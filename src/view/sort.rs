//! Row order under the aggregate row, by the query's sort key.

use std::cmp::Ordering;

use super::overview::{OverviewRow, RowKey, Severity};
use super::query::{DrillStep, SortKey};

/// The figures a sort compares, computed once per row rather than once
/// per comparison (10,000 leaves make ~140,000 comparisons).
struct SortFacts {
    rank: u8,
    change: Option<f64>,
    availability: Option<f64>,
    requests: u64,
    evals: u64,
}

impl SortFacts {
    fn of(row: &OverviewRow) -> Self {
        SortFacts {
            rank: severity_rank(row),
            change: row.quality.change_pp(),
            availability: row.availability.current(),
            requests: row.requests(),
            evals: row.evals(),
        }
    }
}

/// Sorts rows (the aggregate row is not among them); `reversed` turns the
/// whole order around, ties included.
pub fn sort_rows(rows: &mut Vec<OverviewRow>, key: SortKey, reversed: bool) {
    let facts: Vec<SortFacts> = rows.iter().map(SortFacts::of).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&facts[i], &facts[j]);
        let primary = match key {
            SortKey::Status => a
                .rank
                .cmp(&b.rank)
                .then_with(|| lowest_first(a.change, b.change)),
            SortKey::Availability => lowest_first(a.availability, b.availability),
            SortKey::Volume => b
                .requests
                .cmp(&a.requests)
                .then_with(|| b.evals.cmp(&a.evals)),
            SortKey::Name => Ordering::Equal,
        };
        primary.then_with(|| by_name(&rows[i], &rows[j]))
    });
    if reversed {
        order.reverse();
    }
    let mut taken: Vec<Option<OverviewRow>> = rows.drain(..).map(Some).collect();
    rows.extend(order.into_iter().filter_map(|i| taken[i].take()));
}

/// Regressed, watched, recently ended, then everything else.
fn severity_rank(row: &OverviewRow) -> u8 {
    match row.status.as_ref().map(|s| s.severity) {
        Some(Severity::Regressed) => 0,
        Some(Severity::Watch) => 1,
        Some(Severity::Ended) => 2,
        Some(Severity::Ok) | None => 3,
    }
}

/// Smaller (worse) figures first; rows without the figure last.
fn lowest_first(x: Option<f64>, y: Option<f64>) -> Ordering {
    match (x, y) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// By raw key; the empty value ("(none)") goes last.
fn by_name(a: &OverviewRow, b: &OverviewRow) -> Ordering {
    match (&a.key, &b.key) {
        (RowKey::Value(x), RowKey::Value(y)) => {
            (x.is_empty(), x.as_str()).cmp(&(y.is_empty(), y.as_str()))
        }
        (RowKey::Leaf(x), RowKey::Leaf(y)) => leaf_order(x).cmp(leaf_order(y)),
        _ => a.name.cmp(&b.name),
    }
}

/// A leaf's values in order, the empty value after any other.
fn leaf_order(steps: &[DrillStep]) -> impl Iterator<Item = (bool, &str)> {
    steps.iter().map(|s| (s.value.is_empty(), s.value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Ratio;
    use crate::view::overview::RowStatus;
    use crate::view::trend::RatioTrend;

    fn row(name: &str, change: f64, severity: Option<Severity>, requests: u64) -> OverviewRow {
        let mut r = OverviewRow::empty(RowKey::Value(name.into()), name.into(), 2);
        // Baseline 90 %, current 90 % + change.
        let current = ((0.90 + change / 100.0) * 1000.0).round() as u64;
        r.quality = RatioTrend::new(vec![
            Some(Ratio::new(900, 1000)),
            Some(Ratio::new(current, 1000)),
        ]);
        r.availability = RatioTrend::new(vec![None, Some(Ratio::new(requests / 2, requests))]);
        r.status = severity.map(|severity| RowStatus {
            severity,
            text: String::new(),
        });
        r
    }

    fn names(rows: &[OverviewRow]) -> Vec<&str> {
        rows.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn status_sort_puts_regressed_then_watch_then_the_worst_change_first() {
        let mut rows = vec![
            row("a", -9.0, None, 10),
            row("b", -1.0, Some(Severity::Watch), 10),
            row("c", -0.5, Some(Severity::Regressed), 10),
            row("d", -3.0, Some(Severity::Ok), 10),
            row("e", 1.0, None, 10),
        ];
        sort_rows(&mut rows, SortKey::Status, false);
        assert_eq!(names(&rows), ["c", "b", "a", "d", "e"]);
        sort_rows(&mut rows, SortKey::Status, true);
        assert_eq!(names(&rows), ["e", "d", "a", "b", "c"]);
    }

    #[test]
    fn volume_sort_puts_the_busiest_first_and_name_breaks_ties() {
        let mut rows = vec![row("b", 0.0, None, 10), row("a", 0.0, None, 10)];
        rows.push(row("c", 0.0, None, 500));
        sort_rows(&mut rows, SortKey::Volume, false);
        assert_eq!(names(&rows), ["c", "a", "b"]);
    }
}
