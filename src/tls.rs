//! TLS for qualtop's clients: one rustls crypto provider for the process,
//! and the roots a `wss://` connection trusts — the bundled web PKI, the
//! system trust store, and any PEM bundle given with `--ca-file` or a
//! source's `ca_file` — with certificate errors worded as what to do.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};

/// Installs ring as the process-wide provider (a no-op if one is installed).
/// rustls panics at connect time if two providers are compiled in and none
/// is chosen, so we choose ring explicitly before any TLS client is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Bundled roots plus the system's, loaded once (the system store is slow).
fn base_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let system = rustls_native_certs::load_native_certs();
        for e in &system.errors {
            tracing::debug!(error = %e, "part of the system trust store could not be read");
        }
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        tracing::debug!(added, ignored, "system trust store loaded");
        roots
    })
}

/// Every certificate in a PEM bundle; the error names the file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the CA file {} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the CA file {} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The client config for `wss://`: bundled and system roots, plus `ca_files`.
pub fn client_config(ca_files: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, String> {
    install_crypto_provider();
    let mut roots = base_roots().clone();
    for path in ca_files {
        for cert in read_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("a certificate in {} is unusable: {e}", path.display()))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The rustls error inside a connection error, if it is one.
pub fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// One sentence for a server certificate the client refused: which
/// certificate (the server's, by URL), why, and what to pass.
pub fn certificate_message(url: &str, e: &rustls::Error, ca_files: &[PathBuf]) -> String {
    let host = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split(['/', '?'])
        .next()
        .unwrap_or(url);
    let given = if ca_files.is_empty() {
        String::new()
    } else {
        let files: Vec<String> = ca_files.iter().map(|p| p.display().to_string()).collect();
        format!(" (also trusted: {})", files.join(", "))
    };
    // Why and what to do first: a screen's header cuts the end off.
    let fix = format!(
        "pass --ca-file CA.pem (or ca_file for this source in config.toml) with the CA that signed the certificate of {host}{given}"
    );
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => format!("certificate from an unknown CA: {fix}"),
            CertificateError::BadSignature | CertificateError::BadEncoding => format!(
                "certificate of {host} is malformed or badly signed ({c:?}): the server must present a valid one"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "certificate of {host} has expired: renew it on the server (or check this machine's clock)"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("certificate of {host} is not valid yet: check this machine's clock")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("certificate does not name {host}: connect with a host name it lists")
            }
            CertificateError::Revoked => {
                format!("certificate of {host} has been revoked: the server needs a new one")
            }
            other => format!("certificate refused ({other:?}): {fix}"),
        },
        other => format!("TLS with {host} failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_issuer_names_the_host_and_what_to_pass() {
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let m = certificate_message("wss://relay.example:7071/evals", &e, &[]);
        assert!(m.contains("relay.example:7071"), "{m}");
        assert!(
            m.starts_with("certificate from an unknown CA: pass --ca-file"),
            "{m}"
        );
        let m = certificate_message(
            "wss://r:1/",
            &rustls::Error::InvalidCertificate(CertificateError::Expired),
            &[],
        );
        assert!(m.contains("expired"), "{m}");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_not_pem_is_named() {
        let e = client_config(&[PathBuf::from("/nonexistent/ca.pem")]).unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        let dir = std::env::temp_dir().join(format!("qualtop-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("empty.pem");
        std::fs::write(&f, "hello\n").unwrap();
        let e = client_config(std::slice::from_ref(&f)).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
