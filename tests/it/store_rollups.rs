//! Rollups sum counts of the member slices bucket by bucket (never average
//! ratios), keep groups apart, leave gaps as gaps, and take a gauge's worst.

use crate::support::store::*;
use qualtop::store::{BucketRange, GroupRollup, Ratio, SliceId, Store};

/// Slices a/tpu, a/gpu, b/tpu, b/gpu with known counts over buckets 97..=100.
fn fleet_store() -> Store {
    let (mut store, b) = store();
    let counts = [
        ("a", "tpu", [(9, 10), (8, 10), (0, 0), (1, 1)]),
        ("a", "gpu", [(90, 100), (50, 100), (5, 5), (2, 3)]),
        ("b", "tpu", [(1, 2), (2, 2), (3, 4), (4, 4)]),
        ("b", "gpu", [(7, 7), (6, 7), (5, 7), (4, 7)]),
    ];
    for (m, hw, series) in counts {
        for (k, (g, t)) in series.into_iter().enumerate() {
            store
                .apply_point(&b, &ratio_point(m, hw, 97 + k as i64, g, t))
                .unwrap();
        }
    }
    store
}

fn ids(store: &Store) -> [SliceId; 4] {
    [
        id_of(store, "a", "tpu"),
        id_of(store, "a", "gpu"),
        id_of(store, "b", "tpu"),
        id_of(store, "b", "gpu"),
    ]
}

#[test]
fn rollup_is_the_sum_of_its_leaves_in_every_bucket() {
    let store = fleet_store();
    let q = store.signal_by_name("quality").unwrap();
    let all = ids(&store);
    let range = BucketRange::ending_at(100, 4);
    let rolled = store.rollup_ratio(q, &all, range);
    for (i, bucket) in range.iter().enumerate() {
        let mut want = Ratio::default();
        for &id in &all {
            want.add(store.ratio(q, id, bucket).unwrap());
        }
        assert_eq!(rolled[i], Some(want), "bucket {bucket}");
    }
    // Summing counts is not averaging rates: bucket 98 is 66/119, not the
    // mean of 0.8, 0.5, 1.0 and 0.857.
    assert_eq!(rolled[1], Some(Ratio::new(66, 119)));
}

#[test]
fn groups_are_rolled_up_apart() {
    let store = fleet_store();
    let q = store.signal_by_name("quality").unwrap();
    let [a_tpu, a_gpu, b_tpu, b_gpu] = ids(&store);
    // group 0: hw = tpu, group 1: hw = gpu
    let members = [(a_tpu, 0), (a_gpu, 1), (b_tpu, 0), (b_gpu, 1)];
    let GroupRollup::Ratio(groups) =
        store.rollup_groups(q, &members, 2, BucketRange::ending_at(100, 4))
    else {
        panic!("quality is a ratio");
    };
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0][0], Some(Ratio::new(10, 12)), "tpu at 97");
    assert_eq!(groups[1][0], Some(Ratio::new(97, 107)), "gpu at 97");
    assert_eq!(groups[0][3], Some(Ratio::new(5, 5)), "tpu at 100");
    assert_eq!(groups[1][3], Some(Ratio::new(6, 10)), "gpu at 100");
}

#[test]
fn buckets_without_any_member_data_stay_gaps() {
    let store = fleet_store();
    let q = store.signal_by_name("quality").unwrap();
    let all = ids(&store);
    // 93..=101: 93..=96 never written, 101 is ahead of the head.
    let range = BucketRange { first: 93, len: 9 };
    let rolled = store.rollup_ratio(q, &all, range);
    assert_eq!(&rolled[..4], &[None, None, None, None]);
    assert!(rolled[4..8].iter().all(Option::is_some));
    assert_eq!(rolled[8], None);
    // Far outside the ring entirely.
    let old = store.rollup_ratio(q, &all, BucketRange::ending_at(10, 3));
    assert_eq!(old, vec![None; 3]);
}

#[test]
fn a_member_missing_a_bucket_does_not_hide_the_others() {
    let (mut store, b) = store();
    store
        .apply_point(&b, &ratio_point("a", "tpu", 99, 1, 2))
        .unwrap();
    store
        .apply_point(&b, &ratio_point("b", "tpu", 100, 3, 4))
        .unwrap();
    let q = store.signal_by_name("quality").unwrap();
    let members = [id_of(&store, "a", "tpu"), id_of(&store, "b", "tpu")];
    let rolled = store.rollup_ratio(q, &members, BucketRange::ending_at(100, 2));
    assert_eq!(rolled, vec![Some(Ratio::new(1, 2)), Some(Ratio::new(3, 4))]);
}

#[test]
fn gauge_rollup_takes_the_worst_value() {
    let (mut store, b) = store();
    for (m, hw, k, v) in [
        ("a", "tpu", 99, 120.0),
        ("a", "gpu", 99, 340.5),
        ("b", "tpu", 99, 80.0),
        ("a", "tpu", 100, 10.0),
    ] {
        store.apply_point(&b, &gauge_point(m, hw, k, v)).unwrap();
    }
    let p99 = store.signal_by_name("p99").unwrap();
    let members = [
        (id_of(&store, "a", "tpu"), 0),
        (id_of(&store, "a", "gpu"), 0),
        (id_of(&store, "b", "tpu"), 1),
    ];
    let GroupRollup::Gauge(groups) =
        store.rollup_groups(p99, &members, 2, BucketRange::ending_at(100, 3))
    else {
        panic!("p99 is a gauge");
    };
    assert_eq!(groups[0], vec![None, Some(340.5), Some(10.0)]);
    assert_eq!(groups[1], vec![None, Some(80.0), None]);
}

#[test]
fn rollup_across_the_ring_seam_reads_the_right_buckets() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    // Move to bucket 130 so that the window 115..=130 wraps the ring's end.
    for k in 101..=130 {
        store.set_now(k * BUCKET);
        store
            .apply_point(&b, &ratio_point("a", "tpu", k, k % 5, 5))
            .unwrap();
    }
    let id = id_of(&store, "a", "tpu");
    let range = BucketRange::ending_at(130, CAPACITY as usize);
    let rolled = store.rollup_ratio(q, &[id], range);
    for (i, k) in range.iter().enumerate() {
        assert_eq!(rolled[i], Some(Ratio::new((k % 5) as u64, 5)), "bucket {k}");
    }
}
