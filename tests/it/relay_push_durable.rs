//! Pushed eval results written to a real engine (VictoriaMetrics, and
//! Prometheus with its remote-write receiver): the relay acknowledges a
//! push only once the engine took it, a relay killed with SIGKILL and
//! started again (or a second relay) serves every acknowledged point, a
//! retry is not counted twice, two jobs add up, a late push corrects its
//! bucket, and an engine that is down gives 503 with Retry-After.

use crate::support;

use std::process::{Child, Stdio};
use std::time::Duration;

use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use qualtop::store::Ratio;
use support::engines::http_get;
use support::free_port;
use support::relay::{client, config, ratio_at};
use support::wait::eventually;

const B: i64 = 1000;
const SIGNAL: &str = "golden-qa";
const TPU: [(&str, &str); 2] = [("model", "m1"), ("hardware", "tpu")];
const GPU: [(&str, &str); 2] = [("model", "m2"), ("hardware", "gpu")];

fn relay_toml(listen: &str, query_url: &str, write_url: &str, data: &str) -> String {
    format!(
        r#"
listen = "{listen}"
bucket = "1s"
history = "60s"
dimensions = ["model", "hardware"]
data_dir = "{data}"

[prometheus]
url = "{query_url}"
remote_write_url = "{write_url}"
delay = "1100ms"
timeout = "2s"
attempts = 1

[[signals]]
name = "{SIGNAL}"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#
    )
}

/// `qualtop serve` as its own process, so it can be killed with SIGKILL.
struct RelayProcess {
    child: Child,
    addr: String,
}

impl RelayProcess {
    fn start(config: &std::path::Path, addr: &str) -> RelayProcess {
        let child = support::qualtop_command("push-durable")
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting qualtop serve");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while http_get(&format!("http://{addr}/healthz")).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the relay did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        RelayProcess {
            child,
            addr: addr.to_owned(),
        }
    }

    fn kill9(mut self) {
        // Child::kill is SIGKILL on Unix: no shutdown code runs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line(pairs: &[(&str, &str); 2], b: i64, good: u32, total: u32) -> String {
    format!(
        r#"{{"slice":{{"{}":"{}","{}":"{}"}},"signal":"{SIGNAL}","ts":{},"good":{good},"total":{total}}}"#,
        pairs[0].0,
        pairs[0].1,
        pairs[1].0,
        pairs[1].1,
        b * B + 250
    )
}

/// POSTs a push as `job`: (status, Retry-After, body).
async fn push(addr: &str, job: &str, body: String) -> (u16, Option<String>, String) {
    qualtop::tls::install_crypto_provider();
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/v1/points?job={job}"))
        .body(body)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry, resp.text().await.unwrap_or_default())
}

/// What the pushes below must read back as, per bucket `first..first+6`.
fn expected(first: i64, b: i64, pairs: &[(&str, &str); 2]) -> Ratio {
    let job_a = (b.rem_euclid(7)) as u64;
    if *pairs == TPU {
        Ratio::new(job_a + 3, 14)
    } else if b == first + 1 {
        Ratio::new(1, 10)
    } else {
        Ratio::new(job_a, 10)
    }
}

/// Pushes as two jobs, retries one push, corrects one bucket late.
async fn push_all(addr: &str, first: i64) {
    let mut a = String::new();
    for b in first..first + 6 {
        for pairs in [&TPU, &GPU] {
            a.push_str(&line(pairs, b, b.rem_euclid(7) as u32, 10));
            a.push('\n');
        }
    }
    let (status, _, body) = push(addr, "job-a", a.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"accepted\":12"), "{body}");
    // The client did not see the answer and sends the same request again.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(push(addr, "job-a", a).await.0, 200);
    let b: Vec<String> = (first..first + 6).map(|b| line(&TPU, b, 3, 4)).collect();
    assert_eq!(push(addr, "job-b", b.join("\n")).await.0, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, _, body) = push(addr, "job-a", line(&GPU, first + 1, 1, 10)).await;
    assert_eq!(status, 200, "late correction: {body}");
}

/// Waits until a client of `ws_url` holds every pushed bucket as expected.
async fn served_exactly(ws_url: &str, first: i64, who: &str) {
    let (fleet, _feed) = client(ws_url, None);
    let all_right = || {
        (first..first + 6).all(|b| {
            [&TPU, &GPU]
                .iter()
                .all(|p| ratio_at(&fleet, SIGNAL, *p, b * B) == Some(expected(first, b, p)))
        })
    };
    let ok = eventually(Duration::from_secs(30), all_right).await;
    let held: Vec<_> = (first..first + 6)
        .map(|b| {
            (
                ratio_at(&fleet, SIGNAL, &TPU, b * B),
                ratio_at(&fleet, SIGNAL, &GPU, b * B),
            )
        })
        .collect();
    assert!(ok, "{who} serves {held:?}");
}

async fn acknowledged_pushes_survive_a_killed_relay(query_url: &str, write_url: &str, tag: &str) {
    let tmp = support::TempDir::new(&format!("push-{tag}"));
    let dir = tmp.path();
    let addr = format!("127.0.0.1:{}", free_port());
    let text = relay_toml(&addr, query_url, write_url, &dir.display().to_string());
    let path = dir.join("relay.toml");
    std::fs::write(&path, &text).unwrap();

    let relay = RelayProcess::start(&path, &addr);
    let first = wall_ms() / B - 20;
    push_all(&relay.addr, first).await;
    served_exactly(&format!("ws://{addr}/evals"), first, "the relay pushed to").await;

    relay.kill9();
    let relay = RelayProcess::start(&path, &addr);
    served_exactly(&format!("ws://{addr}/evals"), first, "the restarted relay").await;

    let second = relay::start(config(&text)).await.unwrap();
    served_exactly(&second.url(Endpoint::Evals), first, "a second relay").await;
    second.shutdown().await;
    drop(relay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_keeps_acknowledged_pushes_across_a_kill_9_and_an_outage_gives_503() {
    let Some(mut vm) = support::engines::victoria_metrics(
        "victoria_metrics_keeps_acknowledged_pushes_across_a_kill_9_and_an_outage_gives_503",
    ) else {
        return;
    };
    let write_url = format!("{}/api/v1/write", vm.url);
    acknowledged_pushes_survive_a_killed_relay(&vm.url, &write_url, "vm").await;

    // The engine down: 503, Retry-After, why, and nothing acknowledged.
    let addr = format!("127.0.0.1:{}", free_port());
    let tmp = support::TempDir::new("push-down");
    let dir = tmp.path();
    let relay = relay::start(config(&relay_toml(
        &addr,
        &vm.url,
        &write_url,
        &dir.display().to_string(),
    )))
    .await
    .unwrap();
    let addr = relay.local_addr().to_string();
    vm.stop();
    let b = wall_ms() / B - 5;
    let (status, retry, body) = push(&addr, "job-a", line(&TPU, b, 1, 1)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(body.contains("cannot be reached"), "{body}");
    assert!(body.contains("\"accepted\":0"), "{body}");
    // `qualtop push` keeps retrying (503 + Retry-After) until the engine is back.
    let cli = {
        let url = format!("http://{addr}");
        let case = format!(
            r#"{{"ts":{},"suite":"{SIGNAL}","model":"m1","hardware":"tpu","passed":true}}"#,
            b * B
        );
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = support::qualtop_command("push-retry")
                .args(["push", "--relay", &url, "--job", "cli", "--attempts", "8"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("qualtop push");
            if let Some(mut i) = child.stdin.take() {
                let _ = i.write_all(case.as_bytes());
            }
            child.wait_with_output().expect("qualtop push output")
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    vm.restart();
    let out = tokio::time::timeout(Duration::from_secs(40), cli)
        .await
        .expect("qualtop push gave no answer")
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("accepted 1 points (1 cases)"), "{stdout}");
    let (status, _, body) = push(&addr, "job-a", line(&TPU, b, 1, 1)).await;
    assert_eq!(status, 200, "after the engine is back: {body}");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_keeps_acknowledged_pushes_across_a_kill_9() {
    let Some(prom) = support::engines::prometheus_receiver(
        "prometheus_keeps_acknowledged_pushes_across_a_kill_9",
    ) else {
        return;
    };
    let write_url = format!("{}/api/v1/write", prom.url);
    acknowledged_pushes_survive_a_killed_relay(&prom.url, &write_url, "prom").await;
}
