//! The map is true: every module of `src/` uses only modules in layers
//! below its own (docs/architecture.md draws the same table). Reads every
//! `crate::…` path in the source, `use` lines and inline paths alike, test
//! modules included, so a wrong arrow fails here before review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use its own files and any module
/// in a lower row; nothing in its row or above.
const LAYERS: &[&[&str]] = &[
    &["protocol"],
    &["clock", "text", "tls"],
    &["store", "config", "theme"],
    &["detect", "annotations"],
    &["feed", "server"],
    &["demo", "relay", "view"],
    &["app", "client"],
    &["ui"],
    &["tui"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None`: the crate root
/// files, which may use anything).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// Text without `//` comments (doc comments may name any module).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module named right after `crate::`, in paths and in `use crate::{a, b::c}` groups.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && (c.is_alphanumeric() || c == '_') {
                    if item_start {
                        word.push(c);
                    }
                } else {
                    if !word.is_empty() {
                        used.insert(std::mem::take(&mut word));
                    }
                    item_start = depth == 1 && (c == ',' || (c.is_whitespace() && item_start));
                }
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !word.is_empty() {
                used.insert(word);
            }
        }
    }
    used
}

/// (file, its module, the module it wrongly uses) for every arrow that
/// points up or sideways.
fn wrong_arrows(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "{}: module `{module}` is in no layer of the table",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source is UTF-8");
        for used in used_modules(&code_of(&text)) {
            if used == module {
                continue;
            }
            match layer_of(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!(
                    "{}: `{module}` (layer {own}) uses `{used}`, which is not below it",
                    file.display()
                )),
                None => {}
            }
        }
    }
    wrong
}

#[test]
fn every_module_uses_only_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = wrong_arrows(&src);
    assert!(
        wrong.is_empty(),
        "arrows against the map:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(
        declared.len() > 5,
        "lib.rs declares its modules: {declared:?}"
    );
    for m in declared {
        assert!(layer_of(m).is_some(), "`{m}` is in no layer");
    }
}

/// The checker itself catches a wrong import, in both spellings.
#[test]
fn a_deliberate_wrong_import_is_caught() {
    let dir = std::env::temp_dir().join(format!("qualtop-layering-{}", std::process::id()));
    let store = dir.join("store");
    std::fs::create_dir_all(&store).expect("temp dir");
    std::fs::write(
        store.join("mod.rs"),
        "use crate::protocol::Millis;\n// crate::ui in a comment is fine\nuse crate::{clock, ui::render};\n",
    )
    .expect("write");
    std::fs::write(
        store.join("more.rs"),
        "fn f() { crate::app::App::new(); }\n",
    )
    .expect("write");
    let wrong = wrong_arrows(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(wrong.len(), 2, "{wrong:#?}");
    assert!(wrong.iter().any(|w| w.contains("uses `ui`")), "{wrong:#?}");
    assert!(wrong.iter().any(|w| w.contains("uses `app`")), "{wrong:#?}");
}

#[test]
fn groups_are_read_item_by_item() {
    let used = used_modules("use crate::{\n    a::{b, c::d},\n    e,\n    f::g as h,\n};");
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        vec!["a".to_owned(), "e".to_owned(), "f".to_owned()]
    );
}
