//! A real `qualtop demo-server` runs the detectors itself and sends every
//! client its `findings`: a screen that joined late and `qualtop check`
//! show the server's one run, not each their own replay of the six hours
//! the demo serves (which, hours into the routing bug, no longer hold its
//! step: a late `check` found no routing bug while the screens that had
//! watched since the start showed it).

use crate::support;
use crate::support::check_of_findings;
use crate::support::demo::DemoServer;
use crate::support::relay::{fast_feed, next_of, ws_connect};
use crate::support::wait::fleet_holds;

use std::time::Duration;

use qualtop::detect::{DetectedRegression, Detections};
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feeds};
use qualtop::protocol::Millis;

const MINUTE: Millis = 60_000;
const WAIT: Duration = Duration::from_secs(60);

/// The TPU misconfiguration on atlas-m (+60 to +425): active, on a TPU
/// place of atlas-m, dated near +60.
fn tpu_on_atlas_m(r: &DetectedRegression, anchor: Millis) -> bool {
    r.is_active()
        && r.scope.get("hardware").is_none_or(|h| h == "tpu")
        && r.scope.get("model").is_none_or(|m| m == "atlas-m")
        && (r.onset - (anchor + 60 * MINUTE)).abs() <= 20 * MINUTE
}

fn has_tpu(d: &Detections, anchor: Millis) -> bool {
    d.regressions.iter().any(|r| tpu_on_atlas_m(r, anchor))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_screen_and_check_show_the_demo_servers_own_findings() {
    let tmp = support::TempDir::new("demo-findings");
    let port = support::free_port();
    // 330 minutes into the story: the TPU fault on atlas-m is five hours
    // old, the routing bug half an hour.
    let (_server, anchor) =
        DemoServer::in_story(port, &tmp.path().join("demo"), "demo-findings-server", 330);
    let url = |p: &str| format!("ws://127.0.0.1:{port}/{p}");

    // On the wire: the hello promises findings, and they cover its epoch
    // and both endpoints.
    let mut ws = ws_connect(&url("evals"), None).await.unwrap();
    let hello = next_of(&mut ws, "hello", WAIT).await.unwrap();
    let features = hello["features"].as_array().unwrap();
    assert!(features.iter().any(|f| f == "findings"), "{hello}");
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        r#"{"type":"subscribe","window_ms":120000}"#,
    ))
    .await
    .unwrap();
    let frame = next_of(&mut ws, "findings", WAIT).await.unwrap();
    assert_eq!(frame["epoch"], hello["epoch"]);
    assert_eq!(
        frame["endpoints"],
        serde_json::json!(["/metrics", "/evals"])
    );

    // qualtop's client shows them instead of detecting on its own.
    let fleet = SharedFleet::new(Fleet::with_sources(["metrics", "evals"]));
    let sources = ["metrics", "evals"].map(|p| SourceConfig::new(p, url(p)));
    let _feeds = spawn_feeds(&fleet, sources.into(), &fast_feed());
    assert!(
        fleet_holds(&fleet, WAIT, |f| f.findings.from_backend
            && has_tpu(&f.detections, anchor))
        .await,
        "{:?}",
        fleet.read(|f| (
            f.findings.from_backend,
            qualtop::feed::usable_findings(f).err(),
            f.detections
                .regressions
                .iter()
                .map(|r| (
                    r.signal.clone(),
                    r.scope.clone(),
                    (r.onset - anchor) / MINUTE
                ))
                .collect::<Vec<_>>()
        ))
    );
    // Where each drop lies travels with the regression, as the server
    // measured it, for the client to rank suspects by.
    let tables = fleet.read(|f| {
        f.detections
            .regressions
            .iter()
            .filter(|r| r.drop_table.is_some())
            .count()
    });
    assert!(tables > 0, "the client kept no drop table");
    let screen: Vec<(String, Millis)> = fleet.read(|f| {
        f.detections
            .regressions
            .iter()
            .filter(|r| tpu_on_atlas_m(r, anchor))
            .map(|r| (r.signal.clone(), r.onset))
            .collect()
    });

    // `check` says whose findings it reports, and reports the same TPU
    // regressions with the same onsets as the screen.
    let sources = ["--metrics", &url("metrics"), "--evals", &url("evals")].map(String::from);
    let report = check_of_findings("demo-findings-check", sources.into()).await;
    let reported: Vec<(String, Millis)> = report["bugs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["regressions"].as_array().unwrap())
        .filter(|r| {
            let slice = &r["slice"];
            r["active"] == true
                && slice.get("hardware").is_none_or(|h| h == "tpu")
                && slice.get("model").is_none_or(|m| m == "atlas-m")
                && (r["onset"].as_i64().unwrap() - (anchor + 60 * MINUTE)).abs() <= 20 * MINUTE
        })
        .map(|r| {
            (
                r["signal"].as_str().unwrap().to_owned(),
                r["onset"].as_i64().unwrap(),
            )
        })
        .collect();
    for (signal, onset) in &screen {
        assert!(
            reported.contains(&(signal.clone(), *onset)),
            "the screen's {signal} at +{} min is not in check's {reported:?}",
            (onset - anchor) / MINUTE
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_scale_mode_the_demo_server_leaves_detection_to_the_clients() {
    // `--leaves`: each client detects on the rows it shows, as before; the
    // hello promises no findings.
    let tmp = support::TempDir::new("demo-findings-scale");
    let port = support::free_port();
    let mut child = support::qualtop_command("demo-findings-scale")
        .args(["demo-server", "--leaves", "300"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo-server starts");
    let url = format!("ws://127.0.0.1:{port}/evals");
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(started.elapsed() < WAIT, "demo-server never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ws = ws_connect(&url, None).await.unwrap();
    let hello = next_of(&mut ws, "hello", WAIT).await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(hello["slices"], 300, "{hello}");
    let features = hello["features"].as_array().unwrap();
    assert!(!features.iter().any(|f| f == "findings"), "{hello}");
}
