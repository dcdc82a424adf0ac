//! The one task that queries Prometheus for every PromQL signal, whatever
//! the number of clients, and publishes what it gets into the hubs.
//!
//! Schedule: bucket `b` is queried once its end `(b+1)·bucket_ms` is
//! `delay` in the past (see [`super::convert`] for the alignment). The
//! first round backfills the whole history window with range queries; each
//! later round asks for every bucket not yet fetched plus the last
//! [`REFRESH_BUCKETS`] again (late scrapes), and publishes only what changed.
//!
//! An upstream failure is never a hole painted as zero: the signal's buckets
//! stay empty (`null` in snapshots), every client gets an `error` frame with
//! code `upstream` (new clients too, after their snapshot, while it lasts),
//! and the fetch is retried every few seconds. When the upstream answers
//! again, the missing buckets are fetched (as far as the engine has them)
//! and clients get an `error` frame with code `upstream_recovered`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::protocol::{BucketValue, ErrorMessage, Millis, SliceMap};
use crate::server::{Hub, UpdatePoint};

use super::convert::{Bucketed, Skipped, SliceLabels, gauge_buckets, ratio_buckets};
use super::durable::Rereads;
use super::prometheus::{PromClient, PromSeries};
use super::stats::RelayStats;
use crate::clock::wall_ms;

/// Buckets already fetched that each round asks for again, for late data.
pub const REFRESH_BUCKETS: i64 = 2;
/// How often a signal whose upstream is down is retried.
pub const RETRY_WHILE_DOWN: Duration = Duration::from_secs(5);
/// Most points in one published update: a client gets a long backfill as
/// several batches, each well under its frame limit.
const PUBLISH_CHUNK: usize = 20_000;
/// Longest upstream error text passed on to clients.
const MAX_NOTICE_CHARS: usize = 400;

/// What to ask Prometheus for one signal.
#[derive(Debug, Clone, PartialEq)]
pub enum PromQuery {
    Ratio { good: String, total: String },
    Gauge { value: String },
}

/// One PromQL signal and the hub it feeds.
pub struct PromSignal {
    pub name: String,
    pub query: PromQuery,
    pub hub: Arc<Hub>,
}

struct Tracked {
    signal: PromSignal,
    name: Arc<str>,
    /// Newest bucket fetched successfully.
    done_through: Option<i64>,
    /// First bucket missing because the upstream failed, while it fails.
    down_from: Option<i64>,
    /// Values published for the refreshed buckets, so repeats are not resent.
    recent: HashMap<(SliceLabels, i64), BucketValue>,
    slices: HashMap<SliceLabels, Arc<SliceMap<'static>>>,
}

pub struct Poller {
    client: PromClient,
    tracked: Vec<Tracked>,
    dimensions: Vec<String>,
    bucket_ms: Millis,
    /// Buckets in the history window.
    capacity: i64,
    delay_ms: Millis,
    stats: Arc<RelayStats>,
    /// Buckets just pushed to the engine, to read back before their turn.
    rereads: Option<Arc<Rereads>>,
}

impl Poller {
    pub fn new(
        client: PromClient,
        signals: Vec<PromSignal>,
        dimensions: Vec<String>,
        bucket_ms: Millis,
        history_ms: Millis,
        delay: Duration,
        stats: Arc<RelayStats>,
    ) -> Poller {
        let tracked = signals
            .into_iter()
            .filter_map(|signal| {
                let name = signal.hub.signal(&signal.name)?;
                Some(Tracked {
                    signal,
                    name,
                    done_through: None,
                    down_from: None,
                    recent: HashMap::new(),
                    slices: HashMap::new(),
                })
            })
            .collect();
        let bucket_ms = bucket_ms.max(1);
        Poller {
            client,
            tracked,
            dimensions,
            bucket_ms,
            capacity: (history_ms / bucket_ms).max(1),
            delay_ms: delay.as_millis() as Millis,
            stats,
            rereads: None,
        }
    }

    /// Also reads back the buckets the push route asks for.
    pub fn with_rereads(mut self, rereads: Arc<Rereads>) -> Poller {
        self.rereads = Some(rereads);
        self
    }

    /// Fetches and publishes the pushed buckets due for reading back.
    async fn reread_due(&mut self) {
        let Some(rereads) = self.rereads.clone() else {
            return;
        };
        let now = wall_ms();
        let newest = self.newest_due(now);
        // Pushes may reach two buckets past now; the window bounds the rest.
        let (oldest, ahead) = (
            newest - self.capacity + 1,
            now.div_euclid(self.bucket_ms) + 2,
        );
        for r in rereads.take_due(Instant::now()) {
            let Some(i) = self.tracked.iter().position(|t| t.signal.name == r.signal) else {
                continue;
            };
            let (from, to) = (r.from.max(oldest), r.to.min(ahead));
            if from > to {
                continue;
            }
            let Some(t) = self.tracked.get(i) else {
                continue;
            };
            match self.fetch(&t.signal, from, to).await {
                Ok((buckets, _)) => {
                    let bucket_ms = self.bucket_ms;
                    if let Some(t) = self.tracked.get_mut(i) {
                        t.publish(buckets, newest, bucket_ms);
                    }
                }
                // The regular round reports an outage; this is only early.
                Err(e) => {
                    tracing::debug!(signal = %r.signal, error = %format!("{e:#}"), "read-back failed");
                }
            }
        }
    }

    /// The newest bucket due for querying at `now`.
    pub fn newest_due(&self, now: Millis) -> i64 {
        (now - self.delay_ms).div_euclid(self.bucket_ms) - 1
    }

    /// Whether any signal's upstream is failing.
    pub fn any_down(&self) -> bool {
        self.tracked.iter().any(|t| t.down_from.is_some())
    }

    /// Fetches and publishes whatever is due at `now` for every signal.
    pub async fn round(&mut self, now: Millis) {
        let newest = self.newest_due(now);
        let oldest = newest - self.capacity + 1;
        for i in 0..self.tracked.len() {
            let Some(t) = self.tracked.get(i) else { break };
            let from = match t.done_through {
                None => oldest,
                Some(d) => (d + 1 - REFRESH_BUCKETS).max(oldest),
            };
            if from > newest || t.done_through == Some(newest) && t.down_from.is_none() {
                continue;
            }
            let fetched = self.fetch(&t.signal, from, newest).await;
            let (stats, bucket_ms) = (Arc::clone(&self.stats), self.bucket_ms);
            let Some(t) = self.tracked.get_mut(i) else {
                break;
            };
            match fetched {
                Ok((buckets, skipped)) => {
                    let published = t.publish(buckets, newest, bucket_ms);
                    stats.fetched(&t.signal.name, true, published as u64, skipped.total());
                    t.done_through = Some(newest);
                    if let Some(from) = t.down_from.take() {
                        tracing::info!(signal = %t.signal.name, "upstream answering again");
                        let message = format!(
                            "signal {}: upstream answering again; buckets since {} filled in as far as it has them",
                            t.signal.name,
                            utc(from * bucket_ms)
                        );
                        t.signal
                            .hub
                            .lift(&t.notice_key(), Some(notice("upstream_recovered", message)));
                    }
                }
                Err(e) => {
                    stats.fetched(&t.signal.name, false, 0, 0);
                    let error: String = format!("{e:#}").chars().take(MAX_NOTICE_CHARS).collect();
                    if t.down_from.is_none() {
                        let first_missing = t.done_through.map_or(oldest, |d| d + 1);
                        t.down_from = Some(first_missing);
                        tracing::warn!(signal = %t.signal.name, %error, "upstream query failed");
                        let message = format!(
                            "signal {}: {error}; its buckets from {} stay empty until the upstream answers again",
                            t.signal.name,
                            utc(first_missing * bucket_ms)
                        );
                        t.signal
                            .hub
                            .raise(&t.notice_key(), notice("upstream", message));
                    } else {
                        tracing::debug!(signal = %t.signal.name, %error, "upstream still failing");
                    }
                }
            }
        }
    }

    /// Rounds forever: each when the next bucket is due, sooner while an
    /// upstream is down.
    pub async fn run(mut self) {
        loop {
            let now = wall_ms();
            self.round(now).await;
            self.reread_due().await;
            let due = (self.newest_due(now) + 2) * self.bucket_ms + self.delay_ms;
            let mut wait = Duration::from_millis((due - wall_ms()).max(0) as u64);
            if self.any_down() {
                wait = wait.min(RETRY_WHILE_DOWN);
            }
            let Some(rereads) = self.rereads.clone() else {
                tokio::time::sleep(wait).await;
                continue;
            };
            if let Some(at) = rereads.next_at() {
                wait = wait.min(at.saturating_duration_since(Instant::now()));
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = rereads.notify.notified() => {}
            }
        }
    }

    /// Buckets `from..=to` of one signal.
    async fn fetch(
        &self,
        signal: &PromSignal,
        from: i64,
        to: i64,
    ) -> anyhow::Result<(Vec<Bucketed>, Skipped)> {
        let b = self.bucket_ms;
        let (start, end) = ((from + 1) * b, (to + 1) * b);
        let name = &signal.name;
        Ok(match &signal.query {
            PromQuery::Ratio { good, total } => {
                let (good, total) = tokio::join!(
                    self.timed(name, good, start, end),
                    self.timed(name, total, start, end)
                );
                ratio_buckets(&good?, &total?, &self.dimensions, b)
            }
            PromQuery::Gauge { value } => {
                let value = self.timed(name, value, start, end).await?;
                gauge_buckets(&value, &self.dimensions, b)
            }
        })
    }

    async fn timed(
        &self,
        signal: &str,
        expr: &str,
        start: Millis,
        end: Millis,
    ) -> anyhow::Result<Vec<PromSeries>> {
        let began = Instant::now();
        let answer = self
            .client
            .query_range(expr, start, end, self.bucket_ms)
            .await;
        self.stats.query(signal, began.elapsed(), answer.is_ok());
        answer
    }
}

impl Tracked {
    fn notice_key(&self) -> String {
        format!("upstream:{}", self.signal.name)
    }

    /// Publishes the buckets that are new or changed; returns how many.
    fn publish(&mut self, buckets: Vec<Bucketed>, newest: i64, bucket_ms: Millis) -> usize {
        let hub = Arc::clone(&self.signal.hub);
        let mut points = Vec::new();
        let mut published = 0;
        for b in buckets {
            let key = (b.slice, b.bucket);
            if self.recent.get(&key) == Some(&b.value) {
                continue;
            }
            let slice = if let Some(s) = self.slices.get(&key.0) {
                Arc::clone(s)
            } else {
                // Over the hub's caps (slices, label length): left out; the hub says so.
                let Ok(s) = hub.admit(SliceMap::from_pairs(key.0.iter().cloned())) else {
                    continue;
                };
                // A cache, not a record: bounded even when slices churn.
                if self.slices.len() >= 2 * hub.slices().max(1024) {
                    self.slices.clear();
                }
                self.slices.insert(key.0.clone(), Arc::clone(&s));
                s
            };
            points.push(UpdatePoint {
                slice,
                signal: Arc::clone(&self.name),
                ts: key.1 * bucket_ms,
                value: b.value,
            });
            if key.1 > newest - REFRESH_BUCKETS {
                self.recent.insert(key, b.value);
            }
            if points.len() >= PUBLISH_CHUNK {
                published += points.len();
                hub.publish(std::mem::take(&mut points));
            }
        }
        published += points.len();
        if !points.is_empty() {
            hub.publish(points);
        }
        self.recent
            .retain(|(_, bucket), _| *bucket > newest - REFRESH_BUCKETS);
        published
    }
}

fn notice(code: &str, message: String) -> ErrorMessage {
    ErrorMessage {
        code: code.to_owned(),
        message,
        id: None,
    }
}

pub use crate::text::time::rfc3339_utc as utc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_756_771_200_000), "2025-09-02T00:00:00Z");
        assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29T01:02:03Z");
    }
}
