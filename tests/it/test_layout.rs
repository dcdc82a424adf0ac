//! With `autotests = false` cargo builds no test file it is not told of:
//! a test file outside this binary would never run, and nobody would know.

use std::path::Path;

fn rust_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_test_file_is_a_module_of_the_one_test_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let outside = rust_files(&tests);
    assert!(
        outside.is_empty(),
        "{outside:?} in tests/ would never be built: move them to tests/it/ and add a `mod` line to tests/it/main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it").join("main.rs")).expect("tests/it/main.rs");
    let missing: Vec<String> = rust_files(&tests.join("it"))
        .into_iter()
        .filter(|f| f != "main.rs")
        .filter(|f| !main.contains(&format!("mod {};", f.trim_end_matches(".rs"))))
        .collect();
    assert!(
        missing.is_empty(),
        "{missing:?} in tests/it/ are not declared in tests/it/main.rs, so they never run"
    );
}
