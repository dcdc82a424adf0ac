//! Tests of the annotation sync task (paused tokio time, no sockets).

use super::*;
use crate::protocol::{AnnotationState, Hello, PROTOCOL_VERSION};

fn shared_fleet() -> SharedFleet {
    let mut f = Fleet::with_sources(["backend"]);
    f.sources[0].hello = Some(Hello {
        protocol: PROTOCOL_VERSION,
        server: "test".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into()],
        signals: Vec::new(),
        bucket_ms: 60_000,
        history_ms: 3_600_000,
        now: 1_756_771_200_000,
        features: vec!["annotations".into()],
    });
    f.sources[0].state = ConnState::Live;
    f.sources[0].snapshots = 1;
    SharedFleet::new(f)
}

fn note(id: &str) -> Annotation {
    Annotation {
        id: id.into(),
        scope: Default::default(),
        signal: None,
        from: 1_756_771_200_000,
        to: None,
        state: AnnotationState::Suspected,
        text: "t".into(),
        author: "a".into(),
        rev: None,
        created: None,
        updated: None,
    }
}

async fn sent_id(rx: &mut mpsc::Receiver<ClientMessage>) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
        Ok(Some(ClientMessage::Annotate(a))) => Some(a.annotation.id),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn rate_limited_annotations_are_sent_again_later_and_invalid_ones_are_not() {
    let fleet = shared_fleet();
    let (tx, mut rx) = mpsc::channel(16);
    let sync = spawn_sync(fleet.clone(), None, None, vec![(0, tx)]);
    // Sent once when the sync sees the live source, none pending yet.
    assert!(sync.submit(note("n1")));
    assert_eq!(sent_id(&mut rx).await.as_deref(), Some("n1"));

    let refused_at = Instant::now();
    fleet.write(|f| {
        f.annotation_errors
            .push(("n1".into(), "rate_limited: retry in 2 s".into()));
    });
    assert_eq!(sent_id(&mut rx).await.as_deref(), Some("n1"));
    assert!(refused_at.elapsed() >= RETRY_AFTER, "not before the pause");
    assert!(
        fleet.read(|f| f.annotation_errors.is_empty()),
        "the retried refusal no longer shows"
    );

    fleet.write(|f| {
        f.annotation_errors
            .push(("n1".into(), "invalid_annotation: bad".into()));
    });
    assert_eq!(
        sent_id(&mut rx).await,
        None,
        "a refusal for good is not retried"
    );
    fleet.read(|f| {
        assert!(f.pending_annotations.is_empty(), "no longer pending");
        assert_eq!(f.refused_annotations.len(), 1);
        assert_eq!(f.refused_annotations[0].reason, "invalid_annotation: bad");
    });
    // A reconnect (a new snapshot) sends what is pending: not this one.
    fleet.write(|f| f.sources[0].snapshots += 1);
    assert_eq!(sent_id(&mut rx).await, None, "not re-sent at a reconnect");
    assert!(sync.discard("n1"));
    tokio::time::sleep(Duration::from_millis(10)).await;
    fleet.read(|f| {
        assert!(f.refused_annotations.is_empty() && f.annotation_errors.is_empty());
    });
}
