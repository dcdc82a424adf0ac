//! The `/` filter: `dim=value` terms (AND-ed; `dim=v1,v2` OR-s the values)
//! and plain words that match any dimension value. It selects leaf slices
//! before anything is rolled up, so a group row sums only matching leaves.

use crate::store::{SliceId, SliceInterner};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterTerm {
    /// The slice's value of `dimension` is one of `values` (case-insensitive).
    Values {
        dimension: String,
        values: Vec<String>,
    },
    /// Some dimension value of the slice contains this (lowercase) word.
    Word(String),
}

/// A parsed filter; the text is kept for the header and for editing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    text: String,
    terms: Vec<FilterTerm>,
}

impl Filter {
    /// Parses filter text. Never fails: a half-typed `model=` adds no term
    /// yet, so the table does not flicker while the engineer types.
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .filter_map(|token| match token.split_once('=') {
                Some((dim, values)) => {
                    let values: Vec<String> = values
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .map(str::to_lowercase)
                        .collect();
                    match (dim.is_empty(), values.is_empty()) {
                        (_, true) => None,
                        (true, false) => Some(FilterTerm::Word(values.join(","))),
                        (false, false) => Some(FilterTerm::Values {
                            dimension: dim.to_owned(),
                            values,
                        }),
                    }
                }
                None => Some(FilterTerm::Word(token.to_lowercase())),
            })
            .collect();
        Filter {
            text: text.trim().to_owned(),
            terms,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn terms(&self) -> &[FilterTerm] {
        &self.terms
    }

    /// Whether it lets every slice through.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The dimensions its terms name that the store does not know.
    pub fn unknown_dimensions(&self, slices: &SliceInterner) -> Vec<String> {
        self.terms
            .iter()
            .filter_map(|t| match t {
                FilterTerm::Values { dimension, .. }
                    if dimension_index(slices, dimension).is_none() =>
                {
                    Some(dimension.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// The filter resolved against the store's value tables, so testing a
    /// slice is a few table lookups, not string compares.
    pub fn compile(&self, slices: &SliceInterner) -> CompiledFilter {
        let dims = slices.dimensions().len();
        let terms = self
            .terms
            .iter()
            .map(|term| match term {
                FilterTerm::Values { dimension, values } => {
                    match dimension_index(slices, dimension) {
                        Some(d) => CompiledTerm::Dimension {
                            dim: d,
                            allowed: slices
                                .values_of(d)
                                .iter()
                                .map(|v| values.iter().any(|want| v.eq_ignore_ascii_case(want)))
                                .collect(),
                        },
                        None => CompiledTerm::Never,
                    }
                }
                FilterTerm::Word(word) => CompiledTerm::Word(
                    (0..dims)
                        .map(|d| {
                            slices
                                .values_of(d)
                                .iter()
                                .map(|v| !v.is_empty() && v.to_lowercase().contains(word.as_str()))
                                .collect()
                        })
                        .collect(),
                ),
            })
            .collect();
        CompiledFilter { terms }
    }
}

/// A dimension by name, case-insensitive (exact spelling first).
fn dimension_index(slices: &SliceInterner, name: &str) -> Option<usize> {
    slices.dimension_index(name).or_else(|| {
        slices
            .dimensions()
            .iter()
            .position(|d| d.eq_ignore_ascii_case(name))
    })
}

#[derive(Debug, Clone)]
enum CompiledTerm {
    /// By value id of one dimension: whether the value is allowed.
    Dimension { dim: usize, allowed: Vec<bool> },
    /// Per dimension, by value id: whether the value contains the word.
    Word(Vec<Vec<bool>>),
    /// Names a dimension the store does not have: nothing matches.
    Never,
}

#[derive(Debug, Clone)]
pub struct CompiledFilter {
    terms: Vec<CompiledTerm>,
}

impl CompiledFilter {
    pub fn matches(&self, slices: &SliceInterner, slice: SliceId) -> bool {
        self.terms.iter().all(|term| match term {
            CompiledTerm::Dimension { dim, allowed } => allowed
                .get(slices.value_id(slice, *dim) as usize)
                .copied()
                .unwrap_or(false),
            CompiledTerm::Word(per_dim) => per_dim.iter().enumerate().any(|(d, allowed)| {
                allowed
                    .get(slices.value_id(slice, d) as usize)
                    .copied()
                    .unwrap_or(false)
            }),
            CompiledTerm::Never => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SliceMap;

    fn interner() -> (SliceInterner, Vec<SliceId>) {
        let mut i = SliceInterner::new();
        i.add_dimension("model").unwrap();
        i.add_dimension("hardware").unwrap();
        let mut ids = Vec::new();
        for (m, h) in [("m1", "tpu"), ("m1", "gpu"), ("m3", "tpu"), ("m3", "GPU")] {
            let map = SliceMap::from_pairs([
                ("model".to_owned(), m.to_owned()),
                ("hardware".to_owned(), h.to_owned()),
            ]);
            ids.push(i.intern(&map, &[0, 1]).unwrap());
        }
        (i, ids)
    }

    fn matching(text: &str) -> Vec<usize> {
        let (i, ids) = interner();
        let f = Filter::parse(text).compile(&i);
        (0..ids.len()).filter(|&k| f.matches(&i, ids[k])).collect()
    }

    #[test]
    fn terms_are_and_ed_and_comma_values_or_ed() {
        assert_eq!(matching("model=m1"), [0, 1]);
        assert_eq!(matching("model=m1 hardware=tpu"), [0]);
        assert_eq!(matching("model=m1,m3 hardware=tpu"), [0, 2]);
    }

    #[test]
    fn values_and_words_ignore_case_and_words_match_any_dimension() {
        assert_eq!(matching("hardware=gpu"), [1, 3]);
        assert_eq!(matching("GPU"), [1, 3]);
        assert_eq!(matching("3"), [2, 3]);
        assert_eq!(matching("Model=M3"), [2, 3]);
    }

    #[test]
    fn an_unknown_dimension_matches_nothing_and_is_reported() {
        assert!(matching("colour=red").is_empty());
        let (i, _) = interner();
        assert_eq!(
            Filter::parse("colour=red model=m1").unknown_dimensions(&i),
            ["colour"]
        );
    }

    #[test]
    fn half_typed_terms_add_nothing_yet() {
        assert_eq!(matching("model="), [0, 1, 2, 3]);
        assert!(Filter::parse("  model=  ").is_empty());
        assert_eq!(Filter::parse("  model=  ").text(), "model=");
    }
}
