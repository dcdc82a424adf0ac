//! `qualtop scope` on CSV input: both forms, both outputs, malformed rows.

use std::fmt::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use qualtop::cli::scope::{Direction, OutputFormat, ScopeArgs, run_scope};

const HARDWARE: [&str; 3] = ["tpu", "gpu", "trn"];
const PLATFORM: [&str; 3] = ["api", "web", "app"];
const MODEL: [&str; 4] = ["m1", "m2", "m3", "m4"];

fn args(format: OutputFormat) -> ScopeArgs {
    ScopeArgs {
        format,
        ..ScopeArgs::for_input("input.csv")
    }
}

/// real/predict per leaf, with `factor` applied to the real value.
fn additive_csv(factor: impl Fn(&str, &str, &str) -> f64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut csv = String::from("hardware,platform,model,real,predict\n");
    for h in HARDWARE {
        for p in PLATFORM {
            for m in MODEL {
                let predict = rng.random_range(500.0..1500.0);
                let real = predict * rng.random_range(0.98..1.02) * factor(h, p, m);
                writeln!(csv, "{h},{p},{m},{real:.2},{predict:.2}").unwrap();
            }
        }
    }
    csv
}

/// 30 baseline minutes at 90 % (binomial-ish noise), then minute 30 with
/// `rate(h, m)`; minute 31 (after --at when given) all broken.
fn ratio_csv(rate: impl Fn(&str, &str) -> f64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut csv = String::from("ts,model,hardware,good,total\n");
    for minute in 0..32 {
        for m in MODEL {
            for h in HARDWARE {
                let total = 2000;
                let p = match minute {
                    30 => rate(h, m),
                    31 => 0.1,
                    _ => 0.9,
                };
                let good = (0..total).filter(|_| rng.random::<f64>() < p).count();
                writeln!(csv, "{},{m},{h},{good},{total}", minute * 60_000).unwrap();
            }
        }
    }
    csv
}

#[test]
fn expected_vs_actual_form_finds_the_combination_as_json() {
    let csv = additive_csv(|h, p, _| if h == "tpu" && p == "api" { 0.8 } else { 1.0 });
    let out = run_scope(&args(OutputFormat::Json), &csv).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let causes = v["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{out}");
    assert_eq!(
        causes[0]["scope"],
        serde_json::json!({"hardware": "tpu", "platform": "api"})
    );
    let explains = causes[0]["explains"].as_f64().unwrap();
    assert!(explains > 0.85, "{out}");
    assert!(causes[0]["expected"].as_f64().unwrap() > causes[0]["actual"].as_f64().unwrap());
}

#[test]
fn ratio_time_series_form_tests_the_bucket_named_by_at() {
    let csv = ratio_csv(|_, m| if m == "m2" { 0.85 } else { 0.9 });
    let a = ScopeArgs {
        at: Some("1800000".into()),
        ..args(OutputFormat::Text)
    };
    let out = run_scope(&a, &csv).unwrap();
    let first = out.lines().nth(1).unwrap_or_default();
    assert!(first.contains("model=m2"), "{out}");
    assert_eq!(out.lines().count(), 2, "one cause only: {out}");
}

#[test]
fn ratio_form_without_at_tests_the_latest_bucket() {
    // The latest bucket (minute 31) is broken everywhere: a general drop.
    let csv = ratio_csv(|_, _| 0.9);
    let out = run_scope(&args(OutputFormat::Text), &csv).unwrap();
    assert!(out.contains("whole fleet"), "{out}");
}

#[test]
fn a_healthy_bucket_has_no_cause() {
    let csv = ratio_csv(|_, _| 0.9);
    let a = ScopeArgs {
        at: Some("1800000".into()),
        ..args(OutputFormat::Text)
    };
    assert_eq!(
        run_scope(&a, &csv).unwrap(),
        "no cause found: the deficit is within noise\n"
    );
}

#[test]
fn direction_up_finds_a_rise() {
    let csv = additive_csv(|_, _, m| if m == "m3" { 1.3 } else { 1.0 });
    let down = run_scope(&args(OutputFormat::Json), &csv).unwrap();
    assert!(!down.contains("m3"), "{down}");
    let a = ScopeArgs {
        direction: Direction::Up,
        ..args(OutputFormat::Json)
    };
    let up: serde_json::Value = serde_json::from_str(&run_scope(&a, &csv).unwrap()).unwrap();
    assert_eq!(up["causes"][0]["scope"], serde_json::json!({"model": "m3"}));
    assert_eq!(up["causes"][0]["direction"], "up");
}

#[test]
fn custom_column_names_are_honoured() {
    let csv = ratio_csv(|_, m| if m == "m2" { 0.85 } else { 0.9 }).replacen(
        "ts,model,hardware,good,total",
        "time,model,hardware,pass,n",
        1,
    );
    let a = ScopeArgs {
        ts_col: "time".into(),
        good_col: "pass".into(),
        total_col: "n".into(),
        at: Some("1800000".into()),
        ..args(OutputFormat::Text)
    };
    assert!(run_scope(&a, &csv).unwrap().contains("model=m2"));
}

fn error_of(csv: &str) -> String {
    format!(
        "{:#}",
        run_scope(&args(OutputFormat::Text), csv).unwrap_err()
    )
}

#[test]
fn a_count_that_is_not_a_number_names_its_line() {
    let csv = "ts,model,good,total\n0,m1,90,100\n0,m2,90,100\n60000,m1,lots,100\n";
    let e = error_of(csv);
    assert!(e.contains("line 4") && e.contains("good"), "{e}");
}

#[test]
fn more_good_than_total_names_its_line() {
    let csv = "ts,model,good,total\n0,m1,90,100\n60000,m1,120,100\n";
    let e = error_of(csv);
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn a_row_with_missing_fields_names_its_line() {
    let csv = "model,real,predict\nm1,10,10\nm2,10\n";
    let e = error_of(csv);
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn a_negative_value_names_its_line() {
    let csv = "model,real,predict\nm1,10,10\nm2,-4,10\n";
    let e = error_of(csv);
    assert!(e.contains("line 3") && e.contains("real"), "{e}");
}

#[test]
fn a_header_of_neither_form_is_refused() {
    let e = error_of("model,value\nm1,3\n");
    assert!(e.contains("real") && e.contains("good"), "{e}");
}

#[test]
fn an_at_that_no_row_has_is_refused() {
    let a = ScopeArgs {
        at: Some("42".into()),
        ..args(OutputFormat::Text)
    };
    let e = format!(
        "{:#}",
        run_scope(&a, "ts,m,good,total\n0,a,1,2\n").unwrap_err()
    );
    assert!(e.contains("42"), "{e}");
}
