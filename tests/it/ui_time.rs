//! Time: the window zoom, freezing, and the time cursor moving bucket by
//! bucket through the history (and through a gap in it), with the app
//! driven by keys over real view models as the event loop drives it.

use crate::support::ui::*;
use qualtop::app::{App, Effect, Key, KeyPress};
use qualtop::view::TimeCursor;

const W: u16 = 160;
const H: u16 = 48;

#[test]
fn freeze_holds_the_newest_bucket_and_the_arrows_move_the_cursor_within_the_history() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    let head = vm.time.head.expect("the fixture has data");
    assert_eq!(press(&mut app, KeyPress::char('f')), vec![Effect::Redraw]);
    assert_eq!(app.time().cursor, TimeCursor::Frozen { last_bucket: head });
    assert_eq!(app.time().frozen_at, Some(WALL_NOW));
    assert_eq!(
        press(&mut app, KeyPress::plain(Key::Left)),
        vec![Effect::Recompute]
    );
    press(&mut app, KeyPress::shift(Key::Left));
    assert_eq!(
        app.query().time,
        TimeCursor::Frozen {
            last_bucket: head - 11
        }
    );
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(vm.table.range.map(|r| r.last()), Some(head - 11));
    for _ in 0..5 {
        press(&mut app, KeyPress::char('L'));
    }
    assert_eq!(app.time().cursor, TimeCursor::Frozen { last_bucket: head });
    for _ in 0..30 {
        press(&mut app, KeyPress::shift(Key::Left));
    }
    let oldest = head - HISTORY_BUCKETS + 1;
    assert_eq!(
        app.time().cursor,
        TimeCursor::Frozen {
            last_bucket: oldest
        }
    );
    assert_eq!(
        press(&mut app, KeyPress::char('0')),
        vec![Effect::Recompute]
    );
    assert_eq!(app.time().cursor, TimeCursor::Live);
    // Left from live freezes and steps back at once.
    press(&mut app, KeyPress::char('h'));
    assert_eq!(
        app.time().cursor,
        TimeCursor::Frozen {
            last_bucket: head - 1
        }
    );
    press(&mut app, KeyPress::char(' '));
    assert!(!app.is_frozen(), "Space unfreezes");
}

#[test]
fn time_travel_across_a_gap_shows_the_gap_and_data_again_after_it() {
    let mut b = FleetBuilder::new();
    let mut s = SliceScript::new("m-gappy", "api", "eu-west", "gpu-h100");
    s.missing = (80..100).collect();
    b.add(&s, 1);
    let fleet = b.build();
    let (mut app, vm) = started(&fleet, W, H);
    let head = vm.time.head.unwrap();
    let bucket = |index: i64| head - (HISTORY_BUCKETS - 1) + index;
    let at = |app: &mut App, index: i64| {
        let TimeCursor::Frozen { last_bucket } = app.time().cursor else {
            panic!("frozen")
        };
        let delta = bucket(index) - last_bucket;
        let key = if delta < 0 { Key::Left } else { Key::Right };
        for _ in 0..delta.abs() {
            press(app, KeyPress::plain(key));
        }
        sync(&fleet, app, W, H)
    };
    press(&mut app, KeyPress::char('f'));
    let before = at(&mut app, 79);
    let row = &before.table.rows[1];
    assert!(row.quality.buckets.last().unwrap().is_some());
    assert!(row.quality.current().is_some());
    let inside = at(&mut app, 95);
    let row = &inside.table.rows[1];
    assert!(
        row.quality.buckets.last().unwrap().is_none(),
        "the cursor's bucket is missing"
    );
    assert_eq!(
        row.quality.current(),
        None,
        "no figure made up inside the gap"
    );
    assert_eq!(row.availability.current(), None);
    for _ in 0..20 {
        press(&mut app, KeyPress::plain(Key::Right));
    }
    let after = sync(&fleet, &mut app, W, H);
    assert!(after.table.rows[1].quality.current().is_some());
    let window = &after.table.rows[1].quality.buckets;
    assert!(
        window.iter().any(Option::is_none),
        "the gap is still in the window"
    );
}

#[test]
fn zoom_steps_through_the_windows_up_to_the_history_held() {
    let fleet = demo_like_fleet(); // two hours of history
    let (mut app, vm) = started(&fleet, W, H);
    assert_eq!(vm.header.window_ms, Some(60 * BUCKET_MS));
    assert_eq!(
        press(&mut app, KeyPress::char('[')),
        vec![Effect::Recompute]
    );
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(
        vm.table.range.map(|r| r.len),
        Some(HISTORY_BUCKETS as usize)
    );
    assert_eq!(
        press(&mut app, KeyPress::char('[')),
        vec![Effect::Redraw],
        "no 24 h of data: nothing to compute, a message to draw"
    );
    assert_eq!(
        app.message(),
        Some("only 2h of history: the 6h window shows it all")
    );
    press(&mut app, KeyPress::char(']'));
    press(&mut app, KeyPress::char(']'));
    let vm = sync(&fleet, &mut app, W, H);
    assert_eq!(vm.table.range.map(|r| r.len), Some(15));
}
