//! What a new annotation of a row starts from: its scope (the row's drill
//! path plus the filter's single-valued terms) and the onset of the
//! regression that scope holds.

use super::filter::{Filter, FilterTerm};
use super::overview::DimensionValues;
use super::query::{DrillStep, TimeCursor};
use crate::detect::{DetectedRegression, ScopeMap, group_bugs};
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

/// The onset of the bug whose regression `scope` holds at `at` (see
/// [`held_regression`]), as the status column and `check` give it.
pub fn held_onset(
    regressions: &[DetectedRegression],
    scope: &ScopeMap,
    at: TimeCursor,
    bucket_ms: Millis,
) -> Option<Millis> {
    let r = held_regression(regressions, scope, at, bucket_ms)?;
    Some(
        group_bugs(regressions)
            .iter()
            .find(|b| b.members.iter().any(|m| std::ptr::eq(*m, r)))
            .map_or(r.onset, |b| b.onset()),
    )
}

/// The regression `scope` holds at `at`: among those in force whose scope
/// lies inside `scope` or equals it, the closest to it (fewest extra
/// dimensions: the routing bug at `model=atlas-m` wins over the TPU bug
/// inside it), then the latest onset.
pub fn held_regression<'a>(
    regressions: &'a [DetectedRegression],
    scope: &ScopeMap,
    at: TimeCursor,
    bucket_ms: Millis,
) -> Option<&'a DetectedRegression> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ScopeOrigin;
    use crate::protocol::SignalRole;

    const MINUTE: Millis = 60_000;

    fn scope(pairs: &[(&str, &str)]) -> ScopeMap {
        pairs
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect()
    }

    fn regression(
        pairs: &[(&str, &str)],
        onset: Millis,
        ended: Option<Millis>,
    ) -> DetectedRegression {
        DetectedRegression {
            signal: "golden-qa".into(),
            role: SignalRole::Quality,
            scope: scope(pairs),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            alarms: Vec::new(),
            onset,
            onset_spread: None,
            detected_at: onset + 5 * MINUTE,
            ended_at: ended,
            baseline: 0.95,
            current: 0.9,
            delta_pp: -5.0,
            drop_table: None,
        }
    }

    /// The demo's bugs: routing at model=atlas-m (early), the TPU bug inside it (later).
    fn demo_bugs() -> Vec<DetectedRegression> {
        vec![
            regression(&[("model", "atlas-m")], 100 * MINUTE, None),
            regression(
                &[
                    ("model", "atlas-m"),
                    ("hardware", "tpu"),
                    ("platform", "api"),
                ],
                200 * MINUTE,
                None,
            ),
            regression(
                &[("model", "atlas-l"), ("hardware", "tpu")],
                210 * MINUTE,
                None,
            ),
        ]
    }

    #[test]
    fn the_routing_bug_keeps_its_own_onset_not_the_tpu_bugs_inside_it() {
        let r = demo_bugs();
        let live = TimeCursor::Live;
        assert_eq!(
            held_onset(&r, &scope(&[("model", "atlas-m")]), live, MINUTE),
            Some(100 * MINUTE)
        );
        assert_eq!(
            held_onset(
                &r,
                &scope(&[("model", "atlas-m"), ("hardware", "tpu")]),
                live,
                MINUTE
            ),
            Some(200 * MINUTE),
            "narrowed to tpu, the TPU bug is the one held"
        );
        assert_eq!(
            held_onset(&r, &scope(&[("model", "atlas-s")]), live, MINUTE),
            None,
            "atlas-s holds none"
        );
        assert_eq!(
            held_onset(&r, &ScopeMap::new(), live, MINUTE),
            Some(100 * MINUTE),
            "the fleet: the closest scope first"
        );
    }

    #[test]
    fn only_regressions_in_force_at_the_cursor_count() {
        let mut r = demo_bugs();
        r[0].ended_at = Some(150 * MINUTE);
        let m = scope(&[("model", "atlas-m")]);
        assert_eq!(
            held_onset(&r, &m, TimeCursor::Live, MINUTE),
            Some(200 * MINUTE),
            "the routing bug ended: the one left inside"
        );
        let before_tpu = TimeCursor::Frozen { last_bucket: 120 };
        assert_eq!(held_onset(&r, &m, before_tpu, MINUTE), Some(100 * MINUTE));
    }

    #[test]
    fn filter_pins_are_the_single_valued_terms_in_the_stores_spelling() {
        let dims = vec![
            DimensionValues {
                name: "hardware".into(),
                values: vec!["TPU".into(), "gpu".into()],
            },
            DimensionValues {
                name: "region".into(),
                values: vec!["eu".into(), "us".into()],
            },
        ];
        let f = Filter::parse("hardware=tpu region=eu,us word colour=red");
        assert_eq!(
            filter_pins(&f, &dims, &[]),
            [DrillStep::new("hardware", "TPU")]
        );
        let fixed = [DrillStep::new("hardware", "gpu")];
        assert!(filter_pins(&f, &dims, &fixed).is_empty(), "the path wins");
    }
}
