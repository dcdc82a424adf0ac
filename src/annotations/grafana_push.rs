//! The Grafana push as a background task: the sync task hands it each
//! annotation this client created or edited, once acknowledged; a push that
//! fails is logged and retried later, never blocking anything else.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{GrafanaClient, GrafanaConfig};
use crate::protocol::Annotation;

/// Annotations waiting for Grafana; beyond this the oldest is given up.
const QUEUE_LIMIT: usize = 256;

/// Starts the push task; send it annotations to post. Must run inside the runtime.
pub fn spawn_grafana_push(cfg: GrafanaConfig) -> anyhow::Result<mpsc::Sender<Annotation>> {
    let retry = cfg.retry_later.max(Duration::from_millis(10));
    let client = GrafanaClient::new(cfg)?;
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(client, rx, retry));
    Ok(tx)
}

/// Keeps the latest version of each annotation queued, in arrival order.
fn enqueue(queue: &mut VecDeque<Annotation>, a: Annotation) {
    if let Some(held) = queue.iter_mut().find(|held| held.id == a.id) {
        *held = a;
    } else {
        if queue.len() >= QUEUE_LIMIT
            && let Some(old) = queue.pop_front()
        {
            tracing::warn!(id = %old.id, "Grafana push: queue full, annotation not pushed");
        }
        queue.push_back(a);
    }
}

async fn run(mut client: GrafanaClient, mut rx: mpsc::Receiver<Annotation>, retry: Duration) {
    let mut queue = VecDeque::new();
    let mut delay = retry;
    let mut retry_at: Option<Instant> = None;
    let mut open = true;
    loop {
        if retry_at.is_none() {
            while let Some(a) = queue.front() {
                match client.push(a).await {
                    Ok(grafana_id) => {
                        tracing::debug!(id = %a.id, grafana_id, "annotation pushed to Grafana");
                        queue.pop_front();
                        delay = retry;
                    }
                    Err(e) => {
                        tracing::warn!(
                            id = %a.id,
                            retry_in_s = delay.as_secs(),
                            "Grafana push failed: {e:#}"
                        );
                        retry_at = Some(Instant::now() + delay);
                        delay = (delay * 2).min(retry * 20);
                        break;
                    }
                }
            }
        }
        if !open && queue.is_empty() {
            return;
        }
        tokio::select! {
            a = rx.recv(), if open => match a {
                Some(a) => enqueue(&mut queue, a),
                None => open = false,
            },
            () = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            }, if retry_at.is_some() => retry_at = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AnnotationState;

    fn note(id: &str, text: &str) -> Annotation {
        Annotation {
            id: id.into(),
            scope: Default::default(),
            signal: None,
            from: 1,
            to: None,
            state: AnnotationState::Suspected,
            text: text.into(),
            author: "me".into(),
            rev: None,
            created: None,
            updated: None,
        }
    }

    #[test]
    fn queue_keeps_the_latest_edit_in_place_and_is_bounded() {
        let mut q = VecDeque::new();
        enqueue(&mut q, note("a", "one"));
        enqueue(&mut q, note("b", "other"));
        enqueue(&mut q, note("a", "two"));
        let ids: Vec<(&str, &str)> = q.iter().map(|a| (&*a.id, &*a.text)).collect();
        assert_eq!(ids, [("a", "two"), ("b", "other")]);
        for i in 0..QUEUE_LIMIT {
            enqueue(&mut q, note(&format!("n{i}"), "x"));
        }
        assert_eq!(q.len(), QUEUE_LIMIT);
        assert_eq!(q.front().map(|a| a.id.as_str()), Some("n0"));
    }
}
