//! Scale mode against the real demo backend over loopback WebSockets: the
//! rows a scaled client holds equal the sums of every leaf a full-leaf
//! client holds, at the top level and after a drill, and the store holds
//! only the view.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use qualtop::demo::{self, DemoOptions};
use qualtop::feed::{
    FeedOptions, Fleet, SharedFleet, ShownView, SourceConfig, ViewLevel, spawn_feed,
};
use qualtop::protocol::SignalKind;
use qualtop::server::ServerConfig;

use crate::support::fast_feed;
use crate::support::wait::eventually;

/// (good, total) summed per key, at `bucket`, over the slices `key` names.
type Sums = BTreeMap<String, (u64, u64)>;

fn sums(
    fleet: &SharedFleet,
    signal: &str,
    bucket: i64,
    key: impl Fn(&[(&str, &str)]) -> Option<String>,
) -> Sums {
    fleet.read(|f| {
        let store = &f.store;
        let mut out = Sums::new();
        let Some(sig) = store.signal_by_name(signal) else {
            return out;
        };
        for id in store.slices().ids() {
            let pairs: Vec<(&str, &str)> = store.slices().pairs(id).collect();
            if let (Some(k), Some(r)) = (key(&pairs), store.ratio(sig, id, bucket)) {
                let e = out.entry(k).or_default();
                e.0 += r.good;
                e.1 += r.total;
            }
        }
        out
    })
}

fn value<'a>(pairs: &[(&str, &'a str)], dim: &str) -> Option<&'a str> {
    pairs.iter().find(|(d, _)| *d == dim).map(|(_, v)| *v)
}

fn loaded(fleet: &SharedFleet, view: &str) -> bool {
    fleet.read(|f| {
        f.sources[0]
            .scale
            .as_ref()
            .is_some_and(|s| !s.loading && s.view == view)
    })
}

#[tokio::test]
async fn a_scaled_client_holds_the_demos_exact_rollups_of_the_view_only() {
    let server = demo::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ServerConfig {
            // Parts, so that the first one declares the fleet's leaves.
            snapshot_part_bytes: 32 * 1024,
            ..ServerConfig::default()
        },
        DemoOptions {
            speed: 1.0,
            data_dir: None,
            ..DemoOptions::default()
        },
    )
    .await
    .unwrap();
    let url = server.url("/evals");
    let connect = |scale_leaves| {
        let fleet = SharedFleet::new(Fleet::with_sources(["evals"]));
        let opts = FeedOptions {
            scale_leaves,
            ..fast_feed()
        };
        let feed = spawn_feed(
            fleet.clone(),
            0,
            SourceConfig::new("evals", url.clone()),
            opts,
        );
        (fleet, feed)
    };
    let (full, _full_feed) = connect(0);
    let (scaled, _scaled_feed) = connect(10);
    let within = Duration::from_secs(30);
    assert!(eventually(within, || loaded(&scaled, "fleet by model")).await);
    assert!(eventually(within, || full.read(|f| f.sources[0].snapshots > 0)).await);
    assert!(
        full.read(|f| f.sources[0].scale.is_none()),
        "0 never switches"
    );

    let (signal, bucket) = full.read(|f| {
        let sig = f
            .store
            .signals()
            .iter()
            .find(|s| s.spec.kind == SignalKind::Ratio)
            .map(|s| s.spec.name.clone())
            .unwrap();
        (sig, f.store.head().unwrap() - 5)
    });
    let by_model = |p: &[(&str, &str)]| value(p, "model").map(str::to_owned);
    let leaves = sums(&full, &signal, bucket, by_model);
    let rows = sums(&scaled, &signal, bucket, |p| {
        (p.len() == 1).then(|| by_model(p)).flatten()
    });
    assert!(leaves.len() > 1, "{leaves:?}");
    assert_eq!(
        rows, leaves,
        "each model's row is the exact sum of its leaves"
    );

    let model = leaves.keys().next().unwrap().clone();
    scaled.show(ShownView {
        path: vec![("model".into(), model.clone())],
        level: ViewLevel::Next,
    });
    let view = format!("model={model} by platform");
    assert!(
        eventually(within, || loaded(&scaled, &view)).await,
        "{view}"
    );
    let by_platform = |p: &[(&str, &str)]| {
        (value(p, "model") == Some(model.as_str()))
            .then(|| value(p, "platform").map(str::to_owned))
            .flatten()
    };
    let leaves = sums(&full, &signal, bucket, by_platform);
    let rows = sums(&scaled, &signal, bucket, |p| Some(format!("{p:?}")));
    let expected: Sums = leaves
        .iter()
        .map(|(platform, c)| {
            (
                format!(
                    "{:?}",
                    [("model", model.as_str()), ("platform", platform.as_str())]
                ),
                *c,
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "after the drill the store holds the view's rows only, each exact"
    );
}
