//! A real `qualtop demo-server` process on loopback, killed and restarted
//! under a client: the demo's clock survives the restart (kept in its data
//! directory), the client resyncs without out-of-window drops, the screen
//! shows data time, and a dead backend gets a banner within two heartbeats.

use crate::support;
use crate::support::demo::DemoServer;

use std::process::Stdio;
use std::time::{Duration, Instant};

use qualtop::app::{App, Event, KeyMap, ViewFacts};
use qualtop::clock::wall_ms;
use qualtop::demo::clock::CLOCK_FILE;
use qualtop::feed::{FeedHandle, FeedOptions, Fleet, SharedFleet, SourceConfig, spawn_feeds};
use qualtop::protocol::Millis;
use qualtop::protocol::PointError;
use qualtop::text::format;
use qualtop::ui::{self, Look};
use qualtop::view::{HeaderModel, compute_overview};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

const MINUTE: Millis = 60_000;

/// The demo server's heartbeat interval (`ServerConfig::default()`).
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Waits until the demo server accepts connections (it builds its world first).
async fn listening(port: u16) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "demo-server never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn connect(port: u16) -> (SharedFleet, Vec<FeedHandle>) {
    let fleet = SharedFleet::new(Fleet::with_sources(["demo/metrics", "demo/evals"]));
    let opts = FeedOptions {
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        ..FeedOptions::default()
    };
    let sources = ["metrics", "evals"]
        .map(|p| SourceConfig::new(format!("demo/{p}"), format!("ws://127.0.0.1:{port}/{p}")));
    let feeds = spawn_feeds(&fleet, sources.into(), &opts);
    (fleet, feeds)
}

/// Polls `cond` every 50 ms for up to `limit`; returns how long it took.
async fn within(fleet: &SharedFleet, limit: Duration, cond: impl Fn(&Fleet) -> bool) -> Duration {
    let start = Instant::now();
    while !fleet.read(&cond) {
        assert!(
            start.elapsed() < limit,
            "not within {limit:?}: {:?}",
            fleet.read(|f| f
                .sources
                .iter()
                .map(|s| (s.state.clone(), s.connections))
                .collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

/// Both sources live on connection `n` (1: first, 2: after one restart).
fn live_on(f: &Fleet, n: u64) -> bool {
    f.sources
        .iter()
        .all(|s| s.state.is_live() && s.connections >= n && s.newest_data.is_some())
}

fn out_of_window(f: &Fleet) -> u64 {
    f.sources
        .iter()
        .map(|s| s.drops.count(PointError::OutOfWindow))
        .sum()
}

/// The screen at `width`×`height` as text lines, and whether each line is
/// drawn in reverse video from its first cell to its last.
fn draw(fleet: &SharedFleet, wall_now: Millis, width: u16, height: u16) -> Vec<(String, bool)> {
    let mut app = App::new(KeyMap::default());
    let vm = fleet.read(|f| compute_overview(f, &app.query()));
    app.update(Event::Clock(wall_now));
    app.update(Event::ViewChanged(ViewFacts::of(&vm)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| ui::render(f, &app, &vm, &Look::default()))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            let text: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            let reversed = [0, width - 1]
                .iter()
                .all(|&x| buf[(x, y)].modifier.contains(Modifier::REVERSED));
            (text.trim_end().to_owned(), reversed)
        })
        .collect()
}

fn header(fleet: &SharedFleet) -> HeaderModel {
    fleet.read(|f| HeaderModel::from_fleet(f, None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_demo_gets_a_banner_and_its_restart_continues_the_clock_without_drops() {
    let tmp = support::TempDir::new("restart-same");
    let dir = tmp.path().to_path_buf();
    let data = dir.join("demo");
    let port = support::free_port();
    let mut server = DemoServer::start(port, &data, "same-1");
    let (fleet, feeds) = connect(port);
    within(&fleet, Duration::from_secs(30), |f| live_on(f, 1)).await;

    // The header clock is data time: the demo runs at 60x, ahead of the wall.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let wall = wall_ms();
    let h = header(&fleet);
    let data_now = h.data_clock(wall);
    assert!(
        data_now > wall + 60_000,
        "data clock {data_now} should run ahead of the wall clock {wall}"
    );
    assert_eq!(h.time_scale(), Some(60.0));
    let top = &draw(&fleet, wall, 80, 24)[0].0;
    assert!(top.contains("demo ×60"), "{top}");
    assert!(top.contains(&format::utc_clock(data_now)), "{top}");
    assert!(!top.contains(&format::utc_clock(wall)), "{top}");
    // A steady feed reads fresh against the backend's own clock.
    assert!(
        h.sources.iter().all(|s| s.data_is_fresh()),
        "{:?}",
        h.sources
    );
    let screen = draw(&fleet, wall, 80, 24);
    assert!(screen[1].0.contains("data fresh"), "{}", screen[1].0);

    // Kill it: the banner is up within two heartbeats.
    let before_kill = header(&fleet).data_clock(wall_ms());
    server.kill();
    let took = within(&fleet, 2 * HEARTBEAT, |f| {
        HeaderModel::from_fleet(f, None)
            .down_banner(wall_ms())
            .is_some()
    })
    .await;
    eprintln!("banner after {took:?}");
    let screen = draw(&fleet, wall_ms(), 80, 24);
    let banner = screen
        .iter()
        .find(|(text, _)| text.contains("disconnected"))
        .unwrap_or_else(|| panic!("no banner: {screen:#?}"));
    assert!(
        banner.1,
        "the banner is reverse video, the full line: {banner:?}"
    );
    assert!(banner.0.contains("figures"), "{banner:?}");

    // Restart with the same data directory: the run continues.
    let timeline = fleet.read(|f| f.timeline);
    let _server = DemoServer::start(port, &data, "same-2");
    within(&fleet, Duration::from_secs(30), |f| live_on(f, 2)).await;
    assert!(data.join(CLOCK_FILE).exists());
    let after = header(&fleet).data_clock(wall_ms());
    assert!(
        after >= before_kill,
        "restarted clock {after} went back from {before_kill}"
    );
    fleet.read(|f| {
        assert_eq!(f.timeline, timeline, "no jump, so no new time axis");
        assert_eq!(out_of_window(f), 0, "out-of-window drops after the restart");
    });
    assert!(header(&fleet).down_banner(wall_ms()).is_none());
    for feed in &feeds {
        feed.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_restarted_on_a_new_clock_is_met_with_a_clean_resync() {
    let tmp = support::TempDir::new("restart-new");
    let dir = tmp.path().to_path_buf();
    let data = dir.join("demo");
    let port = support::free_port();
    // A run 9 h ahead of the wall clock, beyond the 6 h the store holds
    // (the 8h46m), as a demo that ran faster for a while leaves it.
    // It is started there at one bucket a second rather than raced there at
    // 60 a second: at that pace the ring holds 6 s, and a client starved of
    // CPU that long on a loaded CI run rightly drops what fell out of it
    // (one run failed so, after an earlier one at 100 a second lost 49,484
    // points).
    let (mut server, _) = DemoServer::in_story_ahead(port, &data, "new-1", 30, 9 * 60 * MINUTE);
    let (fleet, feeds) = connect(port);
    within(&fleet, Duration::from_secs(30), |f| live_on(f, 1)).await;
    let ahead = fleet.read(|f| f.store.now());
    assert!(
        ahead > wall_ms() + 8 * 60 * MINUTE,
        "the store clock {ahead} is not the run's, 9 h ahead"
    );
    assert_eq!(
        fleet.read(out_of_window),
        0,
        "out-of-window drops before the restart: {:?}",
        fleet.read(|f| f
            .sources
            .iter()
            .map(|s| (s.drops.summary(), s.snapshots, s.resyncs, s.connections))
            .collect::<Vec<_>>())
    );
    server.kill();
    // Without its clock file the demo starts a new run at the wall clock,
    // minutes behind what the client holds.
    std::fs::remove_file(data.join(CLOCK_FILE)).expect("the clock was kept");
    let _server = DemoServer::start(port, &data, "new-2");
    within(&fleet, Duration::from_secs(30), |f| live_on(f, 2)).await;
    fleet.read(|f| {
        assert_eq!(out_of_window(f), 0, "out-of-window drops after the jump");
        assert!(
            f.store.now() < ahead,
            "store clock {} still at the old run's {ahead}",
            f.store.now()
        );
        assert_eq!(f.timeline, 1, "the time axis started again");
    });
    for feed in &feeds {
        feed.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_demo_gets_a_stale_banner_within_two_protocol_heartbeats() {
    let tmp = support::TempDir::new("restart-hung");
    let dir = tmp.path().to_path_buf();
    let port = support::free_port();
    let server = DemoServer::start(port, &dir.join("demo"), "hung");
    let (fleet, feeds) = connect(port);
    within(&fleet, Duration::from_secs(30), |f| live_on(f, 1)).await;
    server.freeze();
    // Protocol 1 promises a heartbeat every 5 s; two missed ones make a source stale.
    let limit = 2 * qualtop::feed::HEARTBEAT_INTERVAL + Duration::from_secs(1);
    let took = within(&fleet, limit, |f| {
        HeaderModel::from_fleet(f, None)
            .down_banner(wall_ms())
            .is_some_and(|b| b.word == "stale")
    })
    .await;
    eprintln!("stale banner after {took:?}");
    let screen = draw(&fleet, wall_ms(), 80, 24);
    assert!(
        screen.iter().any(|(t, rev)| *rev && t.contains("stale")),
        "{screen:#?}"
    );
    for feed in &feeds {
        feed.abort();
    }
    drop(server); // SIGKILL ends a stopped process too
}

/// Runs a one-shot `qualtop` command off the async threads.
async fn run_cli(scratch: &'static str, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        support::qualtop_command(scratch)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("qualtop runs")
    })
    .await
    .expect("the command thread")
}

fn urls(port: u16) -> Vec<String> {
    vec![
        "--metrics".into(),
        format!("ws://127.0.0.1:{port}/metrics"),
        "--evals".into(),
        format!("ws://127.0.0.1:{port}/evals"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_on_the_demo_is_exported_in_data_time_after_the_demo_restarts() {
    let tmp = support::TempDir::new("restart-note");
    let dir = tmp.path().to_path_buf();
    let data = dir.join("demo");
    let port = support::free_port();
    let mut server = DemoServer::start(port, &data, "note-1");
    listening(port).await;
    // Let the demo's clock run ahead of the wall clock (60x).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut add: Vec<String> = ["annotations", "add"].map(String::from).into();
    add.extend(urls(port));
    add.extend(["--text", "routing change suspected", "--author", "oncall"].map(String::from));
    let added = run_cli("note-add", add).await;
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    server.kill();
    let _server = DemoServer::start(port, &data, "note-2");
    listening(port).await;
    let mut export: Vec<String> = ["annotations", "export", "--since", "1h"]
        .map(String::from)
        .into();
    export.extend(urls(port));
    let out = run_cli("note-export", export).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("routing change suspected"), "{text}");
    assert!(text.contains("\n1 annotation since"), "{text}");
}
