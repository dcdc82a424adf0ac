//! The bodies `POST /v1/changes` accepts, read into a [`Change`]:
//! qualtop's own JSON (the wire `Change`, with `id` and `source` optional and
//! `at` as ms or RFC 3339), and PagerDuty's change event (Events API v2:
//! `payload.summary`, `payload.timestamp`, `payload.source`,
//! `payload.custom_details`, `links`), whose custom details become the scope
//! through `[changes] custom_details` in relay.toml.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::protocol::{Change, ChangeKind, Millis};

/// What a body is read against.
#[derive(Debug, Clone, Copy)]
pub struct ShapeContext<'a> {
    /// `custom_details` key → dimension.
    pub mapping: &'a BTreeMap<String, String>,
    /// When the request arrived: a PagerDuty event without a timestamp
    /// happened then (as PagerDuty itself reads it).
    pub received: Millis,
    /// The token's name: the default `source` and `author`.
    pub who: Option<&'a str>,
}

/// qualtop's own shape: a `Change` with the server-settable fields optional.
#[derive(Deserialize)]
struct OwnChange {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    at: Option<Value>,
    #[serde(default)]
    scope: BTreeMap<String, String>,
    #[serde(default)]
    kind: Option<ChangeKind>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    author: Option<String>,
}

#[derive(Deserialize)]
struct PagerDutyEvent {
    payload: PagerDutyPayload,
    #[serde(default)]
    links: Vec<PagerDutyLink>,
}

#[derive(Deserialize)]
struct PagerDutyPayload {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    custom_details: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct PagerDutyLink {
    href: String,
}

/// The PagerDuty `routing_key` of a body, which a CD hook that cannot set
/// headers sends in place of the bearer token.
pub fn routing_key(body: &Value) -> Option<&str> {
    body.get("routing_key")?.as_str()
}

/// Reads one body in either shape. The error is one sentence for the caller.
pub fn parse_change(body: &Value, ctx: ShapeContext<'_>) -> Result<Change, String> {
    if !body.is_object() {
        return Err(
            "the body must be one JSON object (a change, or a PagerDuty change event)".into(),
        );
    }
    let mut change = if body.get("payload").is_some() {
        pagerduty(body, ctx)?
    } else {
        own(body, ctx)?
    };
    if change.id.is_empty() {
        change.id = content_id(&change);
    }
    Ok(change)
}

fn own(body: &Value, ctx: ShapeContext<'_>) -> Result<Change, String> {
    let c: OwnChange =
        serde_json::from_value(body.clone()).map_err(|e| format!("not a change: {e}"))?;
    let at = c.at.as_ref().ok_or(
        "\"at\" is required: when the change took effect, in ms since the epoch or RFC 3339",
    )?;
    let title = c.title.ok_or("\"title\" is required")?;
    Ok(Change {
        id: c.id.unwrap_or_default(),
        at: parse_time(at)?,
        scope: c.scope,
        kind: c.kind.unwrap_or(ChangeKind::Other),
        title,
        source: c
            .source
            .or_else(|| ctx.who.map(str::to_owned))
            .unwrap_or_else(|| "api".into()),
        link: c.link,
        author: c.author.or_else(|| ctx.who.map(str::to_owned)),
    })
}

fn pagerduty(body: &Value, ctx: ShapeContext<'_>) -> Result<Change, String> {
    let event: PagerDutyEvent = serde_json::from_value(body.clone())
        .map_err(|e| format!("not a PagerDuty change event: {e}"))?;
    let p = event.payload;
    let title = p.summary.ok_or("payload.summary is required")?;
    let at = match &p.timestamp {
        Some(t) => {
            parse_time(&Value::String(t.clone())).map_err(|e| format!("payload.timestamp: {e}"))?
        }
        None => ctx.received,
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut scope = BTreeMap::new();
    for (key, dim) in ctx.mapping {
        if let Some(value) = p.custom_details.get(key).and_then(text) {
            scope.insert(dim.clone(), value);
        }
    }
    let kind = p
        .custom_details
        .get("kind")
        .and_then(Value::as_str)
        .and_then(|k| k.parse().ok())
        .unwrap_or(ChangeKind::Deploy);
    Ok(Change {
        id: String::new(),
        at,
        scope,
        kind,
        title,
        source: p.source.unwrap_or_else(|| "pagerduty".into()),
        link: event.links.into_iter().map(|l| l.href).next(),
        author: p
            .custom_details
            .get("author")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| ctx.who.map(str::to_owned)),
    })
}

/// ms since the epoch (a number) or RFC 3339 (PagerDuty's `+0000` offsets too).
fn parse_time(v: &Value) -> Result<Millis, String> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a time in whole ms since the epoch")),
        Value::String(s) => {
            let parsed = OffsetDateTime::parse(s, &Rfc3339).or_else(|e| {
                // "2015-07-17T08:42:58.315+0000": an offset without its colon.
                let n = s.len();
                let bare = n > 5
                    && s.is_char_boundary(n - 5)
                    && matches!(&s[n - 5..n - 4], "+" | "-")
                    && s[n - 4..].bytes().all(|b| b.is_ascii_digit());
                if bare {
                    OffsetDateTime::parse(&format!("{}:{}", &s[..n - 2], &s[n - 2..]), &Rfc3339)
                } else {
                    Err(e)
                }
            });
            let t = parsed.map_err(|_| format!("{s:?} is not an RFC 3339 time"))?;
            Millis::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| format!("{s:?} is out of range"))
        }
        _ => Err("a time must be ms since the epoch or an RFC 3339 string".into()),
    }
}

/// An id from the content, so the same event posted twice is stored once.
fn content_id(c: &Change) -> String {
    let canonical = serde_json::json!([c.at, c.scope, c.kind.as_str(), c.title, c.source]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    let hex = digest.iter().take(8).fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("chg-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(mapping: &BTreeMap<String, String>) -> ShapeContext<'_> {
        ShapeContext {
            mapping,
            received: 1_000,
            who: Some("ci"),
        }
    }

    #[test]
    fn a_pagerduty_event_maps_its_details_to_the_scope_and_its_first_link() {
        let mapping = BTreeMap::from([("service".to_string(), "model".to_string())]);
        let body = json!({
            "routing_key": "secret",
            "payload": {
                "summary": "atlas-m v42 deployed",
                "timestamp": "2015-07-17T08:42:58.315+0000",
                "source": "argo",
                "custom_details": {"service": "atlas-m", "build_state": "passed"}
            },
            "links": [{"href": "https://ci.example/42", "text": "run"}]
        });
        let c = parse_change(&body, ctx(&mapping)).unwrap();
        assert_eq!(c.at, 1_437_122_578_315);
        assert_eq!(
            c.scope,
            BTreeMap::from([("model".into(), "atlas-m".into())])
        );
        assert_eq!((c.kind, c.source.as_str()), (ChangeKind::Deploy, "argo"));
        assert_eq!(c.link.as_deref(), Some("https://ci.example/42"));
        assert!(c.id.starts_with("chg-"));
        assert_eq!(
            parse_change(&body, ctx(&mapping)).unwrap().id,
            c.id,
            "same event, same id"
        );
        assert_eq!(routing_key(&body), Some("secret"));
        let untimed = json!({"payload": {"summary": "s"}});
        assert_eq!(
            parse_change(&untimed, ctx(&mapping)).unwrap().at,
            1_000,
            "received then"
        );
    }

    #[test]
    fn qualtop_json_needs_a_time_and_a_title_and_takes_either_time_form() {
        let none = BTreeMap::new();
        let err = parse_change(&json!({"title": "t"}), ctx(&none)).unwrap_err();
        assert!(err.contains("\"at\" is required"), "{err}");
        let err = parse_change(&json!({"at": 5}), ctx(&none)).unwrap_err();
        assert!(err.contains("\"title\" is required"), "{err}");
        let c = parse_change(
            &json!({"at": "1970-01-01T00:00:01Z", "title": "t", "kind": "flag"}),
            ctx(&none),
        )
        .unwrap();
        assert_eq!(
            (c.at, c.kind, c.source.as_str()),
            (1_000, ChangeKind::Flag, "ci")
        );
        let err = parse_change(&json!({"at": "yesterday", "title": "t"}), ctx(&none)).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
        assert!(parse_change(&json!([1]), ctx(&none)).is_err());
    }
}
