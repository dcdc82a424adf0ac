//! Which change explains a regression: every change the backends reported,
//! ranked against one regression by how long before its onset it took
//! effect, how its scope meets the regression's, and its kind, with the
//! reason in words. The one ranking every surface (screen, `check`,
//! `snapshot`, exports) calls.

use super::bugs::{ONSET_SPREAD_MS, scope_includes};
use super::detections::{DetectedRegression, ScopeMap, ScopeOrigin};
use super::drop_table::DropTable;
use super::onset_spread::ONSET_POINTS;
pub use super::suspects_factors::{
    Factors, LOOKBACK_MS, ONSET_SLACK_MS, RankWeights, factors, factors_at_points, kind_weight,
};
pub use super::suspects_fit::{ScopeFit, can_touch};
pub use super::suspects_words::{WhyParts, why};
use super::suspects_words::{dated_for_bug, sighting_words, unsure_words};
use crate::protocol::{Change, Millis};
use crate::store::Store;

/// One change as a suspect of one regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect<'a> {
    pub change: &'a Change,
    /// 0..=1; higher explains better.
    pub score: f64,
    /// Onset − change time (negative: the change came after the estimate).
    pub lead_ms: Millis,
    pub fit: ScopeFit,
    /// `deploy "tpu-runtime v42" to hardware=tpu ∧ platform=api, 3m before
    /// onset, same scope`; sanitised.
    pub why: String,
    /// Where the title and the scope lie in `why`.
    pub parts: WhyParts,
    /// The words of the earlier sighting that decided it, already at the
    /// end of `why` (`; 2m before golden-qa dropped on …`), if one did.
    pub sighting: Option<String>,
    /// Where the data place the onset of the regression it is told
    /// against, when that is unsure (`; onset unsure: up to 16m earlier`),
    /// already in `why` before the sighting.
    pub unsure: Option<String>,
}

/// The changes that may explain `regression`, best first: those from
/// [`LOOKBACK_MS`] before its onset to [`ONSET_SLACK_MS`] after, whose
/// scope shares a slice with its scope. Ties go to the later change. The
/// dimensions alone decide what shares a slice: the surfaces rank with
/// [`rank_in_bug`], which knows the slices the fleet serves.
pub fn rank_suspects<'a>(
    regression: &DetectedRegression,
    changes: &'a [Change],
) -> Vec<Suspect<'a>> {
    rank_bug(&[regression], changes)
}

/// [`rank_suspects`] for anything with a scope and a start (an annotation),
/// on what `store` holds (see [`rank_in_bug_with`]).
pub fn rank_at<'a>(
    scope: &ScopeMap,
    onset: Millis,
    changes: &'a [Change],
    store: &Store,
) -> Vec<Suspect<'a>> {
    let place = Place {
        scope,
        onset,
        points: [onset; ONSET_POINTS],
        weight: 1.0,
        evidence: Evidence::Peer,
        signal: "",
        drop: None,
    };
    rank_places(&[place], changes, &RankWeights::default(), Some(store))
}

/// The changes that may explain a bug (the regressions of one fault, see
/// [`group_bugs`](super::group_bugs)), best first. A change's score is the
/// mean of its score against each member: one that fits every signal and
/// place of the fault beats one just as near in time that misses some (a
/// deploy to `model=atlas-m` cannot explain the same fault on `atlas-l`),
/// and one member whose onset estimate strays does not decide alone. The
/// words are those of the member it explains best.
pub fn rank_bug<'a>(members: &[&DetectedRegression], changes: &'a [Change]) -> Vec<Suspect<'a>> {
    let weight = 1.0 / members.len().max(1) as f64;
    let places: Vec<Place> = members
        .iter()
        .map(|r| Place::of(r, weight, Evidence::Peer))
        .collect();
    rank_places(&places, changes, &RankWeights::default(), None)
}

/// The changes that may explain `regression`, one of the regressions of a
/// bug (`bug`, which holds it too), with the default [`RankWeights`];
/// `detected`: every regression detection holds (the bug's among them or
/// not), for its earlier sightings; `store`: the slices the fleet serves
/// and their data. See [`rank_in_bug_with`].
pub fn rank_in_bug<'a>(
    regression: &DetectedRegression,
    bug: &[&DetectedRegression],
    detected: &[DetectedRegression],
    changes: &'a [Change],
    store: &Store,
) -> Vec<Suspect<'a>> {
    let seen: Vec<&DetectedRegression> = detected.iter().collect();
    rank_in_bug_with(
        &RankWeights::default(),
        regression,
        bug,
        &seen,
        changes,
        store,
    )
}

/// [`rank_in_bug`] with the weights given. The evidence is:
/// - its peers: the members whose onsets lie within [`ONSET_SPREAD_MS`] of
///   its own (itself among them), the same fault seen at the same moment on
///   other signals and places, as in [`rank_bug`]. A bug that folded two
///   faults hours apart (a routing change after a TPU one) thus ranks each
///   regression against its own fault;
/// - its earlier sightings: regressions of any bug (`bug` and `seen`) that
///   began before its peers, were still in force at its onset, were placed
///   by the scope search (a group alarm's place is wider than its fault),
///   and whose place shares slices with its own (the scope search cuts one
///   fault many ways: `hardware=tpu ∧ model=atlas-m` and `model=atlas-m ∧
///   region=us-east` share its TPU slices in us-east). A regression
///   detected hours into a fault (a small drop that needed hours of
///   evidence, often grouped apart from the fault's first alarms) is one of
///   the faults already in force there seen late: a change's credit from
///   them is its best fit among them (the fault it would be), not their
///   mean. They decide [`RankWeights::earlier_share`] of the score of a
///   regression that began alone, [`RankWeights::arrival_share`] of one
///   that began with peers; more ([`RankWeights::nested_earlier_share`],
///   [`RankWeights::nested_arrival_share`]) when a sighting's place holds
///   the regression's or lies inside it, each sighting with its own share.
///   A change must still be a suspect of a peer: an earlier sighting adds
///   weight, never a suspect;
/// - no change disjoint from the regression's own place, whatever its
///   peers: a change that touched none of its slices cannot explain it;
/// - for a regression the scope search did not localise, no change
///   disjoint from every place it localised inside it for the bug;
/// - a suspect must touch a slice the fleet serves (`store`) of each
///   place it is scored against and of the regression's own, not only
///   share dimension values with it (see [`can_touch`]). An earlier
///   sighting is told by the dimensions alone: it is evidence of a fault,
///   whose place may hold both (a routing fault on `model=atlas-m` seen on
///   `model=atlas-m ∧ platform=api` and on `hardware=trainium`);
/// - a change that reached part of a place weighs, for the dimensions the
///   place fixes and it does not, the share of the place's missing good in
///   the slices it reached, where the place's regression holds its
///   [`DropTable`] (measured when the engine placed it), instead of a flat factor per dimension it fixes: a
///   wide place whose drop is all on atlas-m is the router change's to
///   `model=atlas-m`, not a deploy's to `model=atlas-l ∧ region=eu-west`.
pub fn rank_in_bug_with<'a>(
    weights: &RankWeights,
    regression: &DetectedRegression,
    bug: &[&DetectedRegression],
    seen: &[&DetectedRegression],
    changes: &'a [Change],
    store: &Store,
) -> Vec<Suspect<'a>> {
    let served = store.slices();
    let mut peers: Vec<&DetectedRegression> = bug
        .iter()
        .copied()
        .filter(|m| (m.onset - regression.onset).abs() <= ONSET_SPREAD_MS)
        .collect();
    if !peers.iter().any(|m| std::ptr::eq(*m, regression)) {
        peers.push(regression);
    }
    let mut earlier: Vec<&DetectedRegression> = Vec::new();
    for m in bug.iter().chain(seen).copied() {
        let sighting = m.origin == ScopeOrigin::Cause
            && m.onset < regression.onset - ONSET_SPREAD_MS
            && m.covers(regression.onset)
            && ScopeFit::of(&m.scope, &regression.scope) != ScopeFit::Disjoint;
        if sighting && !earlier.iter().any(|e| std::ptr::eq(*e, m)) {
            earlier.push(m);
        }
    }
    let alone = peers.len() <= 1;
    let share_of = |m: &DetectedRegression| {
        let nested = !matches!(
            ScopeFit::of(&m.scope, &regression.scope),
            ScopeFit::Overlapping | ScopeFit::Disjoint
        );
        let share = match (alone, nested) {
            (true, false) => weights.earlier_share,
            (true, true) => weights.nested_earlier_share,
            (false, false) => weights.arrival_share,
            (false, true) => weights.nested_arrival_share,
        };
        share.clamp(0.0, 1.0)
    };
    let share = earlier.iter().map(|m| share_of(m)).fold(0.0, f64::max);
    let fault = localised_inside(regression, bug);
    let peer_weight = (1.0 - share) / peers.len() as f64;
    let places: Vec<Place> = peers
        .iter()
        .map(|r| Place::of(r, peer_weight, Evidence::Peer))
        .chain(
            earlier
                .iter()
                .map(|r| Place::of(r, share_of(r), Evidence::Earlier)),
        )
        .collect();
    let mut ranked = rank_places(&places, changes, weights, Some(store));
    // Its peers lend weight, never a suspect it cannot have: a change that
    // touched none of its slices (the router change to atlas-m for an
    // atlas-s alarm that began with the routing fault).
    ranked.retain(|s| can_touch(&s.change.scope, &regression.scope, served));
    if !fault.is_empty() {
        ranked.retain(|s| fault.iter().any(|f| can_touch(&s.change.scope, f, served)));
    }
    ranked
}

/// Where the scope search placed the fault of a regression it did not
/// localise itself (a group or fleet alarm: `model=atlas-l`): the scopes of
/// the localised members of its bug inside its place, in force at its
/// onset (`hardware=tpu ∧ model=atlas-l ∧ platform=api`). Empty: its own
/// scope is all that is known.
fn localised_inside<'r>(
    regression: &DetectedRegression,
    bug: &[&'r DetectedRegression],
) -> Vec<&'r ScopeMap> {
    if regression.origin == ScopeOrigin::Cause {
        return Vec::new();
    }
    bug.iter()
        .filter(|m| m.origin == ScopeOrigin::Cause)
        .filter(|m| scope_includes(&regression.scope, &m.scope))
        .filter(|m| {
            m.covers(regression.onset) || (m.onset - regression.onset).abs() <= ONSET_SPREAD_MS
        })
        .map(|m| &m.scope)
        .collect()
}

/// One (scope, onset) a change is scored against, and its share of the
/// score.
struct Place<'s> {
    scope: &'s ScopeMap,
    onset: Millis,
    /// Where its data place the onset.
    points: [Millis; ONSET_POINTS],
    weight: f64,
    evidence: Evidence,
    /// The regression's signal, for the words of an earlier sighting.
    signal: &'s str,
    /// Where its drop lies, when measured.
    drop: Option<&'s DropTable>,
}

/// How a place's scores add up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// Summed, and the reason may be told from it.
    Peer,
    /// An earlier sighting: only the best of them counts, and its lead is
    /// not this regression's, so the reason is never told from it.
    Earlier,
}

impl<'s> Place<'s> {
    fn of(r: &'s DetectedRegression, weight: f64, evidence: Evidence) -> Self {
        Place {
            scope: &r.scope,
            onset: r.onset,
            points: r.onset_points(),
            weight,
            evidence,
            signal: &r.signal,
            drop: r.drop_table.as_ref(),
        }
    }
}

/// One change against one (scope, onset): its score, lead and fit, if it
/// may explain it at all (in time, and, given the `store`, on a slice the
/// fleet serves). For a change that reached part of the place, the share of
/// the place's missing good in its slices stands for the dimensions it
/// fixes, when the place's [`DropTable`] tells.
fn against(
    change: &Change,
    place: &Place,
    w: &RankWeights,
    store: Option<&Store>,
) -> Option<Against> {
    let f = factors_at_points(change, place.scope, place.onset, &place.points, w)?;
    let Some(store) = store else {
        return Some((f.time * f.scope * f.kind, f.lead_ms, f.fit, None));
    };
    if !can_touch(&change.scope, place.scope, store.slices()) {
        return None;
    }
    let mut scope = f.scope;
    let mut reached = None;
    let narrower = matches!(f.fit, ScopeFit::Narrower(_) | ScopeFit::Overlapping);
    if let Some(share) = place
        .drop
        .filter(|_| narrower)
        .and_then(|d| d.share(place.scope, &change.scope))
    {
        let open = place
            .scope
            .keys()
            .filter(|k| !change.scope.contains_key(*k))
            .count();
        let open = i32::try_from(open).unwrap_or(i32::MAX);
        scope = w.broader_per_dim.powi(open) * share;
        reached = Some(share);
    }
    Some((f.time * scope * f.kind, f.lead_ms, f.fit, reached))
}

/// A change against one place: its score, lead and fit, and the share of
/// the place's drop in the slices it reached, when that was weighed.
type Against = (f64, Millis, ScopeFit, Option<f64>);

fn rank_places<'a>(
    places: &[Place],
    changes: &'a [Change],
    w: &RankWeights,
    store: Option<&Store>,
) -> Vec<Suspect<'a>> {
    let mut out: Vec<Suspect<'a>> = changes
        .iter()
        .filter_map(|change| {
            let each: Vec<(f64, Millis, ScopeFit, &Place, Option<f64>)> = places
                .iter()
                .filter_map(|p| {
                    let (score, lead, fit, reached) = against(change, p, w, store)?;
                    Some((score * p.weight, lead, fit, p, reached))
                })
                .collect();
            let told = each.iter().filter(|e| e.3.evidence == Evidence::Peer);
            let (_, lead, fit, told_by, reached) =
                *told.clone().max_by(|a, b| a.0.total_cmp(&b.0))?;
            let told: f64 = told.map(|e| e.0).sum();
            let sighting = each
                .iter()
                .filter(|e| e.3.evidence == Evidence::Earlier)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let earlier = sighting.map_or(0.0, |e| e.0);
            let (mut words, parts) = why(change, lead, fit);
            if let Some(share) = reached {
                // What stands for the dimensions it fixes: say it.
                words.push_str(&format!(" ({:.0} % of the drop)", share * 100.0));
            }
            let unsure = unsure_words(told_by.onset, &told_by.points);
            if let Some(unsure) = &unsure {
                words.push_str(unsure);
            }
            // When the sighting decides, say so: a change hours before the
            // onset reads as a mistake without it.
            let seen = sighting
                .filter(|e| e.0 > told)
                .map(|(_, seen_lead, _, seen, _)| {
                    sighting_words(*seen_lead, seen.signal, seen.scope)
                });
            if let Some(seen) = &seen {
                words.push_str(seen);
            }
            Some(Suspect {
                change,
                score: told + earlier,
                lead_ms: lead,
                fit,
                why: words,
                parts,
                sighting: seen,
                unsure,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.change.at.cmp(&a.change.at))
            .then_with(|| a.change.id.cmp(&b.change.id))
    });
    out
}

/// The change that best explains a bug: the best-scoring first suspect of
/// any of its `members`, each ranked with [`rank_in_bug`] against every
/// regression `detected` (ties: the earlier member). The one bug-level
/// suspect every surface names (`check`, snapshots, the scope panel), next
/// to the bug's onset (its earliest member's): its words date the change
/// against that onset when the member it explains best began with it
/// (within [`ONSET_SPREAD_MS`]), else against that member by name (`2m
/// before golden-qa dropped on model=atlas-m`), so that they never read
/// against the bug's `since` as another time.
pub fn bug_suspect<'a>(
    members: &[&DetectedRegression],
    detected: &[DetectedRegression],
    changes: &'a [Change],
    store: &Store,
) -> Option<Suspect<'a>> {
    let onset = members.iter().map(|r| r.onset).min()?;
    let (member, best) = members
        .iter()
        .filter_map(|r| {
            let first = rank_in_bug(r, members, detected, changes, store)
                .into_iter()
                .next()?;
            Some((*r, first))
        })
        .fold(
            None,
            |best: Option<(&DetectedRegression, Suspect<'a>)>, (r, s)| match best {
                Some(b) if b.1.score >= s.score => Some(b),
                _ => Some((r, s)),
            },
        )?;
    Some(dated_for_bug(best, member, onset))
}

/// The best suspect, if any change qualifies.
pub fn top_suspect<'a>(
    regression: &DetectedRegression,
    changes: &'a [Change],
) -> Option<Suspect<'a>> {
    rank_suspects(regression, changes).into_iter().next()
}
