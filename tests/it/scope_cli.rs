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

#[test]
fn dev_zero_is_refused_as_not_text_with_exit_2_instead_of_read_until_memory_runs_out() {
    let started = std::time::Instant::now();
    let out = qualtop(&["scope", "--input", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NUL byte") && err.contains("not a text"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_line_longer_than_the_limit_is_refused_naming_it() {
    let mut csv = String::from("ts,model,good,total\n1,a,1,2\n2,");
    csv.push_str(&"x".repeat(70_000));
    csv.push_str(",1,2\n");
    let (_dir, path) = write_temp("long.csv", &csv);
    let out = qualtop(&["scope", "--input", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3: longer than 65536 bytes"), "{err}");
}

#[test]
fn repeated_rows_of_a_leaf_and_bucket_are_summed_while_streaming() {
    // Each row twice: the same cause, with every count doubled.
    let mut once = String::from("ts,hw,good,total\n");
    for t in 0..20 {
        for hw in ["tpu", "gpu", "trn"] {
            let good = if t == 19 && hw == "tpu" { 50 } else { 90 };
            writeln!(once, "{t},{hw},{good},100").unwrap();
        }
    }
    let twice: String = once.lines().skip(1).flat_map(|l| [l, l]).fold(
        String::from("ts,hw,good,total\n"),
        |mut acc, l| {
            acc.push_str(l);
            acc.push('\n');
            acc
        },
    );
    let run = |csv: &str| {
        let (_dir, path) = write_temp("rows.csv", csv);
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
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (one, two) = (run(&once), run(&twice));
    assert_eq!(one["causes"][0]["scope"]["hw"], "tpu", "{one}");
    assert_eq!(two["causes"][0]["scope"], one["causes"][0]["scope"]);
    let actual = |v: &serde_json::Value| v["causes"][0]["actual"].as_f64().unwrap();
    assert_eq!(actual(&two), 2.0 * actual(&one));
}
