//! What `check` and `snapshot` share: connect to every backend, wait for
//! each one's history, refuse to go on when one is missing (naming it),
//! and replay that history through the detection engine the TUI runs.

use std::time::Duration;

use anyhow::bail;

use super::args::SourceArgs;
use super::tui::sources_of;
use crate::client::{Connections, connect_with};
use crate::client::{catch_up, wait_for_current_findings, wait_for_findings};
use crate::detect::{DetectionEngine, DetectionSettings, Detections};
use crate::feed::{
    ConnState, Fleet, SharedFleet, findings_need_refresh, refresh_findings, wait_until_settled,
};

/// Longest wait for every backend's snapshot.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A fleet whose history detection has seen, with what it concluded.
pub struct Replayed {
    pub fleet: SharedFleet,
    pub engine: DetectionEngine,
    settings: DetectionSettings,
    /// Also in `fleet.detections`, where the view functions read it.
    pub published: Detections,
    /// Keeps the feeds (and the built-in demo) running.
    pub _connections: Connections,
}

impl Replayed {
    /// Feeds detection every bucket that arrived since the last call; or,
    /// while the backends' findings cover every source, takes theirs (one
    /// truth: the TUI shows the same), replaying locally once they stop.
    pub fn catch_up(&mut self) -> usize {
        // A write only when it changes something: `check --watch` wakes on every write.
        let relay = if self.fleet.read(findings_need_refresh) {
            self.fleet.write(refresh_findings)
        } else {
            self.fleet.read(|f| f.findings.from_backend)
        };
        if relay {
            self.published = self.fleet.read(|f| f.detections.clone());
            if self.engine.through().is_some() {
                // Should the findings stop, the local replay starts from the beginning.
                self.engine = DetectionEngine::new(self.settings);
            }
            return 0;
        }
        catch_up(&self.fleet, &mut self.engine, &mut self.published)
    }
}

/// Connects, waits until every backend delivered its snapshot (an error
/// naming each one that did not), and replays the history.
pub async fn connect_and_replay(
    sources: &SourceArgs,
    settings: DetectionSettings,
) -> anyhow::Result<Replayed> {
    let fleet = SharedFleet::new(Fleet::default());
    // A fresh demo run: the same history whatever ran before.
    let connections = connect_with(&fleet, &sources_of(sources), None).await?;
    let settled = wait_until_settled(&fleet, CONNECT_TIMEOUT).await;
    let missing = fleet.read(|f| {
        f.sources
            .iter()
            .filter(|s| !(s.state.is_live() && s.snapshots > 0))
            .map(|s| match s.snapshot_progress {
                // Parts arriving slowly, or a part that never came.
                Some((got, all)) if s.state == ConnState::Connecting => format!(
                    "{}: snapshot still loading, part {got} of {all}",
                    sanitize(&s.label)
                ),
                _ => format!("{}: {}", sanitize(&s.label), reason(&s.state)),
            })
            .collect::<Vec<_>>()
    });
    if !missing.is_empty() {
        let waited = if settled {
            String::new()
        } else {
            format!(" (waited {}s)", CONNECT_TIMEOUT.as_secs())
        };
        bail!("cannot connect{waited}: {}", missing.join("; "));
    }
    let mut replayed = Replayed {
        fleet,
        engine: DetectionEngine::new(settings),
        settings,
        published: Detections::default(),
        _connections: connections,
    };
    wait_for_findings(&replayed.fleet).await;
    findings_cover_the_data(&replayed.fleet).await;
    replayed.catch_up();
    Ok(replayed)
}

/// Longest wait for a backend's findings to reach the data held: a server
/// just started replays its history first (seconds; more in a debug build
/// on a loaded machine).
const FINDINGS_CURRENT_WAIT: Duration = Duration::from_secs(60);

/// When the backend's findings are shown, waits until they have tested
/// the data held, and says on stderr when they still lag: the report is
/// then of older data than the window it names.
pub async fn findings_cover_the_data(fleet: &SharedFleet) {
    if let Err((through, to)) = wait_for_current_findings(fleet, FINDINGS_CURRENT_WAIT).await {
        let at = crate::text::time::utc_minute;
        let through = through.map_or_else(|| "nothing yet".to_owned(), at);
        eprintln!(
            "qualtop: warning: the backend's findings lag its data (tested through {through}, data to {})",
            at(to)
        );
    }
}

/// `metrics clock 8h ahead` for each backend whose clock the feed refused
/// because it disagrees with the others'.
pub fn clock_warnings(fleet: &Fleet) -> Vec<String> {
    fleet
        .sources
        .iter()
        .filter_map(|s| {
            let off = s.clock_refused_ms?;
            Some(format!(
                "{} clock {}",
                sanitize(&s.label),
                crate::clock::disagreement_words(off)
            ))
        })
        .collect()
}

/// Why a report cannot be trusted, when backends disagree on time.
pub fn disagreement(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| {
        format!(
            "the backends disagree on time ({}): their data cannot share one time axis, \
             so this output may miss regressions",
            warnings.join("; ")
        )
    })
}

fn sanitize(s: &str) -> String {
    crate::text::sanitize::sanitize(s).into_owned()
}

/// Why a backend is not usable, in a few words.
pub fn reason(state: &ConnState) -> String {
    match state {
        ConnState::Connecting => "still connecting".to_owned(),
        ConnState::Live => "live, but no snapshot yet".to_owned(),
        ConnState::Stale => "stale".to_owned(),
        ConnState::Disconnected { reason, .. } | ConnState::Failed { reason } => sanitize(reason),
    }
}
