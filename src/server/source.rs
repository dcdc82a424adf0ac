//! What the protocol server needs from whatever produces the data: the demo
//! world is one source, a relay over another monitoring system would be another.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::protocol::{
    BucketValue, ErrorMessage, Hello, Millis, Point, Series, SliceMap, Subscribe,
};

/// A producer of one endpoint's data.
pub trait FleetSource: Send + Sync + 'static {
    /// The facts of the first frame; `now` is the source's clock at the call.
    fn hello(&self) -> Hello;
    /// The source's clock (data time), for heartbeats.
    fn now(&self) -> Millis;
    /// The window a subscription asks for, filtered, plus a receiver of every
    /// update after that window: nothing missed, nothing twice.
    fn subscribe(&self, sub: &Subscribe) -> Subscription;
    /// Seconds of data time per real second, when data time runs faster
    /// than the wall clock (a demo): sent as the hello's optional `time_scale`.
    fn time_scale(&self) -> Option<f64> {
        None
    }
    /// Leaf slices the source holds now: sent as the hello's optional
    /// `slices`, so a client can pick scale mode before it subscribes.
    fn slices(&self) -> Option<u64> {
        None
    }
    /// For a subscription with `group_by` (feature `rollups`): the current
    /// rolled-up buckets of the groups `touched` (one update's points) falls
    /// in. A source without the feature never gets such a subscription.
    fn rolled_points(&self, _sub: &Subscribe, _touched: &[UpdatePoint]) -> Vec<Point<'static>> {
        Vec::new()
    }
    /// Where this source's changes are published, if it reports any (the
    /// hello then lists the `changes` feature).
    fn changes(&self) -> Option<Arc<super::ChangeHub>> {
        None
    }
    /// The encoded `findings` frame this source's detection publishes, if
    /// it runs any (the hello then lists the `findings` feature).
    fn findings(&self) -> Option<FindingsFrames> {
        None
    }
}

/// The newest `findings` frame, already encoded (`None` before the first).
pub type FindingsFrames = tokio::sync::watch::Receiver<Option<Arc<str>>>;

/// A snapshot and the live updates that follow it.
#[derive(Debug)]
pub struct Subscription {
    pub window: Window,
    pub updates: broadcast::Receiver<Arc<Update>>,
    /// The source's standing notices (e.g. "upstream down"), sent as `error`
    /// frames right after the snapshot.
    pub notices: Vec<ErrorMessage>,
}

/// The body of a snapshot, before the connection gives it a `seq`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Window {
    pub from: Millis,
    pub to: Millis,
    pub series: Vec<Series<'static>>,
}

/// New points, produced once and shared by every connection (each applies its
/// own filter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub points: Vec<UpdatePoint>,
    /// Sent to every subscriber as `error` frames after the points (the
    /// source's state changed: an upstream went down or came back).
    pub notices: Vec<ErrorMessage>,
}

/// One bucket of one (slice, signal). Slice and signal name are shared, not copied.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePoint {
    pub slice: Arc<SliceMap<'static>>,
    pub signal: Arc<str>,
    /// Start of the bucket.
    pub ts: Millis,
    pub value: BucketValue,
}
