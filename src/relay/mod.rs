//! `qualtop serve`: a relay that brings real fleets into protocol 1.
//!
//! ```text
//! Prometheus API ──(one poller: range queries per bucket)──┐
//!                                                          ├─▶ Hub per endpoint ─▶ protocol server ─▶ clients
//! eval jobs ──POST /v1/points (JSON lines, token: ingest)──┘        (/metrics, /evals, same code as the demo)
//!     └─▶ remote write to the engine ([`durable`]), read back by the poller
//! CD hooks ──POST /v1/changes (token: ingest)──┐
//! PromQL change sources (one query per bucket)─┴─▶ ChangeHub (SQLite) ─▶ both endpoints ─▶ clients
//! ```
//!
//! The relay is just another [`FleetSource`](crate::server::FleetSource) on
//! a [`Hub`]: the upstream is queried once per bucket whatever the number of
//! clients, filters are applied server-side, and a slow client is cut off.
//! Tokens (roles read / annotate / ingest) decide who may connect, push, or
//! annotate; annotations are signed with the token's name.

pub mod alerts;
pub mod auth;
pub mod changes;
pub mod changes_config;
pub mod changes_promql;
pub mod changes_shapes;
pub mod changes_store;
pub mod config;
pub mod convert;
pub mod durable;
/// The server's detection task, which the relay runs (see [`crate::server::detection`]).
pub use crate::server::detection as findings;
pub mod findings_page;
pub mod http;
pub mod ingest;
pub mod prometheus;
pub mod remote_write;
pub mod source;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod upstream;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::annotations::{AnnotationStore, SqliteAnnotations};
use crate::protocol::SignalSpec;
use crate::server::{
    self, AnnotationHub, AnnotationLimits, Extras, Hub, RunningServer, ServerConfig, ServerStats,
};

use self::auth::RelayAuth;
use self::config::{Endpoint, RelayConfig, SignalSource};
use self::prometheus::PromClient;
use self::source::relay_source;
use self::stats::RelayStats;
use self::upstream::{Poller, PromQuery, PromSignal};

use crate::clock::wall_ms;

/// A relay serving in the background; dropping it stops it.
pub struct RunningRelay {
    /// `None` only once shut down.
    server: Option<RunningServer>,
    addr: SocketAddr,
    tls: bool,
    poller: Option<JoinHandle<()>>,
    hubs: Vec<(Endpoint, Arc<Hub>)>,
    stats: Arc<RelayStats>,
    findings: Arc<findings::RelayFindings>,
    /// The detectors over the hubs' windows; dropped with the relay.
    detection: Option<findings::DetectionTask>,
    alerts: Option<JoinHandle<()>>,
    server_stats: Arc<ServerStats>,
    /// Kept open for the server (see `start`).
    #[allow(dead_code)]
    annotations: Option<Arc<dyn AnnotationStore>>,
}

impl std::fmt::Debug for RunningRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningRelay")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if let Some(p) = &self.poller {
            p.abort();
        }
        if let Some(a) = &self.alerts {
            a.abort();
        }
    }
}

impl RunningRelay {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws(s)://ADDR/metrics` or `/evals`.
    pub fn url(&self, endpoint: Endpoint) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.addr, endpoint.path())
    }

    /// `http(s)://ADDR{path}`, e.g. `relay.http_url("/v1/points")`.
    pub fn http_url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The hub that serves an endpoint.
    pub fn hub(&self, endpoint: Endpoint) -> Option<&Arc<Hub>> {
        self.hubs
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, h)| h)
    }

    pub fn stats(&self) -> &Arc<RelayStats> {
        &self.stats
    }

    pub fn server_stats(&self) -> &Arc<ServerStats> {
        &self.server_stats
    }

    /// What the relay's detectors conclude now.
    pub fn findings(&self) -> &Arc<findings::RelayFindings> {
        &self.findings
    }

    /// Stops polling, closes every connection and stops listening.
    pub async fn shutdown(mut self) {
        if let Some(p) = self.poller.take() {
            p.abort();
        }
        if let Some(a) = self.alerts.take() {
            a.abort();
        }
        self.detection.take();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// The annotation store in `data_dir`, if the config names one.
fn open_annotations(cfg: &RelayConfig) -> anyhow::Result<Option<Arc<dyn AnnotationStore>>> {
    // Without `data_dir`, the XDG data directory: annotations are never
    // silently unsupported on a relay.
    let Some(dir) = cfg
        .data_dir
        .clone()
        .or_else(|| dirs::data_dir().map(|d| d.join("qualtop").join("relay")))
    else {
        return Ok(None);
    };
    let dir = &dir;
    let store = SqliteAnnotations::open_in(dir)
        .with_context(|| format!("opening the annotation store in {}", dir.display()))?;
    Ok(Some(Arc::new(store)))
}

/// The change hub (SQLite next to the annotations, so changes outlive a
/// restart) and, when `[[changes.promql]]` is set, the task polling it.
fn start_changes(
    cfg: &RelayConfig,
) -> anyhow::Result<(Arc<server::ChangeHub>, Option<JoinHandle<()>>)> {
    let dir = cfg
        .data_dir
        .clone()
        .or_else(|| dirs::data_dir().map(|d| d.join("qualtop").join("relay")));
    let store: Arc<dyn server::ChangeStore> = if let Some(dir) = dir {
        Arc::new(
            changes_store::SqliteChanges::open_in(&dir)
                .with_context(|| format!("opening the change store in {}", dir.display()))?,
        )
    } else {
        tracing::warn!("no data directory: changes are kept in memory only");
        Arc::new(server::MemoryChanges::default())
    };
    let hub = server::ChangeHub::new(store, cfg.dimensions.clone());
    let poller = match (&cfg.prometheus, cfg.changes.promql.is_empty()) {
        (Some(prom), false) => {
            let poller = changes_promql::PromChangePoller::new(
                PromClient::new(prom.client_config())?,
                cfg.changes.promql.clone(),
                Arc::clone(&hub),
                (cfg.bucket_ms, cfg.history_ms),
                prom.delay,
            );
            Some(tokio::spawn(poller.run()))
        }
        _ => None,
    };
    Ok((hub, poller))
}

/// The engine writer for pushes, when `[prometheus] remote_write_url` is set.
fn durable_push(cfg: &RelayConfig) -> anyhow::Result<Option<http::Durable>> {
    let Some((prom, url)) = cfg
        .prometheus
        .as_ref()
        .and_then(|p| Some((p, p.remote_write_url.clone()?)))
    else {
        return Ok(None);
    };
    durable::check_dimensions(&cfg.dimensions).map_err(anyhow::Error::msg)?;
    tracing::info!(%url, "pushes are written to the engine (remote write)");
    Ok(Some(http::Durable {
        writer: remote_write::RemoteWriter::new(url, prom.client_config())?,
        rereads: Arc::default(),
    }))
}

/// Backfills the PromQL signals' history, then serves `/metrics`, `/evals`,
/// `/healthz`, `POST /v1/points` and `/metrics.prom` on `cfg.listen`. Must
/// be called inside a Tokio runtime.
pub async fn start(cfg: RelayConfig) -> anyhow::Result<RunningRelay> {
    crate::tls::install_crypto_provider();
    let started = wall_ms();
    let epoch = format!("{started:x}-{:x}", std::process::id());
    let stats = Arc::new(RelayStats::default());

    let (change_hub, mut change_poller) = start_changes(&cfg)?;
    let mut sources = Vec::new();
    let served = [Endpoint::Metrics, Endpoint::Evals];
    // One detection run over both endpoints: every client gets its findings.
    let paths = served.iter().map(|e| e.path().to_owned()).collect();
    let findings =
        Arc::new(findings::RelayFindings::new(cfg.history_ms).with_identity(&epoch, paths));
    for endpoint in served {
        let specs: Vec<SignalSpec> = cfg
            .signals
            .iter()
            .filter(|s| s.endpoint == endpoint)
            .map(|s| SignalSpec {
                name: s.name.clone(),
                kind: s.kind,
                role: s.role,
                unit: s.unit.clone(),
            })
            .collect();
        let source = relay_source(
            &epoch,
            cfg.dimensions.clone(),
            specs,
            cfg.bucket_ms,
            cfg.history_ms,
            cfg.client_queue,
            server::HubLimits {
                max_slices: cfg.max_slices,
                max_label_value_bytes: cfg.max_label_value_bytes,
            },
        )
        .with_changes(Arc::clone(&change_hub))
        .with_findings(findings.frames());
        // The change poller stops with the first endpoint's source.
        let source = match change_poller.take() {
            Some(task) => source.feeding(task),
            None => source,
        };
        sources.push((endpoint, Arc::new(source)));
    }
    let hub_of = |e: Endpoint| {
        sources
            .iter()
            .find(|(x, _)| *x == e)
            .map(|(_, s)| Arc::clone(s.hub()))
    };

    let durable = durable_push(&cfg)?;
    let mut prom_signals = Vec::new();
    let mut push = HashMap::new();
    for s in &cfg.signals {
        let Some(hub) = hub_of(s.endpoint) else {
            continue;
        };
        let query = match &s.source {
            // Durable: written to the engine and read back like PromQL.
            SignalSource::Push if durable.is_some() => {
                push.insert(s.name.clone(), (s.kind, Arc::clone(&hub)));
                durable::derived_query(s.kind, &s.name, &cfg.dimensions, cfg.bucket_ms)
            }
            SignalSource::Push => {
                push.insert(s.name.clone(), (s.kind, hub));
                continue;
            }
            SignalSource::Ratio { good, total } => PromQuery::Ratio {
                good: good.clone(),
                total: total.clone(),
            },
            SignalSource::Gauge { value } => PromQuery::Gauge {
                value: value.clone(),
            },
        };
        prom_signals.push(PromSignal {
            name: s.name.clone(),
            query,
            hub,
        });
    }

    let poller = match (&cfg.prometheus, prom_signals.is_empty()) {
        (Some(prom), false) => {
            let client = PromClient::new(prom.client_config())?;
            let mut poller = Poller::new(
                client,
                prom_signals,
                cfg.dimensions.clone(),
                cfg.bucket_ms,
                cfg.history_ms,
                prom.delay,
                Arc::clone(&stats),
            );
            if let Some(d) = &durable {
                poller = poller.with_rereads(Arc::clone(&d.rereads));
            }
            // The history window before the first client: a snapshot is then
            // whole from the start. A failing upstream is retried by `run`.
            tracing::info!(url = %prom.url, "backfilling the history window");
            // Bounded, so a black-holed upstream does not keep the relay from
            // serving pushes and showing the outage; `run` carries on.
            let limit = prom.timeout * 2;
            if tokio::time::timeout(limit, poller.round(wall_ms()))
                .await
                .is_err()
            {
                tracing::warn!(?limit, "backfill unfinished; serving meanwhile");
            }
            Some(poller)
        }
        _ => None,
    };
    if !push.is_empty() && durable.is_none() {
        tracing::warn!(
            "no engine configured ([prometheus] with remote_write_url): pushed points live in this relay's memory only and are lost when it stops (pushes are not durable)"
        );
    }

    let auth = Arc::new(RelayAuth::new(
        cfg.tokens.clone(),
        cfg.max_connections_per_token,
    ));
    // The one place the relay hands its annotation store to the server, as
    // the demo does; the server then lists `annotations` in every hello.
    // Opened here (SQLite, WAL) so that a bad directory fails at start.
    let annotations = open_annotations(&cfg)?;
    let server_cfg = ServerConfig {
        annotations: annotations
            .clone()
            .map(|s| AnnotationHub::new(s, AnnotationLimits::default())),
        authorize: Some(auth.clone()),
        max_request_bytes: cfg.max_frame_bytes,
        max_subscribes_per_minute: cfg.max_subscribes_per_minute,
        send_timeout: cfg.send_timeout,
        limits: cfg.connections,
        ..ServerConfig::default()
    };
    let server_stats = Arc::clone(&server_cfg.stats);
    let endpoints: Vec<server::Mount> = sources
        .iter()
        .map(|(e, s)| server::Mount {
            path: e.path().to_owned(),
            source: Arc::clone(s) as Arc<dyn server::FleetSource>,
        })
        .collect();
    let hubs: Vec<(Endpoint, Arc<Hub>)> = sources
        .iter()
        .map(|(e, s)| (*e, Arc::clone(s.hub())))
        .collect();
    let change_routes = changes::routes(changes::ChangesState {
        auth: Arc::clone(&auth),
        hub: change_hub,
        mapping: cfg.changes.custom_details.clone(),
    });
    // Detection reads the hubs as a subscriber would, after the backfill.
    let watched = sources
        .iter()
        .map(|(_, s)| findings::Watched {
            hello: server::FleetSource::hello(s.as_ref()),
            hub: Arc::clone(s.hub()),
        })
        .collect();
    let delay = cfg
        .prometheus
        .as_ref()
        .map_or(std::time::Duration::ZERO, |p| p.delay);
    let learn = cfg
        .detection
        .monitor_config(cfg.bucket_ms)
        .detector
        .min_reference_buckets as i64;
    if cfg.history_ms / cfg.bucket_ms.max(1) < learn {
        tracing::warn!(
            "history holds fewer than the {learn} buckets a detector needs for its baseline: the relay's detectors will stay learning; raise history"
        );
    }
    let detection = findings::spawn(
        watched,
        cfg.detection,
        delay,
        Arc::clone(&findings),
        Arc::new(server::WallClock),
    );
    // Mapped once: a dropped dimension is logged once.
    let labels = findings_page::LabelNames::new(&cfg.dimensions);
    let alerts = match &cfg.alerts {
        Some(a) => {
            tracing::info!(url = %a.alertmanager_url, "regressions are posted to the Alertmanager");
            Some(alerts::spawn(
                a.clone(),
                labels.clone(),
                Arc::clone(&findings),
            )?)
        }
        None => None,
    };
    let routes = http::routes(http::HttpState {
        findings: Arc::clone(&findings),
        labels,
        auth,
        push,
        durable,
        dimensions: cfg.dimensions.clone(),
        bucket_ms: cfg.bucket_ms,
        history_ms: cfg.history_ms,
        max_body_bytes: cfg.max_body_bytes,
        max_points: cfg.max_points_per_request,
        stats: Arc::clone(&stats),
        server_stats: Arc::clone(&server_stats),
        endpoints: hubs
            .iter()
            .map(|(e, h)| (e.path().to_owned(), Arc::clone(h)))
            .collect(),
    })
    .merge(change_routes);
    let tls = match &cfg.tls {
        Some((cert, key)) => Some(server::tls_server_config(cert, key)?),
        None => None,
    };
    let server = server::bind_with(cfg.listen, server_cfg, endpoints, Extras { routes, tls })
        .await
        .context("starting the relay's server")?;
    let poller = poller.map(|p| tokio::spawn(p.run()));
    Ok(RunningRelay {
        annotations,
        addr: server.local_addr(),
        tls: cfg.tls.is_some(),
        server: Some(server),
        poller,
        hubs,
        stats,
        server_stats,
        findings,
        detection: Some(detection),
        alerts,
    })
}
