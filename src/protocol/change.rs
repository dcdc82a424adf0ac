//! A change to the fleet (a deploy, a config push, a flag flip): the answer to
//! "what changed there, just before?". Plain wire data; the ranking against a
//! regression lives above, in `detect`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::message::Millis;

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
}
