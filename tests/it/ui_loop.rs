//! The event loop on a `TestBackend`, with tokio's clock paused: it draws
//! when something changed, caps the frame rate, and does not draw while idle
//! except for the once-a-second clock.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream::{self, Stream};
use qualtop::app::{App, KeyMap};
use qualtop::feed::SharedFleet;
use qualtop::tui::{EventLoop, Exit, LoopStats};
use qualtop::ui::Look;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

type Input = std::pin::Pin<Box<dyn Stream<Item = io::Result<TermEvent>> + Send>>;

fn input() -> (mpsc::UnboundedSender<io::Result<TermEvent>>, Input) {
    let (tx, rx) = mpsc::unbounded_channel();
    let s = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    (tx, Box::pin(s))
}

/// Wall-clock time that moves with tokio's paused clock.
fn paused_wall_clock() -> qualtop::protocol::Millis {
    // Per thread: each test runs its own current-thread runtime and clock.
    thread_local!(static START: tokio::time::Instant = tokio::time::Instant::now());
    crate::support::ui::WALL_NOW + START.with(|s| s.elapsed().as_millis() as i64)
}

fn key(c: char) -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

/// Runs the loop while `drive` plays the user and the feed; returns what it did.
async fn run_with<F, Fut>(fleet: SharedFleet, drive: F) -> (Exit, LoopStats)
where
    F: FnOnce(mpsc::UnboundedSender<io::Result<TermEvent>>, SharedFleet) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut app = App::new(KeyMap::default());
    let (tx, inputs) = input();
    let mut event_loop = EventLoop {
        screen: &mut terminal,
        app: &mut app,
        fleet: fleet.clone(),
        look: Look::default(),
        pacing: Default::default(),
        stats: LoopStats::default(),
        wall_clock: paused_wall_clock,
        annotations: None,
        themes: Default::default(),
    };
    let (exit, ()) = tokio::join!(event_loop.run(inputs), drive(tx, fleet));
    (exit.unwrap(), event_loop.stats)
}

#[tokio::test(start_paused = true)]
async fn an_idle_screen_is_drawn_once_a_second_for_the_clock_only() {
    let fleet = SharedFleet::new(crate::support::ui::demo_like_fleet());
    let (exit, stats) = run_with(fleet, |tx, _| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send(key('q')).unwrap();
    })
    .await;
    assert_eq!(exit, Exit::Quit);
    // First frame, then at most one per clock tick: not 15 fps.
    assert!((9..=12).contains(&stats.frames), "{stats:?}");
    assert_eq!(stats.recomputes, 1, "no data changed, no recompute");
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_data_changes_is_drawn_at_the_capped_frame_rate() {
    let fleet = SharedFleet::new(crate::support::ui::demo_like_fleet());
    let (_, stats) = run_with(fleet, |tx, fleet| async move {
        // 1,000 writes over one second: far faster than frames.
        for _ in 0..1_000 {
            fleet.write(|_| ());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tx.send(key('q')).unwrap();
    })
    .await;
    let cap = qualtop::tui::MAX_FPS + 3;
    assert!(stats.frames <= cap, "{stats:?}");
    assert!(
        stats.recomputes <= cap,
        "recomputed per change, not per frame: {stats:?}"
    );
    assert!(
        stats.recomputes >= 5,
        "data changes are shown while they arrive: {stats:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn closed_input_ends_the_loop() {
    let fleet = SharedFleet::new(Default::default());
    let (exit, _) = run_with(fleet, |tx, _| async move { drop(tx) }).await;
    assert_eq!(exit, Exit::InputClosed);
}

#[tokio::test(start_paused = true)]
async fn a_frozen_screen_does_not_recompute_on_new_data_until_it_goes_live() {
    let fleet = SharedFleet::new(crate::support::ui::demo_like_fleet());
    let (_, stats) = run_with(fleet, |tx, fleet| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(key('f')).unwrap();
        for _ in 0..200 {
            fleet.write(|_| ());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tx.send(key('0')).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(key('q')).unwrap();
    })
    .await;
    // The first view, at most one for freezing (the view at the cursor),
    // one after going live: none for the 200 writes.
    assert!((2..=3).contains(&stats.recomputes), "{stats:?}");
    assert!(stats.frames >= 3, "the header still refreshes: {stats:?}");
}

#[tokio::test]
async fn a_key_is_handled_while_the_view_model_is_still_being_computed() {
    // 16,000 slices: the first model takes far longer than the key's 20 ms,
    // in a release build too (4,000 took less there now and then).
    let fleet = SharedFleet::new(crate::support::ui::large_fleet(80, 50, 4));
    let (exit, stats) = run_with(fleet, |tx, _| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(key('q')).unwrap();
    })
    .await;
    assert_eq!(exit, Exit::Quit);
    assert_eq!(
        stats.recomputes, 0,
        "q was not queued behind the first model: {stats:?}"
    );
}

fn typed(text: &str) -> Vec<io::Result<TermEvent>> {
    text.chars()
        .map(|c| match c {
            '\r' => Ok(TermEvent::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            ))),
            c => key(c),
        })
        .collect()
}

/// Types `keys`, then closes the input (a key would clear the footer's message).
async fn run_keys(event_loop: &mut EventLoop<'_, Terminal<TestBackend>>, keys: &str) {
    let (tx, inputs) = input();
    for k in typed(keys) {
        tx.send(k).unwrap();
    }
    drop(tx);
    event_loop.run(inputs).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn themes_change_live_and_a_bad_name_keeps_the_one_on_screen() {
    use qualtop::theme::{ColorDepth, Theme};
    use qualtop::tui::ThemeSwitch;
    let fleet = SharedFleet::new(crate::support::ui::demo_like_fleet());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut app = App::new(KeyMap::default());
    let dark = Look {
        theme: qualtop::ui::Styles::from_roles(&Theme::builtin("dark").unwrap()),
        ascii: false,
    };
    let mut event_loop = EventLoop {
        screen: &mut terminal,
        app: &mut app,
        fleet,
        look: dark.clone(),
        pacing: Default::default(),
        stats: LoopStats::default(),
        wall_clock: paused_wall_clock,
        annotations: None,
        themes: ThemeSwitch {
            current: "dark".into(),
            depth: ColorDepth::TrueColor,
            dir: None,
        },
    };
    run_keys(&mut event_loop, ":theme neon\r").await;
    assert_eq!(
        event_loop.look, dark,
        "a bad name keeps the theme on screen"
    );
    assert!(
        event_loop.app.message().is_some_and(|m| m.contains("neon")),
        "the footer says why: {:?}",
        event_loop.app.message()
    );
    run_keys(&mut event_loop, ":theme light\r").await;
    assert_eq!(event_loop.themes.current, "light");
    assert_ne!(event_loop.look, dark);
    run_keys(&mut event_loop, "T").await;
    assert_eq!(
        event_loop.themes.current, "high-contrast",
        "T: the next one"
    );
}
