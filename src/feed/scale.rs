//! A session in scale mode: it subscribes to the view the app shows and
//! holds only that (see `feed::view` for the rule and the subscription).

use crate::protocol::{SnapshotPart, Subscribe};
use crate::store::SourceBinding;

use super::fleet::SharedFleet;
use super::session::{Session, Step, status_mut};
use super::view::{ScaleStatus, ShownView, wants_scale_mode};

/// What a session in scale mode subscribed to.
#[derive(Debug, Clone)]
pub struct ScaleMode {
    /// Leaves the backend declared when scale mode was chosen.
    pub leaves: u64,
    /// The view subscribed now.
    pub view: ShownView,
    /// The binding for leaves; `Session::binding` is it narrowed to the
    /// subscription's `group_by`.
    full: SourceBinding,
    /// Snapshots still owed to views left before their answer came: the
    /// server answers every subscribe in turn, and those must not be applied.
    stale_answers: u32,
    /// The id of a snapshot in parts being skipped as stale.
    skipping: Option<u64>,
}

impl Session {
    /// Whether the first part of a full snapshot says the fleet is too
    /// large to hold whole and the backend can roll it up.
    pub(super) fn scale_step(&self, part: SnapshotPart) -> Option<Step> {
        let slices = part.slices?;
        (self.scale.is_none() && wants_scale_mode(&self.hello, slices, self.scale_leaves))
            .then_some(Step::Scale(slices))
    }

    /// Reads this source in scale mode from now on, starting with the view
    /// the screen shows.
    pub(super) fn enter_scale_mode(&mut self, fleet: &SharedFleet, leaves: u64) {
        self.scale = Some(ScaleMode {
            leaves,
            view: ShownView::default(),
            full: self.binding.clone(),
            stale_answers: 0,
            skipping: None,
        });
        let view = fleet.shown().borrow().clone();
        self.show(fleet, view, true);
    }

    /// Subscribes to `view` (scale mode only): the source's data is emptied
    /// at once and the status says what loads, so rows of the old level are
    /// never shown under the new one's labels. Returns the `subscribe` to
    /// send, `None` when not in scale mode or nothing changed.
    pub(super) fn show(
        &mut self,
        fleet: &SharedFleet,
        view: ShownView,
        first: bool,
    ) -> Option<Subscribe> {
        let window_ms = self.subscription().window_ms;
        let awaiting = self.awaiting_snapshot && !first;
        let mode = self.scale.as_mut()?;
        if !first && mode.view == view {
            return None;
        }
        if awaiting {
            mode.stale_answers += 1;
        }
        let subscribe = view.subscribe(&self.hello, window_ms);
        let binding = match &subscribe.group_by {
            Some(by) => fleet.read(|f| mode.full.grouped(&f.store, by)),
            None => mode.full.clone(),
        };
        let status = ScaleStatus {
            view: view.words(&self.hello),
            loading: true,
            leaves: mode.leaves,
        };
        mode.view = view;
        tracing::info!(source = self.index, view = %status.view, "scale mode: subscribing to the view");
        fleet.write(|f| {
            f.store.reset_source(&binding);
            if let Some(s) = status_mut(f, self.index) {
                s.newest_data = None;
                s.snapshot_progress = None;
                s.scale = Some(status);
            }
        });
        self.binding = binding;
        self.pending = None;
        self.resubscribe_with(subscribe.clone());
        Some(subscribe)
    }
}

impl Session {
    /// Whether this snapshot (or part) answers a view left since (scale
    /// mode): it is dropped whole, and the next answer is the view's own.
    pub(super) fn skip_stale(&mut self, part: Option<SnapshotPart>) -> bool {
        let Some(mode) = self.scale.as_mut() else {
            return false;
        };
        let last = part.is_none_or(|p| p.index >= p.count);
        match (part, mode.skipping) {
            (Some(p), Some(id)) if p.id == id => {}
            _ if mode.stale_answers == 0 => return false,
            (Some(p), _) => mode.skipping = Some(p.id),
            (None, _) => {}
        }
        if last {
            mode.skipping = None;
            mode.stale_answers = mode.stale_answers.saturating_sub(1);
        }
        tracing::debug!(source = self.index, "skipped a snapshot of a view left");
        true
    }
}
