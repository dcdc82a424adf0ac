//! PromQL change sources: for teams whose deploys are visible only as
//! metrics. Each `[[changes.promql]]` query is evaluated once per bucket
//! (over the history window at start); every run of positive samples of one
//! series is one change at the run's first sample, scoped by the series'
//! labels (label → dimension) and titled from a template.
//!
//! Ids are a function of (source, labels, time), so a relay restart that
//! reads the history again stores nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::wall_ms;
use crate::protocol::{Change, MAX_CHANGE_TITLE, Millis};
use crate::server::ChangeHub;

use super::changes_config::PromChangeSource;
use super::prometheus::{PromClient, PromSeries};

/// Polls every source once per bucket and publishes what it finds.
pub struct PromChangePoller {
    client: PromClient,
    sources: Vec<PromChangeSource>,
    hub: Arc<ChangeHub>,
    bucket_ms: Millis,
    history_ms: Millis,
    delay: Duration,
    /// First step not yet read, per source.
    next: Vec<Option<Millis>>,
    /// Newest positive step seen per (source, series): a run goes on while
    /// each step follows the last.
    last_positive: HashMap<(usize, BTreeMap<String, String>), Millis>,
}

impl PromChangePoller {
    pub fn new(
        client: PromClient,
        sources: Vec<PromChangeSource>,
        hub: Arc<ChangeHub>,
        (bucket_ms, history_ms): (Millis, Millis),
        delay: Duration,
    ) -> Self {
        let next = vec![None; sources.len()];
        PromChangePoller {
            client,
            sources,
            hub,
            bucket_ms: bucket_ms.max(1000),
            history_ms,
            delay,
            next,
            last_positive: HashMap::new(),
        }
    }

    /// Reads every source up to `now` (ms) and publishes the new changes.
    /// A failing query is retried from the same step on the next round.
    pub async fn round(&mut self, now: Millis) {
        let end = now.div_euclid(self.bucket_ms) * self.bucket_ms;
        let mut found = Vec::new();
        for i in 0..self.sources.len() {
            let start = self.next[i].unwrap_or(end - self.history_ms);
            if start > end {
                continue;
            }
            let query = &self.sources[i].query;
            match self
                .client
                .query_range(query, start, end, self.bucket_ms)
                .await
            {
                Ok(series) => {
                    found.extend(self.runs(i, &series));
                    self.next[i] = Some(end + self.bucket_ms);
                }
                Err(e) => {
                    tracing::warn!(source = %self.sources[i].name, "PromQL change source: {e:#}");
                }
            }
        }
        if found.is_empty() {
            return;
        }
        let hub = Arc::clone(&self.hub);
        let published = tokio::task::spawn_blocking(move || {
            for change in found {
                if let Err(e) = hub.publish(change, wall_ms()) {
                    tracing::warn!("PromQL change not stored: {e}");
                }
            }
        })
        .await;
        if let Err(e) = published {
            tracing::error!("PromQL change store task: {e}");
        }
    }

    /// The changes that start in `series` (runs already open go on).
    fn runs(&mut self, index: usize, series: &[PromSeries]) -> Vec<Change> {
        let mut out = Vec::new();
        for s in series {
            let key = (index, s.labels.clone());
            for &(ts, value) in &s.samples {
                if !(value.is_finite() && value > 0.0) {
                    continue;
                }
                let continues = self
                    .last_positive
                    .get(&key)
                    .is_some_and(|&last| ts - last <= self.bucket_ms);
                self.last_positive.insert(key.clone(), ts);
                if !continues {
                    out.push(change_of(&self.sources[index], &s.labels, ts));
                }
            }
        }
        out
    }

    /// Polls one bucket after another, `delay` after each bucket ends.
    pub async fn run(mut self) {
        loop {
            let now = wall_ms() - i64::try_from(self.delay.as_millis()).unwrap_or(0);
            self.round(now).await;
            let step = u64::try_from(self.bucket_ms).unwrap_or(60_000);
            tokio::time::sleep(Duration::from_millis(step)).await;
        }
    }
}

/// The change a series' run starting at `at` stands for.
pub fn change_of(
    source: &PromChangeSource,
    labels: &BTreeMap<String, String>,
    at: Millis,
) -> Change {
    let scope = source
        .labels
        .iter()
        .filter_map(|(label, dim)| Some((dim.clone(), labels.get(label)?.clone())))
        .collect();
    let digest = Sha256::digest(
        serde_json::json!([source.name, labels])
            .to_string()
            .as_bytes(),
    );
    let hex = digest.iter().take(6).fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    Change {
        id: format!("prom-{}-{hex}-{at}", source.name),
        at,
        scope,
        kind: source.kind,
        title: fill(&source.title, labels),
        source: format!("promql:{}", source.name),
        link: None,
        author: None,
    }
}

/// `{label}` → the label's value (an absent label stays as written), cut to the title limit.
fn fill(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &after[..close];
        match labels.get(name) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[open..=open + 1 + close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    let mut cut = out.len().min(MAX_CHANGE_TITLE);
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ChangeKind;

    fn source() -> PromChangeSource {
        PromChangeSource {
            name: "kube".into(),
            query: "q".into(),
            kind: ChangeKind::Deploy,
            title: "{deployment} rolled out in {namespace} ({missing})".into(),
            labels: BTreeMap::from([("deployment".to_string(), "model".to_string())]),
        }
    }

    #[test]
    fn a_series_becomes_a_change_scoped_and_titled_from_its_labels() {
        let labels = BTreeMap::from([
            ("deployment".to_string(), "atlas-m".to_string()),
            ("namespace".to_string(), "serving".to_string()),
        ]);
        let c = change_of(&source(), &labels, 5_000);
        assert_eq!(c.title, "atlas-m rolled out in serving ({missing})");
        assert_eq!(
            c.scope,
            BTreeMap::from([("model".into(), "atlas-m".into())])
        );
        assert_eq!(c.source, "promql:kube");
        assert_eq!(
            change_of(&source(), &labels, 5_000).id,
            c.id,
            "stable across restarts"
        );
        assert_ne!(change_of(&source(), &labels, 6_000).id, c.id);
    }
}
