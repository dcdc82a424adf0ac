//! The feed against backends that misbehave: bad frames are counted and the
//! connection carries on; oversize frames, bad tokens, wrong protocols and
//! dead servers end in a clear state, never a crash.

use crate::support::feed::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{ConnState, Fleet, SourceConfig, spawn_feed, wait_until_settled};
use qualtop::protocol::{MAX_FRAME_BYTES, PointError, ServerMessage};
use qualtop::store::Ratio;
use tokio_tungstenite::tungstenite::Message;

fn failed_reason(f: &Fleet) -> Option<String> {
    match &f.sources[0].state {
        ConnState::Failed { reason } => Some(reason.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn malformed_frames_are_counted_and_the_connection_survives() {
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
        conn.send_text("this is not json").await;
        conn.send_text(r#"{"type":"batch","seq":2,"points":"nope"}"#)
            .await;
        conn.send_text(r#"{"seq":2,"points":[]}"#).await;
        conn.send_raw(Message::binary(vec![1u8, 2, 3])).await;
        conn.send_text(r#"{"type":"gossip","seq":99}"#).await; // unknown type: ignored, not a drop
        conn.send(&batch(2, vec![point("a", "tpu", 0, 1, 2)])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                == Some(Ratio::new(1, 2)))
            .await,
            "the good batch after the bad frames still applies"
        );
        fleet.read(|f| {
            let s = &f.sources[0];
            assert_eq!(s.drops.frames, 4);
            assert_eq!(s.drops.points(), 0);
            assert_eq!(s.state, ConnState::Live);
            assert_eq!(s.resyncs, 0, "dropped frames carry no seq");
            assert_eq!(s.connections, 1);
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn bad_points_are_dropped_by_reason_and_good_ones_in_the_batch_apply() {
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
        let mut unknown_dim = point("a", "tpu", 0, 1, 1);
        unknown_dim
            .slice
            .0
            .push(("colour".to_string().into(), "red".to_string().into()));
        let mut unknown_signal = point("a", "tpu", 0, 1, 1);
        unknown_signal.signal = "vibes".to_string().into();
        let points = vec![
            point("a", "tpu", 0, 11, 10),     // good > total
            point("a", "tpu", 0, -1, 10),     // negative
            point("a", "tpu", 100_000, 1, 1), // far future
            point("a", "tpu", -10_000, 1, 1), // far past
            unknown_dim,
            unknown_signal,
            point("a", "tpu", 0, 6, 10), // fine
        ];
        conn.send(&batch(2, points)).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                .is_some())
            .await
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), Some(Ratio::new(6, 10)));
        fleet.read(|f| {
            let d = &f.sources[0].drops;
            assert_eq!(d.count(PointError::GoodExceedsTotal), 1);
            assert_eq!(d.count(PointError::Negative), 1);
            assert_eq!(d.count(PointError::OutOfWindow), 2);
            assert_eq!(d.count(PointError::UnknownDimension), 1);
            assert_eq!(d.count(PointError::UnknownSignal), 1);
            assert_eq!(d.frames, 0);
            assert_eq!(
                f.sources[0].newest_data,
                Some(T0),
                "dropped points do not count"
            );
            assert_eq!(
                f.store.head(),
                Some(f.store.bucket_of(T0)),
                "no far-future head"
            );
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn oversize_frame_is_counted_and_the_client_reconnects() {
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
        let huge = format!(
            r#"{{"type":"batch","seq":2,"points":[],"pad":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        // The client hangs up as soon as it reads the frame header, so the
        // send itself may fail: either way the connection must be gone.
        let sent_whole = conn.try_send_text(huge).await;
        assert!(
            !sent_whole || conn.closed_by_client().await,
            "the WebSocket cannot carry on"
        );
        let mut second = server.accept().await;
        second.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0].connections == 2
                && f.sources[0].state == ConnState::Live)
            .await
        );
        fleet.read(|f| assert_eq!(f.sources[0].drops.frames, 1));
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn hello_with_another_protocol_fails_with_a_reason() {
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
        conn.send_text(r#"{"type":"hello","protocol":2,"server":"future","shape":"new"}"#)
            .await;
        assert!(fleet_holds(&fleet, WAIT, |f| failed_reason(f).is_some()).await);
        let reason = fleet.read(failed_reason).unwrap_or_default();
        assert!(
            reason.contains("protocol 2"),
            "reason names the version: {reason}"
        );
        assert!(conn.closed_by_client().await);
        assert!(wait_until_settled(&fleet, WAIT).await);
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn first_message_other_than_hello_is_a_protocol_error() {
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
        conn.send(&snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, |f| failed_reason(f).is_some()).await);
        let reason = fleet.read(failed_reason).unwrap_or_default();
        assert!(reason.contains("before hello"), "{reason}");
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn hello_the_store_cannot_bind_fails_with_a_reason() {
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
        let mut bad = hello("e1");
        bad.bucket_ms = 0;
        conn.send(&ServerMessage::Hello(bad)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| failed_reason(f).is_some()).await);
        let reason = fleet.read(failed_reason).unwrap_or_default();
        assert!(reason.contains("bucket_ms"), "{reason}");
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn refused_token_fails_and_the_right_token_is_sent() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let cfg = SourceConfig::new("t", server.url()).with_token(Some("wrong".into()));
        let feed = spawn_feed(fleet.clone(), 0, cfg, fast_opts());
        let refused = server.accept_checking(Some("right")).await;
        assert_eq!(refused.err().flatten().as_deref(), Some("Bearer wrong"));
        assert!(fleet_holds(&fleet, WAIT, |f| failed_reason(f).is_some()).await);
        let reason = fleet.read(failed_reason).unwrap_or_default();
        assert!(reason.contains("401"), "{reason}");
        feed.abort();

        let fleet = new_fleet();
        let cfg = SourceConfig::new("t", server.url()).with_token(Some("right".into()));
        let feed = spawn_feed(fleet.clone(), 0, cfg, fast_opts());
        let Ok(mut conn) = server.accept_checking(Some("right")).await else {
            panic!("the right token is accepted");
        };
        assert_eq!(conn.auth.as_deref(), Some("Bearer right"));
        conn.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(wait_until_settled(&fleet, WAIT).await);
        fleet.read(|f| assert_eq!(f.sources[0].state, ConnState::Live));
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn unreachable_backend_is_disconnected_with_a_retry_time() {
    bounded(TEST_LIMIT, async {
        let port = Server::bind().await.port; // bound, then closed: nobody listens
        let fleet = new_fleet();
        let url = format!("ws://127.0.0.1:{port}/");
        let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", url), fast_opts());
        assert!(wait_until_settled(&fleet, WAIT).await);
        fleet.read(|f| match &f.sources[0].state {
            ConnState::Disconnected { reason, retry_at } => {
                assert!(reason.contains("network"), "{reason}");
                assert!(*retry_at > 0);
            }
            other => panic!("expected Disconnected, got {other:?}"),
        });
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn failed_source_retries_slowly_and_recovers_when_the_backend_is_fixed() {
    bounded(TEST_LIMIT, async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let opts = qualtop::feed::FeedOptions {
            failed_retry: Some(std::time::Duration::from_millis(200)),
            ..fast_opts()
        };
        let feed = spawn_feed(fleet.clone(), 0, SourceConfig::new("t", server.url()), opts);
        let mut conn = server.accept().await;
        conn.send_text(r#"{"type":"hello","protocol":7}"#).await;
        assert!(fleet_holds(&fleet, WAIT, |f| failed_reason(f).is_some()).await);
        let failed_at = std::time::Instant::now();
        let mut fixed = server.accept().await;
        assert!(
            failed_at.elapsed() >= std::time::Duration::from_millis(150),
            "no retry before failed_retry"
        );
        fixed.handshake("e1", &snapshot(1, 0, vec![])).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await);
        feed.abort();
    })
    .await;
}

#[tokio::test]
async fn implausible_clocks_are_dropped_without_moving_the_store() {
    use qualtop::protocol::Heartbeat;
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
        let mut far = ratio_series("a", "tpu", 0, &[Some((1, 1)), Some((1, 1))]);
        far.start = i64::MAX;
        conn.handshake("e1", &snapshot(1, 0, vec![far])).await;
        conn.send(&ServerMessage::Heartbeat(Heartbeat {
            seq: 1,
            now: i64::MAX,
        }))
        .await;
        conn.send(&ServerMessage::Heartbeat(Heartbeat { seq: 1, now: -5 }))
            .await;
        conn.send(&batch(2, vec![point("a", "tpu", 0, 1, 1)])).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 0)
                .is_some())
            .await
        );
        fleet.read(|f| {
            assert_eq!(f.store.now(), T0);
            assert_eq!(f.sources[0].drops.frames, 2, "two bad heartbeats");
            assert_eq!(f.sources[0].drops.count(PointError::OutOfWindow), 2);
        });
        feed.abort();
    })
    .await;
}
