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

/// Any text through the sanitiser: the output holds the property and a
/// second pass changes nothing.
pub fn sanitize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let out = qualtop::text::sanitize::sanitize(&text);
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
