//! A small store with known geometry for the store tests.

use qualtop::protocol::{CowStr, Hello, Millis, Point, Series};
use qualtop::store::{SliceId, SourceBinding, Store};

use super::messages;
pub use super::messages::slice;

pub const BUCKET: Millis = 1_000;
/// Ring of 16 buckets (the store's minimum).
pub const CAPACITY: i64 = 16;
/// The clock at start: bucket 100.
pub const NOW: Millis = 100 * BUCKET;

pub fn hello_with(bucket_ms: Millis, now: Millis) -> Hello {
    messages::hello("p99", bucket_ms, CAPACITY * bucket_ms, now)
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

pub fn ratio_point(model: &str, hw: &str, bucket: i64, good: i64, total: i64) -> Point<'static> {
    messages::ratio_point(model, hw, bucket * BUCKET, good, total)
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
    messages::ratio_series(model, hw, first_bucket * BUCKET, good, total)
}

/// The id of an interned slice, by its values.
pub fn id_of(store: &Store, model: &str, hw: &str) -> SliceId {
    let slices = store.slices();
    slices
        .ids()
        .find(|&id| slices.pairs(id).eq([("model", model), ("hw", hw)]))
        .unwrap_or_else(|| panic!("slice {model}/{hw} not interned"))
}
