//! What a new annotation of a row starts from: its scope (the row's drill
//! path plus the filter's single-valued terms) and the onset of the
//! regression that scope holds.

use super::filter::{Filter, FilterTerm};
use super::overview::DimensionValues;
use super::query::{DrillStep, TimeCursor};
use crate::detect::{DetectedRegression, ScopeMap};
use crate::protocol::Millis;

/// The filter's `dim=value` terms with one value, spelled as the store
/// spells them (the filter keeps values lowercased); terms naming an
/// unknown dimension or value, and dimensions `path` fixes, are left out.
pub fn filter_pins(
    filter: &Filter,
    dims: &[DimensionValues],
    path: &[DrillStep],
) -> Vec<DrillStep> {
    filter
        .terms()
        .iter()
        .filter_map(|term| match term {
            FilterTerm::Values { dimension, values } if values.len() == 1 => {
                let dim = dims
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(dimension))?;
                let value = dim
                    .values
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(&values[0]))?;
                Some(DrillStep::new(&dim.name, value))
            }
            _ => None,
        })
        .filter(|pin| !path.iter().any(|s| s.dimension == pin.dimension))
        .collect()
}

/// The scope of a group at `path` under `pins`.
pub fn scope_of(path: &[DrillStep], pins: &[DrillStep]) -> ScopeMap {
    path.iter()
        .chain(pins)
        .map(|s| (s.dimension.clone(), s.value.clone()))
        .collect()
}

/// The onset of the regression `scope` holds at `at`: among those in force
/// whose scope lies inside `scope` or equals it, the closest to it (fewest
/// extra dimensions: the routing bug at `model=atlas-m` wins over the TPU
/// bug inside it), then the latest onset.
pub fn held_onset(
    regressions: &[DetectedRegression],
    scope: &ScopeMap,
    at: TimeCursor,
    bucket_ms: Millis,
) -> Option<Millis> {
    regressions
        .iter()
        .filter(|r| match at {
            TimeCursor::Live => r.is_active(),
            TimeCursor::Frozen { last_bucket } => r.covers(
                last_bucket
                    .saturating_mul(bucket_ms)
                    .saturating_add(bucket_ms - 1),
            ),
        })
        .filter(|r| scope.iter().all(|(d, v)| r.scope.get(d) == Some(v)))
        .min_by(|a, b| {
            a.scope
                .len()
                .cmp(&b.scope.len())
                .then_with(|| b.onset.cmp(&a.onset))
        })
        .map(|r| r.onset)
}
