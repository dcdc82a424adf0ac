//! A hostile or broken backend cannot exhaust client memory: rings are
//! allocated on data, under a byte budget, and a hello that declares too
//! much is refused before anything is allocated.

use std::fmt::Write as _;

use crate::support::alone;
use crate::support::store::*;
use qualtop::protocol::{DecodeError, PointError, ServerMessage, decode_server};
use qualtop::store::{Drops, Store};

const MINUTE: i64 = 60_000;
const WEEK: i64 = 7 * 24 * 60 * MINUTE;
const NOW_WALL: i64 = 1_700_000_000_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn hello_json(signals: usize, history_ms: i64) -> String {
    let mut sig = String::new();
    for i in 0..signals {
        if i > 0 {
            sig.push(',');
        }
        let _ = write!(
            sig,
            r#"{{"name":"signal-number-{i:05}-with-a-long-name","kind":"ratio","role":"quality"}}"#
        );
    }
    format!(
        r#"{{"type":"hello","protocol":1,"server":"evil","epoch":"e","dimensions":["model","hw"],"signals":[{sig}],"bucket_ms":{MINUTE},"history_ms":{history_ms},"now":{NOW_WALL}}}"#
    )
}

fn week_store(budget: Option<usize>) -> (Store, qualtop::store::SourceBinding) {
    let text = hello_json(1, WEEK);
    let Ok(Some(ServerMessage::Hello(hello))) = decode_server(&text) else {
        panic!("a one-signal hello decodes");
    };
    let mut store = match budget {
        Some(b) => Store::with_budget(b),
        None => Store::new(),
    };
    let binding = store.bind_source(0, &hello).expect("valid hello");
    assert_eq!(store.capacity(), 7 * 24 * 60);
    (store, binding)
}

/// A 5 MB snapshot: `slices` series of one bucket each, at the clock.
fn wide_snapshot(slices: usize) -> String {
    let mut s = String::with_capacity(slices * 110);
    let _ = write!(
        s,
        r#"{{"type":"snapshot","seq":1,"from":{},"to":{NOW_WALL},"series":["#,
        NOW_WALL - WEEK
    );
    for i in 0..slices {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"slice":{{"model":"m{i}","hw":"h{}"}},"signal":"signal-number-00000-with-a-long-name","start":{NOW_WALL},"good":[9],"total":[10]}}"#,
            i % 7
        );
    }
    s.push_str("]}");
    s
}

#[test]
fn hello_declaring_5000_signals_is_refused_with_a_reason_and_allocates_nothing() {
    // RSS is the whole process's: measured where no other test runs.
    alone(
        "store_budget::hello_declaring_5000_signals_is_refused_with_a_reason_and_allocates_nothing",
        || {
            let text = hello_json(5_000, WEEK);
            assert!(text.len() > 300_000, "a 300 KB hello");
            let before = rss_kib();
            let err = decode_server(&text).expect_err("refused");
            assert!(matches!(err, DecodeError::RefusedHello(_)), "{err:?}");
            assert!(err.to_string().contains("5000 signals"), "{err}");
            let grown = rss_kib().saturating_sub(before);
            eprintln!("5,000-signal hello: RSS +{grown} KiB");
            assert!(grown < 64 * 1024, "RSS grew {grown} KiB");
        },
    );
}

#[test]
fn store_refuses_a_hello_beyond_the_caps_even_without_the_decoder() {
    let mut h = hello_with(BUCKET, NOW);
    let spec = h.signals[0].clone();
    h.signals = (0..5_000)
        .map(|i| qualtop::protocol::SignalSpec {
            name: format!("s{i}"),
            ..spec.clone()
        })
        .collect();
    let err = Store::new().bind_source(0, &h).expect_err("refused");
    assert!(err.contains("at most 256"), "{err}");
    let mut h = hello_with(BUCKET, NOW);
    h.history_ms = i64::MAX;
    let err = Store::new().bind_source(0, &h).expect_err("refused");
    assert!(err.contains("buckets of history"), "{err}");
    let mut h = hello_with(BUCKET, NOW);
    h.signals.push(h.signals[0].clone());
    let err = Store::new().bind_source(0, &h).expect_err("refused");
    assert!(err.contains("declared twice"), "{err}");
}

#[test]
fn snapshot_of_50000_slices_with_a_week_of_history_costs_memory_for_its_data_only() {
    // RSS is the whole process's: measured where no other test runs.
    alone(
        "store_budget::snapshot_of_50000_slices_with_a_week_of_history_costs_memory_for_its_data_only",
        || {
            let (mut store, binding) = week_store(None);
            let text = wide_snapshot(50_000);
            assert!(text.len() > 4_000_000, "a 5 MB snapshot: {}", text.len());
            let before = rss_kib();
            let mut drops = Drops::default();
            {
                let Ok(Some(ServerMessage::Snapshot(snap))) = decode_server(&text) else {
                    panic!("snapshot decodes");
                };
                for s in &snap.series {
                    store.apply_series(&binding, s, &mut drops);
                }
            }
            assert_eq!(drops.total(), 0, "{}", drops.summary());
            assert_eq!(store.slices().len(), 50_000);
            // Was 50,000 × 10,080 × 8 B = 4 GB up front; now one page and one
            // page table per slice that has data.
            assert!(
                store.used_bytes() < 128 << 20,
                "{} bytes",
                store.used_bytes()
            );
            let grown = rss_kib().saturating_sub(before);
            eprintln!(
                "50,000-slice snapshot: RSS +{grown} KiB, rings {} bytes",
                store.used_bytes()
            );
            assert!(grown < 512 * 1024, "RSS grew {grown} KiB");
            let id = id_of_model(&store, "m49999");
            let head = store.head().expect("head");
            let sig = store.signal_by_name("signal-number-00000-with-a-long-name");
            let r = store.ratio(sig.expect("signal"), id, head).expect("stored");
            assert_eq!((r.good, r.total), (9, 10));
        },
    );
}

fn id_of_model(store: &Store, model: &str) -> qualtop::store::SliceId {
    let slices = store.slices();
    slices
        .ids()
        .find(|&id| slices.pairs(id).any(|(_, v)| v == model))
        .unwrap_or_else(|| panic!("{model} not interned"))
}

#[test]
fn dense_week_over_the_budget_is_refused_and_counted_as_memory_budget() {
    let budget = 8 << 20;
    let (mut store, binding) = week_store(Some(budget));
    let len = 7 * 24 * 60;
    let mut drops = Drops::default();
    for i in 0..200 {
        let series = qualtop::protocol::Series {
            slice: qualtop::protocol::SliceMap::from_pairs([
                ("model", format!("m{i}").as_str()),
                ("hw", "h"),
            ])
            .into_owned(),
            signal: qualtop::protocol::CowStr::from(
                "signal-number-00000-with-a-long-name".to_string(),
            ),
            start: NOW_WALL - (len as i64 - 1) * MINUTE,
            good: Some(vec![Some(1); len]),
            total: Some(vec![Some(2); len]),
            values: None,
        };
        store.apply_series(&binding, &series, &mut drops);
    }
    assert!(store.used_bytes() <= budget, "{}", store.used_bytes());
    assert!(drops.count(PointError::MemoryBudget) > 0);
    assert_eq!(
        drops.count(PointError::MemoryBudget),
        store.refused_for_budget()
    );
    assert!(drops.summary().contains("refused: memory budget"));
    // What was stored before the budget ran out is still there.
    let sig = store.signal_by_name("signal-number-00000-with-a-long-name");
    let head = store.head().expect("head");
    let first = id_of_model(&store, "m0");
    assert!(store.ratio(sig.expect("signal"), first, head).is_some());
}

#[test]
fn a_jump_past_the_ring_gives_the_memory_back() {
    let (mut store, binding) = week_store(None);
    let mut drops = Drops::default();
    let text = wide_snapshot(1_000);
    let Ok(Some(ServerMessage::Snapshot(snap))) = decode_server(&text) else {
        panic!("snapshot decodes");
    };
    for s in &snap.series {
        store.apply_series(&binding, s, &mut drops);
    }
    assert!(store.used_bytes() > 0);
    store.set_now(NOW_WALL + 2 * WEEK);
    assert_eq!(store.used_bytes(), 0);
}
