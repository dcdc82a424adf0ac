//! Real Prometheus-compatible engines for tests: VictoriaMetrics from the
//! Debian package `victoria-metrics`, Prometheus from `prometheus` and
//! Alertmanager from `prometheus-alertmanager`, each
//! started on a loopback port in a temporary directory and killed when
//! dropped. VictoriaMetrics can be stopped and restarted on the same port
//! and data (outage tests).
//!
//! Where the binary is missing the tests that need it say so and pass,
//! unless QUALTOP_REQUIRE_ENGINES=1 (set by .ci/run), which makes them fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub struct VictoriaMetrics {
    child: Option<Child>,
    pub url: String,
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn binary(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// The binary, or `None` (after saying why) where it is not installed and
/// not required.
fn engine(test: &str, name: &str, package: &str) -> Option<PathBuf> {
    if let Some(bin) = binary(name) {
        return Some(bin);
    }
    assert!(
        std::env::var("QUALTOP_REQUIRE_ENGINES").as_deref() != Ok("1"),
        "{test}: QUALTOP_REQUIRE_ENGINES=1 but {name} is not installed (apt-get install {package})"
    );
    eprintln!("SKIPPED {test}: {name} is not installed (apt-get install {package} to run it)");
    None
}

/// The engine, or `None` (after saying why) where it is not installed and
/// not required.
pub fn victoria_metrics(test: &str) -> Option<VictoriaMetrics> {
    let bin = engine(test, "victoria-metrics", "victoria-metrics")?;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("qualtop-vm-{}-{port}", std::process::id()));
    let mut vm = VictoriaMetrics {
        child: None,
        url: format!("http://127.0.0.1:{port}"),
        dir,
        bin,
        port,
    };
    vm.restart();
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

    /// Stops the engine (for outage tests); `restart` brings it back on the
    /// same port and data. SIGTERM first, so it writes its buffers to disk
    /// (a killed engine loses its newest parts), SIGKILL if it lingers.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: sending a signal to our own child process.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the engine (again) on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(&self.bin)
            .arg(format!("-storageDataPath={}", self.dir.display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg("-search.disableCache")
            .arg("-search.latencyOffset=0s")
            .arg("-retentionPeriod=100y")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting victoria-metrics");
        self.child = Some(child);
        self.wait_healthy();
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Prometheus scraping one target every second.
pub struct Prometheus {
    child: Child,
    pub url: String,
    dir: PathBuf,
}

/// Prometheus scraping `target` (`host:port`, path `/metrics`) every
/// second, or `None` (after saying why) where it is not installed and not required.
pub fn prometheus(test: &str, target: &str) -> Option<Prometheus> {
    start_prometheus(
        test,
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
        &[],
    )
}

/// Prometheus scraping `http://{target}{path}` every second and evaluating
/// `rules` (a rule file's YAML) every second.
pub fn prometheus_with_rules(
    test: &str,
    target: &str,
    path: &str,
    rules: &str,
) -> Option<Prometheus> {
    start_prometheus(
        test,
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['rules.yml']\nscrape_configs:\n  - job_name: relay\n    metrics_path: '{path}'\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
        &[("rules.yml", rules)],
    )
}

/// Prometheus taking remote writes (`/api/v1/write`), samples up to an
/// hour out of order (late and retried pushes), scraping nothing.
pub fn prometheus_receiver(test: &str) -> Option<Prometheus> {
    start_prometheus(
        test,
        "global:\n  evaluation_interval: 1s\nstorage:\n  tsdb:\n    out_of_order_time_window: 1h\n",
        &["--web.enable-remote-write-receiver"],
        &[],
    )
}

/// `files` are written next to the config (rule files are found there).
fn start_prometheus(
    test: &str,
    yaml: &str,
    flags: &[&str],
    files: &[(&str, &str)],
) -> Option<Prometheus> {
    let bin = engine(test, "prometheus", "prometheus")?;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("qualtop-prom-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("prometheus temp dir");
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, yaml).expect("prometheus config");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("prometheus file");
    }
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting prometheus");
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(&format!("{}/-/ready", p.url)).is_err() {
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready at {}",
            p.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(p)
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Alertmanager from the Debian package `prometheus-alertmanager`, alone
/// (no cluster), routing every alert to a receiver that sends nothing.
pub struct Alertmanager {
    child: Child,
    pub url: String,
    dir: PathBuf,
}

pub fn alertmanager(test: &str) -> Option<Alertmanager> {
    let bin = engine(test, "prometheus-alertmanager", "prometheus-alertmanager")?;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("qualtop-am-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("alertmanager temp dir");
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: 'none'\n  group_wait: 0s\nreceivers:\n  - name: 'none'\n",
    )
    .expect("alertmanager config");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // Empty: no gossip port, so parallel tests do not collide.
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting alertmanager");
    let am = Alertmanager {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(&format!("{}/-/ready", am.url)).is_err() {
        assert!(
            Instant::now() < deadline,
            "alertmanager did not become ready at {}",
            am.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(am)
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
