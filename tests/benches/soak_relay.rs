//! Soak phases 2 and 3 (see soak.rs): `qualtop serve` killed and restarted
//! under N feed clients, then a slow consumer cut off and resynced.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use qualtop::clock::wall_ms;
use qualtop::feed::{FeedHandle, FeedOptions, Fleet, SharedFleet, SourceConfig, spawn_feed};
use tokio::time::sleep;
use tokio_tungstenite::tungstenite::Message;

use crate::relay_support::{is_live, ratio_at};
use crate::{p50_max, qualtop, scratch};

const MINUTE: i64 = 60_000;
const SIGNAL: &str = "golden-qa";
/// The relay drops a client whose socket takes no frame for this long.
const SEND_TIMEOUT: &str = "2s";

fn relay_toml(port: u16, data: &std::path::Path) -> String {
    format!(
        r#"
listen = "127.0.0.1:{port}"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]
data_dir = "{}"

[limits]
client_queue = 64
send_timeout = "{SEND_TIMEOUT}"

[[signals]]
name = "{SIGNAL}"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#,
        data.display()
    )
}

/// `qualtop serve` as its own process, so that it can be killed with SIGKILL.
struct Relay {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Relay {
    fn new() -> Relay {
        let dir = scratch("relay");
        let port = crate::free_port();
        std::fs::write(dir.join("relay.toml"), relay_toml(port, &dir.join("data"))).unwrap();
        Relay {
            port,
            dir,
            child: None,
        }
    }

    fn spawn(&mut self) {
        let child = qualtop(&self.dir)
            .args(["serve", "--config"])
            .arg(self.dir.join("relay.toml"))
            .spawn()
            .expect("qualtop serve starts");
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}/evals", self.port)
    }

    /// `GET /healthz` answers 200.
    fn healthy(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let req = "GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n";
        let mut answer = String::new();
        s.write_all(req.as_bytes()).is_ok()
            && s.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    fn vm_hwm_kib(&self) -> u64 {
        self.child.as_ref().map_or(0, |c| crate::rss_kib(c.id()).1)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn line(model: &str, ts: i64, good: u32) -> String {
    format!(
        r#"{{"slice":{{"model":"{model}","hardware":"soak"}},"signal":"{SIGNAL}","ts":{ts},"good":{good},"total":100}}"#
    )
}

fn snapshots(f: &SharedFleet) -> u64 {
    f.read(|f| f.sources[0].snapshots)
}

pub struct RelayFigures {
    clients: usize,
    restarts: usize,
    resynced: usize,
    ready_s: Vec<f64>,
    all_live_s: Vec<f64>,
    client_s: Vec<f64>,
    pushed_seen: usize,
    relay_hwm_kib: u64,
    cut_s: Option<f64>,
    others_cut: usize,
    slow_resync_s: Option<f64>,
}

impl RelayFigures {
    pub fn print(&self) {
        let (ready50, ready_max) = p50_max(self.ready_s.clone());
        let (all50, all_max) = p50_max(self.all_live_s.clone());
        let (one50, one_max) = p50_max(self.client_s.clone());
        let n = self.clients;
        println!(
            "| relay: SIGKILL restarts with {n} feed clients | {} of {}: every client took a new snapshot, and a point pushed after the restart reached all {n} in {} of them |",
            self.resynced, self.restarts, self.pushed_seen
        );
        println!(
            "| relay: restarted -> /healthz answers | p50 {ready50:.0} ms, max {ready_max:.0} ms |"
        );
        println!(
            "| relay: restarted -> all {n} clients live on a new snapshot | p50 {all50:.0} ms, max {all_max:.0} ms (one client: p50 {one50:.0} ms, max {one_max:.0} ms) |"
        );
        println!(
            "| relay: VmHWM, largest of the {} relay processes | {:.1} MiB |",
            self.restarts,
            self.relay_hwm_kib as f64 / 1024.0
        );
        let ms = |s: Option<f64>| s.map_or("never".to_owned(), |s| format!("{:.0} ms", s * 1e3));
        println!(
            "| slow consumer (stops reading, 4 KiB receive buffer) under a push flood: cut off after | {} (send_timeout {SEND_TIMEOUT}); feed clients cut off with it: {} of {n} |",
            ms(self.cut_s),
            self.others_cut
        );
        println!(
            "| slow consumer: reconnect -> hello, subscribe, snapshot | {} |",
            ms(self.slow_resync_s)
        );
    }

    pub fn check(&self) {
        assert_eq!(self.resynced, self.restarts, "relay restarts not resynced");
        assert_eq!(
            self.pushed_seen, self.restarts,
            "pushes after restarts lost"
        );
        assert!(self.cut_s.is_some(), "the slow consumer was never cut off");
        assert!(
            self.slow_resync_s.is_some(),
            "the slow consumer did not resync"
        );
    }
}

/// Phases 2 and 3.
pub fn run(restarts: usize, clients: usize) -> RelayFigures {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut relay = Relay::new();
        relay.spawn();
        let ready = Instant::now();
        while !relay.healthy() {
            assert!(ready.elapsed() < Duration::from_secs(30), "relay starts");
            sleep(Duration::from_millis(20)).await;
        }
        // The TUI's timers, except that a connection counts healthy (resets
        // the backoff) after 1 s rather than 10: restarts come every ~2 s.
        let opts = FeedOptions {
            healthy_after: Duration::from_secs(1),
            ..FeedOptions::default()
        };
        let url = relay.ws();
        let feeds: Vec<(SharedFleet, FeedHandle)> = (0..clients)
            .map(|_| {
                let fleet = SharedFleet::new(Fleet::with_sources([url.as_str()]));
                let h = spawn_feed(
                    fleet.clone(),
                    0,
                    SourceConfig::new(&url, &url),
                    opts.clone(),
                );
                (fleet, h)
            })
            .collect();
        let start = Instant::now();
        while !feeds.iter().all(|(f, _)| is_live(f)) {
            assert!(start.elapsed() < Duration::from_secs(30), "clients go live");
            sleep(Duration::from_millis(20)).await;
        }
        // Background load: an eval job pushing 20 slices ten times a second.
        let stop = Arc::new(AtomicBool::new(false));
        let pusher = {
            let (stop, url) = (Arc::clone(&stop), relay.http("/v1/points"));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let ts = wall_ms() / MINUTE * MINUTE;
                    let body: Vec<String> = (0..20)
                        .map(|m| line(&format!("load-{m}"), ts, n % 101))
                        .collect();
                    let _ = http.post(&url).body(body.join("\n")).send().await;
                    n += 1;
                    sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let mut fig = RelayFigures {
            clients,
            restarts,
            resynced: 0,
            ready_s: vec![],
            all_live_s: vec![],
            client_s: vec![],
            pushed_seen: 0,
            relay_hwm_kib: 0,
            cut_s: None,
            others_cut: 0,
            slow_resync_s: None,
        };
        eprintln!("soak 2/3: relay, {restarts} SIGKILL restarts under {clients} clients");
        for r in 0..restarts {
            sleep(Duration::from_millis(1100)).await;
            let before: Vec<u64> = feeds.iter().map(|(f, _)| snapshots(f)).collect();
            fig.relay_hwm_kib = fig.relay_hwm_kib.max(relay.vm_hwm_kib());
            relay.kill9();
            relay.spawn();
            let started = Instant::now();
            while !relay.healthy() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "relay restarts"
                );
                sleep(Duration::from_millis(10)).await;
            }
            fig.ready_s.push(started.elapsed().as_secs_f64());
            let mut at: Vec<Option<f64>> = vec![None; clients];
            while at.iter().any(Option::is_none) && started.elapsed() < Duration::from_secs(60) {
                for (i, (f, _)) in feeds.iter().enumerate() {
                    if at[i].is_none() && snapshots(f) > before[i] && is_live(f) {
                        at[i] = Some(started.elapsed().as_secs_f64());
                    }
                }
                sleep(Duration::from_millis(5)).await;
            }
            if at.iter().all(Option::is_some) {
                fig.resynced += 1;
                let times: Vec<f64> = at.into_iter().flatten().collect();
                fig.all_live_s
                    .push(times.iter().copied().fold(0.0, f64::max));
                fig.client_s.extend(times);
            }
            // A point pushed now reaches every client: they are subscribed, not only connected.
            let (model, ts) = (format!("restart-{r}"), wall_ms() / MINUTE * MINUTE);
            let _ = reqwest::Client::new()
                .post(relay.http("/v1/points"))
                .body(line(&model, ts, 50))
                .send()
                .await;
            let pairs = [("model", model.as_str()), ("hardware", "soak")];
            let seen = Instant::now();
            while seen.elapsed() < Duration::from_secs(10) {
                if feeds
                    .iter()
                    .all(|(f, _)| ratio_at(f, SIGNAL, &pairs, ts).is_some())
                {
                    fig.pushed_seen += 1;
                    break;
                }
                sleep(Duration::from_millis(10)).await;
            }
        }
        fig.relay_hwm_kib = fig.relay_hwm_kib.max(relay.vm_hwm_kib());
        stop.store(true, Ordering::Relaxed);
        let _ = pusher.await;
        eprintln!("soak 3/3: a slow consumer on the relay");
        slow_consumer(&relay, &feeds, &mut fig).await;
        for (_, h) in feeds {
            h.abort();
        }
        fig
    })
}

type RawWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Reads frames until one of `kind` (JSON `type`), within `limit`.
async fn until(ws: &mut RawWs, kind: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await else {
            return false;
        };
        if let Message::Text(t) = frame
            && serde_json::from_str::<serde_json::Value>(t.as_str())
                .is_ok_and(|v| v["type"] == kind)
        {
            return true;
        }
    }
}

/// A subscribed raw client; `rcvbuf` set small makes "stops reading" bite soon.
async fn subscribed(url: &str, port: u16, rcvbuf: Option<u32>) -> RawWs {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    let stream = sock
        .connect(([127, 0, 0, 1], port).into())
        .await
        .expect("connects to the relay");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("upgrade");
    assert!(
        until(&mut ws, "hello", Duration::from_secs(10)).await,
        "hello"
    );
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    assert!(
        until(&mut ws, "snapshot", Duration::from_secs(10)).await,
        "snapshot"
    );
    ws
}

async fn slow_disconnects(relay: &Relay) -> u64 {
    let Ok(resp) = reqwest::get(relay.http("/metrics.prom")).await else {
        return 0;
    };
    let page = resp.text().await.unwrap_or_default();
    page.lines()
        .find_map(|l| l.strip_prefix("qualtop_relay_slow_disconnects_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn slow_consumer(relay: &Relay, feeds: &[(SharedFleet, FeedHandle)], fig: &mut RelayFigures) {
    let url = relay.ws();
    let mut slow = subscribed(&url, relay.port, Some(4096)).await;
    let before_cut = slow_disconnects(relay).await;
    let before: Vec<u64> = feeds.iter().map(|(f, _)| snapshots(f)).collect();
    // From here on `slow` reads nothing. 100 slices x 5 buckets a push.
    let http = reqwest::Client::new();
    let flood = Instant::now();
    let mut n = 0u32;
    while flood.elapsed() < Duration::from_secs(60) {
        let now = wall_ms() / MINUTE * MINUTE;
        let body: Vec<String> = (0..100)
            .flat_map(|m| (0..5).map(move |b| (m, b)))
            .map(|(m, b)| line(&format!("flood-{m}"), now - b * MINUTE, n % 101))
            .collect();
        let _ = http
            .post(relay.http("/v1/points"))
            .body(body.join("\n"))
            .send()
            .await;
        n += 1;
        if n.is_multiple_of(5) && slow_disconnects(relay).await > before_cut {
            fig.cut_s = Some(flood.elapsed().as_secs_f64());
            break;
        }
    }
    // The cut-off client finds its stream ended once it reads again.
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(frame)) = slow.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    if drained.is_err() {
        fig.cut_s = None;
    }
    fig.others_cut = feeds
        .iter()
        .zip(&before)
        .filter(|((f, _), b)| snapshots(f) > **b)
        .count();
    let again = Instant::now();
    let mut fresh = subscribed(&url, relay.port, None).await;
    fig.slow_resync_s = Some(again.elapsed().as_secs_f64());
    let _ = fresh.close(None).await;
}
