//! What a slow, silent or greedy peer may hold: connection caps (global and
//! per peer address) and the timeouts of each stage of a connection. The
//! accept loop that applies them is in `listen`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Caps and timeouts of a server's connections, whatever they carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open TCP connections (half-open, HTTP or WebSocket) across all peers.
    pub max_connections: usize,
    /// Open TCP connections from one peer address.
    pub max_connections_per_ip: usize,
    /// A TLS handshake not finished within this is dropped.
    pub tls_handshake_timeout: Duration,
    /// A request whose headers are not all in within this (from the first
    /// byte the server waits for) is dropped; idle keep-alive connections too.
    pub header_timeout: Duration,
    /// A request body not all in within this of its headers is refused (408).
    pub body_timeout: Duration,
    /// An upgraded WebSocket that sends no request (subscribe or annotate)
    /// within this is closed (1008).
    pub first_request_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            max_connections_per_ip: 64,
            tls_handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            first_request_timeout: Duration::from_secs(30),
        }
    }
}

impl ConnectionLimits {
    /// `max_connections` lowered to fit this process's file descriptor
    /// limit, keeping room for the store, the upstream and the log; with a
    /// warning, since the operator asked for more.
    pub fn fitted_to_fd_limit(mut self) -> Self {
        // SAFETY: getrlimit only writes the struct we hand it.
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0 {
            usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
        } else {
            return self;
        };
        let room = soft.saturating_sub(64).max(16);
        if self.max_connections > room {
            tracing::warn!(
                asked = self.max_connections,
                fd_limit = soft,
                using = room,
                "max_connections is above the file descriptor limit (ulimit -n); lowered"
            );
            self.max_connections = room;
        }
        self
    }
}

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtCap {
    Global(usize),
    PerIp(usize),
}

impl std::fmt::Display for AtCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtCap::Global(n) => write!(f, "server at its cap of {n} connections; retry later"),
            AtCap::PerIp(n) => write!(
                f,
                "your address holds {n} connections, the most one address may; close some"
            ),
        }
    }
}

/// Counts open connections, in total and per peer address.
#[derive(Debug)]
pub(super) struct Gate {
    max: usize,
    per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(super) struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Gate {
    pub(super) fn new(limits: &ConnectionLimits) -> Arc<Gate> {
        Arc::new(Gate {
            max: limits.max_connections.max(1),
            per_ip: limits.max_connections_per_ip.max(1),
            open: Mutex::new((0, HashMap::new())),
        })
    }

    pub(super) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, AtCap> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_ip) = &mut *open;
        // The per-address cap first: one greedy peer is told it is the problem.
        let mine = by_ip.get(&ip).copied().unwrap_or(0);
        if mine >= self.per_ip {
            return Err(AtCap::PerIp(self.per_ip));
        }
        if *total >= self.max {
            return Err(AtCap::Global(self.max));
        }
        *total += 1;
        by_ip.insert(ip, mine + 1);
        Ok(Slot {
            gate: Arc::clone(self),
            ip,
        })
    }

    /// Open connections now.
    #[cfg(test)]
    pub(super) fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
        let (total, by_ip) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_address_cap_binds_before_the_global_one_and_slots_come_back() {
        let gate = Gate::new(&ConnectionLimits {
            max_connections: 3,
            max_connections_per_ip: 2,
            ..ConnectionLimits::default()
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let a1 = gate.admit(a).unwrap();
        let _a2 = gate.admit(a).unwrap();
        assert_eq!(gate.admit(a).unwrap_err(), AtCap::PerIp(2));
        let _b1 = gate.admit(b).unwrap();
        assert_eq!(gate.admit(b).unwrap_err(), AtCap::Global(3));
        drop(a1);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit(b).is_ok());
    }
}
