//! The one source both built-in backends serve: a hub (the window and the
//! live updates) behind a hello, on a data clock. The demo runs it on its
//! compressed clock with a ticker feeding the hub; the relay on the wall
//! clock, fed by its poller and by pushes.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::{ChangeHub, FleetSource, Hub, ROLLUPS_FEATURE, Subscription, UpdatePoint};
use crate::clock::wall_ms;
use crate::protocol::{CHANGES_FEATURE, Hello, Millis, Point, Subscribe};

/// The clock a source's data time runs on.
pub trait DataClock: Send + Sync + 'static {
    fn now(&self) -> Millis;
    /// Seconds of data time per real second, when not 1 (a demo).
    fn scale(&self) -> Option<f64> {
        None
    }
}

/// Data time is wall time (the relay).
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl DataClock for WallClock {
    fn now(&self) -> Millis {
        wall_ms()
    }
}

/// A protocol source serving `hub`; the tasks that feed it stop when it is
/// dropped.
#[derive(Debug)]
pub struct HubSource<C> {
    hello: Hello,
    hub: Arc<Hub>,
    clock: C,
    feeders: Vec<JoinHandle<()>>,
    changes: Option<Arc<ChangeHub>>,
    findings: Option<super::FindingsFrames>,
}

impl<C: DataClock> HubSource<C> {
    /// `hello.now` is refreshed from `clock` on every hello. The hello lists `rollups`: a hub rolls up any grouping on demand.
    pub fn new(mut hello: Hello, hub: Arc<Hub>, clock: C) -> Self {
        if !hello.has_feature(ROLLUPS_FEATURE) {
            hello.features.push(ROLLUPS_FEATURE.to_owned());
        }
        HubSource {
            hello,
            hub,
            clock,
            feeders: Vec::new(),
            changes: None,
            findings: None,
        }
    }

    /// Serves the changes published to `changes` too (feature `changes`).
    #[must_use]
    pub fn with_changes(mut self, changes: Arc<ChangeHub>) -> Self {
        if !self.hello.has_feature(CHANGES_FEATURE) {
            self.hello.features.push(CHANGES_FEATURE.to_owned());
        }
        self.changes = Some(changes);
        self
    }

    /// Serves the findings frames published to `frames` too (feature `findings`).
    #[must_use]
    pub fn with_findings(mut self, frames: super::FindingsFrames) -> Self {
        let feature = crate::protocol::FINDINGS_FEATURE;
        if !self.hello.has_feature(feature) {
            self.hello.features.push(feature.to_owned());
        }
        self.findings = Some(frames);
        self
    }

    /// Stops `task` (one that feeds the hub) when this source is dropped.
    #[must_use]
    pub fn feeding(mut self, task: JoinHandle<()>) -> Self {
        self.feeders.push(task);
        self
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C> Drop for HubSource<C> {
    fn drop(&mut self) {
        for task in &self.feeders {
            task.abort();
        }
    }
}

impl<C: DataClock> FleetSource for HubSource<C> {
    fn hello(&self) -> Hello {
        Hello {
            now: self.clock.now(),
            ..self.hello.clone()
        }
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn time_scale(&self) -> Option<f64> {
        self.clock.scale()
    }

    fn slices(&self) -> Option<u64> {
        u64::try_from(self.hub.slices()).ok()
    }

    fn subscribe(&self, sub: &Subscribe) -> Subscription {
        self.hub.subscribe(sub, self.clock.now())
    }

    fn rolled_points(&self, sub: &Subscribe, touched: &[UpdatePoint]) -> Vec<Point<'static>> {
        self.hub.rolled_points(sub, touched)
    }

    fn changes(&self) -> Option<Arc<ChangeHub>> {
        self.changes.clone()
    }

    fn findings(&self) -> Option<super::FindingsFrames> {
        self.findings.clone()
    }
}
