//! Snapshots in parts end to end: the demo backend's hub → the server's
//! connection → a real loopback WebSocket → the client's feed session.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qualtop::demo::{self, DemoOptions};
use qualtop::feed::{ConnState, FeedOptions, Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::{Millis, SNAPSHOT_PARTS_FEATURE, ServerMessage, decode_server};
use qualtop::server::{RunningServer, ServerConfig};
use tokio_tungstenite::tungstenite::Message;

use crate::support::wait::{bounded, fleet_holds};

/// 2025-09-02 00:00 UTC.
const ANCHOR: Millis = 1_756_771_200_000;
const PART_BYTES: usize = 64 * 1024;
const LEAVES: usize = 300;
const WAIT: Duration = Duration::from_secs(30);

async fn start() -> RunningServer {
    let cfg = ServerConfig {
        snapshot_part_bytes: PART_BYTES,
        ..ServerConfig::default()
    };
    let opts = DemoOptions {
        anchor_ms: Some(ANCHOR),
        leaves: Some(LEAVES),
        ..DemoOptions::default()
    };
    demo::start("127.0.0.1:0".parse().unwrap(), cfg, opts)
        .await
        .unwrap()
}

/// Every snapshot frame sent after a subscribe with `parts`, as text.
async fn snapshot_frames(server: &RunningServer, parts: bool) -> Vec<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(server.url("/evals"))
        .await
        .unwrap();
    let Some(Ok(Message::Text(hello))) = ws.next().await else {
        panic!("no hello")
    };
    let Ok(Some(ServerMessage::Hello(hello))) = decode_server(hello.as_str()) else {
        panic!("not a hello")
    };
    assert!(hello.has_feature(SNAPSHOT_PARTS_FEATURE));
    let sub = format!(
        r#"{{"type":"subscribe","window_ms":{}{}}}"#,
        hello.history_ms,
        if parts {
            r#","snapshot_parts":true"#
        } else {
            ""
        }
    );
    ws.send(Message::text(sub)).await.unwrap();
    let mut frames = Vec::new();
    loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("connection ended mid-snapshot")
        };
        let Ok(Some(ServerMessage::Snapshot(s))) = decode_server(t.as_str()) else {
            continue;
        };
        let last = s.part.is_none_or(|p| p.index == p.count);
        frames.push(t.as_str().to_owned());
        if last {
            return frames;
        }
    }
}

#[tokio::test]
async fn a_client_that_reads_parts_gets_small_parts_holding_what_an_old_client_gets_in_one() {
    bounded(WAIT * 2, async {
        let server = start().await;
        let whole = snapshot_frames(&server, false).await;
        assert_eq!(whole.len(), 1, "an old client gets one frame");
        let parts = snapshot_frames(&server, true).await;
        assert!(parts.len() > 4, "{} parts", parts.len());
        let mut series = Vec::new();
        let mut seq = None;
        for (i, text) in parts.iter().enumerate() {
            assert!(
                text.len() < 2 * PART_BYTES,
                "part {i}: {} bytes",
                text.len()
            );
            let Ok(Some(ServerMessage::Snapshot(s))) = decode_server(text) else {
                unreachable!()
            };
            let p = s.part.expect("a part");
            assert_eq!((p.index as usize, p.count as usize), (i + 1, parts.len()));
            assert_eq!(*seq.get_or_insert(s.seq), s.seq, "parts share one seq");
            if i == 0 {
                assert_eq!(p.slices, Some(LEAVES as u64));
            }
            series.extend(
                s.series
                    .into_iter()
                    .map(|s| (s.slice.into_owned(), s.signal.as_str().to_owned())),
            );
        }
        let Ok(Some(ServerMessage::Snapshot(one))) = decode_server(&whole[0]) else {
            unreachable!()
        };
        let one: Vec<_> = one
            .series
            .into_iter()
            .map(|s| (s.slice.into_owned(), s.signal.as_str().to_owned()))
            .collect();
        assert_eq!(series, one, "the parts hold every series, in order");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_feed_loads_a_snapshot_in_parts_from_the_server_and_goes_live_with_every_slice() {
    bounded(WAIT * 2, async {
        let server = start().await;
        let fleet = SharedFleet::new(Fleet::with_sources(["evals"]));
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("evals", server.url("/evals")),
            FeedOptions::default(),
        );
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0].state == ConnState::Live).await,
            "live once the last part is in"
        );
        let (slices, snapshots, progress, frames) = fleet.read(|f| {
            let s = &f.sources[0];
            (
                f.store.slices().len(),
                s.snapshots,
                s.snapshot_progress,
                s.drops.frames,
            )
        });
        assert_eq!(slices, LEAVES);
        assert_eq!(snapshots, 1, "applied once, as one snapshot");
        assert_eq!(progress, None);
        assert_eq!(frames, 0, "no frame dropped");
        feed.abort();
        server.shutdown().await;
    })
    .await;
}
