//! Every kind of bad input is refused with its reason and leaves the store
//! as it was: no slice interned, no bucket written, no head moved.

use crate::support::store::*;
use qualtop::protocol::{Point, PointError};
use qualtop::store::{Drops, Ratio};

fn refused(p: Point<'static>, reason: PointError) {
    let (mut store, b) = store();
    let head = store.head();
    assert_eq!(store.apply_point(&b, &p), Err(reason), "{p:?}");
    assert_eq!(
        store.slices().len(),
        0,
        "refused point interned its slice: {p:?}"
    );
    assert_eq!(store.head(), head);
}

#[test]
fn good_above_total_is_refused() {
    refused(
        ratio_point("m1", "tpu", 100, 11, 10),
        PointError::GoodExceedsTotal,
    );
}

#[test]
fn negative_counts_are_refused() {
    refused(ratio_point("m1", "tpu", 100, -1, 10), PointError::Negative);
    refused(ratio_point("m1", "tpu", 100, -3, -1), PointError::Negative);
}

#[test]
fn counts_beyond_u32_are_refused() {
    refused(
        ratio_point("m1", "tpu", 100, 1, i64::from(u32::MAX)),
        PointError::TooLarge,
    );
    refused(
        ratio_point("m1", "tpu", 100, 1, i64::MAX),
        PointError::TooLarge,
    );
}

#[test]
fn ratio_point_without_both_counts_is_refused() {
    let mut p = ratio_point("m1", "tpu", 100, 1, 1);
    p.total = None;
    refused(p, PointError::MissingCounts);
    let mut p = ratio_point("m1", "tpu", 100, 1, 1);
    p.good = None;
    p.total = None;
    p.value = Some(0.5);
    refused(p, PointError::MissingCounts);
}

#[test]
fn gauge_point_without_a_finite_value_is_refused() {
    for v in [None, Some(f64::NAN), Some(f64::INFINITY)] {
        let mut p = gauge_point("m1", "tpu", 100, 1.0);
        p.value = v;
        refused(p, PointError::MissingValue);
    }
}

#[test]
fn unknown_or_missing_dimension_is_refused() {
    let mut p = ratio_point("m1", "tpu", 100, 1, 1);
    p.slice
        .0
        .push(("region".to_string().into(), "eu".to_string().into()));
    refused(p, PointError::UnknownDimension);
    let mut p = ratio_point("m1", "tpu", 100, 1, 1);
    p.slice.0.pop();
    refused(p, PointError::IncompleteSlice);
}

#[test]
fn unknown_signal_is_refused() {
    let mut p = ratio_point("m1", "tpu", 100, 1, 1);
    p.signal = "vibes".to_string().into();
    refused(p, PointError::UnknownSignal);
}

#[test]
fn points_outside_the_window_are_refused() {
    refused(
        ratio_point("m1", "tpu", 100 + 2, 1, 1),
        PointError::OutOfWindow,
    );
    refused(
        ratio_point("m1", "tpu", 100 + 10_000, 1, 1),
        PointError::OutOfWindow,
    );
    refused(
        ratio_point("m1", "tpu", 100 - CAPACITY, 1, 1),
        PointError::OutOfWindow,
    );
}

#[test]
fn bad_buckets_of_a_series_are_dropped_one_by_one() {
    let (mut store, b) = store();
    let q = store.signal_by_name("quality").unwrap();
    let s = ratio_series(
        "m1",
        "tpu",
        96,
        // buckets 96..=102; 101 is within the one bucket of skew, 102 is not
        vec![Some(11), Some(-1), Some(1), None, Some(2), Some(1), Some(1)],
        vec![Some(10), Some(10), None, None, Some(2), Some(1), Some(1)],
    );
    let mut drops = Drops::default();
    store.apply_series(&b, &s, &mut drops);
    assert_eq!(drops.count(PointError::GoodExceedsTotal), 1);
    assert_eq!(drops.count(PointError::Negative), 1);
    assert_eq!(drops.count(PointError::MissingCounts), 1);
    assert_eq!(drops.count(PointError::OutOfWindow), 1);
    assert_eq!(drops.total(), 4);
    let id = id_of(&store, "m1", "tpu");
    assert_eq!(store.ratio(q, id, 96), None);
    assert_eq!(store.ratio(q, id, 100), Some(Ratio::new(2, 2)));
    assert_eq!(store.ratio(q, id, 101), Some(Ratio::new(1, 1)));
}

#[test]
fn series_with_unusable_shape_is_dropped_whole() {
    let cases = [
        (
            ratio_series("m1", "tpu", 99, vec![Some(1)], vec![Some(1), Some(1)]),
            PointError::MissingCounts,
        ),
        (
            {
                let mut s = ratio_series("m1", "tpu", 99, vec![Some(1)], vec![Some(1)]);
                s.slice
                    .0
                    .push(("region".to_string().into(), "eu".to_string().into()));
                s
            },
            PointError::UnknownDimension,
        ),
        (
            {
                let mut s = ratio_series("m1", "tpu", 99, vec![Some(1)], vec![Some(1)]);
                s.signal = "p99".to_string().into(); // a gauge, without values
                s
            },
            PointError::MissingValue,
        ),
        (
            {
                let n = qualtop::store::MAX_CAPACITY * 4 + 1;
                ratio_series("m1", "tpu", 0, vec![None; n], vec![None; n])
            },
            PointError::SeriesTooLong,
        ),
    ];
    for (s, reason) in cases {
        let (mut store, b) = store();
        let mut drops = Drops::default();
        store.apply_series(&b, &s, &mut drops);
        assert_eq!(drops.count(reason), 1, "{reason:?}");
        assert_eq!(drops.total(), 1, "{reason:?}: {}", drops.summary());
        assert_eq!(store.slices().len(), 0, "{reason:?}");
    }
}

#[test]
fn hello_the_store_cannot_use_is_refused() {
    let mut store = qualtop::store::Store::new();
    let mut h = hello_with(BUCKET, NOW);
    h.bucket_ms = 0;
    assert!(store.bind_source(0, &h).is_err());
    let mut h = hello_with(BUCKET, NOW);
    h.dimensions.push("model".into());
    assert!(store.bind_source(0, &h).is_err());
    let mut ok = qualtop::store::Store::new();
    ok.bind_source(0, &hello_with(BUCKET, NOW)).unwrap();
    assert!(
        ok.bind_source(1, &hello_with(2 * BUCKET, NOW)).is_err(),
        "a second backend with another bucket size"
    );
}

#[test]
fn drops_summary_names_each_reason() {
    let mut d = Drops::default();
    d.add(PointError::GoodExceedsTotal);
    d.add(PointError::GoodExceedsTotal);
    d.add(PointError::OutOfWindow);
    d.frames = 1;
    assert_eq!(d.summary(), "frames 1, good>total 2, out-of-window 1");
    assert_eq!(d.total(), 4);
}
