//! The one wall clock: milliseconds since the Unix epoch. Every surface
//! reads "now" here, so a test or a skewed host changes one place.

use crate::protocol::Millis;

/// Wall-clock now, in milliseconds since the Unix epoch (0 if the clock
/// reads before 1970).
pub fn wall_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

mod agreement;

pub use agreement::{
    LATE_DELIVERY_MS, MAX_CLOCK_DISAGREEMENT_MS, Reading, Verdicts, disagreement_words, freshest,
    judge, tolerance_ms,
};
