//! Waiting in tests: for a condition, for the fleet, within a time limit.

use std::future::Future;
use std::time::Duration;

use qualtop::feed::{Fleet, SharedFleet};

/// Runs a test body, failing it if it takes longer than `limit`.
pub async fn bounded<F: Future<Output = ()>>(limit: Duration, body: F) {
    tokio::time::timeout(limit, body)
        .await
        .expect("test took longer than its time limit");
}

/// Polls `cond` every 50 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `cond` holds on the fleet, or `within` passes; looks again
/// on every change the feed announces instead of polling.
pub async fn fleet_holds(
    fleet: &SharedFleet,
    within: Duration,
    cond: impl Fn(&Fleet) -> bool,
) -> bool {
    let mut changed = fleet.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        changed.borrow_and_update();
        if fleet.read(&cond) {
            return true;
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return fleet.read(&cond);
        }
    }
}
