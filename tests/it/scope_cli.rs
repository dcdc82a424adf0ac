//! `qualtop scope` as a process: a CSV file in, the cause out; a malformed
//! file names its line.

use crate::support;

use std::fmt::Write;
use std::path::PathBuf;
use std::process::Output;

fn qualtop(args: &[&str]) -> Output {
    support::qualtop_command("scope")
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A file in a directory of its own, which goes when the `TempDir` does.
fn write_temp(name: &str, text: &str) -> (support::TempDir, PathBuf) {
    let dir = support::TempDir::new("scope-cli");
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// real/predict per leaf; model m2 on tpu lost 30 %.
fn additive_csv() -> String {
    let mut csv = String::from("model,hardware,real,predict\n");
    for (i, m) in ["m1", "m2", "m3"].iter().enumerate() {
        for (j, h) in ["tpu", "gpu", "trn"].iter().enumerate() {
            let predict = 1000.0 + 37.0 * (i * 3 + j) as f64;
            let wobble = 1.0 + 0.004 * (((i * 7 + j * 3) % 5) as f64 - 2.0);
            let real = if *m == "m2" && *h == "tpu" {
                predict * 0.7
            } else {
                predict * wobble
            };
            writeln!(csv, "{m},{h},{real:.1},{predict:.1}").unwrap();
        }
    }
    csv
}

#[test]
fn scope_of_a_csv_file_names_the_broken_combination_and_exits_0() {
    let (_dir, path) = write_temp("additive.csv", &additive_csv());
    let out = qualtop(&[
        "scope",
        "--input",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v["causes"][0];
    assert_eq!(
        first["scope"],
        serde_json::json!({"model": "m2", "hardware": "tpu"}),
        "{v:#}"
    );
    assert!(first["explains"].as_f64().unwrap() > 0.8, "{v:#}");
    let text = qualtop(&["scope", "--input", path.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("hardware=tpu ∧ model=m2"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn malformed_csv_exits_2_naming_the_file_and_line() {
    let mut csv = additive_csv();
    csv = csv.replacen("m1,gpu,", "m1,gpu,lots,", 1);
    let (_dir, path) = write_temp("broken.csv", &csv);
    let out = qualtop(&["scope", "--input", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Header on line 1, m1/tpu on 2, m1/gpu on 3.
    assert!(
        err.contains("line 3") && err.contains("broken.csv"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_input_file_exits_2_naming_it() {
    let out = qualtop(&["scope", "--input", "/nonexistent/qualtop-input.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("qualtop-input.csv"), "{err}");
}
