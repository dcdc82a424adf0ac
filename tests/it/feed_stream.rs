//! The feed over real loopback WebSockets: snapshot and batches reach the
//! store, seq gaps and restarts resynchronise, silence shows as stale.

use std::time::Duration;

use crate::support::feed::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{ConnState, FeedOptions, SourceConfig, spawn_feed, wait_until_settled};
use qualtop::protocol::{Heartbeat, ServerMessage};
use qualtop::store::Ratio;

fn live(f: &qualtop::feed::Fleet) -> bool {
    f.sources[0].state == ConnState::Live
}

#[tokio::test]
async fn snapshot_then_batches_land_in_the_store() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let opts = FeedOptions {
            window_ms: Some(30 * BUCKET),
            ..fast_opts()
        };
        let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", server.url()), opts);
        let mut conn = server.accept().await;
        let snap = snapshot(
            1,
            0,
            vec![ratio_series(
                "a",
                "tpu",
                -2,
                &[Some((9, 10)), None, Some((7, 10))],
            )],
        );
        let sub = conn.handshake("e1", &snap).await;
        assert_eq!(
            sub.window_ms,
            30 * BUCKET,
            "options ask for less than history"
        );

        assert!(wait_until_settled(&fleet, WAIT).await);
        assert_eq!(quality_at(&fleet, "a", "tpu", -2), Some(Ratio::new(9, 10)));
        assert_eq!(
            quality_at(&fleet, "a", "tpu", -1),
            None,
            "a null stays a gap"
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), Some(Ratio::new(7, 10)));

        conn.send(&batch(
            2,
            vec![point("a", "tpu", 0, 8, 10), point("b", "gpu", 0, 5, 5)],
        ))
        .await;
        conn.send(&batch(3, vec![point("a", "tpu", 1, 3, 4)])).await;
        conn.send(&ServerMessage::Heartbeat(Heartbeat {
            seq: 3,
            now: T0 + BUCKET,
        }))
        .await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.store.now() == T0 + BUCKET).await,
            "heartbeat moves the clock"
        );
        assert_eq!(
            quality_at(&fleet, "a", "tpu", 0),
            Some(Ratio::new(8, 10)),
            "a later point for a held bucket replaces it"
        );
        assert_eq!(quality_at(&fleet, "b", "gpu", 0), Some(Ratio::new(5, 5)));
        assert_eq!(quality_at(&fleet, "a", "tpu", 1), Some(Ratio::new(3, 4)));
        fleet.read(|f| {
            let s = &f.sources[0];
            assert_eq!(s.state, ConnState::Live);
            assert_eq!(s.resyncs, 0);
            assert_eq!(s.drops.total(), 0);
            assert_eq!(s.newest_data, Some(T0 + BUCKET));
            assert_eq!(s.hello.as_ref().map(|h| h.epoch.as_str()), Some("e1"));
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn skipped_seq_triggers_resubscribe_and_state_is_replaced() {
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
        let snap = snapshot(1, 0, vec![ratio_series("a", "tpu", -1, &[Some((1, 2))])]);
        conn.handshake("e1", &snap).await;
        conn.send(&batch(2, vec![point("a", "tpu", 0, 2, 2)])).await;
        // seq 3 never comes.
        conn.send(&batch(4, vec![point("b", "tpu", 0, 4, 4)])).await;
        let again = conn.recv().await;
        assert!(
            matches!(again, Some(qualtop::protocol::ClientMessage::Subscribe(_))),
            "a gap makes the client subscribe again, got {again:?}"
        );
        // Until the new snapshot, live data of the broken stream is ignored.
        conn.send(&batch(5, vec![point("a", "tpu", 0, 9, 9)])).await;
        let fresh = snapshot(6, 0, vec![ratio_series("c", "gpu", 0, &[Some((3, 3))])]);
        conn.send(&fresh).await;
        conn.send(&batch(7, vec![point("c", "gpu", 0, 2, 3)])).await;

        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 2).await);
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "c", "gpu", 0)
                == Some(Ratio::new(2, 3)))
            .await,
            "batches after the new snapshot apply"
        );
        assert_eq!(
            quality_at(&fleet, "a", "tpu", -1),
            None,
            "old snapshot gone"
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), None, "old batch gone");
        assert_eq!(
            quality_at(&fleet, "b", "tpu", 0),
            None,
            "batch after gap never applied"
        );
        fleet.read(|f| assert_eq!(f.sources[0].resyncs, 1));
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn heartbeat_ahead_of_our_seq_triggers_resubscribe() {
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
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        conn.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: T0 }))
            .await;
        conn.send(&ServerMessage::Heartbeat(Heartbeat { seq: 3, now: T0 }))
            .await;
        let again = conn.recv().await;
        assert!(matches!(
            again,
            Some(qualtop::protocol::ClientMessage::Subscribe(_))
        ));
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].resyncs == 1).await);
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn restarted_server_with_new_epoch_is_resynced_without_phantom_data() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let port = server.port;
        let fleet = new_fleet();
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("t", server.url()),
            fast_opts(),
        );
        let mut conn = server.accept().await;
        let old = snapshot(
            1,
            0,
            vec![
                ratio_series(
                    "a",
                    "tpu",
                    -3,
                    &[Some((1, 1)), Some((2, 2)), Some((3, 3)), None],
                ),
                ratio_series("b", "gpu", -1, &[Some((5, 6)), None]),
            ],
        );
        conn.handshake("epoch-1", &old).await;
        conn.send(&batch(2, vec![point("a", "tpu", 0, 4, 4)])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                .is_some())
            .await
        );

        // Kill the server: connection and listener gone.
        drop(conn);
        drop(server);
        assert!(
            fleet_holds(&fleet, WAIT, |f| matches!(
                f.sources[0].state,
                ConnState::Disconnected { .. }
            ))
            .await
        );

        let server = Server::rebind(port).await;
        let mut conn = server.accept().await;
        let new = snapshot(
            1,
            1,
            vec![ratio_series(
                "a",
                "tpu",
                -1,
                &[Some((7, 8)), Some((1, 2)), None],
            )],
        );
        conn.handshake("epoch-2", &new).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshots == 2 && live(f)).await);
        conn.send(&batch(2, vec![point("a", "tpu", 1, 5, 5)])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 1)
                == Some(Ratio::new(5, 5)))
            .await
        );

        assert_eq!(
            quality_at(&fleet, "a", "tpu", -3),
            None,
            "phantom from epoch 1"
        );
        assert_eq!(
            quality_at(&fleet, "a", "tpu", -2),
            None,
            "phantom from epoch 1"
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", -1), Some(Ratio::new(7, 8)));
        assert_eq!(
            quality_at(&fleet, "a", "tpu", 0),
            Some(Ratio::new(1, 2)),
            "the new epoch's value, not the old batch's 4/4"
        );
        assert_eq!(
            quality_at(&fleet, "b", "gpu", -1),
            None,
            "slice only in epoch 1"
        );
        fleet.read(|f| {
            let s = &f.sources[0];
            assert_eq!(s.connections, 2);
            assert_eq!(s.resyncs, 1);
            assert_eq!(s.hello.as_ref().map(|h| h.epoch.as_str()), Some("epoch-2"));
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn silence_shows_stale_and_the_next_message_recovers_live() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let opts = FeedOptions {
            stale_after: Duration::from_millis(150),
            dead_after: Duration::from_secs(10),
            ..fast_opts()
        };
        let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", server.url()), opts);
        let mut conn = server.accept().await;
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, live).await);
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Stale).await,
            "no message for stale_after"
        );
        conn.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: T0 }))
            .await;
        assert!(
            fleet_holds(&fleet, WAIT, live).await,
            "a heartbeat ends the stale spell"
        );
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn long_silence_drops_the_connection_and_redials() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let opts = FeedOptions {
            stale_after: Duration::from_millis(100),
            dead_after: Duration::from_millis(300),
            ..fast_opts()
        };
        let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", server.url()), opts);
        let mut conn = server.accept().await;
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(
            conn.closed_by_client().await,
            "client gives up on a silent server"
        );
        let mut second = server.accept().await;
        second.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].connections == 2 && live(f)).await);
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn annotation_messages_count_seq_and_keep_the_newest_rev() {
    use qualtop::protocol::{Annotation, AnnotationMessage, AnnotationState};
    let note = |rev: u64, text: &str| Annotation {
        id: "n1".into(),
        scope: [("model".to_string(), "a".to_string())].into(),
        signal: Some("quality".into()),
        from: T0,
        to: None,
        state: AnnotationState::Suspected,
        text: text.into(),
        author: "oncall".into(),
        rev: Some(rev),
        created: None,
        updated: None,
    };
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
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        for (seq, rev, text) in [(2, 2, "second"), (3, 1, "stale update")] {
            conn.send(&ServerMessage::Annotation(AnnotationMessage {
                seq,
                annotation: note(rev, text),
            }))
            .await;
        }
        conn.send(&batch(4, vec![point("a", "tpu", 0, 1, 1)])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                .is_some())
            .await
        );
        fleet.read(|f| {
            assert_eq!(f.annotations.len(), 1);
            assert_eq!(
                f.annotations.iter().next().map(|a| a.text.as_str()),
                Some("second")
            );
            assert_eq!(f.sources[0].resyncs, 0, "annotations count in the seq");
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn client_messages_from_the_handle_reach_the_server_and_a_new_filter_is_kept() {
    use qualtop::protocol::{ClientMessage, Subscribe};
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
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        let narrower = Subscribe {
            window_ms: 5 * BUCKET,
            filter: [("model".to_string(), vec!["a".to_string()])].into(),
            group_by: None,
            snapshot_parts: true,
        };
        feed.send(ClientMessage::Subscribe(narrower.clone()))
            .expect("queue has room");
        assert_eq!(conn.expect_subscribe().await, narrower);
        // The answer to a new subscribe is a snapshot; batches before it are ignored.
        conn.send(&batch(2, vec![point("a", "tpu", 0, 1, 1)])).await;
        conn.send(&snapshot(
            3,
            0,
            vec![ratio_series("a", "tpu", 0, &[Some((2, 2))])],
        ))
        .await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                == Some(Ratio::new(2, 2)))
            .await
        );
        fleet.read(|f| assert_eq!(f.sources[0].snapshots, 2));

        // The new subscription outlives the connection.
        drop(conn);
        let mut again = server.accept().await;
        again.send(&ServerMessage::Hello(hello("e1"))).await;
        assert_eq!(again.expect_subscribe().await, narrower);
        feed.abort();
    })
    .await;
}

/// Polls (without waiting on notifications, which are what is counted)
/// until bucket 1 of (model, hw) holds data.
async fn arrives(fleet: &qualtop::feed::SharedFleet, model: &str, hw: &str) -> bool {
    for _ in 0..500 {
        if quality_at(fleet, model, hw, 1).is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A heartbeat that only moves the data lag by seconds, while the header
/// still reads "data fresh", does not wake the screen: an idle TUI stays
/// idle (the event loop redraws on every notification).
#[tokio::test]
async fn heartbeats_that_change_nothing_shown_do_not_wake_the_screen() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        let snap = snapshot(
            1,
            0,
            vec![ratio_series(
                "a",
                "tpu",
                -1,
                &[Some((9, 10)), Some((9, 10))],
            )],
        );
        conn.handshake("e1", &snap).await;
        assert!(wait_until_settled(&fleet, WAIT).await);
        let notified = || *fleet.subscribe().borrow();
        let heartbeat = |ms: i64| {
            ServerMessage::Heartbeat(Heartbeat {
                seq: 1,
                now: T0 + BUCKET + ms,
            })
        };

        // The clock enters the next bucket: the header's clock moves.
        conn.send(&heartbeat(1_000)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.store.now() == T0 + BUCKET + 1_000).await);
        let start = notified();
        // Three heartbeats inside that bucket (lag 1 s, 2 s, 3 s: still fresh),
        // then a batch, which must wake the screen.
        for ms in [2_000, 3_000, 4_000] {
            conn.send(&heartbeat(ms)).await;
        }
        conn.send(&batch(2, vec![point("a", "tpu", 1, 8, 10)]))
            .await;
        // One connection, in order: once the batch is in, so are the heartbeats.
        assert!(arrives(&fleet, "a", "tpu").await);
        assert_eq!(fleet.read(|f| f.store.now()), T0 + BUCKET + 4_000);
        let with_heartbeats = notified() - start;
        // The same batch alone, for the count a batch costs.
        let start = notified();
        conn.send(&batch(3, vec![point("b", "gpu", 1, 5, 5)])).await;
        assert!(arrives(&fleet, "b", "gpu").await);
        let batch_alone = notified() - start;
        assert!(batch_alone >= 1, "a batch wakes the screen");
        assert_eq!(
            with_heartbeats, batch_alone,
            "the quiet heartbeats added notifications"
        );
    })
    .await;
}
