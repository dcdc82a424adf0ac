//! `qualtop snapshot` as a process: exit codes and output, loopback only.

use crate::support;

fn qualtop(args: &[&str]) -> std::process::Output {
    support::qualtop_command("snapshot")
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn snapshot_of_an_unreachable_backend_exits_2_with_a_reason() {
    let out = qualtop(&["snapshot", "--metrics", "ws://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect") && err.contains("ws://127.0.0.1:1"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn snapshot_with_a_bad_format_exits_2() {
    let out = qualtop(&["snapshot", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_tui_refuses_to_start_without_a_terminal() {
    let out = qualtop(&["--metrics", "ws://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a terminal"), "{err}");
}

#[test]
fn snapshot_of_the_demo_prints_the_table_as_text_and_json() {
    let out = qualtop(&["snapshot", "--ascii"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("whole fleet") && text.is_ascii(), "{text}");
    let out = qualtop(&["snapshot", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["rows"].as_array().is_some_and(|r| r.len() > 1));
}
