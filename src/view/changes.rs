//! Deploys and config changes as the screens need them: which touch a
//! group, where in the window each falls (sparkline and chart markers), the
//! list the `C` popup and the detail view show, and the top suspect of a
//! regression (`detect::rank_suspects`, the ranking every surface shares).

use super::findings::{MarkerKind, TimeMarker};
use super::query::DrillStep;
use crate::detect::{DetectedRegression, ScopeMap, Suspect, rank_in_bug};
use crate::feed::Fleet;
use crate::protocol::{Change, Millis};
use crate::store::BucketRange;
use crate::store::Store;
use crate::text::scope::scope_text;

/// Widest a change's title gets in a list line or a marker label.
const TITLE_MAX: usize = 48;

/// One change in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeLine {
    /// Raw id (as the backend gave it; sanitise before drawing).
    pub id: String,
    pub at: Millis,
    /// Sanitised: `deploy "tpu-runtime v42" to hardware=tpu ∧ platform=api`.
    pub text: String,
    /// It touches the group on screen (see [`touches`]).
    pub here: bool,
}

/// `deploy "tpu-runtime v42" to hardware=tpu ∧ platform=api`, sanitised.
pub fn change_text(c: &Change) -> String {
    format!(
        "{} \"{}\" to {}",
        c.kind,
        clean(&c.title),
        scope_text(&c.scope)
    )
}

fn clean(s: &str) -> String {
    crate::text::sanitize::clean(s, TITLE_MAX)
}

/// Whether a change on `scope` touched a slice of the group at `path`: no
/// dimension the path fixes has another value in the change (a whole-fleet
/// change touches every group; a TPU deploy touches `model=atlas-l`).
pub fn touches(scope: &ScopeMap, path: &[DrillStep]) -> bool {
    path.iter()
        .all(|s| scope.get(&s.dimension).is_none_or(|v| *v == s.value))
}

/// Whether a change on `scope` applied to the whole group at `path`: every
/// dimension the change fixes, the path fixes to the same value (a TPU
/// deploy covers `hardware=tpu` and its subgroups, not `model=atlas-l`,
/// which it only touches).
pub fn covers(scope: &ScopeMap, path: &[DrillStep]) -> bool {
    scope
        .iter()
        .all(|(d, v)| path.iter().any(|s| s.dimension == *d && s.value == *v))
}

/// Every change from `start` (inclusive) to `end` (exclusive), newest
/// first, each saying whether it touches `path`.
pub fn change_lines(
    fleet: &Fleet,
    path: &[DrillStep],
    start: Millis,
    end: Millis,
) -> Vec<ChangeLine> {
    fleet
        .changes
        .iter()
        .rev()
        .filter(|c| (start..end).contains(&c.at))
        .map(|c| ChangeLine {
            id: c.id.clone(),
            at: c.at,
            text: change_text(c),
            here: touches(&c.scope, path),
        })
        .collect()
}

/// Buckets of `range` (0 = oldest shown) where a change covering `path`
/// took effect. Only covering ones: a fleet sees several changes an hour on
/// some slice, and a marker for each on every row that merely overlaps
/// them would hide the sparkline (the `C` list and the detail view show
/// every change touching the row).
pub fn row_change_starts(
    fleet: &Fleet,
    path: &[DrillStep],
    range: BucketRange,
    bucket_ms: Millis,
) -> Vec<usize> {
    let mut out: Vec<usize> = fleet
        .changes
        .iter()
        .filter(|c| covers(&c.scope, path))
        .filter_map(|c| {
            let offset = c.at.div_euclid(bucket_ms.max(1)).checked_sub(range.first)?;
            usize::try_from(offset).ok().filter(|&o| o < range.len)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A marker on the detail charts for every change touching `path`.
pub fn change_markers<'a>(
    fleet: &'a Fleet,
    path: &'a [DrillStep],
) -> impl Iterator<Item = TimeMarker> + 'a {
    fleet
        .changes
        .iter()
        .filter(|c| touches(&c.scope, path))
        .map(|c| TimeMarker {
            ts: c.at,
            kind: MarkerKind::Change,
            label: format!("{} \"{}\"", c.kind, clean(&c.title)),
        })
}

/// The top suspect of `regression`, one of the bug `members` among every
/// regression `detected` (`detect::rank_in_bug`).
pub fn best_suspect<'a>(
    regression: &DetectedRegression,
    members: &[&DetectedRegression],
    detected: &[DetectedRegression],
    changes: &'a [Change],
    store: &Store,
) -> Option<Suspect<'a>> {
    rank_in_bug(regression, members, detected, changes, store)
        .into_iter()
        .next()
}

/// What a new annotation of a regression cites by default: `suspect:
/// deploy "tpu-runtime v42" (change c-42), 3m before onset`.
pub fn citation(s: &Suspect<'_>) -> String {
    let lead = if s.lead_ms >= 0 {
        format!("{} before onset", crate::text::format::duration(s.lead_ms))
    } else {
        "at onset".to_owned()
    };
    format!(
        "suspect: {} \"{}\" (change {}), {lead}",
        s.change.kind,
        clean(&s.change.title),
        clean(&s.change.id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(pairs: &[(&str, &str)]) -> Vec<DrillStep> {
        pairs.iter().map(|(d, v)| DrillStep::new(*d, *v)).collect()
    }

    fn scope(pairs: &[(&str, &str)]) -> ScopeMap {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_change_touches_groups_sharing_a_slice_with_it() {
        let tpu = scope(&[("hardware", "tpu")]);
        assert!(touches(&tpu, &[]));
        assert!(touches(&tpu, &path(&[("model", "atlas-l")])));
        assert!(touches(&tpu, &path(&[("hardware", "tpu"), ("model", "m")])));
        assert!(!touches(&tpu, &path(&[("hardware", "gpu")])));
        assert!(touches(&scope(&[]), &path(&[("hardware", "gpu")])));
    }

    #[test]
    fn a_change_covers_only_groups_it_applied_to_whole() {
        let tpu_api = scope(&[("hardware", "tpu"), ("platform", "api")]);
        assert!(
            !covers(&tpu_api, &[]),
            "the fleet is more than TPU on the API"
        );
        assert!(!covers(&tpu_api, &path(&[("hardware", "tpu")])));
        assert!(covers(
            &tpu_api,
            &path(&[("hardware", "tpu"), ("platform", "api")])
        ));
        assert!(covers(
            &tpu_api,
            &path(&[("platform", "api"), ("hardware", "tpu"), ("model", "m")])
        ));
        assert!(!covers(&tpu_api, &path(&[("model", "atlas-l")])));
        assert!(
            covers(&scope(&[]), &[]),
            "a fleet-wide change covers every row"
        );
    }
}
