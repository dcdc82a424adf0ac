//! Where a client keeps its annotations on disk: the outbox under the XDG
//! state directory, the local store (for backends that do not share
//! annotations) under the XDG data directory, one pair per set of backends.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The outbox and local-store directories for one set of backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPlaces {
    /// `$XDG_STATE_HOME/qualtop/outbox/<backends>`.
    pub outbox: PathBuf,
    /// `$XDG_DATA_HOME/qualtop/local/<backends>`.
    pub local: PathBuf,
}

/// Names a set of backend URLs (`demo` for the built-in one). Keyed, so an
/// annotation written for one war room is never sent to another (say, a
/// practice run on the demo, then production).
pub fn backends_key(urls: &[String]) -> String {
    if urls.is_empty() {
        return "demo".to_owned();
    }
    let mut sorted: Vec<&str> = urls.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let digest = Sha256::digest(sorted.join("\n").as_bytes());
    digest.iter().take(8).fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

impl ClientPlaces {
    /// Under the XDG directories of this user.
    pub fn for_backends(urls: &[String]) -> anyhow::Result<ClientPlaces> {
        let state = dirs::state_dir()
            .context("no state directory for the annotation outbox (set XDG_STATE_HOME)")?;
        let data = dirs::data_dir()
            .context("no data directory for local annotations (set XDG_DATA_HOME)")?;
        Ok(ClientPlaces::under(&state, &data, urls))
    }

    pub fn under(state_dir: &Path, data_dir: &Path, urls: &[String]) -> ClientPlaces {
        let key = backends_key(urls);
        ClientPlaces {
            outbox: state_dir.join("qualtop").join("outbox").join(&key),
            local: data_dir.join("qualtop").join("local").join(&key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_of_backends_has_its_own_places_in_any_order() {
        let a = ["ws://a/metrics".to_string(), "ws://a/evals".to_string()];
        let b = ["ws://a/evals".to_string(), "ws://a/metrics".to_string()];
        assert_eq!(backends_key(&a), backends_key(&b));
        assert_ne!(backends_key(&a), backends_key(&a[..1]));
        assert_eq!(backends_key(&[]), "demo");
        let p = ClientPlaces::under(Path::new("/s"), Path::new("/d"), &[]);
        assert_eq!(p.outbox, Path::new("/s/qualtop/outbox/demo"));
        assert_eq!(p.local, Path::new("/d/qualtop/local/demo"));
    }
}
