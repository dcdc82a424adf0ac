//! The demo world as a protocol source: history generated once into a hub,
//! then one bucket per tick of the compressed clock, fanned out to every client.

use std::sync::Arc;

use crate::protocol::{Hello, PROTOCOL_VERSION, SignalSpec, SliceMap};
use crate::server::{ChangeHub, Hub, HubSource, UpdatePoint};

use super::changes::DemoChanges;
use super::clock::DemoClock;
use super::fleet::LeafId;
use super::signals::{DemoSignalId, Endpoint};
use super::world::World;

/// One endpoint of the demo backend: its hub on the compressed clock, fed
/// by a ticker that stops with it.
pub type DemoSource = HubSource<DemoClock>;

/// What a bucket generator needs: the endpoint's leaves and signals, by the
/// hub's shared names.
struct Plan {
    world: Arc<World>,
    slices: Vec<(LeafId, Arc<SliceMap<'static>>)>,
    signals: Vec<(DemoSignalId, Arc<str>)>,
}

impl Plan {
    fn bucket(&self, offset: i64) -> Vec<UpdatePoint> {
        let ts = self.world.bucket_ts(offset);
        let mut points = Vec::with_capacity(self.slices.len() * self.signals.len());
        for (leaf, slice) in &self.slices {
            for (signal, name) in &self.signals {
                if let Some(value) = self.world.sample(*leaf, *signal, ts) {
                    points.push(UpdatePoint {
                        slice: Arc::clone(slice),
                        signal: Arc::clone(name),
                        ts,
                        value,
                    });
                }
            }
        }
        points
    }
}

/// A hub for one endpoint, filled with the history before bucket `start`
/// (an offset from the anchor; blocking work: every bucket of the history is
/// generated here, once for all clients).
pub fn history_hub(world: &Arc<World>, endpoint: Endpoint, start: i64, backlog: usize) -> Arc<Hub> {
    let hub = Arc::new(Hub::new(
        &signal_specs(world, endpoint),
        world.bucket_ms(),
        world.history_ms(),
        backlog,
    ));
    let plan = plan(world, endpoint, &hub);
    for offset in start - world.history_buckets()..start {
        hub.publish(plan.bucket(offset));
    }
    hub
}

fn signal_specs(world: &World, endpoint: Endpoint) -> Vec<SignalSpec> {
    world
        .signals_of(endpoint)
        .iter()
        .filter_map(|id| world.signals().get(id.0).map(|s| s.spec.clone()))
        .collect()
}

fn plan(world: &Arc<World>, endpoint: Endpoint, hub: &Hub) -> Plan {
    let slices = world
        .leaf_ids()
        .filter_map(|id| world.leaf(id).map(|l| (id, hub.intern(l.slice()))))
        .collect();
    let signals = world
        .signals_of(endpoint)
        .into_iter()
        .filter_map(|id| {
            let name = &world.signals().get(id.0)?.spec.name;
            hub.signal(name).map(|n| (id, n))
        })
        .collect();
    Plan {
        world: Arc::clone(world),
        slices,
        signals,
    }
}

/// Updates a client may fall behind before it is disconnected.
pub const DEFAULT_BACKLOG: usize = 256;

/// Serves `hub` (filled by [`history_hub`] up to bucket `start`) and ticks
/// new buckets into it on `clock`. Must be called inside a Tokio runtime.
pub fn spawn_source(
    world: &Arc<World>,
    endpoint: Endpoint,
    (hub, start): (Arc<Hub>, i64),
    clock: DemoClock,
    epoch: &str,
) -> DemoSource {
    let plan = plan(world, endpoint, &hub);
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        server: super::signals::server_name(endpoint),
        epoch: epoch.to_owned(),
        dimensions: world.dimensions(),
        signals: signal_specs(world, endpoint),
        bucket_ms: world.bucket_ms(),
        history_ms: world.history_ms(),
        now: clock.now(),
        // The demo backend is a war room's shared board. The server keeps
        // this only when it was given an annotation store (see
        // `server::hello_features`), so the hello never promises what
        // the server cannot do.
        features: vec![crate::server::ANNOTATIONS_FEATURE.to_owned()],
    };
    let ticker = tokio::spawn(tick(plan, Arc::clone(&hub), clock, start));
    HubSource::new(hello, hub, clock).feeding(ticker)
}

/// Publishes bucket `start`, `start + 1`, ... each when the clock has passed
/// its end. A late wake-up catches up one bucket at a time rather than skipping.
async fn tick(plan: Plan, hub: Arc<Hub>, clock: DemoClock, start: i64) {
    for offset in start.. {
        let end = plan.world.bucket_ts(offset + 1);
        tokio::time::sleep_until(clock.instant_at(end)).await;
        hub.publish(plan.bucket(offset));
    }
}

/// A hub holding the run's changes up to the clock's now, and a task that
/// publishes each later one when the clock reaches it.
pub fn spawn_changes(
    world: &World,
    changes: DemoChanges,
    clock: DemoClock,
) -> (Arc<ChangeHub>, tokio::task::JoinHandle<()>) {
    let hub = ChangeHub::in_memory(world.dimensions());
    let now = clock.now();
    let (past, future): (Vec<_>, Vec<_>) = changes.changes.into_iter().partition(|c| c.at <= now);
    for change in past {
        publish(&hub, change, now);
    }
    let ticker = tokio::spawn({
        let hub = Arc::clone(&hub);
        async move {
            for change in future {
                tokio::time::sleep_until(clock.instant_at(change.at)).await;
                publish(&hub, change, clock.now());
            }
        }
    });
    (hub, ticker)
}

fn publish(hub: &ChangeHub, change: crate::protocol::Change, now: crate::protocol::Millis) {
    // The demo's changes are made to pass; a scenario that breaks one is logged, not fatal.
    if let Err(e) = hub.publish(change, now) {
        tracing::warn!("demo change not served: {e}");
    }
}
