//! The relay over TLS (rustls, ring): a self-signed certificate made in the
//! test, `wss://` for the protocol and `https://` for pushes, with clients
//! that trust exactly that certificate.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use qualtop::clock::wall_ms;
use qualtop::protocol::Endpoint;
use qualtop::relay::{self};
use rustls::pki_types::CertificateDer;
use serde_json::json;
use support::relay::{config, next_json, next_of, relay_toml, tls};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn wss_and_https_serve_the_protocol_and_pushes_under_a_self_signed_certificate() {
    qualtop::tls::install_crypto_provider();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let tmp = support::TempDir::new("relay-tls");
    let dir = tmp.path();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let relay = relay::start(config(&relay_toml(&["model"], &tls(&cert_path, &key_path))))
        .await
        .unwrap();
    let url = relay.url(Endpoint::Evals);
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url.clone().into_client_request().unwrap(),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(tls))),
    )
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws, WAIT).await.unwrap()["type"], "hello");
    ws.send(Message::text(r#"{"type":"subscribe","window_ms":3600000}"#))
        .await
        .unwrap();
    next_of(&mut ws, "snapshot", WAIT).await.unwrap();

    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let ts = wall_ms() / 60_000 * 60_000;
    let line =
        json!({"slice": {"model": "m1"}, "signal": "golden-qa", "ts": ts, "good": 3, "total": 4});
    let resp = https
        .post(relay.http_url("/v1/points"))
        .body(line.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let batch = next_of(&mut ws, "batch", WAIT).await.unwrap();
    assert_eq!(batch["points"][0]["good"], 3);

    // A client that does not trust the certificate is turned away.
    let untrusting = reqwest::Client::new()
        .get(relay.http_url("/healthz"))
        .send()
        .await;
    assert!(
        untrusting.is_err(),
        "a self-signed certificate must not pass default trust"
    );
    relay.shutdown().await;
}
