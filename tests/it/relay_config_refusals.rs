//! Broken server configs, through the real binary: `qualtop serve` and
//! `qualtop demo-server` refuse each at start with a message naming the key
//! (or the flag), instead of starting a server no client can use or
//! allocating until the process dies.

use crate::support;

use std::process::Output;
use std::time::Duration;

const BASE: &str = r#"
listen = "127.0.0.1:0"
bucket = "1m"
history = "1h"
dimensions = ["model", "hardware"]

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#;

/// Runs the binary; a server that starts is killed after a while (and fails the case).
fn run(scratch: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = support::qualtop_command(scratch);
    cmd.args(args)
        .env_remove("QUALTOP_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("qualtop runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_refuses_broken_limits_and_dimensions_naming_the_key() {
    let tmp = support::TempDir::new("relay-config-refusals");
    let cases: &[(&str, &str, &str)] = &[
        (
            "dimensions = [\"model\", \"hardware\"]",
            "dimensions = [\"model\", \"model\"]",
            "\"model\" is listed twice",
        ),
        (
            "dimensions = [\"model\", \"hardware\"]",
            "dimensions = [\"model\", \"\"]",
            "\"\" is not a name",
        ),
        (
            "",
            "[limits]\nmax_frame_bytes = 0",
            "limits.max_frame_bytes = 0",
        ),
        (
            "",
            "[limits]\nclient_queue = 1000000000",
            "limits.client_queue",
        ),
        ("", "[limits]\nclient_queue = 1e9", "floating point"),
        ("", "[limits]\nmax_slices = 0", "limits.max_slices = 0"),
        (
            "",
            "[limits]\nmax_label_value_bytes = 0",
            "limits.max_label_value_bytes",
        ),
        (
            "",
            "[limits]\nmax_connections = 0",
            "limits.max_connections = 0",
        ),
        (
            "",
            "[limits]\nmax_connections = 10\nmax_connections_per_ip = 20",
            "limits.max_connections_per_ip = 20",
        ),
        (
            "",
            "[limits]\nheader_timeout = \"0s\"",
            "limits.header_timeout",
        ),
        (
            "",
            "[limits]\nsend_timeout = \"1000h\"",
            "limits.send_timeout",
        ),
        (
            "",
            "[limits]\nmax_body_bytes = 0",
            "limits.max_body_bytes = 0",
        ),
        ("bucket = \"1m\"", "bucket = \"0s\"", "bucket"),
        ("history = \"1h\"", "history = \"100000h\"", "history"),
    ];
    for (i, (from, to, word)) in cases.iter().enumerate() {
        let text = if from.is_empty() {
            format!("{BASE}\n{to}\n")
        } else {
            BASE.replacen(from, to, 1)
        };
        let path = tmp.path().join(format!("relay-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = run(
            "relay-config-refusals",
            &["serve", "--config", path.to_str().unwrap()],
            &[],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{to:?} was accepted: {err}");
        assert!(err.contains(word), "{to:?}: stderr lacks {word:?}: {err}");
        assert!(
            err.contains(&format!("relay-{i}.toml:")),
            "{to:?}: no file and line: {err}"
        );
    }
}

#[test]
fn demo_server_refuses_an_absurd_scenario_history_naming_the_key() {
    let tmp = support::TempDir::new("demo-scenario-refusal");
    let builtin = qualtop::demo::Scenario::builtin_text();
    let path = tmp.path().join("huge.toml");
    std::fs::write(
        &path,
        builtin.replacen("history_minutes = 360", "history_minutes = 100000000", 1),
    )
    .unwrap();
    let out = run(
        "demo-scenario-refusal",
        &[
            "demo-server",
            "--listen",
            "127.0.0.1:0",
            "--scenario",
            path.to_str().unwrap(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("clock.history_minutes = 100000000"), "{err}");
    assert!(err.contains("huge.toml"), "{err}");
}

#[test]
fn demo_server_beyond_loopback_needs_a_token() {
    let out = run("demo-open", &["demo-server", "--listen", "0.0.0.0:0"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("not loopback") && err.contains("$QUALTOP_TOKEN"),
        "{err}"
    );
}
