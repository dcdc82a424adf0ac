//! Which leaf slices a level covers (its drill path, through the filter) and
//! how they group into rows: by one dimension's values, or one row per leaf.

use super::filter::Filter;
use super::overview::RowKey;
use super::query::{DrillStep, Split};
use crate::store::{SliceId, SliceInterner};
use crate::text::sanitize::sanitize;

/// Shown for the empty value: a dimension the slice's backend does not declare.
pub const NO_VALUE: &str = "(none)";

/// The (dimension index, value id) pairs a path fixes; `None` when it names
/// a dimension or value the store does not have.
pub fn resolve_path(slices: &SliceInterner, path: &[DrillStep]) -> Option<Vec<(usize, u32)>> {
    path.iter()
        .map(|step| {
            let d = slices.dimension_index(&step.dimension)?;
            Some((d, slices.lookup_value(d, &step.value)?))
        })
        .collect()
}

/// The leaf slices under `path` that pass `filter`. Empty when the path
/// names something the store does not have.
pub fn slices_under(slices: &SliceInterner, path: &[DrillStep], filter: &Filter) -> Vec<SliceId> {
    let Some(fixed) = resolve_path(slices, path) else {
        return Vec::new();
    };
    let compiled = (!filter.is_empty()).then(|| filter.compile(slices));
    slices
        .ids()
        .filter(|&id| fixed.iter().all(|&(d, v)| slices.value_id(id, d) == v))
        .filter(|&id| compiled.as_ref().is_none_or(|f| f.matches(slices, id)))
        .collect()
}

/// Dimensions the path has not fixed, in declaration order.
pub fn unfixed_dimensions(slices: &SliceInterner, path: &[DrillStep]) -> Vec<usize> {
    (0..slices.dimensions().len())
        .filter(|&d| !path.iter().any(|s| s.dimension == slices.dimensions()[d]))
        .collect()
}

/// What the rows of a level are, resolved against the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvedSplit {
    Dimension(usize),
    /// One row per leaf, named by these (unfixed) dimensions' values.
    Leaves,
    /// Nothing left to split by (or an unknown dimension): the aggregate only.
    Nothing,
}

pub fn resolve_split(slices: &SliceInterner, path: &[DrillStep], split: &Split) -> ResolvedSplit {
    let unfixed = unfixed_dimensions(slices, path);
    match split {
        Split::Next => unfixed
            .first()
            .map_or(ResolvedSplit::Nothing, |&d| ResolvedSplit::Dimension(d)),
        Split::By(name) => slices
            .dimension_index(name)
            .map_or(ResolvedSplit::Nothing, ResolvedSplit::Dimension),
        Split::Leaves if unfixed.is_empty() => ResolvedSplit::Nothing,
        Split::Leaves => ResolvedSplit::Leaves,
    }
}

/// Members of a rollup, each `(slice, group)`, and each group's row key and
/// display name (sanitised).
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    pub members: Vec<(SliceId, u32)>,
    pub keys: Vec<RowKey>,
    pub names: Vec<String>,
}

impl Grouping {
    pub fn groups(&self) -> usize {
        self.keys.len()
    }

    /// One group per value of dimension `d` (values no member has give
    /// empty groups, dropped later for having no data).
    pub fn by_dimension(slices: &SliceInterner, ids: &[SliceId], d: usize) -> Grouping {
        let (keys, names) = slices
            .values_of(d)
            .iter()
            .map(|v| (RowKey::Value(v.to_string()), display_value(v)))
            .unzip();
        Grouping {
            members: ids.iter().map(|&id| (id, slices.value_id(id, d))).collect(),
            keys,
            names,
        }
    }

    /// One group per leaf slice, keyed and named by the values of `dims`.
    pub fn by_leaf(slices: &SliceInterner, ids: &[SliceId], dims: &[usize]) -> Grouping {
        let mut g = Grouping {
            members: Vec::with_capacity(ids.len()),
            keys: Vec::with_capacity(ids.len()),
            names: Vec::with_capacity(ids.len()),
        };
        for (i, &id) in ids.iter().enumerate() {
            let steps: Vec<DrillStep> = dims
                .iter()
                .map(|&d| DrillStep::new(&slices.dimensions()[d], slices.value(id, d)))
                .collect();
            let name = steps
                .iter()
                .map(|s| display_value(&s.value))
                .collect::<Vec<_>>()
                .join(" / ");
            g.members.push((id, i as u32));
            g.keys.push(RowKey::Leaf(steps));
            g.names.push(name);
        }
        g
    }
}

/// A raw value as the screen shows it.
pub fn display_value(v: &str) -> String {
    if v.is_empty() {
        NO_VALUE.to_owned()
    } else {
        sanitize(v).into_owned()
    }
}
