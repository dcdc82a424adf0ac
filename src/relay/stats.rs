//! The relay's own metrics, served at `/metrics.prom` in the Prometheus text
//! format: clients, frames sent and dropped, upstream query latency and
//! errors, pushed points.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::server::ServerCounts;

/// Upper bounds of the query latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default, Clone)]
struct Upstream {
    /// Count per latency bucket (not cumulative), plus +Inf last.
    latency: [u64; LATENCY_BUCKETS.len() + 1],
    latency_sum: f64,
    errors: u64,
    up: bool,
    points: u64,
    skipped: u64,
}

#[derive(Debug, Default)]
pub struct RelayStats {
    upstream: Mutex<BTreeMap<String, Upstream>>,
    ingest_requests: AtomicU64,
    ingest_refused: AtomicU64,
    ingest_accepted: AtomicU64,
    ingest_rejected: AtomicU64,
}

/// What one endpoint looks like now, for the page.
#[derive(Debug, Clone)]
pub struct EndpointGauge {
    pub path: String,
    /// Connections subscribed to it.
    pub subscribed: usize,
    /// Newest bucket held, in ms.
    pub head: Option<i64>,
    /// Distinct slices held (capped by `limits.max_slices`).
    pub slices: usize,
}

impl RelayStats {
    /// One upstream query (good, total or value) took `took`.
    pub fn query(&self, signal: &str, took: Duration, ok: bool) {
        let mut map = self.upstream.lock().unwrap_or_else(|e| e.into_inner());
        let u = map.entry(signal.to_owned()).or_default();
        let secs = took.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        u.latency[i] += 1;
        u.latency_sum += secs;
        if !ok {
            u.errors += 1;
        }
    }

    /// A signal's fetch finished: up or down, and what it brought.
    pub fn fetched(&self, signal: &str, up: bool, points: u64, skipped: u64) {
        let mut map = self.upstream.lock().unwrap_or_else(|e| e.into_inner());
        let u = map.entry(signal.to_owned()).or_default();
        u.up = up;
        u.points += points;
        u.skipped += skipped;
    }

    pub fn ingest(&self, accepted: usize, rejected: usize) {
        self.ingest_requests.fetch_add(1, Ordering::Relaxed);
        self.ingest_accepted
            .fetch_add(accepted as u64, Ordering::Relaxed);
        self.ingest_rejected
            .fetch_add(rejected as u64, Ordering::Relaxed);
    }

    /// A push refused as a whole (auth, size, too many points).
    pub fn ingest_refused(&self) {
        self.ingest_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The page, in the Prometheus text exposition format.
    pub fn render(&self, server: &ServerCounts, endpoints: &[EndpointGauge]) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, String)]| {
            let _ = writeln!(out, "# HELP qualtop_relay_{name} {help}");
            let _ = writeln!(out, "# TYPE qualtop_relay_{name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "qualtop_relay_{name}{labels} {value}");
            }
        };
        let one = |v: u64| vec![(String::new(), v.to_string())];
        metric(
            "clients_connected",
            "gauge",
            "WebSocket connections open.",
            &one(server.connections_open),
        );
        metric(
            "clients_subscribed",
            "gauge",
            "Connections subscribed, per endpoint.",
            &endpoints
                .iter()
                .map(|e| (label("endpoint", &e.path), e.subscribed.to_string()))
                .collect::<Vec<_>>(),
        );
        metric(
            "slices",
            "gauge",
            "Distinct slices held, per endpoint (capped by limits.max_slices).",
            &endpoints
                .iter()
                .map(|e| (label("endpoint", &e.path), e.slices.to_string()))
                .collect::<Vec<_>>(),
        );
        metric(
            "newest_bucket_seconds",
            "gauge",
            "Start of the newest bucket held, per endpoint.",
            &endpoints
                .iter()
                .filter_map(|e| {
                    let h = e.head?;
                    Some((
                        label("endpoint", &e.path),
                        format!("{:.3}", h as f64 / 1000.0),
                    ))
                })
                .collect::<Vec<_>>(),
        );
        let server_counters = [
            (
                "connections_total",
                "WebSocket connections accepted.",
                server.connections_total,
            ),
            (
                "upgrades_refused_total",
                "Upgrades refused (token missing, wrong, lacking a role, or over its connection limit).",
                server.upgrades_refused,
            ),
            (
                "messages_sent_total",
                "Frames sent to clients.",
                server.frames_sent,
            ),
            (
                "bytes_sent_total",
                "Bytes of frames sent to clients.",
                server.bytes_sent,
            ),
            (
                "messages_dropped_total",
                "Updates that too-slow clients missed before being disconnected.",
                server.updates_dropped,
            ),
            (
                "slow_disconnects_total",
                "Clients disconnected for falling behind.",
                server.slow_disconnects,
            ),
            (
                "subscribes_total",
                "Subscribes answered with a snapshot.",
                server.subscribes,
            ),
            (
                "connections_refused_at_cap_total",
                "TCP connections refused at limits.max_connections or max_connections_per_ip.",
                server.refused_at_cap,
            ),
            (
                "connections_timed_out_total",
                "Connections dropped for a TLS handshake or request headers not done in time.",
                server.timed_out,
            ),
        ];
        for (name, help, value) in server_counters {
            metric(name, "counter", help, &one(value));
        }
        let upstream = self
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut hist = Vec::new();
        for (signal, u) in &upstream {
            let mut cumulative = 0;
            for (i, bound) in LATENCY_BUCKETS
                .iter()
                .map(|b| b.to_string())
                .chain(["+Inf".to_owned()])
                .enumerate()
            {
                cumulative += u.latency.get(i).copied().unwrap_or(0);
                hist.push((
                    format!("_bucket{{signal=\"{}\",le=\"{bound}\"}}", escape(signal)),
                    cumulative.to_string(),
                ));
            }
            hist.push((
                format!("_sum{}", label("signal", signal)),
                format!("{:.6}", u.latency_sum),
            ));
            hist.push((
                format!("_count{}", label("signal", signal)),
                cumulative.to_string(),
            ));
        }
        metric(
            "upstream_query_duration_seconds",
            "histogram",
            "Latency of upstream queries (each attempt series counts once), per signal.",
            &hist,
        );
        let per_signal = |f: &dyn Fn(&Upstream) -> String| {
            upstream
                .iter()
                .map(|(s, u)| (label("signal", s), f(u)))
                .collect::<Vec<_>>()
        };
        metric(
            "upstream_errors_total",
            "counter",
            "Upstream queries that failed after their retries, per signal.",
            &per_signal(&|u| u.errors.to_string()),
        );
        metric(
            "upstream_up",
            "gauge",
            "1 if the signal's last upstream fetch succeeded.",
            &per_signal(&|u| u8::from(u.up).to_string()),
        );
        metric(
            "upstream_points_total",
            "counter",
            "Buckets fetched from upstream and published, per signal.",
            &per_signal(&|u| u.points.to_string()),
        );
        metric(
            "upstream_skipped_total",
            "counter",
            "Upstream samples left out (not finite, negative, good above total, ambiguous), per signal.",
            &per_signal(&|u| u.skipped.to_string()),
        );
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        metric(
            "ingest_requests_total",
            "counter",
            "Push requests parsed.",
            &one(get(&self.ingest_requests)),
        );
        metric(
            "ingest_refused_total",
            "counter",
            "Push requests refused whole (token, body size, points per request).",
            &one(get(&self.ingest_refused)),
        );
        metric(
            "ingest_points_total",
            "counter",
            "Pushed points, by result.",
            &[
                (
                    "{result=\"accepted\"}".to_owned(),
                    get(&self.ingest_accepted).to_string(),
                ),
                (
                    "{result=\"rejected\"}".to_owned(),
                    get(&self.ingest_rejected).to_string(),
                ),
            ],
        );
        out
    }
}

fn label(name: &str, value: &str) -> String {
    format!("{{{name}=\"{}\"}}", escape(value))
}

/// Label values escape backslash, quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_a_cumulative_histogram_and_escaped_labels() {
        let s = RelayStats::default();
        s.query("avail\"x", Duration::from_millis(3), true);
        s.query("avail\"x", Duration::from_millis(300), false);
        s.fetched("avail\"x", false, 5, 1);
        s.ingest(7, 2);
        let page = s.render(
            &ServerCounts {
                connections_open: 3,
                ..ServerCounts::default()
            },
            &[EndpointGauge {
                path: "/evals".into(),
                subscribed: 2,
                head: Some(60_000),
                slices: 4,
            }],
        );
        assert!(
            page.contains("qualtop_relay_clients_connected 3\n"),
            "{page}"
        );
        assert!(page.contains("qualtop_relay_clients_subscribed{endpoint=\"/evals\"} 2\n"));
        assert!(page.contains("qualtop_relay_slices{endpoint=\"/evals\"} 4\n"));
        assert!(page.contains(
            "qualtop_relay_upstream_query_duration_seconds_bucket{signal=\"avail\\\"x\",le=\"0.005\"} 1\n"
        ));
        assert!(page.contains(
            "qualtop_relay_upstream_query_duration_seconds_bucket{signal=\"avail\\\"x\",le=\"0.5\"} 2\n"
        ));
        assert!(page.contains("qualtop_relay_upstream_errors_total{signal=\"avail\\\"x\"} 1\n"));
        assert!(page.contains("qualtop_relay_upstream_up{signal=\"avail\\\"x\"} 0\n"));
        assert!(page.contains("qualtop_relay_ingest_points_total{result=\"rejected\"} 2\n"));
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("qualtop_relay_"), "{line}");
            assert!(
                line.rsplit_once(' ')
                    .is_some_and(|(_, v)| v.parse::<f64>().is_ok()),
                "{line}"
            );
        }
    }
}
