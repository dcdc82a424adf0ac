//! Protocol 1: the wire types spoken between backends and qualtop, and the
//! validation of what arrives. Knows nothing of sockets or terminals.

mod change;
mod decode;
mod endpoint;
mod findings;
mod message;
mod slice;
mod validate;

pub use change::{
    CHANGES_FEATURE, Change, ChangeInvalid, ChangeKind, MAX_CHANGE_ID, MAX_CHANGE_LEAD_MS,
    MAX_CHANGE_LINK, MAX_CHANGE_NAME, MAX_CHANGE_SCOPE_VALUE, MAX_CHANGE_TITLE, validate_change,
};
pub use decode::{DecodeError, decode_client, decode_server};
pub use endpoint::Endpoint;
pub use findings::{FINDINGS_FEATURE, FindingsMessage, MAX_FINDINGS_BYTES, findings_json};
pub use message::*;
pub use slice::{CowStr, SliceMap};
pub use validate::{
    BucketValue, MAX_COUNT, MAX_HELLO_DIMENSIONS, MAX_HISTORY_BUCKETS, MAX_NAME_BYTES, MAX_SIGNALS,
    PLAUSIBLE_TIME, PointError, timestamp_in_window, validate_counts, validate_hello,
};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest WebSocket message qualtop accepts (see README, "Limits"): room for
/// a snapshot of ~1,000 slices × 4 signals × 6 h of minute buckets (~17 MiB).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;
/// Largest single frame. A backend without `snapshot_parts` sends a
/// snapshot as one unfragmented frame, so this cannot be smaller than the
/// largest message.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES;
/// Size a server aims each snapshot part at: well under any client's frame
/// limit, and small enough that progress shows while a large fleet loads.
pub const SNAPSHOT_PART_TARGET_BYTES: usize = 4 * 1024 * 1024;
/// Most parts one snapshot may have: 4 MiB × 4,096 = 16 GiB, beyond any fleet.
pub const MAX_SNAPSHOT_PARTS: u32 = 4096;
/// Longest annotation text the server accepts, in bytes.
pub const MAX_ANNOTATION_TEXT: usize = 4096;
