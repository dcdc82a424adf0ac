//! Hostile backends on loopback that flood the client: pings it never stops
//! sending (and never reads the pongs of), and a seq gap on every batch.
//! The client's memory stays bounded and its resubscribes few.

use crate::support;
use crate::support::feed::*;
use crate::support::wait::bounded;

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use qualtop::feed::{SourceConfig, spawn_feed};
use qualtop::protocol::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

/// The process's resident set, in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A backend that says hello, then pings as fast as it can for `for_how_long`
/// and never reads: every pong the client owes it has to wait client-side.
async fn ping_flood_server(for_how_long: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let until = tokio::time::Instant::now() + for_how_long;
        while let Ok(Ok((tcp, _))) = tokio::time::timeout_at(until, listener.accept()).await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let hello = ServerMessage::Hello(hello("flood")).to_json();
                if ws.send(Message::text(hello)).await.is_err() {
                    return;
                }
                let payload = vec![b'p'; 125];
                while tokio::time::Instant::now() < until {
                    let sent = tokio::time::timeout_at(
                        until,
                        ws.send(Message::Ping(payload.clone().into())),
                    )
                    .await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_cut_off_and_the_client_memory_stays_bounded() {
    let url = ping_flood_server(Duration::from_secs(20)).await;
    let mut child = support::qualtop_command("ping-flood")
        .args(["snapshot", "--metrics", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(rss) = rss_kib(child.id()) {
            peak_kib = peak_kib.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    eprintln!(
        "ping flood: client peak RSS {} MiB, exit after {:?}",
        peak_kib / 1024,
        started.elapsed()
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("ping flood"), "{err}");
    assert!(peak_kib < 150 * 1024, "client peak RSS {peak_kib} KiB");
}

#[tokio::test]
async fn a_gap_on_every_batch_gets_few_resubscribes_not_thousands() {
    bounded(Duration::from_secs(20), async {
        let server = Server::bind().await;
        let fleet = new_fleet();
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("t", server.url()),
            fast_opts(),
        );
        let mut conn = server.accept().await;
        conn.handshake("gappy", &snapshot(1, 0, vec![])).await;
        let mut seq = 1;
        let mut resubscribes = 0;
        let watched = Duration::from_secs(3);
        let started = tokio::time::Instant::now();
        while started.elapsed() < watched {
            // Every batch skips one seq.
            seq += 2;
            conn.send(&batch(seq, vec![point("a", "tpu", 0, 1, 1)]))
                .await;
            let asked = tokio::time::timeout(Duration::from_millis(1), conn.recv()).await;
            if let Ok(Some(ClientMessage::Subscribe(_))) = asked {
                resubscribes += 1;
                seq += 1;
                conn.send(&snapshot(seq, 0, vec![])).await;
            }
        }
        // At once, then after 0.25, 0.5, 1 s: about four in three seconds.
        assert!(
            (2..=6).contains(&resubscribes),
            "{resubscribes} resubscribes in {watched:?}"
        );
        let resyncs = fleet.read(|f| f.sources[0].resyncs);
        assert!(resyncs <= 8, "{resyncs} resyncs");
        feed.abort();
    })
    .await;
}
