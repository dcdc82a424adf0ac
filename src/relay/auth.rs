//! Tokens → who and what: the relay's answer to the server's [`Authorize`]
//! hook, and the same check for its plain HTTP routes. Tokens are compared
//! by SHA-256, so the config never holds one in clear.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

use crate::server::{Authorize, Denied, Principal, bearer_token};

use super::config::{Permission, RelayToken};

/// Every configured token and how many connections each holds.
#[derive(Debug)]
pub struct RelayAuth {
    tokens: Vec<RelayToken>,
    max_connections_per_token: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// A connection slot of one token, given back when the connection ends.
struct Slot {
    token: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.token) {
            *n = n.saturating_sub(1);
        }
    }
}

impl RelayAuth {
    /// No tokens: everyone may do everything (the config allows that only
    /// on a loopback address).
    pub fn new(tokens: Vec<RelayToken>, max_connections_per_token: usize) -> RelayAuth {
        RelayAuth {
            tokens,
            max_connections_per_token: max_connections_per_token.max(1),
            open: Arc::default(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }

    fn token(&self, bearer: Option<&str>) -> Result<&RelayToken, Denied> {
        let hash = super::config::sha256(bearer.ok_or(Denied::Unauthorized)?);
        self.tokens
            .iter()
            .find(|t| t.hash == hash)
            .ok_or(Denied::Unauthorized)
    }

    /// For an HTTP request that needs `role`: the token's name (`None` when
    /// the relay is open), or why not.
    pub fn check(&self, headers: &HeaderMap, role: Permission) -> Result<Option<String>, Denied> {
        if self.is_open() {
            return Ok(None);
        }
        let token = self.token(bearer_token(headers))?;
        if !token.roles.contains(&role) {
            return Err(Denied::Forbidden);
        }
        Ok(Some(token.name.clone()))
    }
}

impl Authorize for RelayAuth {
    fn admit(&self, bearer: Option<&str>, _path: &str) -> Result<Principal, Denied> {
        if self.is_open() {
            return Ok(Principal::anyone());
        }
        let token = self.token(bearer)?;
        if !token.roles.contains(&Permission::Read) {
            return Err(Denied::Forbidden);
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let held = open.entry(token.name.clone()).or_insert(0);
        if *held >= self.max_connections_per_token {
            tracing::warn!(token = %token.name, held = *held, "connection limit reached");
            return Err(Denied::TooManyConnections);
        }
        *held += 1;
        Ok(Principal {
            name: Some(token.name.clone()),
            may_annotate: token.roles.contains(&Permission::Annotate)
                || token.roles.contains(&Permission::Admin),
            admin: token.roles.contains(&Permission::Admin),
            hold: Some(Box::new(Slot {
                token: token.name.clone(),
                open: Arc::clone(&self.open),
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::config::sha256;

    fn auth(limit: usize) -> RelayAuth {
        RelayAuth::new(
            vec![
                RelayToken {
                    name: "oncall".into(),
                    roles: vec![Permission::Read, Permission::Annotate],
                    hash: sha256("s3cret"),
                },
                RelayToken {
                    name: "eval-job".into(),
                    roles: vec![Permission::Ingest],
                    hash: sha256("push"),
                },
            ],
            limit,
        )
    }

    #[test]
    fn roles_decide_what_a_token_may_open() {
        let a = auth(4);
        let p = a.admit(Some("s3cret"), "/metrics").unwrap();
        assert_eq!(p.name.as_deref(), Some("oncall"));
        assert!(p.may_annotate);
        assert_eq!(
            a.admit(Some("push"), "/metrics").unwrap_err(),
            Denied::Forbidden
        );
        assert_eq!(
            a.admit(Some("nope"), "/metrics").unwrap_err(),
            Denied::Unauthorized
        );
        assert_eq!(a.admit(None, "/metrics").unwrap_err(), Denied::Unauthorized);
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer push".parse().unwrap());
        assert_eq!(a.check(&h, Permission::Ingest), Ok(Some("eval-job".into())));
        assert_eq!(a.check(&h, Permission::Read), Err(Denied::Forbidden));
    }

    #[test]
    fn a_token_holds_at_most_its_share_of_connections_and_gets_them_back() {
        let a = auth(2);
        let first = a.admit(Some("s3cret"), "/metrics").unwrap();
        let _second = a.admit(Some("s3cret"), "/evals").unwrap();
        assert_eq!(
            a.admit(Some("s3cret"), "/metrics").unwrap_err(),
            Denied::TooManyConnections
        );
        drop(first);
        assert!(a.admit(Some("s3cret"), "/metrics").is_ok());
    }

    #[test]
    fn an_open_relay_admits_anyone_with_every_role() {
        let a = RelayAuth::new(Vec::new(), 1);
        let p = a.admit(None, "/metrics").unwrap();
        assert!(p.may_annotate && p.name.is_none());
        assert_eq!(a.check(&HeaderMap::new(), Permission::Ingest), Ok(None));
    }
}
