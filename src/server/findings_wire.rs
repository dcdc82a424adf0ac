//! The relay's detections as a `findings` frame: encoded once per change
//! for every connection, and cut to the most recent regressions when the
//! whole would pass [`MAX_FINDINGS_BYTES`].

use crate::detect::Detections;
use crate::protocol::{MAX_FINDINGS_BYTES, findings_json};

/// Who the findings are of: the relay's epoch and the endpoints detected over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireIdentity {
    pub epoch: String,
    pub endpoints: Vec<String>,
}

/// `d` as one findings frame of at most `cap` bytes (when at all possible):
/// the oldest regressions are left out first and counted in `truncated`;
/// if even none fit, the tracks and burns go too.
pub fn encode(d: &Detections, who: &WireIdentity, cap: usize) -> String {
    let json = |d: &Detections, truncated: usize| {
        findings_json(&who.epoch, &who.endpoints, d.through, truncated as u64, d)
    };
    let whole = json(d, 0);
    if whole.len() <= cap {
        return whole;
    }
    let n = d.regressions.len();
    let keeping = |k: usize| Detections {
        regressions: d.regressions[n - k..].to_vec(),
        ..d.clone()
    };
    // The largest count of most recent regressions that fits (encoded size grows with it).
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if json(&keeping(mid), n - mid).len() <= cap {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let kept = keeping(lo);
    let frame = json(&kept, n - lo);
    if frame.len() <= cap || lo > 0 {
        return frame;
    }
    json(
        &Detections {
            tracks: Vec::new(),
            burns: Vec::new(),
            ..kept
        },
        n,
    )
}

/// [`encode`] at the protocol's cap.
pub fn encode_capped(d: &Detections, who: &WireIdentity) -> String {
    encode(d, who, MAX_FINDINGS_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectedRegression, ScopeOrigin};
    use crate::protocol::{FindingsMessage, SignalRole};

    fn regression(i: i64) -> DetectedRegression {
        DetectedRegression {
            signal: "golden-qa".into(),
            role: SignalRole::Quality,
            scope: [("model".to_owned(), format!("m{i}"))].into(),
            origin: ScopeOrigin::Cause,
            causes: Vec::new(),
            alarms: Vec::new(),
            onset: i * 60_000,
            onset_spread: None,
            detected_at: i * 60_000 + 1,
            ended_at: None,
            baseline: 0.99,
            current: 0.8,
            delta_pp: -19.0,
            drop_table: None,
        }
    }

    fn decoded(frame: &str) -> (FindingsMessage, Detections) {
        let m: FindingsMessage = serde_json::from_str(frame).expect("a findings frame");
        let d = serde_json::from_value(m.detections.clone()).expect("detections");
        (m, d)
    }

    #[test]
    fn findings_under_the_cap_go_whole_and_read_back_equal() {
        let d = Detections {
            regressions: (0..3).map(regression).collect(),
            through: Some(180_000),
            ..Detections::default()
        };
        let who = WireIdentity {
            epoch: "e1".into(),
            endpoints: vec!["/evals".into()],
        };
        let (m, back) = decoded(&encode_capped(&d, &who));
        assert_eq!(back, d);
        assert_eq!((m.epoch.as_str(), m.truncated), ("e1", 0));
        assert_eq!(m.through, Some(180_000));
    }

    #[test]
    fn findings_over_the_cap_keep_the_most_recent_regressions_and_say_how_many_went() {
        let d = Detections {
            regressions: (0..200).map(regression).collect(),
            ..Detections::default()
        };
        let who = WireIdentity::default();
        let cap = 8 * 1024;
        let frame = encode(&d, &who, cap);
        assert!(frame.len() <= cap, "{} bytes", frame.len());
        let (m, back) = decoded(&frame);
        let kept = back.regressions.len();
        assert!(kept > 0 && kept < 200);
        assert_eq!(m.truncated as usize, 200 - kept);
        assert_eq!(back.regressions.last(), d.regressions.last(), "newest kept");
        assert_eq!(back.regressions[0], d.regressions[200 - kept]);
    }
}
