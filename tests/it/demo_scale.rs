//! The demo's scale mode (`demo-server --leaves N`): exactly N plausible
//! leaf slices, the injected bugs still in them.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use qualtop::demo::{DemoBackend, DemoOptions};

use crate::support::{TempDir, free_port, qualtop_command};

#[tokio::test]
async fn a_scaled_demo_has_exactly_the_leaves_asked_for_and_still_its_bugs() {
    let plain = DemoBackend::build(DemoOptions::default()).await.unwrap();
    let scaled = DemoBackend::build(DemoOptions {
        leaves: Some(2_000),
        ..DemoOptions::default()
    })
    .await
    .unwrap();
    let world = &scaled.world;
    assert_eq!(world.leaves().len(), 2_000);
    let distinct: BTreeSet<_> = world
        .leaves()
        .iter()
        .map(|l| (&l.model, &l.platform, &l.region, &l.hardware))
        .collect();
    assert_eq!(distinct.len(), 2_000, "every leaf is its own slice");
    let regions: BTreeSet<_> = world.leaves().iter().map(|l| &l.region).collect();
    assert!(regions.len() > 4, "more regions: {regions:?}");
    assert!(
        world
            .leaves()
            .iter()
            .any(|l| l.model.starts_with("atlas-m-ft"))
    );
    // The same bugs, on the same base models' leaves.
    let (before, after) = (plain.world.truth(), world.truth());
    assert_eq!(
        before.iter().map(|t| &t.name).collect::<Vec<_>>(),
        after.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    for (b, a) in before.iter().zip(&after) {
        assert!(!a.leaves.is_empty(), "{} touches no leaf", a.name);
        assert!(a.leaves.len() >= b.leaves.len(), "{}", a.name);
        assert_eq!(a.scope, b.scope);
    }
    let share: f64 = world.leaves().iter().map(|l| l.traffic_share).sum();
    assert!((share - 1.0).abs() < 1e-9);
}

#[test]
fn demo_server_with_leaves_listens_and_says_how_long_its_history_took() {
    let dir = TempDir::new("demo-scale");
    let port = free_port();
    let started = Instant::now();
    let mut child = qualtop_command("demo-scale")
        .args([
            "demo-server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--leaves",
            "2000",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut said = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("2000 leaves") {
            said = Some(line);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no word in time"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let said = said.expect("the scale line");
    assert!(said.contains("listening after"), "{said}");
    let refused = qualtop_command("demo-scale-big")
        .args(["demo-server", "--leaves", "50001"])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "more than 50,000 leaves is refused"
    );
}
