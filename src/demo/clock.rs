//! The demo's data time: a pure function of wall time and an anchor kept in
//! the data directory, so a restarted `demo-server` (or built-in demo)
//! carries on where it was instead of jumping back to the wall clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::clock::wall_ms;
use crate::protocol::Millis;

/// The file in the data directory that keeps the anchor.
pub const CLOCK_FILE: &str = "demo-clock.json";

/// Data time that runs `speed` buckets per real second: at wall time
/// `ref_wall_ms` it read `ref_data_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoClock {
    ref_wall_ms: Millis,
    ref_data_ms: Millis,
    bucket_ms: Millis,
    speed: f64,
}

impl DemoClock {
    /// A clock that reads `data_ms` at wall time `wall_ms`.
    pub fn new(wall_ms: Millis, data_ms: Millis, bucket_ms: Millis, speed: f64) -> DemoClock {
        DemoClock {
            ref_wall_ms: wall_ms,
            ref_data_ms: data_ms,
            bucket_ms: bucket_ms.max(1),
            speed,
        }
    }

    /// A clock that reads `anchor_ms` now.
    pub fn start(anchor_ms: Millis, bucket_ms: Millis, speed: f64) -> DemoClock {
        DemoClock::new(wall_ms(), anchor_ms, bucket_ms, speed)
    }

    /// Data time at wall time `wall`.
    pub fn at(&self, wall: Millis) -> Millis {
        let data = (wall - self.ref_wall_ms) as f64 * self.scale();
        self.ref_data_ms.saturating_add(data as Millis)
    }

    /// Data time now.
    pub fn now(&self) -> Millis {
        self.at(wall_ms())
    }

    /// Wall time at which the clock reads `data`.
    pub fn wall_at(&self, data: Millis) -> Millis {
        let wall = (data - self.ref_data_ms) as f64 / self.scale();
        self.ref_wall_ms.saturating_add(wall.ceil() as Millis)
    }

    /// The real instant at which the clock reads `data`.
    pub fn instant_at(&self, data: Millis) -> Instant {
        let wait = (self.wall_at(data) - wall_ms()).max(0);
        Instant::now() + Duration::from_millis(wait as u64)
    }

    /// Seconds of data time per second of real time (60 for a minute a second).
    pub fn scale(&self) -> f64 {
        self.speed * self.bucket_ms as f64 / 1000.0
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

/// What the data directory keeps: the world's anchor and the clock's reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedClock {
    pub scenario: String,
    pub seed: u64,
    /// The world's anchor (minute 0 of the scenario's timeline).
    pub anchor_ms: Millis,
    pub ref_wall_ms: Millis,
    pub ref_data_ms: Millis,
    pub speed: f64,
}

/// The world anchor and clock a demo should run on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resumed {
    pub anchor_ms: Millis,
    pub clock: DemoClock,
    /// Whether a saved clock was continued (false: a new run).
    pub continued: bool,
}

/// What a run of the demo is: a saved clock is continued only by the same one.
#[derive(Debug, Clone, Copy)]
pub struct RunKey<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub bucket_ms: Millis,
    pub speed: f64,
    /// A saved run whose data time is past this many ms after its anchor
    /// has told its story: a new run starts at the wall clock.
    pub story_ms: Millis,
}

/// Continues `saved` at wall time `wall` if it belongs to this run and has
/// not told its story yet; otherwise a new run anchored at `wall`. A speed
/// change keeps data time continuous and runs on at the new speed.
pub fn resume(saved: Option<&SavedClock>, key: RunKey<'_>, wall: Millis) -> Resumed {
    let bucket_ms = key.bucket_ms.max(1);
    let fresh = || {
        let anchor_ms = wall.div_euclid(bucket_ms) * bucket_ms;
        Resumed {
            anchor_ms,
            clock: DemoClock::new(wall, anchor_ms, bucket_ms, key.speed),
            continued: false,
        }
    };
    let Some(s) = saved.filter(|s| s.scenario == key.scenario && s.seed == key.seed) else {
        return fresh();
    };
    if !(s.speed.is_finite() && s.speed > 0.0) {
        return fresh();
    }
    let old = DemoClock::new(s.ref_wall_ms, s.ref_data_ms, bucket_ms, s.speed);
    let data_now = old.at(wall);
    // A wall clock set back, or a story told long ago: start again.
    if data_now < s.ref_data_ms || data_now - s.anchor_ms > key.story_ms {
        return fresh();
    }
    Resumed {
        anchor_ms: s.anchor_ms,
        clock: DemoClock::new(wall, data_now, bucket_ms, key.speed),
        continued: true,
    }
}

/// Reads the saved clock in `dir`; a missing file is `None`, a damaged one
/// is logged and `None` (the demo then starts a new run).
pub fn load(dir: &Path) -> Option<SavedClock> {
    let path = dir.join(CLOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the demo clock: {e}");
            return None;
        }
    };
    serde_json::from_str(&text)
        .inspect_err(|e| {
            tracing::warn!(path = %path.display(), "ignoring a damaged demo clock: {e}");
        })
        .ok()
}

/// Writes the clock to `dir` (through a temporary file, so a crash leaves
/// the old one or the new one).
pub fn save(dir: &Path, saved: &SavedClock) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(CLOCK_FILE);
    let tmp = dir.join(format!("{CLOCK_FILE}.tmp"));
    let text = serde_json::to_string_pretty(saved).context("encoding the demo clock")?;
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

impl crate::server::DataClock for DemoClock {
    fn now(&self) -> Millis {
        DemoClock::now(self)
    }

    fn scale(&self) -> Option<f64> {
        Some(DemoClock::scale(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Millis = 60_000;
    const WALL: Millis = 1_756_771_200_000;

    fn key(speed: f64) -> RunKey<'static> {
        RunKey {
            scenario: "three-bugs",
            seed: 7,
            bucket_ms: MINUTE,
            speed,
            story_ms: 1000 * MINUTE,
        }
    }

    fn saved(r: &Resumed, wall: Millis) -> SavedClock {
        SavedClock {
            scenario: "three-bugs".into(),
            seed: 7,
            anchor_ms: r.anchor_ms,
            ref_wall_ms: wall,
            ref_data_ms: r.clock.at(wall),
            speed: r.clock.speed(),
        }
    }

    #[test]
    fn data_time_is_a_pure_function_of_wall_time() {
        let c = DemoClock::new(WALL, WALL, MINUTE, 1.0);
        assert_eq!(c.scale(), 60.0);
        assert_eq!(c.at(WALL + 10_000), WALL + 10 * MINUTE);
        assert_eq!(c.wall_at(WALL + 10 * MINUTE), WALL + 10_000);
    }

    #[test]
    fn a_restart_continues_where_the_run_was() {
        let first = resume(None, key(1.0), WALL);
        assert!(!first.continued);
        let file = saved(&first, WALL);
        // Five real minutes later (five hours of demo time).
        let later = WALL + 5 * MINUTE;
        let again = resume(Some(&file), key(1.0), later);
        assert!(again.continued);
        assert_eq!(again.anchor_ms, first.anchor_ms);
        assert_eq!(again.clock.at(later), first.clock.at(later));
    }

    #[test]
    fn a_new_speed_keeps_data_time_continuous() {
        let first = resume(None, key(1.0), WALL);
        let file = saved(&first, WALL);
        let later = WALL + 60_000;
        let faster = resume(Some(&file), key(2.0), later);
        assert_eq!(faster.clock.at(later), first.clock.at(later));
        assert_eq!(
            faster.clock.at(later + 1000),
            first.clock.at(later) + 2 * MINUTE
        );
    }

    #[test]
    fn another_scenario_or_a_told_story_starts_a_new_run() {
        let first = resume(None, key(1.0), WALL);
        let mut file = saved(&first, WALL);
        file.seed = 8;
        assert!(!resume(Some(&file), key(1.0), WALL + 1000).continued);
        let file = saved(&first, WALL);
        // 1000 minutes of story at 60x is under 17 real minutes.
        let next_day = WALL + 24 * 60 * MINUTE;
        let r = resume(Some(&file), key(1.0), next_day);
        assert!(!r.continued);
        assert_eq!(r.clock.at(next_day), next_day);
    }

    #[test]
    fn the_clock_file_round_trips_and_damage_is_a_new_run() {
        let dir = std::env::temp_dir().join(format!("qualtop-clock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(load(&dir), None);
        let first = resume(None, key(1.0), WALL);
        save(&dir, &saved(&first, WALL)).unwrap();
        assert_eq!(load(&dir), Some(saved(&first, WALL)));
        std::fs::write(dir.join(CLOCK_FILE), "{not json").unwrap();
        assert_eq!(load(&dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
