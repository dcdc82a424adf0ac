//! One task per backend: connect, authenticate, subscribe, apply what
//! arrives to the shared [`Fleet`], reconnect. Knows nothing of rendering.
//!
//! A source whose backend cannot be used as configured (HTTP 401/403, a
//! protocol this build does not speak, a bad hello) becomes
//! [`ConnState::Failed`] and is retried only every
//! [`FeedOptions::failed_retry`] (default one minute; `None`: never), so a bad
//! token does not hammer the backend's auth. Anything else (network, server
//! restart, silence, an oversize frame) is [`ConnState::Disconnected`] and is
//! redialled with exponential backoff and full jitter.
//!
//! Bad input never stops a connection: a frame that is not JSON, malformed
//! or binary is counted in `SourceStatus::drops.frames`, a bad point in its
//! reason's counter. The exception is a frame over `MAX_FRAME_BYTES`:
//! tungstenite refuses it from its header (nothing is allocated) but cannot
//! find the next frame after it, so it is counted and the source redials.
//!
//! Frames are decoded outside the fleet lock; each message is then applied
//! under one write (a 1,000 × 4 × 360 snapshot holds it about 30 ms).

mod annotation_set;
mod annotation_sync;
mod backoff;
mod changes;
mod clocks;
mod config;
mod connect;
mod findings;
mod fleet;
mod flood;
mod hello;
mod parts;
mod scale;
mod session;
mod snapshot;
mod status;
mod task;
mod view;

pub use annotation_set::{AnnotationSet, MAX_HELD_ANNOTATIONS};
pub use annotation_sync::{
    AnnotationSync, annotations_mode, spawn_sync, start_client_sync, start_grafana_push,
};
pub use backoff::full_jitter;
pub use changes::{ChangeDrops, MAX_CHANGES, apply_changes};
pub use config::{FeedOptions, HEARTBEAT_INTERVAL, SourceConfig};
pub use connect::install_crypto_provider;
pub use findings::{
    FindingsState, MAX_FINDINGS_ITEMS, ReceivedFindings, apply_findings, findings_need_refresh,
    refresh as refresh_findings, usable_findings,
};
pub use fleet::{
    AnnotationsMode, Fleet, MAX_ANNOTATION_ERRORS, RefusedAnnotation, SharedFleet, merge_annotation,
};
pub use flood::{
    CLEAN_STRETCH, MAX_PINGS_PER_SECOND, RESUBSCRIBE_MAX_DELAY, RESUBSCRIBE_MIN_DELAY,
};
pub use parts::SNAPSHOT_PART_TIMEOUT;
pub use status::{ConnState, FRESH_BUCKETS, SourceStatus};
pub use task::{FeedHandle, SendError, spawn_feed, spawn_feeds, wait_until_settled};
pub use view::{
    DEFAULT_SCALE_LEAVES, ROLLUPS, ScaleStatus, ShownView, ViewLevel, wants_scale_mode,
};
