//! Keeps one backend's skewed clock from moving the time axis all backends
//! share: each report is judged against the others' clocks
//! ([`crate::clock::judge`]) before it may move the store's clock.

use super::fleet::Fleet;
use crate::clock::{judge, tolerance_ms};
use crate::protocol::Millis;

/// Judges every connected source's clock after source `index` reported
/// (its own report counts whatever its state) and notes the verdict on each.
/// When the shared clock already ran ahead of the reference (a refused
/// clock moved it first), the time axis starts again at the reference.
/// Returns whether `index`'s clock may move the shared clock.
pub fn judge_clocks(f: &mut Fleet, index: usize, wall_now: Millis) -> bool {
    let readings: Vec<_> = f
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == index {
                s.backend_now
                    .map(|(data_ms, at_wall_ms)| crate::clock::Reading {
                        data_ms,
                        at_wall_ms,
                        scale: s.time_scale.unwrap_or(1.0),
                    })
            } else {
                s.clock_reading()
            }
        })
        .collect();
    let verdicts = judge(&readings, wall_now);
    for (s, refused) in f.sources.iter_mut().zip(&verdicts.refused) {
        if s.clock_refused_ms.is_some() != refused.is_some() {
            if let Some(off) = refused {
                tracing::warn!(
                    source = %s.label,
                    offset_ms = off,
                    "clock disagrees with the other backends: refused"
                );
            } else {
                tracing::info!(source = %s.label, "clock agrees again");
            }
        }
        s.clock_refused_ms = *refused;
    }
    if let (Some(reference), Some(now)) = (verdicts.reference, verdicts.reference_now) {
        let scale = f
            .sources
            .get(reference)
            .and_then(|s| s.time_scale)
            .unwrap_or(1.0);
        let ahead = f.store.now().saturating_sub(now);
        if f.store.head().is_some() && ahead > tolerance_ms(scale) {
            tracing::warn!(
                ahead_ms = ahead,
                "the time axis was moved by a refused clock: starting it again"
            );
            f.restart_timeline(now);
        }
    }
    verdicts.refused.get(index).is_none_or(Option::is_none)
}
