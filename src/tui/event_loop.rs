//! The one loop: waits on terminal input, fleet changes, the clock and
//! signals; draws only when something changed, at most [`MAX_FPS`] times a
//! second; recomputes the view model only when data or the query changed,
//! on a blocking thread, so a key is never queued behind a recompute.
//! While the screen is frozen, new data refreshes only the connection lines
//! of the header: the figures hold still until the query changes.
//! The loop also carries out what the app cannot: it hands saved annotations
//! to the sync task, swaps themes, and writes OSC 52 copies.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::Event as TermEvent;
use futures_util::{Stream, StreamExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::clipboard;
use super::input::translate;
use super::screen::Screen;
use super::terminal;
use crate::app::{App, Effect, Event, ViewFacts, Viewport};
use crate::feed::AnnotationSync;
use crate::feed::SharedFleet;
use crate::protocol::Millis;
use crate::theme::{ColorDepth, Theme};
use crate::ui::{self, Look};
use crate::view::{AnnotationFacts, HeaderModel, ViewModel, ViewQuery, compute_overview};

/// Most frames a second by default (`--fps`, `display.fps`).
pub const MAX_FPS: u64 = 10;

/// How long new data waits for the rest of its bucket before it is drawn:
/// the metrics and evals backends deliver the same bucket milliseconds apart.
const DATA_SETTLE: Duration = Duration::from_millis(120);

/// How often the loop may draw, and how often the clock moves on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Shortest time between two frames (1 / fps).
    pub frame: Duration,
    /// Ages and the clock in the header move this often when nothing else does.
    pub tick: Duration,
}

impl Pacing {
    pub fn new(fps: u32, tick: Duration) -> Self {
        Pacing {
            frame: Duration::from_millis(1000 / u64::from(fps.clamp(1, 60))),
            tick: tick.max(Duration::from_millis(100)),
        }
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::new(MAX_FPS as u32, Duration::from_secs(1))
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (q, Ctrl-C).
    Quit,
    /// A signal asked us to stop; its number, for the exit status.
    Signal(i32),
    /// The terminal's input stream ended.
    InputClosed,
}

/// Where themes come from and how far the terminal's colours go, so
/// `:theme NAME` and the cycle key can swap the look while running.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeSwitch {
    /// The theme on screen.
    pub current: String,
    pub depth: ColorDepth,
    /// The user's theme directory ([`crate::config::Config::themes_dir`]).
    pub dir: Option<PathBuf>,
}

impl Default for ThemeSwitch {
    fn default() -> Self {
        ThemeSwitch {
            current: "dark".into(),
            depth: ColorDepth::TrueColor,
            dir: None,
        }
    }
}

impl ThemeSwitch {
    /// Loads `name` into `look`; on error the look is left as it was.
    pub fn apply(&mut self, name: &str, look: &mut Look) -> Result<(), String> {
        let theme = Theme::load(name, self.dir.as_deref()).map_err(|e| e.to_string())?;
        look.theme = ui::Styles::from_roles(&theme.for_depth(self.depth));
        self.current = theme.name;
        Ok(())
    }

    /// The theme after the current one, built-in ones first, then the user's.
    pub fn next_name(&self) -> String {
        let names = Theme::names(self.dir.as_deref());
        let next = names
            .iter()
            .position(|n| *n == self.current)
            .map_or(0, |i| (i + 1) % names.len());
        names.get(next).cloned().unwrap_or_else(|| "dark".into())
    }
}

/// Counts what the loop did, for tests and the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub frames: u64,
    pub recomputes: u64,
}

pub struct EventLoop<'a, S: Screen> {
    pub screen: &'a mut S,
    pub app: &'a mut App,
    pub fleet: SharedFleet,
    pub look: Look,
    pub pacing: Pacing,
    pub stats: LoopStats,
    /// Wall-clock source ([`crate::clock::wall_ms`]; tests pass a fake one).
    pub wall_clock: fn() -> Millis,
    /// Where saved annotations go; `None`: they cannot be saved.
    pub annotations: Option<AnnotationSync>,
    pub themes: ThemeSwitch,
}

/// A view model computed off the loop, with the query it answers.
type Computed = (ViewQuery, ViewModel);

impl<S: Screen> EventLoop<'_, S> {
    /// Computes the view model for the app's query on a blocking thread, so
    /// that keys are handled while it runs (10,000 leaves take a while);
    /// the model comes back on `done`.
    fn start_recompute(&self, done: &mpsc::UnboundedSender<Computed>) {
        let query = self.app.query();
        let fleet = self.fleet.clone();
        let done = done.clone();
        tokio::task::spawn_blocking(move || {
            let vm = fleet.read(|f| compute_overview(f, &query));
            // Nobody to tell once the loop has ended.
            let _ = done.send((query, vm));
        });
    }

    /// Tells the app what annotations the fleet holds (even while frozen:
    /// a colleague's note is news whatever the time cursor says).
    fn annotations_to_app(&mut self) -> Vec<Effect> {
        let facts = self.fleet.read(AnnotationFacts::of);
        self.app.update(Event::Annotations(facts))
    }

    fn notice(&mut self, text: String) {
        self.app.update(Event::Notice(text));
    }

    fn apply_theme(&mut self, name: &str) {
        match self.themes.apply(name, &mut self.look) {
            Ok(()) => {
                let text = format!("theme {}", self.themes.current);
                self.notice(text);
            }
            Err(e) => self.notice(e),
        }
    }

    fn submit(&mut self, a: crate::protocol::Annotation) {
        let sent = self.annotations.as_ref().is_some_and(|s| s.submit(a));
        if !sent {
            tracing::warn!("an annotation could not be handed to the sync task");
            self.notice("annotation NOT saved: the annotation service is not running".into());
        }
    }

    fn copy(&mut self, vm: &ViewModel) -> io::Result<()> {
        let text = ui::copy_text(self.app, vm);
        let plan = clipboard::plan_copy(&text, clipboard::route_from_env());
        self.screen.write_raw(&plan.bytes)?;
        self.notice(plan.notice);
        Ok(())
    }

    /// Runs until quit, a signal, or closed input.
    pub async fn run<I>(&mut self, mut inputs: I) -> anyhow::Result<Exit>
    where
        I: Stream<Item = io::Result<TermEvent>> + Unpin,
    {
        let mut sigterm = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut sighup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
        let mut sigint = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        let mut changes = self.fleet.subscribe();
        let mut fleet_open = true;
        let mut clock = interval(self.pacing.tick);
        clock.set_missed_tick_behavior(MissedTickBehavior::Skip);

        self.app.update(Event::Clock((self.wall_clock)()));
        self.annotations_to_app();
        let mut vm = ViewModel::default();
        // No frame until the first model arrived: an empty one would flash.
        let mut has_vm = false;
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Computed>();
        // One computation at a time; changes meanwhile start the next one.
        let mut computing = false;
        let mut data_dirty = true;
        // When new data may be drawn: a little after it arrived, so that the
        // other backend's share of the same bucket joins it in one frame.
        let mut data_settle: Option<Instant> = None;
        let mut redraw = true;
        let mut viewport = Viewport::default();
        let mut last_frame = Instant::now() - self.pacing.frame;

        loop {
            if terminal::panicked() {
                anyhow::bail!("a task panicked; the log has the report");
            }
            let next_frame = last_frame + self.pacing.frame;
            let due = if redraw && has_vm {
                Some(next_frame)
            } else if data_dirty && !computing {
                Some(data_settle.map_or(next_frame, |t| t.max(next_frame)))
            } else {
                None
            };
            let mut effects = Vec::new();
            tokio::select! {
                input = inputs.next() => match input {
                    Some(Ok(TermEvent::Resize(_, _))) => redraw = true,
                    Some(Ok(ev)) => {
                        if let Some(e) = translate(&ev) {
                            effects = self.app.update(e);
                        }
                    }
                    Some(Err(e)) => return Err(e).context("reading the terminal"),
                    None => return Ok(Exit::InputClosed),
                },
                changed = changes.changed(), if fleet_open => {
                    // A closed channel means no writer is left: data is final.
                    fleet_open = changed.is_ok();
                    effects = self.annotations_to_app();
                    if self.app.is_frozen() {
                        let window = vm.header.window_ms;
                        vm.header = self.fleet.read(|f| HeaderModel::from_fleet(f, window));
                        redraw = true;
                    } else {
                        data_dirty = true;
                        data_settle.get_or_insert_with(|| Instant::now() + DATA_SETTLE);
                    }
                }
                _ = clock.tick() => effects = self.app.update(Event::Clock((self.wall_clock)())),
                Some((query, computed)) = done_rx.recv() => {
                    computing = false;
                    // One for a query the user has since left is dropped: the
                    // app's selection belongs to the newest query, whose model
                    // is computed next (its change set `data_dirty`).
                    if query == self.app.query() {
                        vm = computed;
                        has_vm = true;
                        self.stats.recomputes += 1;
                        effects = self.app.update(Event::ViewChanged(ViewFacts::of(&vm)));
                        redraw = true;
                    } else {
                        data_dirty = true;
                    }
                }
                () = sleep_until(due.unwrap_or(last_frame)), if due.is_some() => {
                    if data_dirty && !computing {
                        self.start_recompute(&done_tx);
                        computing = true;
                        data_dirty = false;
                        data_settle = None;
                    }
                    if redraw && has_vm {
                        let area = self.screen.area().context("reading the terminal size")?;
                        let v = ui::layout(area, self.app, &vm).viewport();
                        if v != viewport {
                            viewport = v;
                            self.app.update(Event::Viewport(v));
                        }
                        self.screen.draw(self.app, &vm, &self.look).context("drawing")?;
                        self.stats.frames += 1;
                        last_frame = Instant::now();
                        redraw = false;
                    }
                }
                _ = sigterm.recv() => return Ok(Exit::Signal(libc_signal::SIGTERM)),
                _ = sighup.recv() => return Ok(Exit::Signal(libc_signal::SIGHUP)),
                _ = sigint.recv() => return Ok(Exit::Signal(libc_signal::SIGINT)),
            }
            for effect in effects {
                match effect {
                    Effect::Redraw => redraw = true,
                    Effect::Recompute => data_dirty = true,
                    Effect::ThemeChanged => {
                        if let Some(name) = self.app.theme().map(str::to_owned) {
                            self.apply_theme(&name);
                        }
                        redraw = true;
                    }
                    Effect::CycleTheme => {
                        let name = self.themes.next_name();
                        self.apply_theme(&name);
                        redraw = true;
                    }
                    Effect::SubmitAnnotation(a) => {
                        self.submit(*a);
                        redraw = true;
                    }
                    Effect::CopySelection => {
                        self.copy(&vm).context("copying to the clipboard")?;
                        redraw = true;
                    }
                    Effect::View(view) => {
                        self.fleet.show(view);
                    }
                    Effect::Quit => return Ok(Exit::Quit),
                }
            }
        }
    }
}

/// Signal numbers for exit statuses (128 + n), as on Linux and the BSDs.
mod libc_signal {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}
