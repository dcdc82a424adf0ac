//! The `[changes]` part of relay.toml: how a PagerDuty change event's
//! `custom_details` map to dimensions, and the PromQL change sources.
//!
//! ```toml
//! [changes]
//! custom_details = { service = "model", cluster = "region" }   # key → dimension
//!
//! [[changes.promql]]
//! name = "kube-deploys"
//! query = "changes(kube_deployment_status_observed_generation[1m]) > 0"
//! kind = "deploy"
//! title = "{deployment} rolled out"          # {label} is the series' label
//! labels = { deployment = "model" }          # label → dimension
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::protocol::{ChangeKind, MAX_CHANGE_TITLE};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChanges {
    #[serde(default)]
    custom_details: BTreeMap<String, String>,
    #[serde(default)]
    promql: Vec<RawPromChange>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromChange {
    name: String,
    query: String,
    #[serde(default = "deploy")]
    kind: ChangeKind,
    title: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn deploy() -> ChangeKind {
    ChangeKind::Deploy
}

/// What the relay does with changes beyond storing what is posted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangesConfig {
    /// PagerDuty `custom_details` key → dimension.
    pub custom_details: BTreeMap<String, String>,
    pub promql: Vec<PromChangeSource>,
}

/// A PromQL query whose every positive sample is a change.
#[derive(Debug, Clone, PartialEq)]
pub struct PromChangeSource {
    /// The change's `source` (`promql:NAME`) and part of its id.
    pub name: String,
    pub query: String,
    pub kind: ChangeKind,
    /// `{label}` is replaced by the series' value of that label.
    pub title: String,
    /// Series label → dimension; the scope of the change.
    pub labels: BTreeMap<String, String>,
}

impl RawChanges {
    /// Checks the section against the relay's dimensions; the error names the key.
    pub fn into_config(
        self,
        dimensions: &[String],
        has_prometheus: bool,
    ) -> Result<ChangesConfig, String> {
        let known = |dim: &String| dimensions.contains(dim);
        if let Some((key, dim)) = self.custom_details.iter().find(|(_, d)| !known(d)) {
            return Err(format!(
                "changes.custom_details.{key}: {dim:?} is not one of the dimensions ({})",
                dimensions.join(", ")
            ));
        }
        let mut promql = Vec::new();
        for p in self.promql {
            let key = format!("changes.promql {:?}", p.name);
            let name_ok = !p.name.is_empty()
                && p.name.len() <= 64
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(format!(
                    "{key}: name must be 1-64 characters of A-Z, a-z, 0-9, - and _"
                ));
            }
            if promql.iter().any(|q: &PromChangeSource| q.name == p.name) {
                return Err(format!("{key}: name given twice"));
            }
            if !has_prometheus {
                return Err(format!("{key}: a PromQL change source needs [prometheus]"));
            }
            if p.query.trim().is_empty() {
                return Err(format!("{key}.query must not be empty"));
            }
            if p.title.trim().is_empty() || p.title.len() > MAX_CHANGE_TITLE {
                return Err(format!("{key}.title must be 1-{MAX_CHANGE_TITLE} bytes"));
            }
            if let Some((label, dim)) = p.labels.iter().find(|(_, d)| !known(d)) {
                return Err(format!(
                    "{key}.labels.{label}: {dim:?} is not one of the dimensions ({})",
                    dimensions.join(", ")
                ));
            }
            promql.push(PromChangeSource {
                name: p.name,
                query: p.query,
                kind: p.kind,
                title: p.title,
                labels: p.labels,
            });
        }
        Ok(ChangesConfig {
            custom_details: self.custom_details,
            promql,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, prom: bool) -> Result<ChangesConfig, String> {
        let raw: RawChanges = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.into_config(&["model".into(), "region".into()], prom)
    }

    #[test]
    fn a_mapping_to_an_unknown_dimension_is_refused_by_key() {
        let err = parse(r#"custom_details = { svc = "service" }"#, false).unwrap_err();
        assert!(
            err.contains("changes.custom_details.svc") && err.contains("\"service\""),
            "{err}"
        );
        let text = r#"
[[promql]]
name = "k"
query = "changes(x[1m]) > 0"
title = "{deployment}"
labels = { deployment = "app" }
"#;
        let err = parse(text, true).unwrap_err();
        assert!(err.contains("labels.deployment"), "{err}");
        let err = parse(&text.replace("\"app\"", "\"model\""), false).unwrap_err();
        assert!(err.contains("needs [prometheus]"), "{err}");
        let ok = parse(&text.replace("\"app\"", "\"model\""), true).unwrap();
        assert_eq!(ok.promql[0].kind, ChangeKind::Deploy);
    }
}
