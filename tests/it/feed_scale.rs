//! Scale mode against a scripted server on loopback: a fleet declared over
//! `scale_leaves` by a backend with rollups is dialled again and subscribed
//! by the view; drilling resubscribes, empties what was held and says what
//! loads; an answer to a view already left is never applied.

use std::time::Duration;

use qualtop::feed::{FeedOptions, SharedFleet, ShownView, ViewLevel};
use qualtop::protocol::{Series, ServerMessage, SliceMap, Subscribe};
use qualtop::store::Ratio;

use crate::support::feed::{
    Conn, T0, as_part, fast_opts, fed, hello, new_fleet, quality_at, ratio_series, snapshot,
};
use crate::support::wait::eventually;

/// Waits (up to 5 s) for `cond`, failing the test with `what` if it never holds.
async fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    assert!(
        eventually(Duration::from_secs(5), cond).await,
        "never: {what}"
    );
}

fn scale_opts() -> FeedOptions {
    FeedOptions {
        scale_leaves: 100,
        snapshot_part_timeout: Duration::from_millis(600),
        ..fast_opts()
    }
}

fn rollups_hello() -> ServerMessage<'static> {
    ServerMessage::Hello(qualtop::protocol::Hello {
        features: vec!["rollups".into(), "snapshot_parts".into()],
        ..hello("e1")
    })
}

/// A `quality` series of a group that names only `model`.
fn group_series(model: &str, good: i64, total: i64) -> Series<'static> {
    Series {
        slice: SliceMap::from_pairs([("model", model)]),
        ..ratio_series(model, "-", 0, &[Some((good, total))])
    }
}

/// Part `index` of `count` of snapshot `seq`, `slices` declared on the first.
fn part(seq: u64, index: u32, count: u32, series: Vec<Series<'static>>) -> ServerMessage<'static> {
    let slices = (index == 1).then_some(5_000);
    as_part(snapshot(seq, 1, series), index, count, slices)
}

/// The `quality` counts the client holds for the group `model` at bucket 0.
fn group_quality(fleet: &SharedFleet, model: &str) -> Option<Ratio> {
    fleet.read(|f| {
        let store = &f.store;
        let sig = store.signal_by_name("quality")?;
        let slices = store.slices();
        let id = slices
            .ids()
            .find(|&id| slices.pairs(id).eq([("model", model)]))?;
        store.ratio(sig, id, store.bucket_of(T0))
    })
}

fn scale_words(fleet: &SharedFleet) -> Option<(String, bool)> {
    fleet.read(|f| {
        f.sources[0]
            .scale
            .as_ref()
            .map(|s| (s.view.clone(), s.loading))
    })
}

/// Connects a feed in scale mode: the full subscription, a first part that
/// declares 5,000 leaves, the hang-up, and the second connection's subscribe.
async fn scaled(fleet: &SharedFleet) -> (crate::support::feed::Server, Conn, Subscribe) {
    let (server, feed, mut conn) = fed(fleet, scale_opts()).await;
    // The task runs on for the test; dropping the handle leaves it running.
    drop(feed);
    conn.send(&rollups_hello()).await;
    let full = conn.expect_subscribe().await;
    assert_eq!(full.group_by, None, "below what it knows, every leaf");
    conn.send(&part(
        1,
        1,
        3,
        vec![ratio_series("m1", "tpu", 0, &[Some((1, 2))])],
    ))
    .await;
    assert!(
        conn.closed_by_client().await,
        "the client hangs up on a fleet of 5,000 leaves"
    );
    let mut again = server.accept().await;
    again.send(&rollups_hello()).await;
    let sub = again.expect_subscribe().await;
    (server, again, sub)
}

/// [`scaled`], then the top level's answer (m1 alone) applied.
async fn scaled_at_top(fleet: &SharedFleet) -> (crate::support::feed::Server, Conn) {
    let (server, mut conn, _) = scaled(fleet).await;
    conn.send(&snapshot(1, 1, vec![group_series("m1", 9, 10)]))
        .await;
    until_loaded(fleet, "the top level applied").await;
    (server, conn)
}

/// Waits until the view subscribed is loaded (`what` names it on failure).
async fn until_loaded(fleet: &SharedFleet, what: &str) {
    wait_for(what, || {
        scale_words(fleet).is_some_and(|(_, loading)| !loading)
    })
    .await;
}

/// The user drills into `model`: the next level under it.
fn drill_into(fleet: &SharedFleet, model: &str) {
    fleet.show(ShownView {
        path: vec![("model".into(), model.into())],
        level: ViewLevel::Next,
    });
}

#[tokio::test]
async fn a_large_fleet_with_rollups_is_subscribed_by_the_view_and_a_drill_resubscribes() {
    let fleet = new_fleet();
    let (_server, mut conn, top) = scaled(&fleet).await;
    assert_eq!(top.group_by, Some(vec!["model".to_owned()]));
    assert!(top.filter.is_empty());
    assert_eq!(scale_words(&fleet), Some(("fleet by model".into(), true)));

    conn.send(&snapshot(
        1,
        1,
        vec![group_series("m1", 90, 100), group_series("m2", 7, 10)],
    ))
    .await;
    until_loaded(&fleet, "the top level applied").await;
    assert_eq!(
        group_quality(&fleet, "m1"),
        Some(Ratio {
            good: 90,
            total: 100
        })
    );

    // Drill into m1: every leaf under it (model and hw grouped are the leaves).
    drill_into(&fleet, "m1");
    let drilled = conn.expect_subscribe().await;
    assert_eq!(drilled.filter.get("model"), Some(&vec!["m1".to_owned()]));
    assert_eq!(drilled.group_by, None);
    assert_eq!(
        scale_words(&fleet),
        Some(("model=m1 by hw".into(), true)),
        "the screen says what loads"
    );
    assert_eq!(
        group_quality(&fleet, "m1"),
        None,
        "the old level's rows are gone while the new one loads"
    );

    conn.send(&snapshot(
        2,
        1,
        vec![
            ratio_series("m1", "tpu", 0, &[Some((40, 50))]),
            ratio_series("m1", "gpu", 0, &[Some((50, 50))]),
        ],
    ))
    .await;
    until_loaded(&fleet, "the drilled level applied").await;
    assert_eq!(
        quality_at(&fleet, "m1", "tpu", 0),
        Some(Ratio {
            good: 40,
            total: 50
        })
    );
    assert_eq!(group_quality(&fleet, "m2"), None, "only the view is held");
}

#[tokio::test]
async fn an_answer_to_a_view_already_left_is_never_applied() {
    let fleet = new_fleet();
    let (_server, mut conn) = scaled_at_top(&fleet).await;
    let applied = fleet.read(|f| f.sources[0].snapshots);
    for model in ["m1", "m2"] {
        drill_into(&fleet, model);
        let sub = conn.expect_subscribe().await;
        assert_eq!(sub.filter.get("model"), Some(&vec![model.to_owned()]));
    }
    // m1's answer (in parts) comes first, then m2's: only m2's is applied.
    conn.send(&part(
        2,
        1,
        2,
        vec![ratio_series("m1", "tpu", 0, &[Some((1, 1))])],
    ))
    .await;
    conn.send(&part(
        2,
        2,
        2,
        vec![ratio_series("m1", "gpu", 0, &[Some((1, 1))])],
    ))
    .await;
    conn.send(&snapshot(
        3,
        1,
        vec![ratio_series("m2", "tpu", 0, &[Some((3, 4))])],
    ))
    .await;
    wait_for("m2's leaves applied", || {
        quality_at(&fleet, "m2", "tpu", 0).is_some()
    })
    .await;
    assert_eq!(quality_at(&fleet, "m1", "tpu", 0), None);
    assert_eq!(quality_at(&fleet, "m1", "gpu", 0), None);
    assert_eq!(fleet.read(|f| f.sources[0].snapshots), applied + 1);
    assert_eq!(scale_words(&fleet), Some(("model=m2 by hw".into(), false)));
}

#[tokio::test]
async fn a_view_whose_snapshot_stops_says_so_holds_nothing_stale_and_asks_again() {
    let fleet = new_fleet();
    let (_server, mut conn) = scaled_at_top(&fleet).await;
    drill_into(&fleet, "m1");
    let first = conn.expect_subscribe().await;
    conn.send(&part(
        2,
        1,
        2,
        vec![ratio_series("m1", "tpu", 0, &[Some((1, 1))])],
    ))
    .await;
    // No second part: the client gives up after its part timeout and asks again.
    let again = conn.expect_subscribe().await;
    assert_eq!(again, first);
    let (error, scale) =
        fleet.read(|f| (f.sources[0].last_error.clone(), f.sources[0].scale.clone()));
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("stopped at part 1 of 2")),
        "{error:?}"
    );
    assert!(scale.is_some_and(|s| s.loading), "still says it loads");
    assert_eq!(
        group_quality(&fleet, "m1"),
        None,
        "the old level is not shown"
    );
    assert_eq!(
        quality_at(&fleet, "m1", "tpu", 0),
        None,
        "half a snapshot is not shown"
    );
}

/// The rollups hello with the optional `slices` count a hub sends.
fn hello_declaring(slices: u64) -> String {
    let json = rollups_hello().to_json();
    qualtop::server::with_slices(json, Some(slices))
}

#[tokio::test]
async fn a_hello_that_declares_a_large_fleet_is_subscribed_by_the_view_with_no_full_snapshot_first()
{
    let fleet = new_fleet();
    let (_server, feed, mut conn) = fed(&fleet, scale_opts()).await;
    drop(feed);
    conn.send_text(hello_declaring(5_000)).await;
    let first = conn.expect_subscribe().await;
    assert_eq!(
        first.group_by,
        Some(vec!["model".to_owned()]),
        "the first subscribe is already the view's"
    );
    assert_eq!(scale_words(&fleet), Some(("fleet by model".into(), true)));
}

#[tokio::test]
async fn a_small_declared_fleet_or_a_filtered_client_subscribes_to_leaves_as_before() {
    let fleet = new_fleet();
    let (_server, feed, mut conn) = fed(&fleet, scale_opts()).await;
    drop(feed);
    conn.send_text(hello_declaring(50)).await;
    assert_eq!(
        conn.expect_subscribe().await.group_by,
        None,
        "50 ≤ 100 leaves"
    );

    // A filter may narrow 5,000 leaves to a few: the client learns the
    // filtered count from the snapshot, not from the hello.
    let fleet = new_fleet();
    let opts = FeedOptions {
        filter: [("model".to_owned(), vec!["m1".to_owned()])].into(),
        ..scale_opts()
    };
    let (_server, feed, mut conn) = fed(&fleet, opts).await;
    drop(feed);
    conn.send_text(hello_declaring(5_000)).await;
    assert_eq!(conn.expect_subscribe().await.group_by, None);
}
