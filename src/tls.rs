//! One rustls crypto provider for the whole process. rustls panics at
//! connect time if two providers are compiled in and none is chosen, so we
//! choose ring explicitly before any TLS client is built.

/// Installs ring as the process-wide provider (a no-op if one is installed).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
