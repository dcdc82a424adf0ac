//! A change to the fleet (a deploy, a config push, a flag flip): the answer to
//! "what changed there, just before?". Plain wire data; the ranking against a
//! regression lives above, in `detect`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::message::{Millis, Subscribe};
use super::validate::PLAUSIBLE_TIME;

/// The hello feature of a backend that reports changes (`change` messages,
/// `changes` in the snapshot).
pub const CHANGES_FEATURE: &str = "changes";

/// Longest change id, in bytes.
pub const MAX_CHANGE_ID: usize = 128;
/// Longest change title, in bytes.
pub const MAX_CHANGE_TITLE: usize = 512;
/// Longest `source` or `author`, in bytes.
pub const MAX_CHANGE_NAME: usize = 128;
/// Longest link, in bytes.
pub const MAX_CHANGE_LINK: usize = 2048;
/// Longest scope value, in bytes (as for annotations).
pub const MAX_CHANGE_SCOPE_VALUE: usize = 256;
/// How far ahead of the backend's clock a change may be dated: clock skew
/// and a deploy announced for the next minutes, not a typo'd year.
pub const MAX_CHANGE_LEAD_MS: Millis = 86_400_000;

/// One change, as it is on the wire (`change` message, `changes` in a snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Unique per backend; the same id again replaces the change.
    pub id: String,
    /// When the change took effect (UTC ms).
    pub at: Millis,
    /// A partial slice: any subset of the dimensions; `{}` is the whole fleet.
    #[serde(default)]
    pub scope: BTreeMap<String, String>,
    pub kind: ChangeKind,
    pub title: String,
    /// Who reported it: a CD pipeline, a PromQL source, a person.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// What sort of change; an unknown kind on the wire reads as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Deploy,
    Config,
    Flag,
    Infra,
    #[serde(other)]
    Other,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Deploy,
        ChangeKind::Config,
        ChangeKind::Flag,
        ChangeKind::Infra,
        ChangeKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Deploy => "deploy",
            ChangeKind::Config => "config",
            ChangeKind::Flag => "flag",
            ChangeKind::Infra => "infra",
            ChangeKind::Other => "other",
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChangeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not a change kind (deploy, config, flag, infra, other)")
            })
    }
}

impl Change {
    /// Whether a client subscribed with `sub` should see this change: its
    /// scope names no filtered dimension with a value the filter leaves out
    /// (`{}`, the whole fleet, meets every filter).
    pub fn meets(&self, sub: &Subscribe) -> bool {
        self.scope.iter().all(|(dim, value)| {
            sub.filter
                .get(dim)
                .is_none_or(|wanted| wanted.is_empty() || wanted.iter().any(|w| w == value))
        })
    }
}

/// Why a change was refused, as one sentence naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {id:?}: {reason}")]
pub struct ChangeInvalid {
    /// The id as given, cut to [`MAX_CHANGE_ID`] bytes' worth of characters.
    pub id: String,
    pub reason: String,
}

/// Checks a change against the backend's dimensions and clock (`now`, ms):
/// what the relay accepts and what the client keeps.
pub fn validate_change(
    c: &Change,
    dimensions: &[String],
    now: Millis,
) -> Result<(), ChangeInvalid> {
    let bad = |reason: String| ChangeInvalid {
        id: c.id.chars().take(MAX_CHANGE_ID).collect(),
        reason,
    };
    let printable = |s: &str| !s.chars().any(char::is_control);
    if c.id.is_empty()
        || c.id.len() > MAX_CHANGE_ID
        || c.id.chars().any(|ch| ch.is_control() || ch.is_whitespace())
    {
        return Err(bad(format!(
            "id must be 1-{MAX_CHANGE_ID} bytes without spaces or control characters"
        )));
    }
    if c.title.trim().is_empty() || c.title.len() > MAX_CHANGE_TITLE {
        return Err(bad(format!("title must be 1-{MAX_CHANGE_TITLE} bytes")));
    }
    if c.source.trim().is_empty() || c.source.len() > MAX_CHANGE_NAME || !printable(&c.source) {
        return Err(bad(format!(
            "source must be 1-{MAX_CHANGE_NAME} bytes without control characters"
        )));
    }
    if c.author
        .as_ref()
        .is_some_and(|a| a.len() > MAX_CHANGE_NAME || !printable(a))
    {
        return Err(bad(format!(
            "author must be at most {MAX_CHANGE_NAME} bytes without control characters"
        )));
    }
    if let Some(link) = &c.link {
        let web = link.starts_with("https://") || link.starts_with("http://");
        if !web || link.len() > MAX_CHANGE_LINK || !printable(link) {
            return Err(bad(format!(
                "link must be an http(s) URL of at most {MAX_CHANGE_LINK} bytes"
            )));
        }
    }
    for (dim, value) in &c.scope {
        if !dimensions.iter().any(|d| d == dim) {
            return Err(bad(format!(
                "scope names unknown dimension {dim:?} (this backend has {})",
                dimensions.join(", ")
            )));
        }
        if value.is_empty() || value.len() > MAX_CHANGE_SCOPE_VALUE {
            return Err(bad(format!(
                "scope value of {dim:?} must be 1-{MAX_CHANGE_SCOPE_VALUE} bytes"
            )));
        }
    }
    if c.at <= 0 || !PLAUSIBLE_TIME.contains(&c.at) || c.at > now.saturating_add(MAX_CHANGE_LEAD_MS)
    {
        return Err(bad(
            "at must be a time in ms since the epoch, not more than a day ahead".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_reads_as_other_and_fields_round_trip() {
        let json = r#"{"id":"c1","at":5,"scope":{"hardware":"tpu"},"kind":"rollback","title":"t","source":"cd","extra":1}"#;
        let change: Change = serde_json::from_str(json).expect("parses");
        assert_eq!(change.kind, ChangeKind::Other);
        assert_eq!(
            change.scope.get("hardware").map(String::as_str),
            Some("tpu")
        );
        let back: Change = serde_json::from_str(&serde_json::to_string(&change).expect("encodes"))
            .expect("parses again");
        assert_eq!(back, change);
        assert_eq!("flag".parse::<ChangeKind>(), Ok(ChangeKind::Flag));
        assert!("rollback".parse::<ChangeKind>().is_err());
    }

    fn sample() -> Change {
        Change {
            id: "deploy-42".into(),
            at: 1_000_000,
            scope: [("hardware".to_string(), "tpu".to_string())].into(),
            kind: ChangeKind::Deploy,
            title: "tpu-runtime v42".into(),
            source: "cd".into(),
            link: Some("https://ci.example/42".into()),
            author: None,
        }
    }

    #[test]
    fn validation_names_the_field_at_fault() {
        let dims = ["model".to_string(), "hardware".to_string()];
        let ok = |c: &Change| validate_change(c, &dims, 1_000_000);
        assert_eq!(ok(&sample()), Ok(()));
        let reason = |c: Change| ok(&c).expect_err("refused").to_string();
        let with_scope = |k: &str| Change {
            scope: [(k.to_string(), "x".to_string())].into(),
            ..sample()
        };
        assert!(reason(with_scope("region")).contains("unknown dimension \"region\""));
        assert!(
            reason(Change {
                id: String::new(),
                ..sample()
            })
            .contains("id must be")
        );
        assert!(
            reason(Change {
                id: "a b".into(),
                ..sample()
            })
            .contains("id must be")
        );
        assert!(
            reason(Change {
                title: " ".into(),
                ..sample()
            })
            .contains("title")
        );
        assert!(
            reason(Change {
                title: "x".repeat(MAX_CHANGE_TITLE + 1),
                ..sample()
            })
            .contains("title")
        );
        assert!(
            reason(Change {
                source: String::new(),
                ..sample()
            })
            .contains("source")
        );
        assert!(
            reason(Change {
                link: Some("javascript:alert(1)".into()),
                ..sample()
            })
            .contains("link")
        );
        assert!(reason(Change { at: 0, ..sample() }).contains("at must be"));
        assert!(
            reason(Change {
                at: 1_000_000 + MAX_CHANGE_LEAD_MS + 1,
                ..sample()
            })
            .contains("at must be")
        );
        // A title is data: control characters are kept and sanitised on display.
        assert_eq!(
            ok(&Change {
                title: "\u{1b}]0;x\u{7}".into(),
                ..sample()
            }),
            Ok(())
        );
    }

    #[test]
    fn a_change_meets_a_filter_unless_its_scope_names_a_value_left_out() {
        let sub = |dim: &str, v: &str| Subscribe {
            window_ms: 1,
            filter: [(dim.to_string(), vec![v.to_string()])].into(),
        };
        let change = sample();
        assert!(change.meets(&sub("hardware", "tpu")));
        assert!(change.meets(&sub("model", "atlas-m")), "another dimension");
        assert!(!change.meets(&sub("hardware", "gpu")));
        let fleet_wide = Change {
            scope: BTreeMap::new(),
            ..sample()
        };
        assert!(fleet_wide.meets(&sub("hardware", "gpu")));
    }
}
