//! What the server counts about its clients, for an operator's metrics page.
//! Plain atomics: counting never takes a lock on the send path.

use std::sync::atomic::{AtomicU64, Ordering};

/// Shared by every connection of a server ([`super::ServerConfig::stats`]).
#[derive(Debug, Default)]
pub struct ServerStats {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
    updates_dropped: AtomicU64,
    slow_disconnects: AtomicU64,
    upgrades_refused: AtomicU64,
    subscribes: AtomicU64,
    refused_at_cap: AtomicU64,
    timed_out: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerCounts {
    pub connections_open: u64,
    pub connections_total: u64,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    /// Updates that clients too slow to take them missed (they were then cut off).
    pub updates_dropped: u64,
    /// Clients disconnected for falling behind or not taking a frame in time.
    pub slow_disconnects: u64,
    pub upgrades_refused: u64,
    pub subscribes: u64,
    /// TCP connections refused because a connection cap was reached.
    pub refused_at_cap: u64,
    /// Connections dropped for a TLS handshake or headers not done in time.
    pub timed_out: u64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl ServerStats {
    pub fn counts(&self) -> ServerCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerCounts {
            connections_open: get(&self.connections_open),
            connections_total: get(&self.connections_total),
            frames_sent: get(&self.frames_sent),
            bytes_sent: get(&self.bytes_sent),
            updates_dropped: get(&self.updates_dropped),
            slow_disconnects: get(&self.slow_disconnects),
            upgrades_refused: get(&self.upgrades_refused),
            subscribes: get(&self.subscribes),
            refused_at_cap: get(&self.refused_at_cap),
            timed_out: get(&self.timed_out),
        }
    }

    pub(super) fn connected(&self) {
        add(&self.connections_open, 1);
        add(&self.connections_total, 1);
    }
    pub(super) fn disconnected(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
    pub(super) fn sent(&self, bytes: usize) {
        add(&self.frames_sent, 1);
        add(&self.bytes_sent, bytes as u64);
    }
    pub(super) fn dropped_slow(&self, missed: u64) {
        add(&self.updates_dropped, missed);
        add(&self.slow_disconnects, 1);
    }
    pub(super) fn refused(&self) {
        add(&self.upgrades_refused, 1);
    }
    pub(super) fn subscribed(&self) {
        add(&self.subscribes, 1);
    }
    /// One more refusal at a cap; the count so far.
    pub(super) fn refused_at_cap(&self) -> u64 {
        self.refused_at_cap.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(super) fn timed_out(&self) {
        add(&self.timed_out, 1);
    }
}
