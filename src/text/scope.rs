//! A scope (dimension → value) and a place (dimension → values) as one
//! line of text, the same on every screen, in `check`, `snapshot`, exports,
//! copies and Grafana: `hardware=tpu ∧ model=atlas-l,atlas-m`, or
//! [`WHOLE_FLEET`] for no constraint. Sanitised: dimension names and values
//! come from backends.

use std::collections::{BTreeMap, BTreeSet};

use super::sanitize::sanitize;

/// The empty scope, in words.
pub const WHOLE_FLEET: &str = "whole fleet";
/// Between the dimensions of one scope (all of them hold).
pub const AND: &str = " ∧ ";

/// `hardware=tpu ∧ model=atlas-m`, or `whole fleet`.
pub fn scope_text(scope: &BTreeMap<String, String>) -> String {
    joined(scope.iter().map(|(d, v)| format!("{d}={v}")))
}

/// `hardware=tpu ∧ model=atlas-l,atlas-m`, or `whole fleet`: one value
/// list per dimension, any of which holds.
pub fn place_text(place: &BTreeMap<String, BTreeSet<String>>) -> String {
    joined(place.iter().map(|(d, vs)| {
        let values: Vec<&str> = vs.iter().map(String::as_str).collect();
        format!("{d}={}", values.join(","))
    }))
}

/// `tpu/atlas-l,atlas-m/api`: a place's values only, in dimension order,
/// for a line too narrow for [`place_text`] (the rows' status column says
/// places this way); [`WHOLE_FLEET`] for no constraint.
pub fn values_text(place: &BTreeMap<String, BTreeSet<String>>) -> String {
    if place.is_empty() {
        return WHOLE_FLEET.to_owned();
    }
    let parts: Vec<String> = place
        .values()
        .map(|vs| vs.iter().map(String::as_str).collect::<Vec<_>>().join(","))
        .collect();
    sanitize(&parts.join("/")).into_owned()
}

/// `model=atlas-m ∧ hardware=tpu` in the order given (a drill path keeps
/// the order the person drilled in).
pub fn steps_text<'a>(steps: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    joined(steps.into_iter().map(|(d, v)| format!("{d}={v}")))
}

fn joined(parts: impl Iterator<Item = String>) -> String {
    let parts: Vec<String> = parts.collect();
    if parts.is_empty() {
        return WHOLE_FLEET.to_owned();
    }
    sanitize(&parts.join(AND)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_the_whole_fleet_everywhere() {
        assert_eq!(scope_text(&BTreeMap::new()), WHOLE_FLEET);
        assert_eq!(place_text(&BTreeMap::new()), WHOLE_FLEET);
        assert_eq!(values_text(&BTreeMap::new()), WHOLE_FLEET);
        assert_eq!(steps_text([]), WHOLE_FLEET);
    }

    #[test]
    fn dimensions_sorted_values_listed_and_hostile_text_stripped() {
        let scope: BTreeMap<String, String> =
            [("model", "atlas-m"), ("hardware", "tpu\x1b]0;x\x07")]
                .into_iter()
                .map(|(d, v)| (d.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(scope_text(&scope), "hardware=tpu ∧ model=atlas-m");
        let place: BTreeMap<String, BTreeSet<String>> = [(
            "model".to_owned(),
            ["atlas-m".to_owned(), "atlas-l".to_owned()].into(),
        )]
        .into();
        assert_eq!(place_text(&place), "model=atlas-l,atlas-m");
        assert_eq!(
            steps_text([("model", "m3"), ("hardware", "tpu")]),
            "model=m3 ∧ hardware=tpu"
        );
    }

    #[test]
    fn values_only_keep_the_dimension_order_and_strip_hostile_text() {
        let place: BTreeMap<String, BTreeSet<String>> = [
            ("platform", vec!["api"]),
            ("hardware", vec!["tpu"]),
            ("model", vec!["atlas-m", "atlas-l\x1b[2J"]),
        ]
        .into_iter()
        .map(|(d, vs)| (d.to_owned(), vs.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(values_text(&place), "tpu/atlas-l,atlas-m/api");
    }
}
