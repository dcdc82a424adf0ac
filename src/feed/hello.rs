//! The first frame of a connection: the backend's `hello`.

use crate::protocol::{DecodeError, Hello, PLAUSIBLE_TIME, ServerMessage, decode_server};

use super::connect::Ending;
use super::session::kind_of;

/// Decodes the first frame of a connection, which must be a `hello`.
pub fn decode_hello(text: &str) -> Result<Hello, Ending> {
    let hello = match decode_server(text) {
        Ok(Some(ServerMessage::Hello(h))) => h,
        Ok(Some(other)) => {
            return Err(Ending::Failed(format!(
                "backend sent {} before hello: not a protocol 1 backend",
                kind_of(&other)
            )));
        }
        Ok(None) => {
            return Err(Ending::Failed(
                "backend's first message is of an unknown type, not hello".into(),
            ));
        }
        Err(e @ DecodeError::UnsupportedProtocol(_)) => return Err(Ending::Failed(e.to_string())),
        Err(e) => return Err(Ending::Failed(format!("bad hello: {e}"))),
    };
    if !PLAUSIBLE_TIME.contains(&hello.now) {
        return Err(Ending::Failed(format!(
            "bad hello: clock {} ms is not a plausible time",
            hello.now
        )));
    }
    Ok(hello)
}

/// The hello's optional `time_scale` (seconds of data time per real
/// second), read apart from [`Hello`] so older backends need not send it.
pub fn hello_time_scale(text: &str) -> Option<f64> {
    #[derive(serde::Deserialize)]
    struct Extras {
        time_scale: Option<f64>,
    }
    let scale = serde_json::from_str::<Extras>(text).ok()?.time_scale?;
    (scale.is_finite() && scale > 0.0 && scale <= 1e6).then_some(scale)
}

/// The hello's optional `slices` (leaf slices the backend holds now), read
/// apart from [`Hello`] like `time_scale`: a hint for scale mode.
pub fn hello_slices(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Extras {
        slices: Option<u64>,
    }
    serde_json::from_str::<Extras>(text).ok()?.slices
}
