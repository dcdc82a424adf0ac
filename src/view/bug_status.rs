//! Which bug a table row shows, and how: one grouping of the regressions
//! into bugs (as the header and `check` group them) and one place per bug
//! ([`Bug::place`]), computed once per view.
//!
//! A row shows a bug when the row lies inside the bug's place (every slice
//! of the row is hit), when the part of the bug in the row is narrower
//! than the row (it says where: `in tpu/api`), or when the row's own
//! detector fired into it. A bug that merely overlaps a row (the TPU bug's
//! `platform=api` against the row `region=ap-south`) leaves it alone, so
//! splitting by another dimension still narrows things down; a row the
//! place excludes (`model=atlas-s` against `model=atlas-l,atlas-m`) is
//! never flagged by it.

use crate::detect::{
    Bug, DetectedRegression, Place, ScopeMap, group_bugs, known_values, places_apart,
};
use crate::feed::Fleet;
use crate::protocol::Millis;

/// The fleet's bugs and their places, for every row of one view.
pub struct BugMap<'a> {
    bugs: Vec<(Bug<'a>, Place)>,
    /// Parts of active bugs that recovered, with when and the signals of
    /// their bug: their rows say ENDED.
    recovered: Vec<(Place, Millis, Vec<&'a str>)>,
}

/// How a bug's place and a row relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// The part of the bug in the row is narrower than the row.
    Inside,
    /// The row lies inside the bug (or its own detector fired into it).
    Covers,
}

/// The bug a row shows, with what it says.
pub struct Shown<'m, 'a> {
    pub bug: &'m Bug<'a>,
    pub fit: Fit,
    /// Where in the row the bug lies, when that is narrower than the row:
    /// the place's one-valued constraints the row does not fix, `tpu/api`.
    pub within: String,
}

/// When a status is asked for: now, or at a frozen cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Now,
    Time(Millis),
}

impl<'a> BugMap<'a> {
    pub fn new(fleet: &'a Fleet) -> Self {
        let known = known_values(&fleet.store);
        let bugs: Vec<(Bug<'a>, Place)> = group_bugs(&fleet.detections.regressions)
            .into_iter()
            .map(|b| {
                let place = b.place(&known);
                (b, place)
            })
            .collect();
        let recovered = bugs
            .iter()
            .flat_map(|(b, _)| {
                let signals = b.signals();
                b.recovered(&known)
                    .into_iter()
                    .map(move |(part, end)| (part, end, signals.clone()))
            })
            .collect();
        BugMap { bugs, recovered }
    }

    /// The regressions of the bug `r` belongs to.
    pub fn members_of(&self, r: &DetectedRegression) -> Option<&[&'a DetectedRegression]> {
        self.bugs
            .iter()
            .find(|(b, _)| b.members.iter().any(|m| std::ptr::eq(*m, r)))
            .map(|(b, _)| b.members.as_slice())
    }

    /// The onset of the bug `r` belongs to.
    pub fn onset_of(&self, r: &DetectedRegression) -> Option<Millis> {
        self.bugs
            .iter()
            .find(|(b, _)| b.members.iter().any(|m| std::ptr::eq(*m, r)))
            .map(|(b, _)| b.onset())
    }

    /// The bug in force at `at` that `row` shows for `signals`: the one
    /// covering the row before one inside it, then the larger drop.
    pub fn shown<'m>(
        &'m self,
        row: &ScopeMap,
        signals: &[String],
        at: At,
    ) -> Option<Shown<'m, 'a>> {
        self.bugs
            .iter()
            .filter_map(|(bug, place)| {
                let members = bug.members.iter().filter(|r| signals.contains(&r.signal));
                let in_force = |covers: &dyn Fn(Millis) -> bool, active: bool| match at {
                    At::Now => active,
                    At::Time(t) => covers(t),
                };
                let mut any = false;
                let mut own = false;
                // Whether a cause the scope search found reaches the row (or
                // a member has none, so its whole scope counts).
                let mut reached = false;
                for r in members {
                    if !in_force(&|t| r.covers(t), r.is_active()) {
                        continue;
                    }
                    any = true;
                    own |= r.alarms.iter().any(|a| {
                        &a.scope == row && in_force(&|t| a.covers(t), a.ended_at.is_none())
                    });
                    reached |=
                        r.causes.is_empty() || r.causes.iter().any(|c| !disjoint(&c.scope, row));
                }
                if !any {
                    return None;
                }
                let place_fit = fit(place, row);
                let fit = match place_fit {
                    _ if own => Fit::Covers,
                    // A broad early scope whose causes all lie elsewhere
                    // spares the row (hardware=tpu, found in other models).
                    Some(Fit::Covers) if !reached => return None,
                    Some(f) => f,
                    None => return None,
                };
                Some(Shown {
                    bug,
                    fit,
                    within: if place_fit == Some(Fit::Inside) {
                        within(place, row)
                    } else {
                        String::new()
                    },
                })
            })
            .max_by(|a, b| {
                a.fit
                    .cmp(&b.fit)
                    .then_with(|| {
                        b.bug
                            .now()
                            .worst()
                            .delta_pp
                            .total_cmp(&a.bug.now().worst().delta_pp)
                    })
                    .then_with(|| a.bug.onset().cmp(&b.bug.onset()))
            })
    }

    /// When the latest bug `row` showed for `signals` ended, if it ended
    /// at or before `now` and less than `shown_for` ago; a recovered part of
    /// a bug still in force elsewhere counts as ended for its rows.
    pub fn ended(
        &self,
        row: &ScopeMap,
        signals: &[String],
        now: Millis,
        shown_for: Millis,
    ) -> Option<Millis> {
        self.bugs
            .iter()
            .filter(|(bug, _)| bug.members.iter().any(|r| signals.contains(&r.signal)))
            .filter_map(|(bug, place)| {
                let end = bug.ended_at()?;
                (end <= now && now - end < shown_for && fit(place, row).is_some()).then_some(end)
            })
            .chain(self.recovered.iter().filter_map(|(part, end, hurt)| {
                let end = *end;
                let asked = hurt.iter().any(|h| signals.iter().any(|s| s == h));
                (asked && end <= now && now - end < shown_for && fit(part, row).is_some())
                    .then_some(end)
            }))
            .max()
    }
}

/// Whether two scopes fix one dimension to different values.
fn disjoint(a: &ScopeMap, b: &ScopeMap) -> bool {
    places_apart(a, b) > 0
}

/// How `place` and `row` relate, if they nest.
pub fn fit(place: &Place, row: &ScopeMap) -> Option<Fit> {
    for (d, v) in row {
        if place.get(d).is_some_and(|vs| !vs.contains(v)) {
            return None;
        }
    }
    if place.keys().all(|d| row.contains_key(d)) {
        Some(Fit::Covers)
    } else if row.keys().all(|d| place.contains_key(d)) {
        Some(Fit::Inside)
    } else {
        None
    }
}

/// The place's one-valued constraints beyond the row, values only, short
/// enough for the status column (the scope panel names the dimensions).
fn within(place: &Place, row: &ScopeMap) -> String {
    place
        .iter()
        .filter(|(d, vs)| vs.len() == 1 && !row.contains_key(*d))
        .filter_map(|(_, vs)| vs.iter().next().map(String::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn place(pairs: &[(&str, &[&str])]) -> Place {
        pairs
            .iter()
            .map(|(d, vs)| {
                (
                    (*d).to_owned(),
                    vs.iter().map(|v| (*v).to_owned()).collect::<BTreeSet<_>>(),
                )
            })
            .collect()
    }

    fn row(pairs: &[(&str, &str)]) -> ScopeMap {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_nest_in_a_place_or_hold_it_and_overlaps_or_exclusions_do_not_count() {
        let tpu_bug = place(&[
            ("hardware", &["tpu"]),
            ("platform", &["api"]),
            ("model", &["l", "m", "xl"]),
        ]);
        assert_eq!(fit(&tpu_bug, &row(&[])), Some(Fit::Inside));
        assert_eq!(fit(&tpu_bug, &row(&[("model", "m")])), Some(Fit::Inside));
        assert_eq!(
            fit(&tpu_bug, &row(&[("hardware", "tpu")])),
            Some(Fit::Inside)
        );
        let leaf = row(&[
            ("hardware", "tpu"),
            ("platform", "api"),
            ("model", "m"),
            ("region", "eu"),
        ]);
        assert_eq!(fit(&tpu_bug, &leaf), Some(Fit::Covers));
        // Excluded: another model, another platform.
        assert_eq!(fit(&tpu_bug, &row(&[("model", "s")])), None);
        assert_eq!(
            fit(
                &tpu_bug,
                &row(&[("hardware", "tpu"), ("platform", "nimbus")])
            ),
            None
        );
        // Overlapping only: the row fixes a region the place leaves open.
        assert_eq!(
            fit(&tpu_bug, &row(&[("hardware", "tpu"), ("region", "eu")])),
            None
        );
        assert_eq!(within(&tpu_bug, &row(&[("model", "m")])), "tpu/api");
    }
}
