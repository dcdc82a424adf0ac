//! A backend that restarts on another clock (new epoch, `now` far back):
//! the client starts its time axis again instead of dropping the new
//! snapshot as out of window, forgets detections made on the old axis, and
//! has every other backend resend its data on the new axis.

use crate::support::feed::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::{Heartbeat, Hello, PointError, ServerMessage};

/// Ten hours before T0: far more than the 60-bucket history held.
const BACK: i64 = -600;

fn hello_at(epoch: &str, bucket: i64) -> ServerMessage<'static> {
    ServerMessage::Hello(Hello {
        now: T0 + bucket * BUCKET,
        ..hello(epoch)
    })
}

fn full(first: i64) -> Vec<qualtop::protocol::Series<'static>> {
    vec![ratio_series("a", "tpu", first, &[Some((9, 10)); 3])]
}

fn out_of_window(f: &Fleet) -> u64 {
    f.sources
        .iter()
        .map(|s| s.drops.count(PointError::OutOfWindow))
        .sum()
}

#[tokio::test]
async fn a_backend_restarted_on_an_earlier_clock_resyncs_without_drops() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("t", server.url()),
            fast_opts(),
        );
        let mut conn = server.accept().await;
        conn.handshake("run-1", &snapshot(1, 0, full(-2))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 1).await);
        // Something detection concluded on the old axis.
        fleet.write(|f| f.detections.through = Some(T0));
        drop(conn);

        let mut conn = server.accept().await;
        conn.send(&hello_at("run-2", BACK)).await;
        conn.expect_subscribe().await;
        conn.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| {
            assert_eq!(out_of_window(f), 0, "the new snapshot was dropped");
            assert_eq!(f.timeline, 1);
            assert_eq!(f.store.now(), T0 + BACK * BUCKET);
            assert_eq!(f.detections.through, None, "old detections forgotten");
        });
        assert!(quality_at(&fleet, "a", "tpu", BACK - 1).is_some());
        assert!(
            quality_at(&fleet, "a", "tpu", -1).is_none(),
            "old axis gone"
        );
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn a_reconnect_on_the_same_clock_keeps_the_time_axis() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("t", server.url()),
            fast_opts(),
        );
        let mut conn = server.accept().await;
        conn.handshake("run-1", &snapshot(1, 0, full(-2))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 1).await);
        drop(conn);
        // A restart that continued its clock (the demo with its data dir).
        let mut conn = server.accept().await;
        conn.send(&hello_at("run-2", 1)).await;
        conn.expect_subscribe().await;
        conn.send(&snapshot(1, 1, full(-1))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| assert_eq!(f.timeline, 0));
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn a_time_axis_restart_makes_the_other_backends_resend() {
    bounded(TEST_LIMIT, async {
        let (restarting, steady) = (Server::bind().await, Server::bind().await);
        let fleet = SharedFleet::new(Fleet::with_sources(["a", "b"]));
        let feeds = [(0, &restarting), (1, &steady)].map(|(i, s)| {
            spawn_feed(
                fleet.clone(),
                i,
                SourceConfig::new(format!("s{i}"), s.url()),
                fast_opts(),
            )
        });
        let mut a = restarting.accept().await;
        a.handshake("a-1", &snapshot(1, 0, full(-2))).await;
        let mut b = steady.accept().await;
        b.handshake("b-1", &snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources.iter().all(|s| s.snapshots == 1)).await);
        drop(a);
        // The host both run on was set back: b says so first (a clock that
        // disagreed with b's would be refused, not followed).
        let back = T0 + BACK * BUCKET;
        b.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: back }))
            .await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[1]
                .backend_now
                .is_some_and(|(n, _)| n == back))
            .await
        );
        let mut a = restarting.accept().await;
        a.send(&hello_at("a-2", BACK)).await;
        a.expect_subscribe().await;
        a.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.timeline == 1).await);
        // b's next frame finds its data gone with the old axis: it asks again.
        b.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: back }))
            .await;
        b.expect_subscribe().await;
        fleet.read(|f| assert!(f.sources.iter().all(|s| s.clock_refused_ms.is_none())));
        for feed in &feeds {
            feed.abort();
        }
    })
    .await;
}

#[tokio::test]
async fn a_restart_of_both_backends_is_followed_while_the_other_is_still_dialling() {
    // Two sources of one demo process, killed and restarted on a new clock:
    // `a` says hello first while `b` is still dialling (connected, no hello
    // yet). `b`'s clock from before the kill belongs to a connection that is
    // gone: it must not refuse `a`'s new clock (which would bind `a` at the
    // old axis and drop its snapshot as out of window).
    bounded(TEST_LIMIT, async {
        let (sa, sb) = (Server::bind().await, Server::bind().await);
        let fleet = SharedFleet::new(Fleet::with_sources(["a", "b"]));
        let feeds = [(0, &sa), (1, &sb)].map(|(i, s)| {
            spawn_feed(
                fleet.clone(),
                i,
                SourceConfig::new(format!("s{i}"), s.url()),
                fast_opts(),
            )
        });
        let mut a = sa.accept().await;
        a.handshake("run-1", &snapshot(1, 0, full(-2))).await;
        let mut b = sb.accept().await;
        b.handshake("run-1", &snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources.iter().all(|s| s.snapshots == 1)).await);
        drop((a, b));
        // `b` dials again and waits for a hello that has not come.
        let _b = sb.accept().await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[1].state
                == qualtop::feed::ConnState::Connecting)
            .await
        );
        let mut a = sa.accept().await;
        a.send(&hello_at("run-2", BACK)).await;
        a.expect_subscribe().await;
        a.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| {
            assert_eq!(out_of_window(f), 0, "a's new snapshot was dropped");
            assert_eq!(f.timeline, 1, "the time axis started again");
            assert_eq!(f.sources[0].clock_refused_ms, None);
        });
        for feed in &feeds {
            feed.abort();
        }
    })
    .await;
}
