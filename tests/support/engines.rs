//! Real Prometheus-compatible engines for tests: VictoriaMetrics from the
//! Debian package `victoria-metrics`, started on a loopback port in a
//! temporary directory and killed when dropped.
//!
//! Where the binary is missing the tests that need it say so and pass,
//! unless QUALTOP_REQUIRE_ENGINES=1 (set by .ci/run), which makes them fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct VictoriaMetrics {
    child: Child,
    pub url: String,
    dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn binary(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// The engine, or `None` (after saying why) where it is not installed and
/// not required.
pub fn victoria_metrics(test: &str) -> Option<VictoriaMetrics> {
    let Some(bin) = binary("victoria-metrics") else {
        if std::env::var("QUALTOP_REQUIRE_ENGINES").as_deref() == Ok("1") {
            panic!(
                "{test}: QUALTOP_REQUIRE_ENGINES=1 but victoria-metrics is not installed (apt-get install victoria-metrics)"
            );
        }
        eprintln!(
            "SKIPPED {test}: victoria-metrics is not installed (apt-get install victoria-metrics to run it)"
        );
        return None;
    };
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("qualtop-vm-{}-{port}", std::process::id()));
    let child = Command::new(bin)
        .arg(format!("-storageDataPath={}", dir.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-search.disableCache")
        .arg("-search.latencyOffset=0s")
        .arg("-retentionPeriod=100y")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting victoria-metrics");
    let vm = VictoriaMetrics {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    vm.wait_healthy();
    Some(vm)
}

impl VictoriaMetrics {
    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(body) = http_get(&format!("{}/health", self.url))
                && body.trim() == "OK"
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("victoria-metrics did not become healthy at {}", self.url);
    }

    /// Imports samples in VictoriaMetrics' JSON-lines format, then flushes
    /// so they are searchable at once.
    pub fn import(&self, lines: &str) {
        http_post(&format!("{}/api/v1/import", self.url), lines).expect("import");
        http_get(&format!("{}/internal/force_flush", self.url)).expect("force_flush");
    }

    /// Stops the engine (for outage tests); `restart` brings it back on the same port and data.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Minimal blocking HTTP/1.1 over std, so test support needs no client crate.
fn http(method: &str, url: &str, body: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    if !head.starts_with("HTTP/1.1 2") {
        return Err(std::io::Error::other(
            head.lines().next().unwrap_or("").to_string(),
        ));
    }
    Ok(body.to_string())
}

pub fn http_get(url: &str) -> std::io::Result<String> {
    http("GET", url, "")
}

pub fn http_post(url: &str, body: &str) -> std::io::Result<String> {
    http("POST", url, body)
}
