//! `CHANGES_REPLAY_ONSET=1`: the what-if of `detect::earliest_onset` plugged
//! into every regression's onset: each regression's scope series (summed
//! over the demo's leaves in it) from `REACH_MS` before its CUSUM onset to
//! its detection, re-estimated with one offline change point.

use qualtop::demo::{DemoSignalId, World};
use qualtop::detect::{Bucket, DetectedRegression, MIN_PART, REACH_MS, earliest_onset};
use qualtop::protocol::BucketValue;

/// The regressions of a run with their onsets re-estimated.
pub fn reestimated(world: &World, found: &[DetectedRegression]) -> Vec<DetectedRegression> {
    let bucket = world.bucket_ms();
    let first = world.bucket_ts(-(world.history_ms() / bucket));
    found
        .iter()
        .map(|r| {
            let Some(sig) = world
                .signals()
                .iter()
                .position(|s| s.spec.name == r.signal)
                .map(DemoSignalId)
            else {
                return r.clone();
            };
            let leaves: Vec<_> = world
                .leaf_ids()
                .filter(|&l| {
                    let leaf = world.leaf(l).unwrap();
                    r.scope
                        .iter()
                        .all(|(d, v)| leaf.value(d) == Some(v.as_str()))
                })
                .collect();
            let from = (r.onset - REACH_MS).max(first);
            let mut series = Vec::new();
            let mut at = from - from.rem_euclid(bucket);
            while at < r.detected_at {
                let (mut good, mut total) = (0.0, 0.0);
                for &l in &leaves {
                    if let Some(BucketValue::Ratio { good: g, total: t }) = world.sample(l, sig, at)
                    {
                        good += f64::from(g);
                        total += f64::from(t);
                    }
                }
                series.push(Bucket { at, good, total });
                at += bucket;
            }
            let mut out = r.clone();
            out.onset = earliest_onset(r.onset, &series, MIN_PART);
            out
        })
        .collect()
}
