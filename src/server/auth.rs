//! Who is on the other end of a connection. The embedding program decides
//! (the relay maps tokens to roles); the server only asks, refuses upgrades
//! it is told to refuse, and holds what it is given for the connection's life.

use std::any::Any;
use std::fmt;

use axum::http::{HeaderMap, StatusCode, header};

use crate::protocol::Annotation;

/// Decides on WebSocket upgrades. Set in [`super::ServerConfig::authorize`].
pub trait Authorize: Send + Sync + 'static {
    /// `bearer` is the token of `Authorization: Bearer <token>`, if any.
    fn admit(&self, bearer: Option<&str>, path: &str) -> Result<Principal, Denied>;
}

/// An admitted client.
pub struct Principal {
    /// Becomes the author of this connection's annotations. `None`: the
    /// client's own `author` is kept (no authentication configured).
    pub name: Option<String>,
    pub may_annotate: bool,
    /// May edit (and purge) annotations of others.
    pub admin: bool,
    /// Held while the connection lives and dropped when it ends (e.g. a
    /// per-token connection slot).
    pub hold: Option<Box<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("name", &self.name)
            .field("may_annotate", &self.may_annotate)
            .field("admin", &self.admin)
            .finish()
    }
}

impl Principal {
    /// Anyone at all: the server without authentication.
    pub fn anyone() -> Principal {
        Principal {
            name: None,
            may_annotate: true,
            // No identity to check edits against: authorship is not enforced.
            admin: false,
            hold: None,
        }
    }

    /// Checks that this client may annotate, and signs the annotation with
    /// its name, so that no client writes under someone else's.
    pub fn stamp(&self, annotation: &mut Annotation) -> Result<(), String> {
        if !self.may_annotate {
            return Err(format!(
                "token {:?} may read but not annotate",
                self.name.as_deref().unwrap_or("")
            ));
        }
        if let Some(name) = &self.name {
            annotation.author.clone_from(name);
        }
        Ok(())
    }
}

/// One shared secret for every client (`qualtop demo-server --token-env`):
/// the bearer must match it, compared in constant time; anyone who has it
/// may read and annotate under their own name.
pub struct SharedToken {
    token: String,
}

impl SharedToken {
    pub fn new(token: impl Into<String>) -> SharedToken {
        SharedToken {
            token: token.into(),
        }
    }
}

impl fmt::Debug for SharedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedToken(<redacted>)")
    }
}

impl Authorize for SharedToken {
    fn admit(&self, bearer: Option<&str>, _path: &str) -> Result<Principal, Denied> {
        match bearer {
            Some(given) if constant_time_eq(given.as_bytes(), self.token.as_bytes()) => {
                Ok(Principal::anyone())
            }
            _ => Err(Denied::Unauthorized),
        }
    }
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why an upgrade (or an HTTP request) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token, or one that matches nobody: 401.
    Unauthorized,
    /// A known token without the role this needs: 403.
    Forbidden,
    /// The token already holds its share of connections: 429.
    TooManyConnections,
}

impl Denied {
    pub fn status(self) -> StatusCode {
        match self {
            Denied::Unauthorized => StatusCode::UNAUTHORIZED,
            Denied::Forbidden => StatusCode::FORBIDDEN,
            Denied::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Denied::Unauthorized => "missing or wrong bearer token\n",
            Denied::Forbidden => "this token lacks the role for this\n",
            Denied::TooManyConnections => "this token has too many open connections\n",
        }
    }

    /// The HTTP answer; 401 says which scheme to use.
    pub fn response(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        match self {
            Denied::Unauthorized => (
                self.status(),
                [(header::WWW_AUTHENTICATE, "Bearer")],
                self.message(),
            )
                .into_response(),
            _ => (self.status(), self.message()).into_response(),
        }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, given) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| given.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AnnotationState;

    fn annotation(author: &str) -> Annotation {
        Annotation {
            id: "a".into(),
            scope: Default::default(),
            signal: None,
            from: 0,
            to: None,
            state: AnnotationState::Suspected,
            text: "t".into(),
            author: author.into(),
            rev: None,
            created: None,
            updated: None,
        }
    }

    #[test]
    fn a_named_principal_signs_annotations_with_its_own_name() {
        let p = Principal {
            name: Some("oncall".into()),
            may_annotate: true,
            admin: false,
            hold: None,
        };
        let mut a = annotation("someone-else");
        p.stamp(&mut a).unwrap();
        assert_eq!(a.author, "oncall");
        let mut b = annotation("me");
        Principal::anyone().stamp(&mut b).unwrap();
        assert_eq!(b.author, "me");
    }

    #[test]
    fn a_read_only_principal_may_not_annotate() {
        let p = Principal {
            name: Some("viewer".into()),
            may_annotate: false,
            admin: false,
            hold: None,
        };
        let e = p.stamp(&mut annotation("x")).unwrap_err();
        assert!(e.contains("viewer"), "{e}");
    }

    #[test]
    fn a_shared_token_admits_only_its_exact_bearer() {
        let t = SharedToken::new("s3cret");
        assert!(t.admit(Some("s3cret"), "/evals").is_ok());
        for wrong in [Some("s3cre"), Some("s3cret "), Some(""), None] {
            assert_eq!(
                t.admit(wrong, "/evals").err(),
                Some(Denied::Unauthorized),
                "{wrong:?}"
            );
        }
        assert!(
            !format!("{t:?}").contains("s3cret"),
            "Debug never shows the secret"
        );
    }

    #[test]
    fn bearer_token_is_read_case_insensitively_and_empty_is_none() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc ".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
    }
}
