//! Protocol 1: the wire types spoken between backends and qualtop, and the
//! validation of what arrives. Knows nothing of sockets or terminals.

mod decode;
mod message;
mod slice;
mod validate;

pub use decode::{DecodeError, decode_client, decode_server};
pub use message::*;
pub use slice::{CowStr, SliceMap};
pub use validate::{
    BucketValue, MAX_COUNT, PLAUSIBLE_TIME, PointError, timestamp_in_window, validate_counts,
};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest WebSocket frame or message qualtop accepts (see README, "Limits").
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Largest single frame; fragmented messages are bounded by [`MAX_MESSAGE_BYTES`].
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// Longest annotation text the server accepts, in bytes.
pub const MAX_ANNOTATION_TEXT: usize = 4096;
