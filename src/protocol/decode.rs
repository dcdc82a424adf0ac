//! Text frame → message. Reads the `type` first (allocation-free), then the
//! message itself, so unknown types cost one scan and are ignored.

use serde::Deserialize;

use super::PROTOCOL_VERSION;
use super::message::{ClientMessage, Hello, ServerMessage};
use super::validate::validate_hello;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is not a JSON object: {0}")]
    NotJson(String),
    #[error("frame has no \"type\" field")]
    MissingType,
    #[error("malformed {kind} message: {detail}")]
    Malformed { kind: String, detail: String },
    #[error("backend speaks protocol {0}; this qualtop speaks protocol {PROTOCOL_VERSION}")]
    UnsupportedProtocol(u64),
    /// A hello that parses but declares more than qualtop will hold.
    #[error("{0}")]
    RefusedHello(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    protocol: Option<serde_json::Value>,
}

fn envelope(text: &str) -> Result<Envelope<'_>, DecodeError> {
    // Ignore every other field cheaply: only "type" (and "protocol") are read.
    let env: Envelope =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    Ok(env)
}

fn body<'a, T: Deserialize<'a>>(kind: &str, text: &'a str) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|e| DecodeError::Malformed {
        kind: kind.to_owned(),
        detail: e.to_string(),
    })
}

/// The type of a frame that begins `{"type":"<kind>",` exactly, as every
/// protocol 1 encoder here writes it: saves the envelope pass over a large
/// batch or snapshot. Anything else takes the general path.
fn leading_kind(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(r#"{"type":""#)?;
    let end = rest.find('"')?;
    let (kind, after) = rest.split_at(end);
    (after.starts_with(r#"","#) && !kind.contains('\\')).then_some(kind)
}

/// Decodes a frame sent by a backend. `Ok(None)` is a message of a type this
/// build does not know, which protocol 1 says to ignore.
pub fn decode_server(text: &str) -> Result<Option<ServerMessage<'_>>, DecodeError> {
    match leading_kind(text) {
        Some("batch") => return body("batch", text).map(|b| Some(ServerMessage::Batch(b))),
        Some("snapshot") => {
            return body("snapshot", text).map(|s| Some(ServerMessage::Snapshot(s)));
        }
        _ => {}
    }
    let env = envelope(text)?;
    let kind = env.kind.ok_or(DecodeError::MissingType)?;
    let msg = match kind.as_ref() {
        "hello" => {
            // Check the version before the rest: another version's hello may
            // not even have our fields.
            match env.protocol.as_ref().and_then(|p| p.as_u64()) {
                Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
                Some(v) => return Err(DecodeError::UnsupportedProtocol(v)),
                None => {
                    return Err(DecodeError::Malformed {
                        kind: "hello".into(),
                        detail: "missing or non-integer \"protocol\"".into(),
                    });
                }
            }
            let hello: Hello = body("hello", text)?;
            validate_hello(&hello).map_err(DecodeError::RefusedHello)?;
            ServerMessage::Hello(hello)
        }
        "snapshot" => ServerMessage::Snapshot(body("snapshot", text)?),
        "batch" => ServerMessage::Batch(body("batch", text)?),
        "heartbeat" => ServerMessage::Heartbeat(body("heartbeat", text)?),
        "error" => ServerMessage::Error(body("error", text)?),
        "annotation" => ServerMessage::Annotation(body("annotation", text)?),
        "change" => ServerMessage::Change(body("change", text)?),
        "findings" => ServerMessage::Findings(Box::new(body("findings", text)?)),
        _ => return Ok(None),
    };
    Ok(Some(msg))
}

/// Decodes a frame sent by a client. `Ok(None)` for unknown types.
pub fn decode_client(text: &str) -> Result<Option<ClientMessage>, DecodeError> {
    let env = envelope(text)?;
    let kind = env.kind.ok_or(DecodeError::MissingType)?;
    let msg = match kind.as_ref() {
        "subscribe" => ClientMessage::Subscribe(body("subscribe", text)?),
        "annotate" => ClientMessage::Annotate(body("annotate", text)?),
        _ => return Ok(None),
    };
    Ok(Some(msg))
}
