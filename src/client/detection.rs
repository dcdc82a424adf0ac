//! The detection service: a task next to the feeds that, whenever the fleet
//! changes, feeds every new complete bucket to a [`DetectionEngine`] and
//! publishes what it concludes into `Fleet::detections`, only when that
//! changed. `qualtop check` drives the same engine through [`catch_up`].

use tokio::task::JoinHandle;

use crate::detect::{DetectionEngine, DetectionSettings, Detections};
use crate::feed::{Fleet, SharedFleet, findings_need_refresh, refresh_findings, usable_findings};

/// Buckets consumed per read of the fleet: the first call replays the
/// whole history (360 buckets for the demo, about 1–2 ms each in a release
/// build), so it is cut into reads short enough not to hold up the feeds.
const BUCKETS_PER_READ: usize = 30;

/// The running detection task; dropping it stops the task.
pub struct DetectionTask {
    handle: JoinHandle<()>,
}

impl Drop for DetectionTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts the detection service on `fleet`. Must run inside the runtime.
pub fn spawn_detection(fleet: SharedFleet, settings: DetectionSettings) -> DetectionTask {
    DetectionTask {
        handle: tokio::spawn(run(fleet, settings)),
    }
}

/// Longest wait for every backend's first snapshot before testing starts.
const FIRST_SNAPSHOT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn run(fleet: SharedFleet, settings: DetectionSettings) {
    // The history of the first backend to answer would otherwise be tested
    // alone: the others' signals would start with gaps (no baseline) or with
    // part of their history, and the scope search would read leaves against
    // baselines of another span. `qualtop check` waits the same way.
    crate::feed::wait_until_settled(&fleet, FIRST_SNAPSHOT_WAIT).await;
    wait_for_findings(&fleet).await;
    let mut changes = fleet.subscribe();
    // `None` while the backends' findings are shown: no engine, no replay.
    let mut engine: Option<DetectionEngine> = None;
    let mut published = Detections::default();
    let mut timeline = fleet.read(|f| f.timeline);
    loop {
        changes.borrow_and_update();
        if fleet.read(|f| f.timeline) != timeline {
            // A backend's clock jumped and the store started again: so do we,
            // once every backend has sent data on the new axis.
            wait_for_new_axis(&fleet).await;
            timeline = fleet.read(|f| f.timeline);
            engine = None;
            published = Detections::default();
            continue;
        }
        if from_backend(&fleet).await {
            engine = None;
            published = Detections::default();
        } else if let Some(engine) = engine.as_mut() {
            while catch_up_once(&fleet, engine, &mut published, true) == BUCKETS_PER_READ {
                tokio::task::yield_now().await;
            }
        } else {
            // First run, or the backends' findings stopped: replay the whole
            // history, and replace what is on screen only once caught up.
            let engine = engine.insert(DetectionEngine::new(settings));
            while catch_up_once(&fleet, engine, &mut published, false) == BUCKETS_PER_READ {
                tokio::task::yield_now().await;
            }
            if !from_backend(&fleet).await {
                publish(&fleet, engine, &mut published);
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Whether the backends' findings are shown, after bringing the fleet up
/// to date on it (a source that disconnected, a hello without the feature).
/// A backend that reconnects promising findings gets a moment to send them
/// before the whole history is replayed locally.
async fn from_backend(fleet: &SharedFleet) -> bool {
    if !fleet.read(findings_need_refresh) {
        return fleet.read(|f| f.findings.from_backend);
    }
    if fleet.read(|f| f.findings.from_backend) {
        wait_for_findings(fleet).await;
    }
    fleet.write(refresh_findings)
}

/// Longest wait after the snapshots for findings of backends that
/// advertise them, before replaying the history locally for nothing.
const FINDINGS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits (at most a few seconds) for usable findings when every backend
/// advertises them; returns at once otherwise.
pub async fn wait_for_findings(fleet: &SharedFleet) {
    let promised = |f: &Fleet| {
        !f.sources.is_empty()
            && f.sources.iter().all(|s| {
                s.hello
                    .as_ref()
                    .is_some_and(|h| h.has_feature(crate::protocol::FINDINGS_FEATURE))
            })
    };
    if !fleet.read(promised) {
        return;
    }
    let mut changes = fleet.subscribe();
    let deadline = tokio::time::Instant::now() + FINDINGS_WAIT;
    while !fleet.read(|f| usable_findings(f).is_ok()) {
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// The newest bucket every backend has sent data for, if all have.
fn data_through(f: &Fleet) -> Option<crate::protocol::Millis> {
    f.sources.iter().map(|s| s.newest_data).min().flatten()
}

/// Whether the backends' findings shown have tested the data up to `to`
/// (within a bucket: a server tests a bucket once it has closed).
fn findings_reach(f: &Fleet, to: crate::protocol::Millis) -> bool {
    let bucket = f.store.bucket_ms().max(1);
    f.detections.through.is_some_and(|t| t >= to - bucket)
}

/// When the backends' findings are shown: waits (at most `limit`) until
/// they have tested the data the fleet holds now, so that a report is of
/// that data and not of a server still catching up (a relay or
/// `demo-server` just started replays its history first). `Err` with the
/// times (findings through, data to) when they still lag.
pub async fn wait_for_current_findings(
    fleet: &SharedFleet,
    limit: std::time::Duration,
) -> Result<(), (Option<crate::protocol::Millis>, crate::protocol::Millis)> {
    let Some(to) = fleet.read(data_through) else {
        return Ok(());
    };
    let mut changes = fleet.subscribe();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let (shown, reached, through) = fleet.read(|f| {
            (
                f.findings.from_backend,
                findings_reach(f, to),
                f.detections.through,
            )
        });
        if !shown || reached {
            return Ok(());
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err((through, to)),
        }
    }
}

/// Waits (at most [`FIRST_SNAPSHOT_WAIT`]) until every backend that has not
/// failed has data on the restarted time axis.
async fn wait_for_new_axis(fleet: &SharedFleet) {
    let mut changes = fleet.subscribe();
    let ready = |f: &Fleet| {
        f.sources
            .iter()
            .all(|s| s.newest_data.is_some() || s.state.is_failed())
    };
    let deadline = tokio::time::Instant::now() + FIRST_SNAPSHOT_WAIT;
    while !fleet.read(ready) {
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// Consumes every complete bucket the fleet holds that `engine` has not
/// seen, publishing after each read when the result changed. Returns how
/// many buckets were consumed.
pub fn catch_up(
    fleet: &SharedFleet,
    engine: &mut DetectionEngine,
    published: &mut Detections,
) -> usize {
    let mut total = 0;
    loop {
        let n = catch_up_once(fleet, engine, published, true);
        total += n;
        if n < BUCKETS_PER_READ {
            return total;
        }
    }
}

/// The newest bucket every live backend has sent data for. The store's head
/// follows the newest clock of any backend (a heartbeat moves it), so a
/// bucket can look complete before a slower backend's batch for it arrived;
/// testing it then would read its data as a gap. A backend that is not
/// live does not hold detection back: its missing data is a gap anyway.
fn complete_through(fleet: &Fleet) -> i64 {
    fleet
        .sources
        .iter()
        .filter(|s| s.state.is_live() && s.snapshots > 0)
        .filter_map(|s| s.newest_data)
        .map(|ts| fleet.store.bucket_of(ts))
        .min()
        .unwrap_or(i64::MAX)
}

/// One read of the fleet: up to [`BUCKETS_PER_READ`] buckets, then (if
/// `show`) a write if the detections changed.
fn catch_up_once(
    fleet: &SharedFleet,
    engine: &mut DetectionEngine,
    published: &mut Detections,
    show: bool,
) -> usize {
    let consumed =
        fleet.read(|f| engine.step_through(&f.store, complete_through(f), BUCKETS_PER_READ));
    if consumed > 0 && show {
        publish(fleet, engine, published);
    }
    consumed
}

/// Writes the engine's detections into the fleet if they changed (and the
/// backends' findings are not shown meanwhile).
fn publish(fleet: &SharedFleet, engine: &DetectionEngine, published: &mut Detections) {
    let d = fleet.read(|f| engine.detections(&f.store));
    if d != *published {
        fleet.write(|f| {
            if !f.findings.from_backend {
                f.detections = d.clone();
            }
        });
        *published = d;
    }
}
