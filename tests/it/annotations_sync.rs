//! Annotations the whole war room sees, and none lost: real qualtop clients
//! (feed + sync task + outbox) against the demo backend over loopback
//! WebSockets, with the backend's annotations in a real SQLite file.

use crate::support::TempDir;
use crate::support::annotations::*;
use crate::support::wait::{bounded, fleet_holds};
use qualtop::annotations::Outbox;
use qualtop::feed::{AnnotationsMode, FeedHandle, SharedFleet};
use qualtop::protocol::AnnotationState;
use qualtop::server::RunningServer;
use serde_json::json;

fn stop(feeds: &[FeedHandle]) {
    feeds.iter().for_each(FeedHandle::abort);
}

fn rev_of(fleet: &SharedFleet, id: &str) -> Option<u64> {
    fleet.read(|f| {
        f.annotations
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.rev)
    })
}

fn urls(server: &RunningServer, paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| server.url(p)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_annotates_the_other_sees_it_and_an_edit_bumps_rev_on_both() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("two-clients");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (a_box, b_box) = (TempDir::new("a-outbox"), TempDir::new("b-outbox"));
        // Different endpoints of one server: the relay crosses endpoints.
        let (a, a_feeds, a_sync) = client(&urls(&server, &["/metrics", "/evals"]), a_box.path());
        let (b, b_feeds, _b_sync) = client(&urls(&server, &["/evals"]), b_box.path());
        assert!(
            fleet_holds(&a, WAIT, |f| matches!(
                f.annotations_mode,
                AnnotationsMode::Shared { .. }
            ))
            .await
        );
        assert!(fleet_holds(&b, WAIT, |f| f.sources[0].state.is_live()).await);

        let note = note("war-room-1", "TPU slices of atlas-s look off since 23:30");
        assert!(a_sync.submit(note.clone()));
        assert!(fleet_holds(&b, WAIT, |f| f.annotations.iter().any(|x| x.id == note.id)).await);
        assert_eq!(rev_of(&b, &note.id), Some(1));
        assert!(
            fleet_holds(&a, WAIT, |f| f.pending_annotations.is_empty()
                && !f.annotations.is_empty())
            .await,
            "the sender's echo clears its pending list"
        );
        assert!(Outbox::open(a_box.path()).unwrap().pending().0.is_empty());

        let edited = qualtop::protocol::Annotation {
            state: AnnotationState::Confirmed,
            text: "confirmed: TPU compiler rollout".into(),
            // The edit names the rev it was made on, as the TUI's does.
            rev: Some(1),
            ..note.clone()
        };
        assert!(a_sync.submit(edited));
        assert!(fleet_holds(&b, WAIT, |f| f.annotations.iter().any(|x| x.rev == Some(2))).await);
        assert!(fleet_holds(&a, WAIT, |f| f.annotations.iter().any(|x| x.rev == Some(2))).await);
        b.read(|f| {
            assert_eq!(f.annotations.len(), 1, "an edit replaces, never duplicates");
            assert_eq!(
                f.annotations.iter().next().map(|a| a.state),
                Some(AnnotationState::Confirmed)
            );
            assert_eq!(
                f.sources[0].resyncs, 0,
                "annotations interleave with batches without a seq gap"
            );
        });
        let rows = stored_rows(data.path());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].rev, Some(2));
        stop(&a_feeds);
        stop(&b_feeds);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_made_while_the_backend_is_down_is_delivered_when_it_is_back() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("down");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let addr = server.local_addr();
        let url = server.url("/metrics");
        server.shutdown().await;

        let outbox = TempDir::new("down-outbox");
        let (fleet, feeds, sync) = client(std::slice::from_ref(&url), outbox.path());
        let note = note("while-down", "written while the backend was away");
        assert!(sync.submit(note.clone()));
        assert!(fleet_holds(&fleet, WAIT, |f| f.pending_annotations.len() == 1).await);
        let (pending, _) = Outbox::open(outbox.path()).unwrap().pending();
        assert_eq!(pending, vec![note.clone()], "in the outbox before any send");

        // The same address, so the client's redial finds it.
        let server = start_demo(addr, data.path()).await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.pending_annotations.is_empty()
                && rev_of_in(f, &note.id) == Some(1))
            .await,
            "delivered and acknowledged after the backend returned"
        );
        assert!(Outbox::open(outbox.path()).unwrap().pending().0.is_empty());
        assert_eq!(stored_rows(data.path()).len(), 1);
        stop(&feeds);
        drop(server);
    })
    .await;
}

fn rev_of_in(f: &qualtop::feed::Fleet, id: &str) -> Option<u64> {
    f.annotations
        .iter()
        .find(|a| a.id == id)
        .and_then(|a| a.rev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_of_a_stopped_client_is_sent_by_the_next_one() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("next-client");
        let outbox = TempDir::new("next-client-outbox");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let addr = server.local_addr();
        let url = server.url("/evals");
        server.shutdown().await;
        {
            let (fleet, feeds, sync) = client(std::slice::from_ref(&url), outbox.path());
            assert!(sync.submit(note("left-behind", "the client stopped before the echo")));
            assert!(fleet_holds(&fleet, WAIT, |f| f.pending_annotations.len() == 1).await);
            stop(&feeds);
        }
        let server = start_demo(addr, data.path()).await;
        let (fleet, feeds, _sync) = client(std::slice::from_ref(&url), outbox.path());
        assert!(
            fleet_holds(&fleet, WAIT, |f| rev_of_in(f, "left-behind") == Some(1)
                && f.pending_annotations.is_empty())
            .await
        );
        assert!(Outbox::open(outbox.path()).unwrap().pending().0.is_empty());
        stop(&feeds);
        drop(server);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_are_still_there_after_the_backend_restarts() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("restart");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (mut raw, _, snapshot) = Raw::subscribed(&server.url("/metrics")).await;
        assert_eq!(snapshot["annotations"], json!([]));
        raw.send(annotate_frame(&note("kept", "survives a restart")))
            .await;
        let echo = raw.next_of("annotation").await;
        assert_eq!(echo["annotation"]["rev"], 1);
        let addr = server.local_addr();
        server.shutdown().await;

        let server = start_demo(addr, data.path()).await;
        let (_raw, hello, snapshot) = Raw::subscribed(&server.url("/evals")).await;
        assert!(
            hello["features"]
                .as_array()
                .unwrap()
                .contains(&json!("annotations")),
            "a server with a store says so in hello"
        );
        let held = snapshot["annotations"].as_array().unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0]["id"], "kept");
        assert_eq!(held[0]["rev"], 1);
        assert_eq!(held[0]["text"], "survives a restart");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_annotation_sent_twice_is_one_row_and_both_are_echoed() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("twice");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (mut sender, _, _) = Raw::subscribed(&server.url("/metrics")).await;
        let (mut watcher, _, _) = Raw::subscribed(&server.url("/evals")).await;
        let n = note("twice", "sent again after a reconnect");
        sender.send(annotate_frame(&n)).await;
        sender.send(annotate_frame(&n)).await;
        let (first, seqs_a) = sender.until(&["annotation"]).await;
        let (second, seqs_b) = sender.until(&["annotation"]).await;
        assert_eq!(
            (&first["annotation"]["rev"], &second["annotation"]["rev"]),
            (&json!(1), &json!(1))
        );
        let seqs: Vec<u64> = seqs_a.into_iter().chain(seqs_b).collect();
        assert!(
            consecutive(&seqs),
            "one seq for batches and annotations: {seqs:?}"
        );
        let (relayed, _) = watcher.until(&["annotation"]).await;
        assert_eq!(relayed["annotation"]["id"], "twice");
        assert_eq!(stored_rows(data.path()).len(), 1, "never a duplicate row");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_stale_edit_is_refused_as_a_conflict_shown_beside_the_newer_and_never_resent() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("conflict");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (a_box, b_box) = (TempDir::new("conflict-a"), TempDir::new("conflict-b"));
        let url = server.url("/metrics");
        let (a, a_feeds, a_sync) = client(std::slice::from_ref(&url), a_box.path());
        let (b, b_feeds, b_sync) = client(std::slice::from_ref(&url), b_box.path());
        let original = note("contested", "first");
        assert!(a_sync.submit(original.clone()));
        assert!(fleet_holds(&b, WAIT, |f| rev_of_in(f, "contested") == Some(1)).await);

        // A edits on rev 1; B, whose outbox held an edit made on rev 1 too,
        // replays it afterwards: it must not revert A's.
        let by_a = qualtop::protocol::Annotation {
            text: "a's newer edit".into(),
            rev: Some(1),
            ..original.clone()
        };
        assert!(a_sync.submit(by_a));
        assert!(fleet_holds(&b, WAIT, |f| rev_of_in(f, "contested") == Some(2)).await);
        let by_b = qualtop::protocol::Annotation {
            text: "b's stale edit".into(),
            rev: Some(1),
            ..original.clone()
        };
        assert!(b_sync.submit(by_b.clone()));
        assert!(
            fleet_holds(&b, WAIT, |f| f.refused_annotations.len() == 1
                && f.pending_annotations.is_empty())
            .await,
            "refused for good, no longer pending"
        );
        b.read(|f| {
            let facts = qualtop::view::AnnotationFacts::of(f);
            let texts: Vec<(&str, bool)> = facts
                .entries
                .iter()
                .map(|e| {
                    let refused = matches!(e.status, qualtop::view::EntryStatus::Refused(ref r) if r.starts_with("conflict:"));
                    (e.annotation.text.as_str(), refused)
                })
                .collect();
            assert!(texts.contains(&("b's stale edit", true)), "{texts:?}");
            assert!(texts.contains(&("a's newer edit", false)), "{texts:?}");
        });
        let (refused, _) = Outbox::open(b_box.path()).unwrap().refused();
        assert_eq!(refused.len(), 1, "kept in the outbox's refused/ with the reason");
        assert!(refused[0].1.starts_with("conflict:"), "{}", refused[0].1);
        assert!(Outbox::open(b_box.path()).unwrap().pending().0.is_empty());

        // B restarts (a new sync on the same outbox, a new connection): the
        // refused edit shows again and is not sent again.
        stop(&b_feeds);
        let (b2, b2_feeds, _b2_sync) = client(std::slice::from_ref(&url), b_box.path());
        assert!(fleet_holds(&b2, WAIT, |f| rev_of_in(f, "contested") == Some(2)).await);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        b2.read(|f| {
            assert_eq!(f.refused_annotations.len(), 1);
            assert!(f.pending_annotations.is_empty());
        });
        let rows = stored_rows(data.path());
        assert_eq!((rows[0].rev, rows[0].text.as_str()), (Some(2), "a's newer edit"));
        stop(&a_feeds);
        stop(&b2_feeds);
        drop(a);
    })
    .await;
}
