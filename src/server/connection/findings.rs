//! The connection's findings: the source's newest `findings` frame, sent
//! right after each snapshot and whenever it changes, at most once a second.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Connection, End};
use crate::server::FindingsFrames;

/// Shortest time between two findings frames on one connection: a replay
/// that steps many buckets publishes often, a client needs the last only.
pub(super) const MIN_FINDINGS_INTERVAL: Duration = Duration::from_secs(1);

/// This connection's side of the source's findings.
pub(super) struct FindingsOut {
    frames: FindingsFrames,
    last_sent: Option<Instant>,
}

impl FindingsOut {
    pub(super) fn new(frames: FindingsFrames) -> Self {
        FindingsOut {
            frames,
            last_sent: None,
        }
    }
}

/// Resolves when a newer frame is due; never without findings. Cancel-safe:
/// the wait comes before the change is marked seen.
pub(super) async fn next_findings(out: &mut Option<FindingsOut>) {
    let Some(out) = out else {
        return std::future::pending().await;
    };
    if let Some(at) = out.last_sent {
        tokio::time::sleep_until(at + MIN_FINDINGS_INTERVAL).await;
    }
    if out.frames.changed().await.is_err() {
        // The publisher is gone (shutting down): nothing more will come.
        std::future::pending::<()>().await;
    }
}

impl Connection {
    /// Sends the newest findings frame to a subscribed client.
    pub(super) async fn send_findings(&mut self) -> Result<(), End> {
        let Some(out) = self.findings.as_mut() else {
            return Ok(());
        };
        // Marked seen either way, so an unsubscribed connection does not spin.
        let frame: Option<Arc<str>> = out.frames.borrow_and_update().clone();
        let (Some(frame), true) = (frame, self.subscription.is_some()) else {
            return Ok(());
        };
        out.last_sent = Some(Instant::now());
        self.send(frame.to_string()).await
    }
}
