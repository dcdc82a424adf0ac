//! Every message of protocol 1, as it is on the wire (see README, "Protocol").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::change::Change;
use super::findings::FindingsMessage;
use super::slice::{CowStr, SliceMap};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A message from a backend to qualtop.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage<'a> {
    Hello(Hello),
    Snapshot(Snapshot<'a>),
    Batch(Batch<'a>),
    Heartbeat(Heartbeat),
    Error(ErrorMessage),
    Annotation(AnnotationMessage),
    Change(ChangeMessage),
    Findings(Box<FindingsMessage>),
}

impl ServerMessage<'_> {
    /// The `seq` the message carries, for the messages that carry one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMessage::Snapshot(s) => Some(s.seq),
            ServerMessage::Batch(b) => Some(b.seq),
            ServerMessage::Annotation(a) => Some(a.seq),
            ServerMessage::Change(c) => Some(c.seq),
            _ => None,
        }
    }

    /// Encodes the message as one JSON text frame.
    pub fn to_json(&self) -> String {
        match self {
            ServerMessage::Hello(m) => tagged_json("hello", m),
            ServerMessage::Snapshot(m) => tagged_json("snapshot", m),
            ServerMessage::Batch(m) => tagged_json("batch", m),
            ServerMessage::Heartbeat(m) => tagged_json("heartbeat", m),
            ServerMessage::Error(m) => tagged_json("error", m),
            ServerMessage::Annotation(m) => tagged_json("annotation", m),
            ServerMessage::Change(m) => tagged_json("change", m),
            ServerMessage::Findings(m) => tagged_json("findings", m),
        }
    }
}

/// A message from qualtop to a backend.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Subscribe(Subscribe),
    Annotate(Annotate),
}

impl ClientMessage {
    pub fn to_json(&self) -> String {
        match self {
            ClientMessage::Subscribe(m) => tagged_json("subscribe", m),
            ClientMessage::Annotate(m) => tagged_json("annotate", m),
        }
    }
}

/// One message as a JSON text frame, `"type": kind` first.
fn tagged_json<T: Serialize>(kind: &'static str, body: &T) -> String {
    // Serialising these plain structs to a String cannot fail: no maps with
    // non-string keys, no failing Serialize impls.
    serde_json::to_string(&Tagged { kind, body }).unwrap_or_default()
}

/// Adds `"type": kind` in front of a message's own fields.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// First frame of every connection: what this backend serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub server: String,
    pub epoch: String,
    pub dimensions: Vec<String>,
    pub signals: Vec<SignalSpec>,
    pub bucket_ms: Millis,
    pub history_ms: Millis,
    pub now: Millis,
    #[serde(default)]
    pub features: Vec<String>,
}

impl Hello {
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.iter().any(|f| f == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalSpec {
    pub name: String,
    pub kind: SignalKind,
    pub role: SignalRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl SignalSpec {
    /// A quality pass rate (good/total of an eval suite or of user
    /// feedback): what the quality column, findings and annotation figures
    /// read. Exhaustive, so a new kind or role must be placed here.
    pub fn is_quality_rate(&self) -> bool {
        match (self.role, self.kind) {
            (SignalRole::Quality, SignalKind::Ratio) => true,
            (SignalRole::Quality, SignalKind::Gauge)
            | (
                SignalRole::Availability | SignalRole::Latency | SignalRole::Other,
                SignalKind::Ratio | SignalKind::Gauge,
            ) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// `good`/`total` counts per bucket.
    Ratio,
    /// One value per bucket.
    Gauge,
}

impl SignalKind {
    /// Counts per bucket (good/total), so a rate and a binomial test apply.
    pub fn is_counted(self) -> bool {
        match self {
            SignalKind::Ratio => true,
            SignalKind::Gauge => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalRole {
    Availability,
    Quality,
    Latency,
    /// Any role this build does not know (forward compatibility).
    #[serde(other)]
    Other,
}

impl SignalRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalRole::Availability => "availability",
            SignalRole::Quality => "quality",
            SignalRole::Latency => "latency",
            SignalRole::Other => "other",
        }
    }
}

/// Client → server: start (or restart) the stream for a window of history.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Subscribe {
    pub window_ms: Millis,
    /// dimension → accepted values: OR within a dimension, AND across them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, Vec<String>>,
    /// Roll the filtered leaves up to these dimensions (feature `rollups`):
    /// one series per group, counts summed. `None`: one series per leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// The client reads a snapshot sent in parts (feature `snapshot_parts`);
    /// without it a backend sends one frame, as protocol 1 always did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot_parts: bool,
}

impl Subscribe {
    /// Whether a slice passes this subscription's filter.
    pub fn matches(&self, slice: &SliceMap<'_>) -> bool {
        self.filter.iter().all(|(dim, values)| {
            values.is_empty()
                || slice
                    .get(dim)
                    .is_some_and(|v| values.iter().any(|want| want == v))
        })
    }
}

/// The whole window in columnar form: one entry per bucket from `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<'a> {
    pub seq: u64,
    pub from: Millis,
    pub to: Millis,
    #[serde(borrow)]
    pub series: Vec<Series<'a>>,
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    /// Changes in the window whose scope meets the filter (feature `changes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Which part of a snapshot sent in several frames this is (feature
    /// `snapshot_parts`); absent: the whole snapshot in one frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<SnapshotPart>,
}

/// Hello feature: this backend can send a snapshot in several frames, to a
/// client whose `subscribe` says `snapshot_parts`.
pub const SNAPSHOT_PARTS_FEATURE: &str = "snapshot_parts";

/// One frame of a snapshot in parts. Every part carries the same `seq`,
/// `from`, `to` and `id`; series are spread over the parts, annotations and
/// changes come in the first. The client applies the snapshot once all
/// `count` parts have arrived, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPart {
    /// Names the snapshot its parts belong to (unique per connection).
    pub id: u64,
    /// 1-based position of this part.
    pub index: u32,
    /// Parts in all.
    pub count: u32,
    /// Distinct slices in the whole snapshot, so a client can refuse one it
    /// cannot hold before it buffers the rest (first part; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slices: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series<'a> {
    #[serde(borrow)]
    pub slice: SliceMap<'a>,
    #[serde(borrow)]
    pub signal: CowStr<'a>,
    pub start: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<Vec<Option<i64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Vec<Option<i64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Option<f64>>>,
}

/// Live points; a point for a (slice, signal, bucket) already held replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch<'a> {
    pub seq: u64,
    #[serde(borrow)]
    pub points: Vec<Point<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point<'a> {
    #[serde(borrow)]
    pub slice: SliceMap<'a>,
    #[serde(borrow)]
    pub signal: CowStr<'a>,
    pub ts: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Point<'_> {
    pub fn into_owned(self) -> Point<'static> {
        Point {
            slice: self.slice.into_owned(),
            signal: self.signal.into_owned(),
            ts: self.ts,
            good: self.good,
            total: self.total,
            value: self.value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The last seq sent on this connection.
    pub seq: u64,
    pub now: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub code: String,
    pub message: String,
    /// The annotation a rejected `annotate` named, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Client → server: create or update an annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotate {
    pub annotation: Annotation,
}

/// Server → every subscribed client, the sender included (the acknowledgement).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationMessage {
    pub seq: u64,
    pub annotation: Annotation,
}

/// Server → every subscribed client whose filter the change's scope meets:
/// a change reported after the snapshot (feature `changes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeMessage {
    pub seq: u64,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationState {
    Suspected,
    Confirmed,
    Mitigated,
    Resolved,
}

impl AnnotationState {
    /// Every state, in the order an incident moves through them.
    pub const ALL: [AnnotationState; 4] = [
        AnnotationState::Suspected,
        AnnotationState::Confirmed,
        AnnotationState::Mitigated,
        AnnotationState::Resolved,
    ];

    /// The wire name (`suspected`), also what every screen, export and
    /// the SQLite column show.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationState::Suspected => "suspected",
            AnnotationState::Confirmed => "confirmed",
            AnnotationState::Mitigated => "mitigated",
            AnnotationState::Resolved => "resolved",
        }
    }

    /// The state after this one, round to the first.
    pub fn next(self) -> AnnotationState {
        match self {
            AnnotationState::Suspected => AnnotationState::Confirmed,
            AnnotationState::Confirmed => AnnotationState::Mitigated,
            AnnotationState::Mitigated => AnnotationState::Resolved,
            AnnotationState::Resolved => AnnotationState::Suspected,
        }
    }
}

impl std::fmt::Display for AnnotationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AnnotationState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AnnotationState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not an annotation state (suspected, confirmed, mitigated, resolved)"
                )
            })
    }
}

/// A note on a scope and time range that every screen in the war room sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Chosen by the client (a UUID); the same id again is an update.
    pub id: String,
    /// A partial slice: any subset of the dimensions; `{}` is the whole fleet.
    pub scope: BTreeMap<String, String>,
    #[serde(default)]
    pub signal: Option<String>,
    pub from: Millis,
    #[serde(default)]
    pub to: Option<Millis>,
    pub state: AnnotationState,
    pub text: String,
    pub author: String,
    /// Set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Millis>,
}
