//! A backend that restarts on another clock (new epoch, `now` far back):
//! the client starts its time axis again instead of dropping the new
//! snapshot as out of window, forgets detections made on the old axis, and
//! has every other backend resend its data on the new axis.

use crate::support::feed::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{FeedHandle, Fleet, SharedFleet, SourceConfig, spawn_feed};
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

/// One feed per server into one fleet, every backend's first snapshot
/// taken: the first's holds `full(-2)`, the others' nothing.
struct Synced {
    fleet: SharedFleet,
    servers: Vec<Server>,
    feeds: Vec<FeedHandle>,
    conns: Vec<Conn>,
}

async fn synced(backends: usize) -> Synced {
    let mut servers = Vec::new();
    for _ in 0..backends {
        servers.push(Server::bind().await);
    }
    let names: Vec<String> = (0..backends).map(|i| format!("s{i}")).collect();
    let fleet = SharedFleet::new(Fleet::with_sources(names.clone()));
    let feeds = servers
        .iter()
        .zip(names)
        .enumerate()
        .map(|(i, (s, name))| {
            spawn_feed(
                fleet.clone(),
                i,
                SourceConfig::new(name, s.url()),
                fast_opts(),
            )
        })
        .collect();
    let mut conns = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let mut conn = s.accept().await;
        let series = if i == 0 { full(-2) } else { vec![] };
        conn.handshake("run-1", &snapshot(1, 0, series)).await;
        conns.push(conn);
    }
    assert!(fleet_holds(&fleet, WAIT, |f| f.sources.iter().all(|s| s.snapshots == 1)).await);
    Synced {
        fleet,
        servers,
        feeds,
        conns,
    }
}

impl Synced {
    /// Every backend gone (its connection closed); the feeds dial again.
    fn killed(mut self) -> Self {
        self.conns.clear();
        self
    }

    fn abort(&self) {
        for feed in &self.feeds {
            feed.abort();
        }
    }
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
        let feeds = synced(1).await.killed();
        let (fleet, server) = (&feeds.fleet, &feeds.servers[0]);
        // Something detection concluded on the old axis.
        fleet.write(|f| f.detections.through = Some(T0));

        let mut conn = server.accept().await;
        conn.send(&hello_at("run-2", BACK)).await;
        conn.expect_subscribe().await;
        conn.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| {
            assert_eq!(out_of_window(f), 0, "the new snapshot was dropped");
            assert_eq!(f.timeline, 1);
            assert_eq!(f.store.now(), T0 + BACK * BUCKET);
            assert_eq!(f.detections.through, None, "old detections forgotten");
        });
        assert!(quality_at(fleet, "a", "tpu", BACK - 1).is_some());
        assert!(quality_at(fleet, "a", "tpu", -1).is_none(), "old axis gone");
        feeds.abort();
    })
    .await;
}

#[tokio::test]
async fn a_reconnect_on_the_same_clock_keeps_the_time_axis() {
    bounded(TEST_LIMIT, async {
        let feeds = synced(1).await.killed();
        let (fleet, server) = (&feeds.fleet, &feeds.servers[0]);
        // A restart that continued its clock (the demo with its data dir).
        let mut conn = server.accept().await;
        conn.send(&hello_at("run-2", 1)).await;
        conn.expect_subscribe().await;
        conn.send(&snapshot(1, 1, full(-1))).await;
        assert!(fleet_holds(fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| assert_eq!(f.timeline, 0));
        feeds.abort();
    })
    .await;
}

#[tokio::test]
async fn a_time_axis_restart_makes_the_other_backends_resend() {
    bounded(TEST_LIMIT, async {
        let mut feeds = synced(2).await;
        let mut conns = std::mem::take(&mut feeds.conns).into_iter();
        let (fleet, restarting) = (&feeds.fleet, &feeds.servers[0]);
        let (a, mut b) = (conns.next().unwrap(), conns.next().unwrap());
        drop(a);
        // The host both run on was set back: b says so first (a clock that
        // disagreed with b's would be refused, not followed).
        let back = T0 + BACK * BUCKET;
        b.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: back }))
            .await;
        assert!(
            fleet_holds(fleet, WAIT, |f| f.sources[1]
                .backend_now
                .is_some_and(|(n, _)| n == back))
            .await
        );
        let mut a = restarting.accept().await;
        a.send(&hello_at("a-2", BACK)).await;
        a.expect_subscribe().await;
        a.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(fleet, WAIT, |f| f.timeline == 1).await);
        // b's next frame finds its data gone with the old axis: it asks again.
        b.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: back }))
            .await;
        b.expect_subscribe().await;
        fleet.read(|f| assert!(f.sources.iter().all(|s| s.clock_refused_ms.is_none())));
        feeds.abort();
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
        let feeds = synced(2).await.killed();
        let (fleet, sa, sb) = (&feeds.fleet, &feeds.servers[0], &feeds.servers[1]);
        // `b` dials again and waits for a hello that has not come.
        let _b = sb.accept().await;
        assert!(
            fleet_holds(fleet, WAIT, |f| f.sources[1].state
                == qualtop::feed::ConnState::Connecting)
            .await
        );
        let mut a = sa.accept().await;
        a.send(&hello_at("run-2", BACK)).await;
        a.expect_subscribe().await;
        a.send(&snapshot(1, BACK, full(BACK - 2))).await;
        assert!(fleet_holds(fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        fleet.read(|f| {
            assert_eq!(out_of_window(f), 0, "a's new snapshot was dropped");
            assert_eq!(f.timeline, 1, "the time axis started again");
            assert_eq!(f.sources[0].clock_refused_ms, None);
        });
        feeds.abort();
    })
    .await;
}
