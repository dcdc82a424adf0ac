//! The replay's detections kept on disk (`CHANGES_REPLAY_CACHE=dir`), so
//! that tuning the ranking reruns only the ranking: the replay is
//! deterministic per (seed, detection code), and the ranking reads nothing
//! else. Delete the directory whenever detection changes.

use std::path::{Path, PathBuf};

use qualtop::detect::{
    CauseShare, DetectedRegression, ScopeMap, ScopeOrigin, TrackAlarm, TrackLevel,
};
use qualtop::protocol::SignalRole;
use serde_json::{Value, json};

fn file(dir: &Path, seed: u64) -> PathBuf {
    dir.join(format!("seed-{seed}.json"))
}

fn level_str(l: TrackLevel) -> &'static str {
    l.as_str()
}

fn level_of(s: &str) -> TrackLevel {
    match s {
        "fleet" => TrackLevel::Fleet,
        "group" => TrackLevel::Group,
        _ => TrackLevel::Leaf,
    }
}

fn scope_of(v: &Value) -> ScopeMap {
    serde_json::from_value(v.clone()).unwrap()
}

fn encode(r: &DetectedRegression) -> Value {
    let origin = match r.origin {
        ScopeOrigin::Cause => "cause",
        ScopeOrigin::Track(l) => level_str(l),
    };
    json!({
        "signal": r.signal,
        "role": r.role,
        "scope": r.scope,
        "origin": origin,
        "causes": r.causes.iter().map(|c| json!({"scope": c.scope, "explains": c.explains})).collect::<Vec<_>>(),
        "alarms": r.alarms.iter().map(|a| json!({
            "level": level_str(a.level), "scope": a.scope, "onset": a.onset,
            "detected_at": a.detected_at, "ended_at": a.ended_at, "delta_pp": a.delta_pp,
        })).collect::<Vec<_>>(),
        "onset": r.onset,
        "onset_spread": r.onset_spread,
        "detected_at": r.detected_at,
        "ended_at": r.ended_at,
        "baseline": r.baseline,
        "current": r.current,
        "delta_pp": r.delta_pp,
        "drop_table": r.drop_table,
    })
}

fn decode(v: &Value) -> DetectedRegression {
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    DetectedRegression {
        signal: v["signal"].as_str().unwrap().to_owned(),
        role: serde_json::from_value::<SignalRole>(v["role"].clone()).unwrap(),
        scope: scope_of(&v["scope"]),
        origin: match v["origin"].as_str().unwrap() {
            "cause" => ScopeOrigin::Cause,
            l => ScopeOrigin::Track(level_of(l)),
        },
        causes: v["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| CauseShare {
                scope: scope_of(&c["scope"]),
                explains: c["explains"].as_f64().unwrap(),
            })
            .collect(),
        alarms: v["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| TrackAlarm {
                level: level_of(a["level"].as_str().unwrap()),
                scope: scope_of(&a["scope"]),
                onset: a["onset"].as_i64().unwrap(),
                detected_at: a["detected_at"].as_i64().unwrap(),
                ended_at: a["ended_at"].as_i64(),
                delta_pp: a["delta_pp"].as_f64().unwrap_or(f64::NAN),
            })
            .collect(),
        onset: v["onset"].as_i64().unwrap(),
        onset_spread: serde_json::from_value(v["onset_spread"].clone()).unwrap_or(None),
        detected_at: v["detected_at"].as_i64().unwrap(),
        ended_at: v["ended_at"].as_i64(),
        baseline: f("baseline"),
        current: f("current"),
        delta_pp: f("delta_pp"),
        drop_table: serde_json::from_value(v["drop_table"].clone()).unwrap_or(None),
    }
}

/// The cached detections of `seed`, if `CHANGES_REPLAY_CACHE` names a
/// directory holding them.
pub fn load(seed: u64) -> Option<Vec<DetectedRegression>> {
    let dir = PathBuf::from(std::env::var_os("CHANGES_REPLAY_CACHE")?);
    let text = std::fs::read_to_string(file(&dir, seed)).ok()?;
    let all: Value = serde_json::from_str(&text).unwrap();
    Some(all.as_array().unwrap().iter().map(decode).collect())
}

/// Keeps the detections of `seed` when `CHANGES_REPLAY_CACHE` is set.
pub fn store(seed: u64, found: &[DetectedRegression]) {
    let Some(dir) = std::env::var_os("CHANGES_REPLAY_CACHE").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let all = Value::Array(found.iter().map(encode).collect());
    std::fs::write(file(&dir, seed), all.to_string()).unwrap();
}
