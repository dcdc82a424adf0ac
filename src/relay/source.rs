//! One relay endpoint as a protocol source: a hub (fed by the upstream
//! poller and by pushes) on the wall clock, which is the relay's data clock.

use std::sync::Arc;

use crate::clock::wall_ms;
use crate::protocol::{Hello, Millis, PROTOCOL_VERSION, SignalSpec};
use crate::server::{Hub, HubLimits, HubSource, WallClock};

pub type RelaySource = HubSource<WallClock>;

/// A source for `signals`, with a fresh hub of `history_ms` that lets a
/// client fall `client_queue` updates behind before it is cut off, and
/// holds no more slices than `limits` allow.
pub fn relay_source(
    epoch: &str,
    dimensions: Vec<String>,
    signals: Vec<SignalSpec>,
    bucket_ms: Millis,
    history_ms: Millis,
    client_queue: usize,
    limits: HubLimits,
) -> RelaySource {
    let hub = Arc::new(Hub::new(&signals, bucket_ms, history_ms, client_queue).with_limits(limits));
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        server: format!("qualtop-relay/{}", env!("CARGO_PKG_VERSION")),
        epoch: epoch.to_owned(),
        dimensions,
        signals,
        bucket_ms,
        history_ms,
        now: wall_ms(),
        features: Vec::new(),
    };
    HubSource::new(hello, hub, WallClock)
}
