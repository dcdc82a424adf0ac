//! One relay endpoint as a protocol source: the hub holds the window (fed by
//! the upstream poller and by pushes), the wall clock is the data clock.

use std::sync::Arc;

use crate::protocol::{Hello, Millis, PROTOCOL_VERSION, SignalSpec, Subscribe};
use crate::server::{FleetSource, Hub, Subscription};

use crate::clock::wall_ms;

#[derive(Debug)]
pub struct RelaySource {
    hello: Hello,
    hub: Arc<Hub>,
}

impl RelaySource {
    /// A source for `signals`, with a fresh hub of `history_ms` that lets a
    /// client fall `client_queue` updates behind before it is cut off.
    pub fn new(
        epoch: &str,
        dimensions: Vec<String>,
        signals: Vec<SignalSpec>,
        bucket_ms: Millis,
        history_ms: Millis,
        client_queue: usize,
    ) -> RelaySource {
        let hub = Arc::new(Hub::new(&signals, bucket_ms, history_ms, client_queue));
        RelaySource {
            hello: Hello {
                protocol: PROTOCOL_VERSION,
                server: format!("qualtop-relay/{}", env!("CARGO_PKG_VERSION")),
                epoch: epoch.to_owned(),
                dimensions,
                signals,
                bucket_ms,
                history_ms,
                now: wall_ms(),
                features: Vec::new(),
            },
            hub,
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

impl FleetSource for RelaySource {
    fn hello(&self) -> Hello {
        Hello {
            now: wall_ms(),
            ..self.hello.clone()
        }
    }

    fn now(&self) -> Millis {
        wall_ms()
    }

    fn subscribe(&self, sub: &Subscribe) -> Subscription {
        self.hub.subscribe(sub, wall_ms())
    }
}
