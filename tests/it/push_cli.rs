//! `qualtop push` against a relay: eval cases become good/total per slice,
//! suite and bucket as the client sees them; a malformed line is named by
//! number and skipped without stopping the rest; `--dry-run` prints the
//! aggregated points; CSV with renamed fields and scores works the same.

use crate::support;

use std::time::Duration;

use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use qualtop::store::Ratio;
use support::relay::{client, config, ratio_at};
use support::wait::eventually;

const B: i64 = 1000;

const RELAY: &str = r#"
bucket = "1s"
history = "60s"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#;

fn case(ts: i64, model: &str, passed: bool) -> String {
    format!(
        r#"{{"ts":{ts},"suite":"golden-qa","model":"{model}","hardware":"tpu","passed":{passed}}}"#
    )
}

async fn run(args: Vec<String>, stdin: Option<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = support::qualtop_command("push")
            .arg("push")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("qualtop push");
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(stdin.unwrap_or_default().as_bytes());
        }
        let out = child.wait_with_output().expect("qualtop push output");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_cases_are_counted_per_slice_and_bucket_and_a_malformed_line_is_skipped_by_number() {
    let relay = relay::start(config(RELAY)).await.unwrap();
    let b = wall_ms() / B - 10;
    let lines = [
        case(b * B + 10, "m1", true),
        case(b * B + 500, "m1", false),
        "{not json".to_string(),
        case(b * B + 900, "m2", true),
        case((b + 1) * B, "m1", true),
        case(b * B, "m1", true).replace("golden-qa", "vibes"),
    ];
    let (code, out, err) = run(
        vec!["--relay".into(), relay.http_url("")],
        Some(lines.join("\n")),
    )
    .await;
    assert_eq!(code, 1, "a skipped line makes exit 1: {out} {err}");
    assert!(err.contains("line 3: not a JSON object"), "{err}");
    assert!(err.contains("line 6: suite \"vibes\""), "{err}");
    assert!(out.contains("4 cases in 3 points"), "{out}");
    assert!(out.contains("accepted 3 points (4 cases)"), "{out}");

    let (fleet, _feed) = client(&relay.url(Endpoint::Evals), None);
    let tpu = |m| [("model", m), ("hardware", "tpu")];
    assert!(
        eventually(Duration::from_secs(10), || {
            ratio_at(&fleet, "golden-qa", &tpu("m1"), b * B) == Some(Ratio::new(1, 2))
                && ratio_at(&fleet, "golden-qa", &tpu("m2"), b * B) == Some(Ratio::new(1, 1))
                && ratio_at(&fleet, "golden-qa", &tpu("m1"), (b + 1) * B) == Some(Ratio::new(1, 1))
        })
        .await,
        "the relay does not hold the aggregated cases"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_prints_points_from_csv_with_renamed_fields_and_scores() {
    let csv = "time,suite,model_name,hardware,score\n\
               2025-09-02T00:00:01Z,judge,m1,tpu,0.9\n\
               2025-09-02T00:00:02Z,judge,m1,tpu,0.5\n\
               2025-09-02T00:00:03Z,judge,m1,tpu,not-a-number\n\
               1756771230000,judge,m1,tpu,0.8\n";
    let (code, out, err) = run(
        [
            "--dry-run",
            "--format",
            "csv",
            "--bucket",
            "1m",
            "--dimensions",
            "model,hardware",
            "--pass-if",
            ">=0.8",
            "--field",
            "ts=time",
            "--field",
            "model=model_name",
        ]
        .map(String::from)
        .to_vec(),
        Some(csv.into()),
    )
    .await;
    assert_eq!(code, 1, "{out} {err}");
    assert!(
        err.contains("line 4: score \"not-a-number\" is not a number"),
        "{err}"
    );
    assert!(
        out.contains(r#"{"good":2,"signal":"judge","slice":{"hardware":"tpu","model":"m1"},"total":3,"ts":1756771200000}"#),
        "{out}"
    );
}
