//! A fleet with two causes of different depth, watched minute by minute as
//! the TUI and the relay watch it: 90 % everywhere; from
//! [`BROKEN_FROM`] `model=m2 ∧ hardware=tpu` loses 6 points and
//! `hardware=trn` 4.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use qualtop::detect::synthetic::draw_bucket;
use qualtop::detect::{Monitor, MonitorConfig};
use qualtop::protocol::{CowStr, Hello, Point, SignalKind, SignalRole, SignalSpec, SliceMap};
use qualtop::store::Store;

pub const MINUTE: i64 = 60_000;
pub const MODELS: [&str; 4] = ["m1", "m2", "m3", "m4"];
pub const HARDWARE: [&str; 3] = ["tpu", "gpu", "trn"];
pub const BROKEN_FROM: i64 = 300;

/// How the fleet is drawn.
pub struct TwoCauses {
    /// Values of a third dimension, `platform` (none: two dimensions).
    pub platforms: &'static [&'static str],
    /// Trials per leaf and minute.
    pub trials: u64,
    pub seed: u64,
    /// Minutes fed, from 0.
    pub minutes: i64,
    /// What the backend says it holds (`history_ms`), in minutes.
    pub ring_minutes: i64,
}

impl TwoCauses {
    fn hello(&self) -> Hello {
        let mut dimensions = vec!["model".into(), "hardware".into()];
        if !self.platforms.is_empty() {
            dimensions.push("platform".into());
        }
        Hello {
            protocol: 1,
            server: "test".into(),
            epoch: "e".into(),
            dimensions,
            signals: vec![SignalSpec {
                name: "quality".into(),
                kind: SignalKind::Ratio,
                role: SignalRole::Quality,
                unit: None,
            }],
            bucket_ms: MINUTE,
            history_ms: self.ring_minutes * MINUTE,
            now: 0,
            features: vec![],
        }
    }

    /// The store after `minutes`, and a monitor that consumed it minute by
    /// minute.
    pub fn watch(&self) -> (Store, Monitor) {
        let mut store = Store::new();
        let binding = store.bind_source(0, &self.hello()).unwrap();
        let mut monitor = Monitor::new(MonitorConfig::for_bucket_ms(MINUTE));
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let platforms: Vec<Option<&str>> = if self.platforms.is_empty() {
            vec![None]
        } else {
            self.platforms.iter().copied().map(Some).collect()
        };
        for minute in 0..self.minutes {
            store.set_now(minute * MINUTE);
            for m in MODELS {
                for h in HARDWARE {
                    for p in &platforms {
                        let mut rate: f64 = 0.9;
                        if minute >= BROKEN_FROM && m == "m2" && h == "tpu" {
                            rate -= 0.06;
                        }
                        if minute >= BROKEN_FROM && h == "trn" {
                            rate -= 0.04;
                        }
                        let r = draw_bucket(&mut rng, rate, self.trials, 1.3);
                        let mut pairs = vec![("model", m), ("hardware", h)];
                        pairs.extend(p.map(|p| ("platform", p)));
                        let point = Point {
                            slice: SliceMap::from_pairs(pairs),
                            signal: CowStr::from("quality"),
                            ts: minute * MINUTE,
                            good: Some(r.good as i64),
                            total: Some(r.total as i64),
                            value: None,
                        };
                        store.apply_point(&binding, &point).unwrap();
                    }
                }
            }
            monitor.update(&store);
        }
        store.set_now(self.minutes * MINUTE);
        monitor.update(&store);
        (store, monitor)
    }
}
