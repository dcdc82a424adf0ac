//! Tests of `detect::episode`.
use super::*;
use crate::store::SliceId;

const MIN: Millis = 60_000;
const HW: usize = 0;
const MODEL: usize = 1;
const PLATFORM: usize = 2;
const TPU: TrackKey = TrackKey::Group { dim: HW, value: 0 };
const API: TrackKey = TrackKey::Group {
    dim: PLATFORM,
    value: 0,
};

/// Group keys: hardware tpu; model l, m; platform api. Slices: the
/// leaf of model l (0) and of model m (1) on tpu/api.
fn to_map(key: TrackKey) -> ScopeMap {
    let pairs: Vec<(&str, &str)> = match key {
        TrackKey::Fleet => vec![],
        TrackKey::Group { dim: HW, .. } => vec![("hardware", "tpu")],
        TrackKey::Group { dim: MODEL, value } => {
            vec![("model", if value == 0 { "l" } else { "m" })]
        }
        TrackKey::Group { .. } => vec![("platform", "api")],
        TrackKey::Slice(SliceId(s)) => vec![
            ("hardware", "tpu"),
            ("model", if s == 0 { "l" } else { "m" }),
            ("platform", "api"),
            ("region", "eu"),
        ],
    };
    pairs
        .into_iter()
        .map(|(d, v)| (d.to_owned(), v.to_owned()))
        .collect()
}

fn model(value: u32) -> TrackKey {
    TrackKey::Group { dim: MODEL, value }
}

fn member(key: TrackKey, ended: Option<i64>) -> Member {
    Member {
        key,
        onset: 60 * MIN,
        detected_at: 63 * MIN,
        ended_at: ended.map(|e| e * MIN),
        delta_pp: -3.0,
        own: true,
    }
}

/// A part of the TPU bug: the model's combination on tpu/api.
fn part(value: u32, members: Vec<Member>) -> Episode {
    let scope = to_map(TrackKey::Slice(SliceId(value)))
        .into_iter()
        .filter(|(d, _)| d != "region")
        .collect();
    Episode {
        signal: SignalId(0),
        role: SignalRole::Quality,
        current: members.iter().map(|m| (m.key, m.detected_at)).collect(),
        members,
        scope,
        origin: ScopeOrigin::Cause,
        causes: Vec::new(),
        onset: 60 * MIN,
        onset_spread: [60 * MIN; ONSET_POINTS],
        dated: None,
        own_level: None,
        detected_at: 63 * MIN,
        ended_at: None,
        baseline: 0.95,
        rate: 0.92,
        delta_pp: -3.0,
        merged: false,
        drop_table: None,
        drop_measured: None,
    }
}

#[test]
fn a_part_whose_own_group_alarm_ended_recovers_though_broad_and_draining_leaf_alarms_go_on() {
    let large = part(
        0,
        vec![
            member(TPU, None),
            member(API, None),
            member(model(0), Some(214)),
            // A sparse leaf still draining its capped statistic.
            member(TrackKey::Slice(SliceId(0)), None),
        ],
    );
    let medium = part(1, vec![member(model(1), None)]);
    let episodes = vec![large, medium];
    assert_eq!(
        recovered_parts(&episodes, SignalId(0), to_map),
        vec![(0, 214 * MIN)]
    );
}

#[test]
fn a_part_still_alarming_on_its_own_group_or_alone_on_its_signal_does_not_recover() {
    let large = |own_end| part(0, vec![member(TPU, None), member(model(0), own_end)]);
    let medium = part(1, vec![member(model(1), None)]);
    // Its own group detector still fires.
    let episodes = vec![large(None), medium.clone()];
    assert!(recovered_parts(&episodes, SignalId(0), to_map).is_empty());
    // Alone: nothing else explains its broad alarm.
    let episodes = vec![large(Some(214))];
    assert!(recovered_parts(&episodes, SignalId(0), to_map).is_empty());
    // Without a group of its own, the alarms inside it decide.
    let leaf = |end| {
        part(
            0,
            vec![member(TPU, None), member(TrackKey::Slice(SliceId(0)), end)],
        )
    };
    let episodes = vec![leaf(None), medium.clone()];
    assert!(recovered_parts(&episodes, SignalId(0), to_map).is_empty());
    let episodes = vec![leaf(Some(230)), medium];
    assert_eq!(
        recovered_parts(&episodes, SignalId(0), to_map),
        vec![(0, 230 * MIN)]
    );
}

#[test]
fn a_scope_regression_of_only_a_recovered_parts_alarms_is_its_tail() {
    let mut large = part(0, vec![member(TPU, None), member(model(0), Some(214))]);
    large.ended_at = Some(214 * MIN);
    let episodes = vec![large];
    let tpu = [(TPU, 63 * MIN)];
    assert!(retired(&episodes, SignalId(0), &tpu));
    // A re-fire of the same detector is a new alarm.
    assert!(!retired(&episodes, SignalId(0), &[(TPU, 300 * MIN)]));
    assert!(!retired(&episodes, SignalId(0), &[]));
}
