//! Soak, sized for two cores: the real binaries, killed and restarted.
//!
//! 1. The TUI in a pty on two `qualtop demo-server` processes (metrics on
//!    one, evals on the other), each killed with SIGKILL and started again,
//!    in turn, 100 times in all: the TUI never dies, shows the down banner
//!    within two heartbeats, goes live again (a new snapshot), and its RSS
//!    (VmRSS, VmHWM) stays bounded. Two backends, so that each connection
//!    has been live for the feed's `healthy_after` before its next kill
//!    (as a crashing backend would): the reconnect backoff then restarts
//!    from its smallest step, which is the path measured. Keys are pressed
//!    throughout, and the demo runs at twice its usual pace.
//! 2. `qualtop serve` (the relay) killed and restarted 20 times with 20
//!    feed clients on it: each time every client reconnects, takes a new
//!    snapshot, and receives a point pushed after the restart.
//! 3. A slow consumer (a WebSocket client that stops reading) on the relay
//!    under a push flood: it is cut off, then reconnects and resyncs.
//!
//! Run: `cargo bench --bench soak` (about 10 minutes; QUALTOP_SOAK_RESTARTS,
//! QUALTOP_SOAK_RELAY_RESTARTS and QUALTOP_SOAK_CLIENTS override 100, 20, 20).

// A bench that cannot set up panics with what it expected; pedantic guards src/.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[allow(dead_code)]
mod ratio;
#[allow(dead_code)]
#[path = "../it/support/relay.rs"]
mod relay_support;
mod soak_relay;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use qualtop::feed::{FeedOptions, HEARTBEAT_INTERVAL};
use ratio::percentile;

const COLS: u16 = 120;
const ROWS: u16 = 40;
/// Buckets of data time per second, twice the demo's pace.
const SPEED: &str = "2";

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qualtop-soak-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with its own XDG directories and no token asked of clients.
pub fn qualtop(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qualtop"));
    cmd.env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("QUALTOP_TOKEN")
        .env_remove("QUALTOP_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// p50 and max of a list of seconds, as "p50 / max" in ms.
pub fn p50_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        percentile(&v, 0.5) * 1e3,
        v.last().copied().unwrap_or(f64::NAN) * 1e3,
    )
}

/// A `qualtop demo-server` process on a fixed loopback port and data dir.
struct Backend {
    endpoint: &'static str,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// When the TUI was last seen live on it.
    live_since: Instant,
}

impl Backend {
    fn new(endpoint: &'static str) -> Backend {
        let mut b = Backend {
            endpoint,
            port: free_port(),
            dir: scratch(endpoint),
            child: None,
            live_since: Instant::now(),
        };
        b.spawn();
        b
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/{}", self.port, self.endpoint)
    }

    fn spawn(&mut self) {
        let child = qualtop(&self.dir)
            .args(["demo-server", "--listen"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["--speed", SPEED, "--data-dir"])
            .arg(self.dir.join("demo"))
            .spawn()
            .expect("demo-server starts");
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Child::kill is SIGKILL on Unix: no shutdown code runs.
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn accepts(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The TUI in a pty whose output feeds a vt100 screen as it arrives (the
/// raw stream of ten minutes would not fit a test's buffer usefully).
struct Tui {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
    dir: PathBuf,
}

impl Tui {
    fn spawn(args: &[String]) -> Tui {
        let dir = scratch("tui");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pty can be opened");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_qualtop"));
        cmd.args(args);
        cmd.arg("--log");
        cmd.arg(dir.join("qualtop.log"));
        cmd.env_clear();
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", &dir);
        cmd.env("XDG_CONFIG_HOME", dir.join("config"));
        cmd.env("XDG_STATE_HOME", dir.join("state"));
        cmd.env("XDG_DATA_HOME", dir.join("data"));
        cmd.env("LANG", "C.UTF-8");
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("the TUI starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        Tui {
            child,
            writer,
            screen,
            _master: pty.master,
            dir,
        }
    }

    fn rows(&self) -> Vec<String> {
        let p = self.screen.lock().unwrap();
        p.screen().rows(0, COLS).collect()
    }

    fn pid(&self) -> u32 {
        self.child.process_id().expect("the TUI has a pid")
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn key(&mut self, k: &[u8]) {
        let _ = self.writer.write_all(k);
        let _ = self.writer.flush();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("qualtop.log")).unwrap_or_default()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The banner row (`… disconnected 0s — figures below are as of …`), if any.
fn banner(rows: &[String]) -> Option<&String> {
    rows.iter()
        .find(|r| r.contains("figures below are as of") || r.contains("figures as of"))
}

/// Every source line says live and no banner is up: resynced.
fn all_live(rows: &[String], backends: &[Backend]) -> bool {
    banner(rows).is_none()
        && backends.iter().all(|b| {
            let at = format!(":{}/{}", b.port, b.endpoint);
            rows.iter().any(|r| r.contains(&at) && r.contains(" live"))
        })
}

/// (VmRSS, VmHWM) of `pid` in KiB.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Waits until `done`, pressing a key every second (the user under load);
/// panics if the TUI exits.
fn wait_until(tui: &mut Tui, limit: Duration, mut done: impl FnMut(&[String]) -> bool) -> bool {
    let start = Instant::now();
    let mut next_key = Instant::now() + Duration::from_secs(1);
    let mut down = true;
    loop {
        if done(&tui.rows()) {
            return true;
        }
        assert!(tui.alive(), "the TUI exited; log:\n{}", tui.log());
        if start.elapsed() > limit {
            return false;
        }
        if Instant::now() >= next_key {
            tui.key(if down { b"j" } else { b"k" });
            down = !down;
            next_key += Duration::from_secs(1);
        }
        sleep(Duration::from_millis(5));
    }
}

struct TuiFigures {
    restarts: usize,
    banner_s: Vec<f64>,
    missed_banners: usize,
    resync_s: Vec<f64>,
    outage_s: Vec<f64>,
    rss_kib: Vec<u64>,
    hwm_kib: u64,
}

fn tui_soak(restarts: usize) -> TuiFigures {
    let mut backends = [Backend::new("metrics"), Backend::new("evals")];
    let args: Vec<String> = vec![
        "--metrics".into(),
        backends[0].url(),
        "--evals".into(),
        backends[1].url(),
    ];
    let mut tui = Tui::spawn(&args);
    assert!(
        wait_until(&mut tui, Duration::from_secs(60), |r| all_live(
            r, &backends
        )),
        "the TUI never went live: {:#?}\nlog:\n{}",
        tui.rows(),
        tui.log()
    );
    for b in &mut backends {
        b.live_since = Instant::now();
    }
    let healthy = FeedOptions::default().healthy_after + Duration::from_millis(300);
    let mut f = TuiFigures {
        restarts: 0,
        banner_s: vec![],
        missed_banners: 0,
        resync_s: vec![],
        outage_s: vec![],
        rss_kib: vec![],
        hwm_kib: 0,
    };
    for i in 0..restarts {
        let x = i % 2;
        let hold = healthy.saturating_sub(backends[x].live_since.elapsed());
        wait_until(&mut tui, hold, |_| false);
        let killed = Instant::now();
        backends[x].kill9();
        let port = format!(":{}/", backends[x].port);
        let seen = wait_until(&mut tui, 2 * HEARTBEAT_INTERVAL, |r| {
            banner(r).is_some_and(|b| b.contains(&port))
        });
        if seen {
            f.banner_s.push(killed.elapsed().as_secs_f64());
        } else {
            f.missed_banners += 1;
        }
        let started = Instant::now();
        backends[x].spawn();
        let live = wait_until(&mut tui, Duration::from_secs(90), |r| {
            all_live(r, &backends)
        });
        assert!(
            live,
            "restart {i}: no resync within 90 s: {:#?}",
            tui.rows()
        );
        f.resync_s.push(started.elapsed().as_secs_f64());
        f.outage_s.push(killed.elapsed().as_secs_f64());
        backends[x].live_since = Instant::now();
        assert!(backends[x].accepts(), "restart {i}: backend gone");
        f.rss_kib.push(rss_kib(tui.pid()).0);
        f.restarts += 1;
        if (i + 1) % 10 == 0 {
            eprintln!("  {} restarts, TUI RSS {} KiB", i + 1, f.rss_kib[i]);
        }
    }
    f.hwm_kib = rss_kib(tui.pid()).1;
    tui.key(b"q");
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = tui.child.try_wait() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "q did not quit");
        sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the TUI exited with {status:?}");
    assert!(
        !tui.log().contains("panicked"),
        "a panic in the TUI log:\n{}",
        tui.log()
    );
    f
}

fn kib_to_mib(k: u64) -> f64 {
    k as f64 / 1024.0
}

fn main() {
    let began = Instant::now();
    let restarts = env_or("QUALTOP_SOAK_RESTARTS", 100);
    eprintln!("soak 1/3: TUI on two demo-servers, {restarts} SIGKILL restarts");
    let t = tui_soak(restarts);
    let relay = soak_relay::run(
        env_or("QUALTOP_SOAK_RELAY_RESTARTS", 20),
        env_or("QUALTOP_SOAK_CLIENTS", 20),
    );

    let (banner50, banner_max) = p50_max(t.banner_s.clone());
    let (resync50, resync_max) = p50_max(t.resync_s.clone());
    let (outage50, outage_max) = p50_max(t.outage_s.clone());
    let early = t.rss_kib.iter().take(10).copied().max().unwrap_or(0);
    let late = t.rss_kib.iter().rev().take(10).copied().max().unwrap_or(0);
    let max_rss = t.rss_kib.iter().copied().max().unwrap_or(0);
    println!(
        "soak (cargo bench --bench soak), {:.0} s in all",
        began.elapsed().as_secs_f64()
    );
    println!("| what | figure |");
    println!("|---|---|");
    println!(
        "| TUI: backend SIGKILL restarts survived | {} of {restarts} (TUI exit 0 on `q`, no panic logged) |",
        t.restarts
    );
    println!(
        "| TUI: kill -> down banner on screen | p50 {banner50:.0} ms, max {banner_max:.0} ms ({} of {} shown within 2 heartbeats = {} s) |",
        t.banner_s.len(),
        t.restarts,
        (2 * HEARTBEAT_INTERVAL).as_secs()
    );
    println!(
        "| TUI: backend restarted -> live again (new snapshot, banner gone) | p50 {resync50:.0} ms, max {resync_max:.0} ms |"
    );
    println!("| TUI: whole outage, kill -> live | p50 {outage50:.0} ms, max {outage_max:.0} ms |");
    println!(
        "| TUI RSS | max VmRSS {:.1} MiB, VmHWM {:.1} MiB; max of restarts 1-10 {:.1} MiB, of the last 10 {:.1} MiB |",
        kib_to_mib(max_rss),
        kib_to_mib(t.hwm_kib),
        kib_to_mib(early),
        kib_to_mib(late)
    );
    relay.print();
    assert_eq!(t.missed_banners, 0, "restarts without a banner");
    // Bounded: no growth per restart beyond the noise of the allocator.
    assert!(
        late <= early + early / 4 + 16 * 1024,
        "TUI RSS grew from {early} KiB to {late} KiB over the restarts"
    );
    relay.check();
}
