//! A small store with known geometry for the store tests.

use qualtop::protocol::{
    CowStr, Hello, Millis, Point, Role, Series, SignalKind, SignalSpec, SliceMap,
};
use qualtop::store::{SliceId, SourceBinding, Store};

pub const BUCKET: Millis = 1_000;
/// Ring of 16 buckets (the store's minimum).
pub const CAPACITY: i64 = 16;
/// The clock at start: bucket 100.
pub const NOW: Millis = 100 * BUCKET;

pub fn hello_with(bucket_ms: Millis, now: Millis) -> Hello {
    Hello {
        protocol: 1,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hw".into()],
        signals: vec![
            SignalSpec {
                name: "quality".into(),
                kind: SignalKind::Ratio,
                role: Role::Quality,
                unit: None,
            },
            SignalSpec {
                name: "p99".into(),
                kind: SignalKind::Gauge,
                role: Role::Latency,
                unit: Some("ms".into()),
            },
        ],
        bucket_ms,
        history_ms: CAPACITY * bucket_ms,
        now,
        features: vec![],
    }
}

/// A store bound to one source, clock at [`NOW`].
pub fn store() -> (Store, SourceBinding) {
    let mut store = Store::new();
    let binding = store
        .bind_source(0, &hello_with(BUCKET, NOW))
        .expect("valid hello");
    assert_eq!(store.capacity() as i64, CAPACITY);
    (store, binding)
}

pub fn slice(model: &str, hw: &str) -> SliceMap<'static> {
    SliceMap::from_pairs([("model", model), ("hw", hw)])
}

pub fn ratio_point(model: &str, hw: &str, bucket: i64, good: i64, total: i64) -> Point<'static> {
    Point {
        slice: slice(model, hw),
        signal: CowStr::from("quality".to_string()),
        ts: bucket * BUCKET,
        good: Some(good),
        total: Some(total),
        value: None,
    }
}

pub fn gauge_point(model: &str, hw: &str, bucket: i64, value: f64) -> Point<'static> {
    Point {
        slice: slice(model, hw),
        signal: CowStr::from("p99".to_string()),
        ts: bucket * BUCKET,
        good: None,
        total: None,
        value: Some(value),
    }
}

pub fn ratio_series(
    model: &str,
    hw: &str,
    first_bucket: i64,
    good: Vec<Option<i64>>,
    total: Vec<Option<i64>>,
) -> Series<'static> {
    Series {
        slice: slice(model, hw),
        signal: CowStr::from("quality".to_string()),
        start: first_bucket * BUCKET,
        good: Some(good),
        total: Some(total),
        values: None,
    }
}

/// The id of an interned slice, by its values.
pub fn id_of(store: &Store, model: &str, hw: &str) -> SliceId {
    let slices = store.slices();
    slices
        .ids()
        .find(|&id| slices.pairs(id).eq([("model", model), ("hw", hw)]))
        .unwrap_or_else(|| panic!("slice {model}/{hw} not interned"))
}
