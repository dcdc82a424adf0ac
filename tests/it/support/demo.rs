//! A real `qualtop demo-server` process on loopback, optionally started
//! part-way into its story (a saved clock in its data directory), so a test
//! can meet a bug that is already active instead of racing the clock.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use qualtop::clock::wall_ms;
use qualtop::demo::clock::{SavedClock, save};
use qualtop::protocol::Millis;

const MINUTE: Millis = 60_000;

pub struct DemoServer {
    child: Child,
}

impl DemoServer {
    pub fn start(port: u16, data_dir: &Path, scratch: &str) -> DemoServer {
        let child = super::qualtop_command(scratch)
            .args(["demo-server", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("demo-server starts");
        DemoServer { child }
    }

    /// The built-in story (seed 2025) at one bucket a second, whose data
    /// time reads `minute` minutes past its anchor now; returns the server
    /// once it listens, and the anchor.
    pub fn in_story(
        port: u16,
        data_dir: &Path,
        scratch: &str,
        minute: i64,
    ) -> (DemoServer, Millis) {
        DemoServer::in_story_ahead(port, data_dir, scratch, minute, 0)
    }

    /// As `in_story`, on a run whose data time is `ahead_ms` ahead of the
    /// wall clock (a run that went faster for a while, at one bucket a
    /// second now).
    pub fn in_story_ahead(
        port: u16,
        data_dir: &Path,
        scratch: &str,
        minute: i64,
        ahead_ms: Millis,
    ) -> (DemoServer, Millis) {
        let wall = wall_ms();
        let data_now = wall + ahead_ms;
        let anchor_ms = (data_now - minute * MINUTE).div_euclid(MINUTE) * MINUTE;
        let saved = SavedClock {
            scenario: "three-bugs".into(),
            seed: 2025,
            anchor_ms,
            ref_wall_ms: wall,
            ref_data_ms: anchor_ms + minute * MINUTE,
            speed: 1.0,
        };
        save(data_dir, &saved).expect("the demo clock is written");
        let server = DemoServer::start(port, data_dir, scratch);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "demo-server never listened"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (server, anchor_ms)
    }

    /// SIGSTOP: the backend hangs with its sockets open.
    pub fn freeze(&self) {
        // SAFETY: a plain signal to our own child process.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGSTOP) };
    }

    /// SIGKILL: the backend dies without a goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.kill();
    }
}
