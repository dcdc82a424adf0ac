//! Snapshots in parts, against a scripted backend: applied whole once the
//! last part is in (never before), progress shown meanwhile, a stalled
//! sequence given up and subscribed again, one frame still read as ever.

use std::time::Duration;

use crate::support::feed::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::feed::{ConnState, FeedOptions, SharedFleet};
use qualtop::protocol::{ClientMessage, Series, ServerMessage};
use qualtop::store::Ratio;

/// Part `index` of `count` of snapshot `seq`, holding `series`.
fn part(
    seq: u64,
    index: u32,
    count: u32,
    slices: Option<u64>,
    series: Vec<Series<'static>>,
) -> ServerMessage<'static> {
    as_part(snapshot(seq, 0, series), index, count, slices)
}

/// Why source 0 failed (it has).
fn failed_reason(fleet: &SharedFleet) -> String {
    match fleet.read(|f| f.sources[0].state.clone()) {
        ConnState::Failed { reason } => reason,
        other => panic!("not failed: {other:?}"),
    }
}

fn one(model: &str, good: i64) -> Vec<Series<'static>> {
    vec![ratio_series(model, "tpu", 0, &[Some((good, 10))])]
}

#[tokio::test]
async fn a_snapshot_in_parts_is_applied_once_every_part_is_in_and_not_before() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        let sub = conn.greet("e1").await;
        assert!(sub.snapshot_parts, "the client says it reads parts");

        conn.send(&part(1, 1, 3, Some(3), one("a", 9))).await;
        conn.send(&part(1, 2, 3, None, one("b", 8))).await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshot_progress
                == Some((2, 3)))
            .await,
            "progress shows 2 of 3"
        );
        assert_eq!(
            quality_at(&fleet, "a", "tpu", 0),
            None,
            "nothing applied before the last part"
        );
        assert_eq!(
            fleet.read(|f| f.sources[0].state.clone()),
            ConnState::Connecting
        );

        conn.send(&part(1, 3, 3, None, one("c", 7))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await);
        for (model, good) in [("a", 9), ("b", 8), ("c", 7)] {
            assert_eq!(
                quality_at(&fleet, model, "tpu", 0),
                Some(Ratio::new(good, 10))
            );
        }
        assert_eq!(fleet.read(|f| f.sources[0].snapshot_progress), None);
        // The stream goes on from the parts' shared seq.
        conn.send(&batch(2, vec![point("a", "tpu", 1, 5, 10)]))
            .await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "a", "tpu", 1)
                .is_some())
            .await,
            "the batch after the parts follows their seq"
        );
    })
    .await;
}

#[tokio::test]
async fn a_part_that_never_comes_times_out_keeps_the_old_state_and_resubscribes() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let opts = FeedOptions {
            snapshot_part_timeout: Duration::from_millis(600),
            ..fast_opts()
        };
        let (_server, _feed, mut conn) = fed(&fleet, opts).await;
        conn.handshake("e1", &snapshot(1, 0, one("old", 5))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await);

        // The user narrows the view: a new snapshot, in parts, that stalls.
        // (A second subscribe arrives from the client only on the timeout.)
        conn.send(&part(2, 1, 2, Some(1), one("new", 9))).await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0].snapshot_progress
                == Some((1, 2)))
            .await
        );
        match conn.recv().await {
            Some(ClientMessage::Subscribe(s)) => assert!(s.snapshot_parts),
            other => panic!("expected a subscribe after the timeout, got {other:?}"),
        }
        let (progress, error) = fleet.read(|f| {
            (
                f.sources[0].snapshot_progress,
                f.sources[0].last_error.clone(),
            )
        });
        assert_eq!(progress, None);
        let error = error.unwrap_or_default();
        assert!(error.contains("part 1 of 2"), "{error}");
        assert_eq!(
            quality_at(&fleet, "old", "tpu", 0),
            Some(Ratio::new(5, 10)),
            "old state kept"
        );
        assert_eq!(
            quality_at(&fleet, "new", "tpu", 0),
            None,
            "half a snapshot never shows"
        );

        // The answer to the new subscribe completes as usual.
        conn.send(&part(3, 1, 2, Some(2), one("new", 9))).await;
        conn.send(&part(3, 2, 2, None, one("other", 8))).await;
        assert!(
            fleet_holds(&fleet, WAIT, |_| quality_at(&fleet, "other", "tpu", 0)
                .is_some())
            .await
        );
        assert_eq!(
            quality_at(&fleet, "old", "tpu", 0),
            None,
            "the new snapshot replaced the old"
        );
    })
    .await;
}

#[tokio::test]
async fn a_batch_between_parts_drops_them_and_resubscribes() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        conn.greet("e1").await;
        conn.send(&part(1, 1, 2, Some(2), one("a", 9))).await;
        conn.send(&batch(2, vec![point("a", "tpu", 1, 5, 10)]))
            .await;
        assert!(matches!(
            conn.recv().await,
            Some(ClientMessage::Subscribe(_))
        ));
        let error = fleet
            .read(|f| f.sources[0].last_error.clone())
            .unwrap_or_default();
        assert!(
            error.contains("batch came between snapshot parts"),
            "{error}"
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), None);
    })
    .await;
}

#[tokio::test]
async fn a_one_frame_backend_is_read_as_before() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        // `part` with one part is the same as no `part`.
        conn.handshake("e1", &part(1, 1, 1, Some(1), one("a", 9)))
            .await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await);
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), Some(Ratio::new(9, 10)));
    })
    .await;
}

#[tokio::test]
async fn a_snapshot_declaring_more_slices_than_the_client_holds_fails_saying_how_to_narrow() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        fleet.write(|f| f.store.set_budget(1 << 20));
        let opts = FeedOptions {
            failed_retry: None,
            ..fast_opts()
        };
        let (_server, _feed, mut conn) = fed(&fleet, opts).await;
        conn.greet("e1").await;
        conn.send(&part(1, 1, 40, Some(50_000), one("a", 9))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state.is_failed()).await);
        let reason = failed_reason(&fleet);
        assert!(reason.contains("50000 slices"), "{reason}");
        assert!(reason.contains("filter"), "says how to narrow: {reason}");
        assert!(
            conn.closed_by_client().await,
            "no reconnect loop on the same connection"
        );
    })
    .await;
}

/// A snapshot frame over the client's frame limit, as a backend without
/// parts sends a large fleet.
fn oversize_snapshot() -> String {
    format!(
        r#"{{"type":"snapshot","seq":1,"from":0,"to":0,"series":[],"pad":"{}"}}"#,
        "x".repeat(qualtop::protocol::MAX_FRAME_BYTES)
    )
}

#[tokio::test]
async fn a_snapshot_over_the_frame_limit_fails_the_source_saying_how_to_narrow_instead_of_looping()
{
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        conn.greet("e1").await;
        let _ = conn.try_send_text(oversize_snapshot()).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state.is_failed()).await);
        let reason = failed_reason(&fleet);
        assert!(reason.contains("frame over the size limit"), "{reason}");
        assert!(reason.contains("filter"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn snapshot_and_check_exit_2_naming_a_source_whose_snapshot_could_not_load() {
    bounded(Duration::from_secs(90), async {
        for command in ["snapshot", "check"] {
            let server = Server::bind().await;
            let url = server.url();
            let run = tokio::task::spawn_blocking(move || {
                crate::support::qualtop_command("parts-exit")
                    .args([command, "--evals", &url])
                    .output()
                    .unwrap()
            });
            let mut conn = server.accept().await;
            conn.greet("e1").await;
            let _ = conn.try_send_text(oversize_snapshot()).await;
            let out = run.await.unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
            assert!(
                stderr.contains("frame over the size limit"),
                "{command}: {stderr}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_part_out_of_order_or_out_of_range_drops_the_parts_and_resubscribes() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        conn.greet("e1").await;
        conn.send(&part(1, 1, 3, Some(3), one("a", 9))).await;
        conn.send(&part(1, 3, 3, None, one("c", 7))).await;
        assert!(
            matches!(conn.recv().await, Some(ClientMessage::Subscribe(_))),
            "skipped part 2"
        );
        assert_eq!(quality_at(&fleet, "a", "tpu", 0), None);
        conn.send(&part(2, 5, 4, None, one("a", 9))).await;
        assert!(
            matches!(conn.recv().await, Some(ClientMessage::Subscribe(_))),
            "index past count"
        );
        conn.send(&part(3, 1, 2, Some(2), one("a", 9))).await;
        conn.send(&part(3, 2, 2, None, one("c", 7))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await);
        assert_eq!(quality_at(&fleet, "c", "tpu", 0), Some(Ratio::new(7, 10)));
    })
    .await;
}
