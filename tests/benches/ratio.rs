//! What every bench prints next to its figure: the median of several runs,
//! and its ratio to a reference measured in the same run, so a slower
//! machine can be told from a regression (included with `#[path]`).

/// The median (the upper one of an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The value at quantile `p` of an already sorted slice; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// "(goal >= 1.5x: met)" or "(goal >= 1.5x: MISSED)".
pub fn at_least(ratio: f64, goal: f64) -> String {
    verdict(">=", goal, ratio >= goal)
}

/// "(goal <= 1x: met)" or "(goal <= 1x: MISSED)".
pub fn at_most(ratio: f64, goal: f64) -> String {
    verdict("<=", goal, ratio <= goal)
}

fn verdict(op: &str, goal: f64, met: bool) -> String {
    let word = if met { "met" } else { "MISSED" };
    format!("(goal {op} {goal}x: {word})")
}

/// This process's resident memory now and at its peak (VmRSS, VmHWM), in MiB.
pub fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
