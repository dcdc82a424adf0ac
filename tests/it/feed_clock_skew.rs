//! Two backends on one time axis, one with a clock hours off: its clock is
//! refused (named on its status), the axis stays on the agreeing clock, and
//! a skewed backend that connected first gives the axis up to the others.

use crate::support::feed::*;
use crate::support::messages;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::{Heartbeat, Hello, Millis, ServerMessage, Snapshot};

const HOUR: Millis = 3_600_000;

/// A bucket boundary near the local clock: the reference is the clock
/// nearest it.
fn wall_bucket() -> Millis {
    qualtop::clock::wall_ms() / BUCKET * BUCKET
}

fn hello_at(epoch: &str, now: Millis) -> ServerMessage<'static> {
    ServerMessage::Hello(Hello {
        now,
        ..hello(epoch)
    })
}

/// A snapshot ending at `to` with `quality` 9/10 in its last three buckets.
fn snapshot_at(to: Millis) -> ServerMessage<'static> {
    let series = messages::ratio_series(
        "a",
        "tpu",
        to - 3 * BUCKET,
        vec![Some(9); 3],
        vec![Some(10); 3],
    );
    ServerMessage::Snapshot(Snapshot {
        seq: 1,
        from: to - HISTORY_BUCKETS * BUCKET,
        to,
        series: vec![series],
        annotations: vec![],
        changes: vec![],
        part: None,
    })
}

/// Whether the store still holds `quality` at data time `at` (the window
/// was not pushed past it).
fn quality_held(fleet: &SharedFleet, at: Millis) -> bool {
    fleet
        .read(|f| {
            let sig = f.store.signal_by_name("quality")?;
            let id = f.store.slices().ids().next()?;
            f.store.ratio(sig, id, f.store.bucket_of(at))
        })
        .is_some()
}

fn two_feeds(fleet: &SharedFleet, servers: [&Server; 2]) -> Vec<qualtop::feed::FeedHandle> {
    servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            spawn_feed(
                fleet.clone(),
                i,
                SourceConfig::new(format!("s{i}"), s.url()),
                fast_opts(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_clock_8h_ahead_is_refused_and_the_axis_stays_on_the_agreeing_clock() {
    bounded(TEST_LIMIT, async {
        let (good, skewed) = (Server::bind().await, Server::bind().await);
        let fleet = SharedFleet::new(Fleet::with_sources(["evals", "metrics"]));
        let feeds = two_feeds(&fleet, [&good, &skewed]);
        let now = wall_bucket();
        let mut g = good.accept().await;
        g.send(&hello_at("g", now)).await;
        g.expect_subscribe().await;
        g.send(&snapshot_at(now)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 1).await);

        let mut s = skewed.accept().await;
        s.send(&hello_at("s", now + 8 * HOUR)).await;
        s.expect_subscribe().await;
        s.send(&snapshot_at(now + 8 * HOUR)).await;
        s.send(&ServerMessage::Heartbeat(Heartbeat {
            seq: 1,
            now: now + 8 * HOUR,
        }))
        .await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[1].snapshots == 1).await);
        fleet.read(|f| {
            let off = f.sources[1].clock_refused_ms.expect("metrics refused");
            assert!((off - 8 * HOUR).abs() < 60_000, "{off}");
            assert_eq!(f.sources[0].clock_refused_ms, None);
            assert!(f.store.now() < now + HOUR, "the axis moved 8 h on");
            assert_eq!(f.timeline, 0);
        });
        // The agreeing backend's data are still on screen.
        assert!(
            quality_held(&fleet, now - BUCKET),
            "evals data pushed out of the window"
        );
        for feed in &feeds {
            feed.abort();
        }
    })
    .await;
}

#[tokio::test]
async fn a_skewed_backend_that_came_first_gives_the_axis_up_when_an_agreeing_one_joins() {
    bounded(TEST_LIMIT, async {
        let (skewed, good) = (Server::bind().await, Server::bind().await);
        let fleet = SharedFleet::new(Fleet::with_sources(["metrics", "evals"]));
        let feeds = two_feeds(&fleet, [&skewed, &good]);
        let now = wall_bucket();
        // Year 9999: alone, it is the only clock there is.
        let far = 253_402_214_400_000 / BUCKET * BUCKET;
        let mut s = skewed.accept().await;
        s.send(&hello_at("s", far)).await;
        s.expect_subscribe().await;
        s.send(&snapshot_at(far)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 1).await);
        assert_eq!(fleet.read(|f| f.store.now()), far);

        let mut g = good.accept().await;
        g.send(&hello_at("g", now)).await;
        g.expect_subscribe().await;
        g.send(&snapshot_at(now)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[1].snapshots == 1).await);
        fleet.read(|f| {
            assert!(f.sources[0].clock_refused_ms.is_some_and(|o| o > 0));
            assert_eq!(f.timeline, 1, "the axis started again");
            assert!(f.store.now() < now + HOUR, "{}", f.store.now());
        });
        // The skewed backend's next frame: its data went with the old axis.
        s.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: far }))
            .await;
        s.expect_subscribe().await;
        for feed in &feeds {
            feed.abort();
        }
    })
    .await;
}

/// A ×60 hello (the demo's): the protocol's optional `time_scale` field.
fn fast_hello_text(epoch: &str, now: Millis) -> String {
    let json = hello_at(epoch, now).to_json();
    let body = json.strip_suffix('}').expect("a JSON object");
    format!("{body},\"time_scale\":60}}")
}

#[tokio::test]
async fn a_fast_clock_whose_hello_was_read_late_is_not_refused_and_wipes_nothing() {
    bounded(TEST_LIMIT, async {
        let (first, second) = (Server::bind().await, Server::bind().await);
        let fleet = SharedFleet::new(Fleet::with_sources(["metrics", "evals"]));
        let feeds = two_feeds(&fleet, [&first, &second]);
        // A demo's data clock, an hour ahead of the wall: the clock nearest
        // the wall is the reference, here the one read late.
        let now = wall_bucket() + HOUR;
        let mut a = first.accept().await;
        a.send_text(fast_hello_text("a", now)).await;
        a.expect_subscribe().await;
        a.send(&snapshot_at(now)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 1).await);

        // The same clock, its hello handled 5.6 s late by a busy client (a CI
        // run): at x60 it reads 5m36s behind the first.
        let mut b = second.accept().await;
        b.send_text(fast_hello_text("b", now - 5_600 * 60)).await;
        b.expect_subscribe().await;
        b.send(&snapshot_at(now)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[1].snapshots == 1).await);
        fleet.read(|f| {
            let refused: Vec<_> = f.sources.iter().map(|s| s.clock_refused_ms).collect();
            assert_eq!(refused, vec![None, None], "a late read is not a clock off");
            assert_eq!(
                f.timeline, 0,
                "the axis was started again, the first's data wiped"
            );
        });
        // The first backend's history is still there.
        assert!(
            quality_held(&fleet, now - BUCKET),
            "the first backend's data left the window"
        );
        for feed in &feeds {
            feed.abort();
        }
    })
    .await;
}
