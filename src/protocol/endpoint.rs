//! The two WebSocket endpoints every qualtop backend serves (the demo, the
//! relay, a third party): one definition for servers, clients and config.

use serde::{Deserialize, Serialize};

/// `/metrics` (availability, latency) or `/evals` (eval suites, feedback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Availability and latency.
    Metrics,
    /// Eval suites and user feedback.
    Evals,
}

impl Endpoint {
    pub const ALL: [Endpoint; 2] = [Endpoint::Metrics, Endpoint::Evals];

    /// The URL path it is served on.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Metrics => "/metrics",
            Endpoint::Evals => "/evals",
        }
    }

    /// `metrics` or `evals`, as config files and logs name it.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Metrics => "metrics",
            Endpoint::Evals => "evals",
        }
    }
}
