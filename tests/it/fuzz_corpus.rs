//! Replays the checked-in fuzz corpus (fuzz/corpus/<target>/*) through the
//! same functions the fuzz targets call, so stable CI guards what nightly
//! fuzzing found without running a fuzzer.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus for {target}");
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run = std::panic::catch_unwind(|| harness::run(target, &data));
        assert!(
            run.is_ok(),
            "{target}: {} broke the property",
            path.display()
        );
    }
}

#[test]
fn every_target_has_a_corpus() {
    for t in harness::TARGETS {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus")
                .join(t)
                .is_dir(),
            "{t}"
        );
    }
}

#[test]
fn protocol_server_corpus_decodes_or_is_refused() {
    replay("protocol_server");
}

#[test]
fn protocol_client_corpus_decodes_or_is_refused() {
    replay("protocol_client");
}

#[test]
fn store_apply_corpus_stays_in_budget_and_reads_back_valid() {
    replay("store_apply");
}

#[test]
fn sanitize_corpus_holds_the_property() {
    replay("sanitize");
}

#[test]
fn relay_ingest_corpus_parses_or_reports() {
    replay("relay_ingest");
}

#[test]
fn scope_csv_corpus_localises_or_errors() {
    replay("scope_csv");
}

#[test]
fn config_toml_corpus_parses_or_names_a_line_in_the_file() {
    replay("config_toml");
}

#[test]
fn theme_toml_corpus_parses_and_fits_or_is_refused() {
    replay("theme_toml");
}

#[test]
fn relay_toml_corpus_parses_or_names_a_line_in_the_file() {
    replay("relay_toml");
}

#[test]
fn annotation_validate_corpus_keeps_the_limits_it_passes() {
    replay("annotation_validate");
}

#[test]
fn prom_answer_corpus_gives_valid_buckets_or_an_error() {
    replay("prom_answer");
}
