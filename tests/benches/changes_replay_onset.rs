//! `CHANGES_REPLAY_ONSET=1`: the what-if of `detect::onset_in_store`
//! plugged into every regression's onset (where the engine opens an
//! episode): its scope's series in the replay's store, from `REACH_MS`
//! before its CUSUM onset to its detection, split once.

use qualtop::detect::{DetectedRegression, onset_in_store};
use qualtop::store::Store;

/// The regressions of a run with their onsets re-estimated.
pub fn reestimated(store: &Store, found: &[DetectedRegression]) -> Vec<DetectedRegression> {
    found
        .iter()
        .map(|r| {
            let mut out = r.clone();
            if let Some(signal) = store.signal_by_name(&r.signal) {
                out.onset = onset_in_store(store, signal, &r.scope, r.onset, r.detected_at);
            }
            out
        })
        .collect()
}
