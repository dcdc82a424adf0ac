//! The store's rings: wrap-around, clearing as the head advances, late
//! points replacing, and what falls outside the window being refused.

use crate::support::store::*;
use qualtop::protocol::PointError;
use qualtop::store::{Drops, Ratio};

#[test]
fn late_point_for_a_held_bucket_replaces_it() {
    let (mut store, b) = store();
    store
        .apply_point(&b, &ratio_point("m1", "tpu", 99, 1, 2))
        .unwrap();
    store
        .apply_point(&b, &ratio_point("m1", "tpu", 99, 3, 4))
        .unwrap();
    let q = store.signal_by_name("quality").unwrap();
    let id = id_of(&store, "m1", "tpu");
    assert_eq!(store.ratio(q, id, 99), Some(Ratio::new(3, 4)));
    assert_eq!(store.slices().len(), 1);
}

#[test]
fn ring_wraps_around_and_keeps_the_last_capacity_buckets() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    for k in 100..100 + 3 * CAPACITY {
        store.set_now(k * BUCKET);
        store
            .apply_point(&b, &ratio_point("m1", "tpu", k, k % 7, 10))
            .unwrap();
    }
    let id = id_of(&store, "m1", "tpu");
    let head = 99 + 3 * CAPACITY;
    assert_eq!(store.head(), Some(head));
    for k in head - CAPACITY + 1..=head {
        assert_eq!(
            store.ratio(q, id, k),
            Some(Ratio::new((k % 7) as u64, 10)),
            "bucket {k}"
        );
    }
    assert_eq!(
        store.ratio(q, id, head - CAPACITY),
        None,
        "fell out of the ring"
    );
    assert_eq!(store.ratio(q, id, head + 1), None, "not yet");
}

#[test]
fn advancing_the_head_clears_the_positions_it_reuses() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    let p99 = store.signal_by_name("p99").unwrap();
    store
        .apply_point(&b, &ratio_point("m1", "tpu", 95, 5, 5))
        .unwrap();
    store
        .apply_point(&b, &gauge_point("m1", "tpu", 95, 80.0))
        .unwrap();
    let id = id_of(&store, "m1", "tpu");
    // Silence: the clock moves on with no data. Bucket 95 + 16 = 111 reuses
    // 95's position, and must read as a gap, not as 95's counts.
    store.set_now(111 * BUCKET);
    assert_eq!(store.ratio(q, id, 111), None);
    assert_eq!(store.gauge(p99, id, 111), None);
    assert_eq!(store.ratio(q, id, 95), None);
}

#[test]
fn a_jump_longer_than_the_ring_clears_everything() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    for k in 90..=100 {
        store
            .apply_point(&b, &ratio_point("m1", "tpu", k, 1, 1))
            .unwrap();
    }
    let id = id_of(&store, "m1", "tpu");
    store.set_now(1_000 * BUCKET);
    let (first, last) = (1_000 - CAPACITY + 1, 1_000);
    assert!((first..=last).all(|k| store.ratio(q, id, k).is_none()));
}

#[test]
fn too_old_and_far_future_points_are_refused() {
    let (mut store, b) = store();
    let oldest_kept = 100 - CAPACITY + 1;
    for (bucket, ok) in [
        (oldest_kept, true),
        (oldest_kept - 1, false),
        (-5_000, false),
        (101, true), // one bucket of clock skew is allowed
        (102, false),
        (1_000_000_000, false),
    ] {
        let got = store.apply_point(&b, &ratio_point("m1", "tpu", bucket, 1, 1));
        let want = if ok {
            Ok(())
        } else {
            Err(PointError::OutOfWindow)
        };
        assert_eq!(got, want, "bucket {bucket}");
    }
    assert_eq!(
        store.head(),
        Some(101),
        "refused points never move the head"
    );
}

#[test]
fn extreme_timestamps_are_refused_without_overflow() {
    let (mut store, b) = store();
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
        let mut p = ratio_point("m1", "tpu", 0, 1, 1);
        p.ts = ts;
        assert_eq!(store.apply_point(&b, &p), Err(PointError::OutOfWindow));
    }
    // With one-millisecond buckets a series index added to the start could
    // overflow i64: the store must count the buckets out, not panic.
    let mut store = qualtop::store::Store::new();
    let b = store.bind_source(0, &hello_with(1, 1_000)).unwrap();
    let mut s = ratio_series("m1", "tpu", 0, vec![Some(1); 3], vec![Some(1); 3]);
    s.start = i64::MAX - 1;
    let mut drops = Drops::default();
    store.apply_series(&b, &s, &mut drops);
    assert_eq!(drops.count(PointError::OutOfWindow), 3);
}

#[test]
fn snapshot_series_fills_buckets_and_keeps_nulls_as_gaps() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    let s = ratio_series(
        "m1",
        "tpu",
        97,
        vec![Some(1), None, Some(0), Some(4)],
        vec![Some(2), None, Some(0), Some(4)],
    );
    let mut drops = Drops::default();
    store.apply_series(&b, &s, &mut drops);
    let id = id_of(&store, "m1", "tpu");
    assert_eq!(drops, Drops::default());
    assert_eq!(store.ratio(q, id, 97), Some(Ratio::new(1, 2)));
    assert_eq!(store.ratio(q, id, 98), None);
    assert_eq!(
        store.ratio(q, id, 99),
        Some(Ratio::new(0, 0)),
        "zero traffic is not a gap"
    );
    assert_eq!(Ratio::new(0, 0).rate(), None);
    assert_eq!(store.ratio(q, id, 100), Some(Ratio::new(4, 4)));
}

#[test]
fn snapshot_longer_than_the_ring_keeps_the_newest_part_quietly() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    let n = 3 * CAPACITY as usize;
    let first = 100 - n as i64 + 1;
    let s = ratio_series("m1", "tpu", first, vec![Some(1); n], vec![Some(2); n]);
    let mut drops = Drops::default();
    store.apply_series(&b, &s, &mut drops);
    assert_eq!(drops.total(), 0, "history beyond the ring is not an error");
    let id = id_of(&store, "m1", "tpu");
    assert_eq!(store.ratio(q, id, 100), Some(Ratio::new(1, 2)));
    assert_eq!(store.ratio(q, id, 100 - CAPACITY), None);
}

#[test]
fn reset_source_empties_its_signals_only() {
    let (mut store, b) = store();
    let mut other = hello_with(BUCKET, NOW);
    other.signals[0].name = "availability".into();
    other.signals.truncate(1);
    let b2 = store.bind_source(1, &other).unwrap();
    store
        .apply_point(&b, &ratio_point("m1", "tpu", 100, 1, 1))
        .unwrap();
    let mut avail = ratio_point("m1", "tpu", 100, 2, 2);
    avail.signal = "availability".to_string().into();
    store.apply_point(&b2, &avail).unwrap();
    store.reset_source(&b);
    let id = id_of(&store, "m1", "tpu");
    let q = store.signal_by_name("quality").unwrap();
    let a = store.signal_by_name("availability").unwrap();
    assert_eq!(store.ratio(q, id, 100), None);
    assert_eq!(store.ratio(a, id, 100), Some(Ratio::new(2, 2)));
}

#[test]
fn memory_is_eight_bytes_per_ratio_bucket() {
    let (mut store, b) = store();
    for m in ["a", "b", "c"] {
        store
            .apply_point(&b, &ratio_point(m, "tpu", 100, 1, 1))
            .unwrap();
    }
    let (heap, per_bucket) = store.memory();
    assert_eq!(per_bucket, 8);
    // Two signals (ratio 8 B, gauge 8 B) × 3 slices × 16 buckets, at least.
    assert!(heap >= 2 * 3 * 16 * 8, "{heap}");
    assert!(heap <= 4 * 2 * 3 * 16 * 8, "{heap}");
}

#[test]
fn implausible_clocks_are_refused_or_ignored() {
    let mut fresh = qualtop::store::Store::new();
    for now in [i64::MIN, -1, i64::MAX] {
        assert!(fresh.bind_source(0, &hello_with(1, now)).is_err(), "{now}");
    }
    let (mut store, b) = store();
    store
        .apply_point(&b, &ratio_point("m1", "tpu", 100, 1, 1))
        .unwrap();
    for now in [i64::MAX, i64::MIN, 253_402_300_800_000] {
        store.set_now(now);
        assert_eq!(store.now(), NOW, "{now}");
        assert_eq!(store.head(), Some(100));
    }
    let q = store.signal_by_name("quality").unwrap();
    assert_eq!(
        store.ratio(q, id_of(&store, "m1", "tpu"), 100),
        Some(Ratio::new(1, 1))
    );
}
