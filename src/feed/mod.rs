//! One task per backend: connect, authenticate, subscribe, apply what
//! arrives to the shared [`Fleet`], reconnect. Knows nothing of rendering.

mod fleet;
mod status;

pub use fleet::{Fleet, SharedFleet};
pub use status::{ConnState, SourceStatus};
