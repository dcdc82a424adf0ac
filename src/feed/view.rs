//! Scale mode: against a large fleet served with `rollups`, a source
//! subscribes to what the screen shows (the rows of the level under the
//! drill path) instead of every leaf, so memory follows the view.
//!
//! The app says what it shows ([`ShownView`], through
//! [`super::SharedFleet::show`]); the feed task of a source in scale mode
//! turns it into a `subscribe` (see [`ShownView::subscribe`]) and empties the
//! source's data until the new snapshot is applied, so old rows never stand
//! under new labels. Detection then runs on the rows held: a backend with a
//! `findings` feature is where detection over every leaf belongs.

use std::collections::BTreeMap;

use crate::protocol::{Hello, Millis, Subscribe};

/// Leaf count above which a backend with `rollups` is read in scale mode
/// (`[sources] scale_leaves` in config.toml; 0 never switches).
pub use crate::config::DEFAULT_SCALE_LEAVES;

/// The feature a backend lists when it answers `group_by`.
pub const ROLLUPS: &str = "rollups";

/// What one level of the screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShownView {
    /// (dimension, value) pairs of the drill path, outermost first.
    pub path: Vec<(String, String)>,
    pub level: ViewLevel,
}

/// How the rows of a level are made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ViewLevel {
    /// The rows are the values of a dimension (`None`: the first one the
    /// backend declares that the path has not fixed).
    #[default]
    Next,
    Group(String),
    /// The flat list of leaves under the path.
    Leaves,
}

impl ShownView {
    /// The level's dimension against a backend declaring `dims`, if any is
    /// left to split by.
    pub fn level_dim<'a>(&'a self, dims: &'a [String]) -> Option<&'a str> {
        match &self.level {
            ViewLevel::Group(d) => Some(d.as_str()),
            ViewLevel::Next => dims
                .iter()
                .find(|d| !self.path.iter().any(|(p, _)| p == *d))
                .map(String::as_str),
            ViewLevel::Leaves => None,
        }
    }

    /// The subscription that serves this view: `filter` = the drill path,
    /// `group_by` = the path's dimensions and the level's, in the backend's
    /// order. Dimensions the backend does not declare are left out (a path
    /// through another backend's dimension does not narrow this one).
    pub fn subscribe(&self, hello: &Hello, window_ms: Millis) -> Subscribe {
        let dims = &hello.dimensions;
        let filter: BTreeMap<String, Vec<String>> = self
            .path
            .iter()
            .filter(|(d, _)| dims.contains(d))
            .map(|(d, v)| (d.clone(), vec![v.clone()]))
            .collect();
        let group_by = if self.level == ViewLevel::Leaves {
            None
        } else {
            let level = self.level_dim(dims);
            let by: Vec<String> = dims
                .iter()
                .filter(|d| filter.contains_key(*d) || Some(d.as_str()) == level)
                .cloned()
                .collect();
            // Every dimension grouped is the leaves themselves.
            (by.len() < dims.len()).then_some(by)
        };
        Subscribe {
            window_ms,
            filter,
            group_by,
            snapshot_parts: true,
        }
    }

    /// How the screen names it: `model=atlas-m by platform`.
    pub fn words(&self, hello: &Hello) -> String {
        let path: Vec<String> = self.path.iter().map(|(d, v)| format!("{d}={v}")).collect();
        let level = match self.level_dim(&hello.dimensions) {
            Some(d) => format!("by {d}"),
            None => "leaves".to_owned(),
        };
        if path.is_empty() {
            format!("fleet {level}")
        } else {
            format!("{} {level}", path.join(" "))
        }
    }
}

/// Whether a backend whose full snapshot declares `slices` leaves is read in
/// scale mode: it serves rollups and the fleet is over `threshold` (0: never).
pub fn wants_scale_mode(hello: &Hello, slices: u64, threshold: u64) -> bool {
    threshold > 0 && slices > threshold && hello.has_feature(ROLLUPS)
}

/// A source in scale mode, as its status line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleStatus {
    /// What is subscribed (`model=atlas-m by platform`).
    pub view: String,
    /// The snapshot of that view is still on its way (nothing is held).
    pub loading: bool,
    /// Leaves the backend declared when scale mode was chosen.
    pub leaves: u64,
}

impl ScaleStatus {
    /// `loading model=atlas-m by platform …` or `scale, detecting on shown rows: … (N leaves)`.
    /// `relay_detects`: the backend's findings (every leaf) are shown, so
    /// local detection's limit to the shown rows is not worth saying.
    pub fn words(&self, relay_detects: bool) -> String {
        if self.loading {
            format!("loading {} …", self.view)
        } else if relay_detects {
            format!("scale: {} ({} leaves)", self.view, self.leaves)
        } else {
            // The caveat first: at 80 columns the header cuts the end of the line.
            format!(
                "scale, detecting on shown rows: {} ({} leaves)",
                self.view, self.leaves
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(dims: &[&str], features: &[&str]) -> Hello {
        Hello {
            protocol: 1,
            server: "t".into(),
            epoch: "e".into(),
            dimensions: dims.iter().map(|d| (*d).to_owned()).collect(),
            signals: Vec::new(),
            bucket_ms: 60_000,
            history_ms: 3_600_000,
            now: 1_756_771_200_000,
            features: features.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn step(d: &str, v: &str) -> (String, String) {
        (d.to_owned(), v.to_owned())
    }

    #[test]
    fn the_top_level_groups_by_the_first_dimension_unfiltered() {
        let h = hello(&["model", "platform", "region"], &[ROLLUPS]);
        let s = ShownView::default().subscribe(&h, 60_000);
        assert!(s.filter.is_empty());
        assert_eq!(s.group_by, Some(vec!["model".to_owned()]));
    }

    #[test]
    fn a_drilled_level_filters_by_the_path_and_groups_by_path_and_level() {
        let h = hello(&["model", "platform", "region"], &[ROLLUPS]);
        let v = ShownView {
            path: vec![step("region", "eu"), step("model", "m1")],
            level: ViewLevel::Next,
        };
        let s = v.subscribe(&h, 60_000);
        assert_eq!(s.filter.get("model"), Some(&vec!["m1".to_owned()]));
        assert_eq!(s.filter.get("region"), Some(&vec!["eu".to_owned()]));
        assert_eq!(
            s.group_by, None,
            "every dimension grouped is the leaves themselves: no group_by"
        );
        assert_eq!(v.words(&h), "region=eu model=m1 by platform");
    }

    #[test]
    fn a_pivoted_level_groups_by_the_chosen_dimension() {
        let h = hello(&["model", "platform", "region"], &[ROLLUPS]);
        let v = ShownView {
            path: vec![step("model", "m1")],
            level: ViewLevel::Group("region".into()),
        };
        let s = v.subscribe(&h, 60_000);
        assert_eq!(s.group_by, Some(vec!["model".into(), "region".into()]));
    }

    #[test]
    fn scale_mode_needs_rollups_and_a_fleet_over_the_threshold() {
        let with = hello(&["model"], &[ROLLUPS]);
        let without = hello(&["model"], &[]);
        assert!(wants_scale_mode(&with, 2_001, 2_000));
        assert!(!wants_scale_mode(&with, 2_000, 2_000));
        assert!(!wants_scale_mode(&without, 50_000, 2_000));
        assert!(!wants_scale_mode(&with, 50_000, 0), "0 never switches");
    }

    #[test]
    fn the_shown_rows_caveat_is_said_only_while_detection_is_local() {
        let mut st = ScaleStatus {
            view: "model=atlas-m by platform".into(),
            loading: false,
            leaves: 50_000,
        };
        assert_eq!(
            st.words(false),
            "scale, detecting on shown rows: model=atlas-m by platform (50000 leaves)"
        );
        assert_eq!(
            st.words(true),
            "scale: model=atlas-m by platform (50000 leaves)"
        );
        st.loading = true;
        assert_eq!(st.words(true), "loading model=atlas-m by platform …");
    }
}
