//! How a change's scope meets a regression's: the same, wider, narrower,
//! overlapping or disjoint, and what that weighs in a suspect's score.

use super::bugs::places_apart;
use super::detections::ScopeMap;
use super::suspects::RankWeights;
use crate::store::SliceInterner;

/// How a change's scope meets a regression's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeFit {
    /// The same dimension values.
    Same,
    /// The change covers the regression's scope and more (`n` dimensions
    /// the regression fixes are open in the change).
    Wider(usize),
    /// The change covers part of the regression's scope.
    Narrower(usize),
    /// Each fixes dimensions the other leaves open.
    Overlapping,
    /// A dimension with different values: no slice is in both.
    Disjoint,
}

impl ScopeFit {
    /// How `change` meets `regression` (dimension → value maps; `{}` is
    /// the whole fleet).
    pub fn of(change: &ScopeMap, regression: &ScopeMap) -> ScopeFit {
        if places_apart(change, regression) > 0 {
            return ScopeFit::Disjoint;
        }
        let open_in_change = regression
            .keys()
            .filter(|d| !change.contains_key(*d))
            .count();
        let open_in_regression = change
            .keys()
            .filter(|d| !regression.contains_key(*d))
            .count();
        match (open_in_change, open_in_regression) {
            (0, 0) => ScopeFit::Same,
            (n, 0) => ScopeFit::Wider(n),
            (0, n) => ScopeFit::Narrower(n),
            _ => ScopeFit::Overlapping,
        }
    }

    /// Its factor in the score, 0..=1.
    pub(super) fn weight(self, change: &ScopeMap, regression: &ScopeMap, w: &RankWeights) -> f64 {
        let open = |a: &ScopeMap, b: &ScopeMap| b.keys().filter(|d| !a.contains_key(*d)).count();
        match self {
            ScopeFit::Same => 1.0,
            ScopeFit::Wider(n) => w.broader_per_dim.powi(dims(n)),
            ScopeFit::Narrower(n) => w.narrower_per_dim.powi(dims(n)),
            ScopeFit::Overlapping => {
                w.broader_per_dim.powi(dims(open(change, regression)))
                    * w.narrower_per_dim.powi(dims(open(regression, change)))
            }
            ScopeFit::Disjoint => 0.0,
        }
    }

    pub(super) fn words(self, change: &ScopeMap) -> String {
        match self {
            ScopeFit::Same => "same scope".to_owned(),
            ScopeFit::Wider(_) if change.is_empty() => "whole fleet".to_owned(),
            ScopeFit::Wider(_) => "wider scope".to_owned(),
            ScopeFit::Narrower(_) => "part of the scope".to_owned(),
            ScopeFit::Overlapping => "overlapping scope".to_owned(),
            ScopeFit::Disjoint => "other scope".to_owned(),
        }
    }
}

/// Whether a change on `change` can have touched a slice of `place`: no
/// dimension keeps them apart and, unless it covers the place, a slice the
/// fleet serves (`served`) lies in both. A deploy to `hardware=trainium ∧
/// platform=nimbus` touches nothing where no nimbus server has Trainium,
/// nor does one to `platform=nimbus` touch `hardware=trainium`. With no
/// slice held, or a dimension the fleet does not know, the dimensions
/// alone decide.
pub fn can_touch(change: &ScopeMap, place: &ScopeMap, served: &SliceInterner) -> bool {
    match ScopeFit::of(change, place) {
        ScopeFit::Disjoint => false,
        ScopeFit::Same | ScopeFit::Wider(_) => true,
        ScopeFit::Narrower(_) | ScopeFit::Overlapping => {
            let both = change.iter().chain(place);
            served.serves(both.map(|(d, v)| (d.as_str(), v.as_str()))) != Some(false)
        }
    }
}

fn dims(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
