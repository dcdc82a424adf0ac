//! The signals a demo world serves, and which endpoint serves each.

use crate::protocol::{SignalKind, SignalRole, SignalSpec};

use super::noise;
use super::scenario::Scenario;

pub const AVAILABILITY: &str = "availability";
pub const LATENCY: &str = "latency_p99";
/// The signals `/metrics` serves; every other signal is a quality signal on `/evals`.
pub const METRIC_SIGNALS: [&str; 2] = [AVAILABILITY, LATENCY];

pub use crate::protocol::Endpoint;

/// The `server` name in the demo's hello on `endpoint`.
pub fn server_name(endpoint: Endpoint) -> String {
    format!(
        "qualtop-demo-{}/{}",
        endpoint.name(),
        env!("CARGO_PKG_VERSION")
    )
}

/// Index of a signal in [`super::World::signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DemoSignalId(pub usize);

/// What produces a signal's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generator {
    Availability,
    Latency,
    /// Index into the scenario's suites.
    Suite(usize),
    Feedback,
}

#[derive(Debug, Clone)]
pub struct DemoSignal {
    pub spec: SignalSpec,
    pub endpoint: Endpoint,
    pub(crate) generator: Generator,
    pub(crate) key: u64,
}

/// Availability, latency, then each suite, then feedback.
pub(crate) fn signals_of(s: &Scenario) -> Vec<DemoSignal> {
    let mut out = vec![
        signal(
            AVAILABILITY,
            SignalKind::Ratio,
            SignalRole::Availability,
            None,
            Endpoint::Metrics,
            Generator::Availability,
        ),
        signal(
            LATENCY,
            SignalKind::Gauge,
            SignalRole::Latency,
            Some("ms"),
            Endpoint::Metrics,
            Generator::Latency,
        ),
    ];
    for (i, suite) in s.suites.iter().enumerate() {
        out.push(signal(
            &suite.name,
            SignalKind::Ratio,
            SignalRole::Quality,
            None,
            Endpoint::Evals,
            Generator::Suite(i),
        ));
    }
    out.push(signal(
        &s.feedback.name,
        SignalKind::Ratio,
        SignalRole::Quality,
        None,
        Endpoint::Evals,
        Generator::Feedback,
    ));
    out
}

fn signal(
    name: &str,
    kind: SignalKind,
    role: SignalRole,
    unit: Option<&str>,
    endpoint: Endpoint,
    generator: Generator,
) -> DemoSignal {
    DemoSignal {
        spec: SignalSpec {
            name: name.to_owned(),
            kind,
            role,
            unit: unit.map(str::to_owned),
        },
        endpoint,
        generator,
        key: noise::hash_str(name),
    }
}
