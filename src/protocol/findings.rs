//! The `findings` message (feature `findings`): a server that runs detection
//! over every leaf sends what it concluded, so every client shows the same
//! regressions. The detections themselves are carried as JSON here: their
//! type lives in `detect`, above this layer, and the feed reads them.

use serde::{Deserialize, Serialize};

use super::message::Millis;

/// Listed in `hello.features` by a server that sends `findings` messages.
pub const FINDINGS_FEATURE: &str = "findings";

/// Largest findings frame a server sends: past it, the oldest regressions
/// are left out (and counted in `truncated`).
pub const MAX_FINDINGS_BYTES: usize = 1024 * 1024;

/// Server → client: the server's detections in full, replacing the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsMessage {
    /// The server's epoch (as in its hello): findings of one run.
    pub epoch: String,
    /// Paths of the endpoints whose data the detections read (`/metrics`).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Start of the newest bucket tested (as `detections.through`), for a
    /// client that wants to know how current they are without decoding them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<Millis>,
    /// Regressions left out to stay under the size cap (the oldest first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: u64,
    /// `detect::Detections` as JSON (see docs/protocol.md, "findings").
    #[serde(default)]
    pub detections: serde_json::Value,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Encodes a findings frame whose detections are `detections`.
pub fn findings_json<D: Serialize>(
    epoch: &str,
    endpoints: &[String],
    through: Option<Millis>,
    truncated: u64,
    detections: &D,
) -> String {
    #[derive(Serialize)]
    struct Wire<'a, D: Serialize> {
        #[serde(rename = "type")]
        kind: &'static str,
        epoch: &'a str,
        endpoints: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        through: Option<Millis>,
        #[serde(skip_serializing_if = "is_zero")]
        truncated: u64,
        detections: &'a D,
    }
    // Plain structs and string-keyed maps: serialising cannot fail.
    serde_json::to_string(&Wire {
        kind: "findings",
        epoch,
        endpoints,
        through,
        truncated,
        detections,
    })
    .unwrap_or_default()
}
