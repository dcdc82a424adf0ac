//! What each fuzz target does with its input, shared with the stable test
//! that replays the checked-in corpus (tests/it/fuzz_corpus.rs): one function
//! per target, panicking on a broken property. Uses qualtop's public API only.
#![allow(dead_code)] // each user calls its own part

use std::collections::HashMap;

use qualtop::protocol::{
    Hello, ServerMessage, SignalKind, SignalRole, SignalSpec, decode_client, decode_server,
};
use qualtop::store::{BucketRange, Drops, SliceId, Store};

/// The clock of the fixed backend the store targets bind: 2023-11-14.
pub const NOW: i64 = 1_700_000_000_000;
const BUCKET: i64 = 60_000;
/// A small budget, so the fuzzer reaches the refusals too.
const BUDGET: usize = 256 << 10;

/// The target names, as the corpus folders are named.
pub const TARGETS: &[&str] = &[
    "protocol_server",
    "protocol_client",
    "store_apply",
    "sanitize",
    "relay_ingest",
    "scope_csv",
    "config_toml",
    "theme_toml",
    "relay_toml",
    "annotation_validate",
    "prom_answer",
];

/// Runs `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "protocol_server" => protocol_server(data),
        "protocol_client" => protocol_client(data),
        "store_apply" => store_apply(data),
        "sanitize" => sanitize(data),
        "relay_ingest" => relay_ingest(data),
        "scope_csv" => scope_csv(data),
        "config_toml" => config_toml(data),
        "theme_toml" => theme_toml(data),
        "relay_toml" => relay_toml(data),
        "annotation_validate" => annotation_validate(data),
        "prom_answer" => prom_answer(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// A frame from a backend: decoded or refused, never a panic; what decodes
/// encodes again to a frame that decodes.
pub fn protocol_server(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(msg)) = decode_server(text) {
        let again = msg.to_json();
        assert!(
            decode_server(&again).is_ok(),
            "re-encoded frame does not decode: {again}"
        );
    }
}

/// A frame from a client (what the demo server and the relay read).
pub fn protocol_client(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(msg)) = decode_client(text) {
        let again = msg.to_json();
        assert!(
            decode_client(&again).is_ok(),
            "re-encoded frame does not decode: {again}"
        );
    }
}

fn hello() -> Hello {
    let spec = |name: &str, kind, role| SignalSpec {
        name: name.into(),
        kind,
        role,
        unit: None,
    };
    Hello {
        protocol: 1,
        server: "fuzz".into(),
        epoch: "e".into(),
        dimensions: vec!["model".into(), "hw".into()],
        signals: vec![
            spec("quality", SignalKind::Ratio, SignalRole::Quality),
            spec("p99", SignalKind::Gauge, SignalRole::Latency),
        ],
        bucket_ms: BUCKET,
        history_ms: 64 * BUCKET,
        now: NOW,
        features: vec![],
    }
}

/// A frame applied to a store bound to a fixed backend: snapshot series,
/// batch points, a heartbeat's clock or a second backend's hello. The store
/// stays within its budget and every bucket reads back as valid counts.
pub fn store_apply(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut store = Store::with_budget(BUDGET);
    let binding = store
        .bind_source(0, &hello())
        .expect("the fixed hello binds");
    let mut drops = Drops::default();
    match decode_server(text) {
        Ok(Some(ServerMessage::Snapshot(s))) => {
            store.reset_source(&binding);
            for series in &s.series {
                store.apply_series(&binding, series, &mut drops);
            }
        }
        Ok(Some(ServerMessage::Batch(b))) => {
            for p in &b.points {
                if let Err(e) = store.apply_point(&binding, p) {
                    drops.add(e);
                }
            }
        }
        Ok(Some(ServerMessage::Heartbeat(h))) => store.set_now(h.now),
        Ok(Some(ServerMessage::Hello(h))) => {
            let _ = store.bind_source(1, &h);
        }
        _ => return,
    }
    assert!(
        store.used_bytes() <= store.budget(),
        "{} bytes held over a budget of {}",
        store.used_bytes(),
        store.budget()
    );
    let Some(head) = store.head() else { return };
    let range = BucketRange::ending_at(head, store.capacity());
    let slices: Vec<SliceId> = store.slices().ids().collect();
    let members: Vec<(SliceId, u32)> = slices.iter().map(|&s| (s, 0)).collect();
    for (i, _) in store.signals().iter().enumerate() {
        let sig = qualtop::store::SignalId(i as u16);
        let _ = store.rollup_groups(sig, &members, 1, range);
        for &slice in &slices {
            for b in range.iter() {
                if let Some(r) = store.ratio(sig, slice, b) {
                    assert!(r.good <= r.total, "good {} > total {}", r.good, r.total);
                }
                if let Some(v) = store.gauge(sig, slice, b) {
                    assert!(v.is_finite(), "gauge {v} stored");
                }
            }
        }
    }
}

/// Characters that must never reach the terminal, listed here apart from
/// the sanitiser's own tables so a gap in those cannot hide itself.
fn forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' // C0, ESC, DEL, C1
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' // bidi embed/override/isolate
        | '\u{200e}' | '\u{200f}' | '\u{061c}' // bidi marks
        | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' // zero-width space/joiners, WJ, BOM
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
    )
}

/// Any text through the sanitiser: the output holds no C0/C1 control, ESC,
/// bidi control or zero-width character, meets the sanitiser's own
/// property (marks, widths), and a second pass changes nothing.
pub fn sanitize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let out = qualtop::text::sanitize::sanitize(&text);
    if let Some(c) = out.chars().find(|&c| forbidden(c)) {
        panic!("U+{:04X} kept: {text:?} gave {out:?}", c as u32);
    }
    if let Some(v) = qualtop::text::sanitize::violation(&out) {
        panic!("{v}: {text:?} gave {out:?}");
    }
    assert_eq!(
        qualtop::text::sanitize::sanitize(&out),
        out,
        "not idempotent"
    );
}

/// A JSON-lines push body through the relay's parser.
pub fn relay_ingest(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let dims = vec!["model".to_string(), "hw".to_string()];
    let signals: HashMap<String, SignalKind> = [
        ("quality".to_string(), SignalKind::Ratio),
        ("p99".to_string(), SignalKind::Gauge),
    ]
    .into_iter()
    .collect();
    let rules = qualtop::relay::ingest::IngestRules {
        dimensions: &dims,
        signals: &signals,
        now: NOW,
        window_ms: 64 * BUCKET,
        bucket_ms: BUCKET,
        max_points: 1_000,
    };
    if let Ok((points, report)) = qualtop::relay::ingest::parse_points(body, &rules) {
        assert_eq!(points.len(), report.accepted);
        assert!(report.errors.len() <= report.rejected);
    }
}

/// A CSV through `qualtop scope`'s reader and localiser, both forms.
pub fn scope_csv(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let args = qualtop::cli::scope::ScopeArgs::for_input("fuzz.csv");
    let _ = qualtop::cli::scope::run_scope(&args, input);
}

/// A config file (`config.toml`): parsed or refused with a line inside it.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = qualtop::config::Config::parse(text, std::path::Path::new("fuzz.toml")) {
        assert_line_within(e.line, text, &e.message);
    }
}

/// A theme file: parsed or refused; what parses fits a colour depth (one
/// per input, by its length: fitting costs more than parsing).
pub fn theme_toml(data: &[u8]) {
    use qualtop::theme::ColorDepth;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(theme) = qualtop::theme::Theme::parse(text, "fuzz.toml") {
        let depth = [
            ColorDepth::TrueColor,
            ColorDepth::Ansi256,
            ColorDepth::Ansi16,
            ColorDepth::Mono,
        ][text.len() % 4];
        let _ = theme.for_depth(depth);
    }
}

/// A relay config (`relay.toml`), with every secret variable set: parsed,
/// or refused with a line inside the file.
pub fn relay_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |_: &str| Some("fuzz-secret".to_string());
    if let Err(e) =
        qualtop::relay::config::RelayConfig::parse(text, std::path::Path::new("relay.toml"), &env)
    {
        assert_line_within(e.line, text, &e.message);
    }
}

fn assert_line_within(line: usize, text: &str, message: &str) {
    let lines = text.matches('\n').count() + 1;
    assert!(
        (1..=lines).contains(&line),
        "error on line {line} of a {lines}-line file: {message}"
    );
}

/// An annotation (JSON, as a client sends it) through the server's checks:
/// what passes keeps the documented limits and passes again after a round
/// trip through JSON; what fails names at most 64 characters of its id.
pub fn annotation_validate(data: &[u8]) {
    let Ok(a) = serde_json::from_slice::<qualtop::protocol::Annotation>(data) else {
        return;
    };
    let dims = ["model".to_string(), "hw".to_string()];
    match qualtop::annotations::validate_annotation(&a, &dims, NOW) {
        Ok(()) => {
            assert!(!a.id.is_empty() && a.id.len() <= 64, "id {:?}", a.id);
            assert!(
                a.id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "id {:?}",
                a.id
            );
            assert!(a.text.len() <= qualtop::protocol::MAX_ANNOTATION_TEXT);
            assert!(!a.author.trim().is_empty());
            assert!(a.scope.keys().all(|k| dims.contains(k)), "{:?}", a.scope);
            assert!(a.from > 0 && a.to.is_none_or(|t| t >= a.from));
            let json = serde_json::to_string(&a).expect("an annotation serialises");
            let back: qualtop::protocol::Annotation =
                serde_json::from_str(&json).expect("its JSON reads back");
            assert_eq!(back, a);
            assert!(qualtop::annotations::validate_annotation(&back, &dims, NOW).is_ok());
        }
        Err(e) => assert!(e.id.chars().count() <= 64, "error names {:?}", e.id),
    }
}

/// A Prometheus API answer (`/api/v1/query_range` or `/api/v1/query`) parsed
/// and turned into buckets, as ratio (first half of the series good, the
/// rest total) and as gauge: every bucket is a valid count or a finite
/// gauge, on a slice of exactly the relay's dimensions, in bucket order.
pub fn prom_answer(data: &[u8]) {
    use qualtop::protocol::BucketValue;
    use qualtop::relay::convert::{Bucketed, gauge_buckets, ratio_buckets};
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(series) = qualtop::relay::prometheus::parse_answer(body) else {
        return;
    };
    let dims = ["model".to_string(), "hw".to_string()];
    let half = series.len() / 2;
    let check = |out: &[Bucketed]| {
        assert!(out.windows(2).all(|w| w[0].bucket <= w[1].bucket), "order");
        for b in out {
            assert_eq!(b.slice.len(), dims.len(), "{:?}", b.slice);
            match b.value {
                BucketValue::Ratio { good, total } => {
                    assert!(good <= total, "good {good} > total {total}");
                    assert!(i64::from(total) <= qualtop::protocol::MAX_COUNT);
                }
                BucketValue::Gauge(v) => assert!(v.is_finite(), "gauge {v}"),
            }
        }
    };
    let (ratio, _) = ratio_buckets(&series[..half], &series[half..], &dims, BUCKET);
    check(&ratio);
    let (gauge, skipped) = gauge_buckets(&series, &dims, BUCKET);
    check(&gauge);
    let samples: usize = series.iter().map(|s| s.samples.len()).sum();
    assert!(gauge.len() as u64 + skipped.total() <= samples as u64);
}
