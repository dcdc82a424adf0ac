//! wss:// with a private CA: a CA made in the test signs the relay's
//! certificate; qualtop's own client connects only when given that CA
//! (`--ca-file` / a source's `ca_file`), and otherwise says which
//! certificate failed, why, and what to pass.

use crate::support;

use std::time::Duration;

use qualtop::feed::ConnState;
use qualtop::feed::{Fleet, SharedFleet, SourceConfig, spawn_feed};
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use support::fast_feed;
use support::relay::{config, is_live, last_error, relay_toml, tls};
use support::wait::eventually;

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
    let handle = spawn_feed(fleet.clone(), 0, cfg, fast_feed());
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

    let tmp = support::TempDir::new("relay-tls-ca");
    let dir = tmp.path();
    let (cert_path, key_path, ca_path) = (
        dir.join("relay.pem"),
        dir.join("relay.key"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, leaf_key.serialize_pem()).unwrap();
    std::fs::write(&ca_path, ca.pem()).unwrap();

    let relay = relay::start(config(&relay_toml(&["model"], &tls(&cert_path, &key_path))))
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
    assert!(message.contains("unknown CA"), "why: {message}");
    assert!(message.contains("--ca-file"), "what to pass: {message}");

    let (with, _f2) = feed(&url, vec![ca_path.clone()]);
    assert!(
        eventually(Duration::from_secs(10), || is_live(&with)).await,
        "not live with the CA: {:?}",
        last_error(&with)
    );

    // `qualtop push` to https:// trusts the same CA file.
    let https = relay.http_url("");
    let line = format!(
        r#"{{"ts":{},"suite":"golden-qa","model":"m1","passed":true}}"#,
        qualtop::clock::wall_ms()
    );
    let push = |ca: Option<std::path::PathBuf>| {
        let (https, line) = (https.clone(), line.clone());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut cmd = support::qualtop_command("push-tls");
            cmd.args(["push", "--relay", &https]);
            if let Some(ca) = ca {
                cmd.arg("--ca-file").arg(ca);
            }
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("qualtop push");
            if let Some(mut i) = child.stdin.take() {
                let _ = i.write_all(line.as_bytes());
            }
            child.wait_with_output().expect("qualtop push output")
        })
    };
    let refused = push(None).await.unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let trusted = push(Some(ca_path.clone())).await.unwrap();
    let out = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(out.contains("accepted 1 points"), "{out}");
    relay.shutdown().await;
}
