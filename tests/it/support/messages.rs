//! Protocol 1 messages for a two-dimension world (model, hw) with one
//! ratio signal `quality` and one gauge: the feed and store tests build
//! theirs from these, each at its own bucket geometry.

use qualtop::protocol::{
    CowStr, Hello, Millis, Point, Series, SignalKind, SignalRole, SignalSpec, SliceMap,
};

pub fn spec(name: &str, kind: SignalKind, role: SignalRole, unit: Option<&str>) -> SignalSpec {
    SignalSpec {
        name: name.to_owned(),
        kind,
        role,
        unit: unit.map(str::to_owned),
    }
}

/// A hello declaring (model, hw), `quality` and the latency gauge `gauge` (ms).
pub fn hello(gauge: &str, bucket_ms: Millis, history_ms: Millis, now: Millis) -> Hello {
    Hello {
        protocol: 1,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hw".into()],
        signals: vec![
            spec("quality", SignalKind::Ratio, SignalRole::Quality, None),
            spec(gauge, SignalKind::Gauge, SignalRole::Latency, Some("ms")),
        ],
        bucket_ms,
        history_ms,
        now,
        features: vec![],
    }
}

pub fn slice(model: &str, hw: &str) -> SliceMap<'static> {
    SliceMap::from_pairs([("model", model), ("hw", hw)])
}

/// A `quality` point for the bucket starting at `ts`.
pub fn ratio_point(model: &str, hw: &str, ts: Millis, good: i64, total: i64) -> Point<'static> {
    Point {
        slice: slice(model, hw),
        signal: CowStr::from("quality".to_string()),
        ts,
        good: Some(good),
        total: Some(total),
        value: None,
    }
}

/// A `quality` series from the bucket starting at `start`.
pub fn ratio_series(
    model: &str,
    hw: &str,
    start: Millis,
    good: Vec<Option<i64>>,
    total: Vec<Option<i64>>,
) -> Series<'static> {
    Series {
        slice: slice(model, hw),
        signal: CowStr::from("quality".to_string()),
        start,
        good: Some(good),
        total: Some(total),
        values: None,
    }
}
