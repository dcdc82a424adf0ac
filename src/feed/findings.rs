//! Findings a backend sends (feature `findings`): the detections its own
//! engine concluded over every leaf. When every source's current
//! connection sent findings of one run that cover its endpoint, they are
//! `Fleet::detections` and the local engine rests; otherwise detection is
//! local, as with any plain backend (see `client::detection`).

use std::sync::Arc;

use super::fleet::{Fleet, SharedFleet};
use crate::detect::{Detections, ScopeMap};
use crate::protocol::{FINDINGS_FEATURE, FindingsMessage, Millis};
use crate::text::sanitize::sanitize;

/// Most tracks, regressions and burns one findings message may hold: a
/// server keeps its frames under 1 MiB (a few thousand); a backend gone
/// mad is refused here rather than held.
pub const MAX_FINDINGS_ITEMS: usize = 50_000;

/// What one source's current connection sent last.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedFindings {
    pub epoch: String,
    pub endpoints: Vec<String>,
    /// Regressions the backend left out to stay under its size cap.
    pub truncated: u64,
    pub detections: Arc<Detections>,
}

/// Where `Fleet::detections` come from, and what each source sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingsState {
    /// By source index; emptied for a source when it connects again.
    pub received: Vec<Option<ReceivedFindings>>,
    /// The detections are the backend's (the local engine does not run).
    pub from_backend: bool,
    /// Why backend findings were given up for local detection, until they
    /// are usable again.
    pub fell_back: Option<String>,
    /// Regressions the backend left out of the findings in use.
    pub truncated: u64,
    /// Each source's endpoint path (of its URL), which its findings must cover.
    pub paths: Vec<Option<String>>,
    /// Why each source's last findings message was refused (raw: sanitise
    /// before drawing), until one is taken or the source reconnects.
    pub refused: Vec<Option<String>>,
}

/// Notes the endpoint path of source `index`'s URL.
pub(super) fn note_endpoint(f: &mut Fleet, index: usize, url: &str) {
    put(
        &mut f.findings.paths,
        index,
        endpoint_path(url).map(str::to_owned),
    );
}

/// Sets `v[index]`, growing `v` as needed.
fn put<T: Clone>(v: &mut Vec<Option<T>>, index: usize, value: Option<T>) {
    if v.len() <= index {
        v.resize(index + 1, None);
    }
    v[index] = value;
}

/// Applies a `findings` message of source `index`: decoded, every string
/// sanitised, kept for that source; then the fleet's detections follow.
/// A message that does not decode is refused with the reason, and what
/// was held stays.
pub fn apply_findings(f: &mut Fleet, index: usize, msg: FindingsMessage) -> Result<(), String> {
    let mut detections: Detections = match serde_json::from_value(msg.detections) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("malformed findings: {e}");
            put(&mut f.findings.refused, index, Some(why.clone()));
            return Err(why);
        }
    };
    let items = detections.tracks.len() + detections.regressions.len() + detections.burns.len();
    if items > MAX_FINDINGS_ITEMS {
        let why = format!("findings refused: {items} items, over {MAX_FINDINGS_ITEMS}");
        put(&mut f.findings.refused, index, Some(why.clone()));
        return Err(why);
    }
    sanitise(&mut detections);
    put(&mut f.findings.refused, index, None);
    let got = ReceivedFindings {
        epoch: msg.epoch,
        endpoints: msg.endpoints,
        truncated: msg.truncated,
        detections: Arc::new(detections),
    };
    put(&mut f.findings.received, index, Some(got));
    refresh(f);
    Ok(())
}

/// A findings frame of source `index` on the wire: applied, or its reason
/// shown as that source's error line; never a lost store.
pub(super) fn on_findings(fleet: &SharedFleet, index: usize, msg: FindingsMessage, now: Millis) {
    fleet.write(|f| {
        let refused = apply_findings(f, index, msg).err();
        if let Some(s) = f.sources.get_mut(index) {
            s.last_message_at = Some(now);
            if let Some(why) = refused {
                tracing::warn!(source = index, "{why}");
                s.drops.frames += 1;
                s.last_error = Some(why);
            }
        }
    });
}

/// Forgets what source `index` sent: a new connection must send its own.
pub fn forget_findings(f: &mut Fleet, index: usize) {
    put(&mut f.findings.received, index, None);
    put(&mut f.findings.refused, index, None);
}

/// The backend's detections to show now, or why detection must be local.
pub fn usable_findings(f: &Fleet) -> Result<&ReceivedFindings, String> {
    let mut chosen: Option<&ReceivedFindings> = None;
    if f.sources.is_empty() {
        return Err("no backend".into());
    }
    for (i, s) in f.sources.iter().enumerate() {
        let label = sanitize(&s.label);
        let Some(hello) = s.hello.as_ref().filter(|_| s.state.is_live()) else {
            return Err(format!("{label} is {}", s.state.word()));
        };
        if !hello.has_feature(FINDINGS_FEATURE) {
            return Err(format!("{label} sends no findings"));
        }
        let Some(got) = f.findings.received.get(i).and_then(Option::as_ref) else {
            return Err(format!("no findings from {label} yet"));
        };
        let path = f.findings.paths.get(i).and_then(Option::as_deref);
        let covered = path.is_some_and(|p| got.endpoints.iter().any(|e| e == p));
        if got.epoch != hello.epoch || !covered {
            return Err(format!("{label}'s findings do not cover its data"));
        }
        match chosen {
            Some(c) if c.epoch != got.epoch => {
                return Err("the backends run different detections".into());
            }
            Some(c) if c.detections.through >= got.detections.through => {}
            _ => chosen = Some(got),
        }
    }
    chosen.ok_or_else(|| "no backend".into())
}

/// Whether [`refresh`] would change where the detections come from.
pub fn findings_need_refresh(f: &Fleet) -> bool {
    usable_findings(f).is_ok() != f.findings.from_backend
}

/// Makes `Fleet::detections` the backend's when usable; when they stop
/// being usable, says why and leaves the last ones on screen until local
/// detection replaces them. Returns whether they are the backend's.
pub fn refresh(f: &mut Fleet) -> bool {
    match usable_findings(f) {
        Ok(got) => {
            let truncated = got.truncated;
            let shown = of_known_signals(f, &got.detections);
            if f.detections != shown {
                f.detections = shown;
            }
            f.findings.truncated = truncated;
            f.findings.from_backend = true;
            f.findings.fell_back = None;
            true
        }
        Err(why) => {
            if f.findings.from_backend {
                tracing::info!("backend findings stopped ({why}): detecting locally");
                f.findings.fell_back = Some(why);
            }
            f.findings.from_backend = false;
            f.findings.truncated = 0;
            false
        }
    }
}

/// The path of a source's URL (`/evals` of `ws://relay:7000/evals?x`).
fn endpoint_path(label: &str) -> Option<&str> {
    let rest = label.split_once("://").map_or(label, |(_, r)| r);
    let path = &rest[rest.find('/')?..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// The detections of signals some source serves: a client of one endpoint
/// does not show the other's.
fn of_known_signals(f: &Fleet, d: &Detections) -> Detections {
    let known = |name: &str| {
        f.sources.iter().any(|s| {
            s.hello
                .as_ref()
                .is_some_and(|h| h.signals.iter().any(|sig| sig.name == name))
        })
    };
    Detections {
        tracks: d
            .tracks
            .iter()
            .filter(|t| known(&t.signal))
            .cloned()
            .collect(),
        regressions: d
            .regressions
            .iter()
            .filter(|r| known(&r.signal))
            .cloned()
            .collect(),
        burns: d
            .burns
            .iter()
            .filter(|b| known(&b.signal))
            .cloned()
            .collect(),
        ..d.clone()
    }
}

fn clean(s: &mut String) {
    if let std::borrow::Cow::Owned(c) = sanitize(s) {
        *s = c;
    }
}

fn clean_scope(scope: &mut ScopeMap) {
    if scope.iter().all(|(k, v)| !is_dirty(k) && !is_dirty(v)) {
        return;
    }
    *scope = std::mem::take(scope)
        .into_iter()
        .map(|(mut k, mut v)| {
            clean(&mut k);
            clean(&mut v);
            (k, v)
        })
        .collect();
}

fn is_dirty(s: &str) -> bool {
    matches!(sanitize(s), std::borrow::Cow::Owned(_))
}

/// Every string a backend put in its findings, made safe for a terminal.
fn sanitise(d: &mut Detections) {
    for t in &mut d.tracks {
        clean(&mut t.signal);
        clean_scope(&mut t.scope);
    }
    for r in &mut d.regressions {
        clean(&mut r.signal);
        clean_scope(&mut r.scope);
        r.causes.iter_mut().for_each(|c| clean_scope(&mut c.scope));
        r.alarms.iter_mut().for_each(|a| clean_scope(&mut a.scope));
        if let Some(t) = &mut r.drop_table {
            // Cleaned as the change scopes it is matched against are.
            t.dims.iter_mut().chain(&mut t.folded).for_each(clean);
            t.values.iter_mut().flatten().for_each(clean);
        }
    }
    for b in &mut d.burns {
        clean(&mut b.signal);
        clean_scope(&mut b.scope);
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint_path;

    #[test]
    fn a_source_endpoint_is_the_path_of_its_url() {
        assert_eq!(endpoint_path("ws://relay:7000/evals"), Some("/evals"));
        assert_eq!(endpoint_path("wss://r/a/metrics?x=1"), Some("/a/metrics"));
        assert_eq!(endpoint_path("demo/metrics"), Some("/metrics"));
        assert_eq!(endpoint_path("ws://relay:7000"), None);
    }
}
