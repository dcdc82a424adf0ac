//! Where a bug is, as narrowly as is true: the union of its regressions'
//! scopes, those inside another dropped, and scopes that differ in one
//! dimension's value merged (`hardware=tpu ∧ model=atlas-l,atlas-m`). The
//! constraints every member shares (`Bug::scope`) can be far wider: a bug
//! whose members are `model=atlas-s` and `hardware=tpu ∧ model=atlas-m`
//! shares nothing, yet is not the whole fleet.

use std::collections::{BTreeMap, BTreeSet};

/// One place: dimension → the values it may take (one or more).
pub type Place = BTreeMap<String, BTreeSet<String>>;

fn place_of(scope: &BTreeMap<String, String>) -> Place {
    scope
        .iter()
        .map(|(d, v)| (d.clone(), BTreeSet::from([v.clone()])))
        .collect()
}

/// Whether every slice of `inner` lies in `outer`.
fn within(inner: &Place, outer: &Place) -> bool {
    outer
        .iter()
        .all(|(d, vs)| inner.get(d).is_some_and(|iv| iv.is_subset(vs)))
}

/// Whether every slice of `scope` lies in `place`.
pub fn holds(place: &Place, scope: &BTreeMap<String, String>) -> bool {
    within(&place_of(scope), place)
}

/// The dimension in which two places with the same dimensions differ, if
/// they differ in exactly one.
fn sole_difference<'a>(a: &'a Place, b: &Place) -> Option<&'a String> {
    if a.len() != b.len() || !a.keys().eq(b.keys()) {
        return None;
    }
    let mut differing = a.iter().filter(|(d, vs)| b.get(*d) != Some(*vs));
    let first = differing.next()?;
    differing.next().is_none().then_some(first.0)
}

/// Drops every place that lies inside another (or repeats one).
fn outermost(places: Vec<Place>) -> Vec<Place> {
    let mut out: Vec<Place> = Vec::new();
    for (i, p) in places.iter().enumerate() {
        let covered = places
            .iter()
            .enumerate()
            .any(|(j, q)| j != i && within(p, q) && (!within(q, p) || j < i));
        if !covered {
            out.push(p.clone());
        }
    }
    out
}

/// Every known value of each dimension (empty value left out): a place
/// listing all of them does not constrain that dimension.
pub type KnownValues = BTreeMap<String, BTreeSet<String>>;

/// Whether `values` name every known value of a dimension (so constrain
/// nothing). A dimension with no known value yet is never covered.
fn covers_all(known: &BTreeSet<String>, values: &BTreeSet<String>) -> bool {
    !known.is_empty() && known.is_subset(values)
}

/// Every dimension's known values in `store`, raw like the scopes they are
/// matched to.
pub fn known_values(store: &crate::store::Store) -> KnownValues {
    store
        .slices()
        .named_values()
        .map(|(name, values)| (name.to_owned(), values.map(str::to_owned).collect()))
        .collect()
}

/// The narrowest true description of the union of `scopes`, widest
/// places first. Empty input, or any empty scope: one empty place.
pub fn narrowest<'a>(
    scopes: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
    known: &KnownValues,
) -> Vec<Place> {
    let mut places = outermost(scopes.into_iter().map(place_of).collect());
    loop {
        let pair = (0..places.len()).find_map(|i| {
            (i + 1..places.len())
                .find_map(|j| sole_difference(&places[i], &places[j]).map(|d| (i, j, d.clone())))
        });
        let Some((i, j, dim)) = pair else { break };
        let merged = places.remove(j);
        if let Some(from) = merged.get(&dim)
            && let Some(into) = places[i].get_mut(&dim)
        {
            into.extend(from.iter().cloned());
            if known.get(&dim).is_some_and(|all| covers_all(all, into)) {
                places[i].remove(&dim);
            }
        }
        places = outermost(places);
    }
    if places.is_empty() {
        places.push(Place::new());
    }
    places.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    places
}

/// The narrowest single place holding all of `places`: each dimension every
/// one of them constrains, with the values they take together (none when
/// that is every known value).
pub fn envelope(places: &[Place], known: &KnownValues) -> Place {
    let Some((first, rest)) = places.split_first() else {
        return Place::new();
    };
    let mut out = first.clone();
    out.retain(|d, _| rest.iter().all(|p| p.contains_key(d)));
    for p in rest {
        for (d, vs) in &mut out {
            if let Some(more) = p.get(d) {
                vs.extend(more.iter().cloned());
            }
        }
    }
    out.retain(|d, vs| known.get(d).is_none_or(|all| !covers_all(all, vs)));
    out
}

/// Several places joined with `or`.
#[cfg(test)]
fn describe_places(places: &[Place]) -> String {
    places
        .iter()
        .map(crate::text::scope::place_text)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One leaf combination several tests place beside others.
    const TPU_M_API: [(&str, &str); 3] = [
        ("hardware", "tpu"),
        ("model", "atlas-m"),
        ("platform", "api"),
    ];

    fn scope(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sibling_combinations_merge_into_one_value_list() {
        let s = [
            scope(&TPU_M_API),
            scope(&[
                ("hardware", "tpu"),
                ("model", "atlas-l"),
                ("platform", "api"),
            ]),
            scope(&TPU_M_API),
        ];
        assert_eq!(
            describe_places(&narrowest(&s, &KnownValues::new())),
            "hardware=tpu ∧ model=atlas-l,atlas-m ∧ platform=api"
        );
    }

    #[test]
    fn a_scope_inside_another_is_dropped_and_unrelated_ones_are_kept_apart() {
        let s = [
            scope(&[("hardware", "tpu"), ("model", "atlas-l")]),
            scope(&[("model", "atlas-l")]),
            scope(&TPU_M_API),
        ];
        assert_eq!(
            describe_places(&narrowest(&s, &KnownValues::new())),
            "model=atlas-l or hardware=tpu ∧ model=atlas-m ∧ platform=api"
        );
    }

    #[test]
    fn the_empty_scope_is_the_whole_fleet_and_swallows_the_rest() {
        let s = [scope(&[]), scope(&[("model", "atlas-l")])];
        assert_eq!(
            describe_places(&narrowest(&s, &KnownValues::new())),
            crate::text::scope::WHOLE_FLEET
        );
    }

    #[test]
    fn the_envelope_keeps_what_every_place_constrains_with_their_values() {
        let s = [
            scope(&[("hardware", "tpu"), ("model", "atlas-m"), ("region", "eu")]),
            scope(&[("model", "atlas-s"), ("platform", "api")]),
        ];
        let places = narrowest(&s, &KnownValues::new());
        assert_eq!(places.len(), 2);
        let env = envelope(&places, &KnownValues::new());
        assert_eq!(
            crate::text::scope::place_text(&env),
            "model=atlas-m,atlas-s"
        );
    }

    #[test]
    fn every_value_of_a_dimension_is_no_constraint_on_it() {
        let s = [
            scope(&[("hardware", "tpu"), ("model", "a")]),
            scope(&[("hardware", "tpu"), ("model", "b")]),
        ];
        let known = KnownValues::from([(
            "model".to_owned(),
            BTreeSet::from(["a".to_owned(), "b".to_owned()]),
        )]);
        assert_eq!(describe_places(&narrowest(&s, &known)), "hardware=tpu");
    }
}
