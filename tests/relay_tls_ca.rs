//! wss:// with a private CA: a CA made in the test signs the relay's
//! certificate; qualtop's own client connects only when given that CA
//! (`--ca-file` / a source's `ca_file`), and otherwise says which
//! certificate failed, why, and what to pass.

mod support;

use std::time::Duration;

use qualtop::feed::ConnState;
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::relay::{self, config::Endpoint};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use support::relay::{config, eventually, feed_options, is_live, last_error};

/// Why the feed gave up on its source, if it did.
fn failure(fleet: &SharedFleet) -> Option<String> {
    fleet.read(|f| match &f.sources.first()?.state {
        ConnState::Failed { reason } => Some(reason.clone()),
        _ => None,
    })
}

fn feed(url: &str, ca_files: Vec<std::path::PathBuf>) -> (SharedFleet, qualtop::feed::FeedHandle) {
    let fleet = SharedFleet::new(Fleet::with_sources([url]));
    let cfg = SourceConfig::new(url, url).with_ca_files(ca_files);
    let handle = spawn_feed(fleet.clone(), 0, cfg, feed_options());
    (fleet, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusts_a_private_ca_only_when_given_its_file_and_otherwise_says_what_to_pass() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "qualtop test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();

    let dir = std::env::temp_dir().join(format!("qualtop-tls-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path, ca_path) = (
        dir.join("relay.pem"),
        dir.join("relay.key"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&ca_path, ca.pem()).unwrap();

    let relay = relay::start(config(&format!(
        r#"
bucket = "1m"
history = "1h"
dimensions = ["model"]

[tls]
cert = "{}"
key = "{}"

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"
"#,
        cert_path.display(),
        key_path.display()
    )))
    .await
    .unwrap();
    let url = relay.url(Endpoint::Evals);
    assert!(url.starts_with("wss://"), "{url}");

    let (without, _f1) = feed(&url, Vec::new());
    assert!(
        eventually(Duration::from_secs(10), || failure(&without).is_some()).await,
        "no failure without the CA"
    );
    let message = failure(&without).unwrap_or_default();
    assert!(!is_live(&without));
    assert!(
        message.contains("127.0.0.1"),
        "which certificate: {message}"
    );
    assert!(message.contains("does not trust"), "why: {message}");
    assert!(message.contains("--ca-file"), "what to pass: {message}");

    let (with, _f2) = feed(&url, vec![ca_path.clone()]);
    assert!(
        eventually(Duration::from_secs(10), || is_live(&with)).await,
        "not live with the CA: {:?}",
        last_error(&with)
    );
    relay.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
