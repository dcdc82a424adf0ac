//! The app says what it shows (`Effect::View`) when the drill path or the
//! level's split changes, so sources in scale mode subscribe to it; an app
//! that does not follow views (headless uses) says nothing new.

use crate::support::ui::*;
use qualtop::app::{Effect, Key, KeyPress};
use qualtop::feed::{ShownView, ViewLevel};

const W: u16 = 160;
const H: u16 = 48;

fn views(effects: &[Effect]) -> Vec<ShownView> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::View(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn drilling_and_going_back_say_the_new_view_and_moving_the_selection_does_not() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    assert_eq!(app.follow_views(), ShownView::default(), "the top level");
    select_row(&mut app, &vm, "m-large");
    assert!(views(&press(&mut app, KeyPress::plain(Key::Down))).is_empty());
    select_row(&mut app, &vm, "m-large");
    let drilled = views(&enter(&mut app));
    assert_eq!(
        drilled,
        [ShownView {
            path: vec![("model".into(), "m-large".into())],
            level: ViewLevel::Next,
        }]
    );
    sync(&fleet, &mut app, W, H);
    assert_eq!(
        views(&press(&mut app, KeyPress::plain(Key::Esc))),
        [ShownView::default()]
    );
}

#[test]
fn an_app_that_does_not_follow_views_emits_no_view_effect() {
    let fleet = demo_like_fleet();
    let (mut app, vm) = started(&fleet, W, H);
    select_row(&mut app, &vm, "m-large");
    assert_eq!(enter(&mut app), vec![Effect::Recompute]);
}
