//! Counters of dropped input, by reason, for the screen and the logs.

use crate::protocol::PointError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    counts: [u64; PointError::ALL.len()],
    /// Frames dropped whole: not JSON, malformed, oversize.
    pub frames: u64,
}

impl Drops {
    pub fn add(&mut self, e: PointError) {
        let i = PointError::ALL.iter().position(|x| *x == e).unwrap_or(0);
        self.counts[i] += 1;
    }
    pub fn count(&self, e: PointError) -> u64 {
        PointError::ALL
            .iter()
            .position(|x| *x == e)
            .map_or(0, |i| self.counts[i])
    }
    /// Points dropped, all reasons.
    pub fn points(&self) -> u64 {
        self.counts.iter().sum()
    }
    pub fn total(&self) -> u64 {
        self.points() + self.frames
    }
    /// Non-zero reasons, for display: `good>total 3, out-of-window 1`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = PointError::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(e, n)| format!("{} {n}", e.word()))
            .collect();
        if self.frames > 0 {
            parts.insert(0, format!("frames {}", self.frames));
        }
        parts.join(", ")
    }
}
