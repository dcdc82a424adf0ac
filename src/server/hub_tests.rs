//! The hub's window, fan-out and caps.

use super::*;
use crate::protocol::SignalRole;

fn spec(name: &str, kind: SignalKind) -> SignalSpec {
    SignalSpec {
        name: name.into(),
        kind,
        role: SignalRole::Quality,
        unit: None,
    }
}

fn point(hub: &Hub, model: &str, ts: Millis, good: u32) -> UpdatePoint {
    UpdatePoint {
        slice: hub.intern(SliceMap::from_pairs([("model", model)])),
        signal: hub.signal("qa").unwrap(),
        ts,
        value: BucketValue::Ratio { good, total: 10 },
    }
}

fn hub() -> Hub {
    Hub::new(&[spec("qa", SignalKind::Ratio)], 1000, 5000, 8)
}

#[test]
fn snapshot_holds_the_last_window_and_drops_older_buckets() {
    let hub = hub();
    for b in 0..8 {
        hub.publish(vec![point(&hub, "a", b * 1000, b as u32)]);
    }
    let sub = Subscribe {
        window_ms: 60_000,
        ..Default::default()
    };
    let w = hub.subscribe(&sub, 8000).window;
    assert_eq!(w.series.len(), 1);
    assert_eq!(w.series[0].start, 3000);
    let good = w.series[0].good.as_ref().unwrap();
    assert_eq!(good, &vec![Some(3), Some(4), Some(5), Some(6), Some(7)]);
}

#[test]
fn filter_is_applied_to_the_snapshot() {
    let hub = hub();
    hub.publish(vec![point(&hub, "a", 0, 1), point(&hub, "b", 0, 2)]);
    let sub = Subscribe {
        window_ms: 5000,
        filter: [("model".to_owned(), vec!["b".to_owned()])].into(),
    };
    let w = hub.subscribe(&sub, 1000).window;
    assert_eq!(w.series.len(), 1);
    assert_eq!(w.series[0].slice.get("model"), Some("b"));
}

#[test]
fn updates_after_subscribing_reach_the_receiver_and_earlier_ones_do_not() {
    let hub = hub();
    hub.publish(vec![point(&hub, "a", 0, 1)]);
    let mut sub = hub.subscribe(&Subscribe::default(), 1000);
    hub.publish(vec![point(&hub, "a", 1000, 2)]);
    let u = sub.updates.try_recv().unwrap();
    assert_eq!(u.points[0].ts, 1000);
    assert!(sub.updates.try_recv().is_err());
}

#[test]
fn gap_in_published_buckets_shows_as_missing_not_stale() {
    let hub = hub();
    for b in [0, 1, 2, 3, 4] {
        hub.publish(vec![point(&hub, "a", b * 1000, 9)]);
    }
    hub.publish(vec![point(&hub, "a", 7000, 1)]);
    let sub = Subscribe {
        window_ms: 5000,
        ..Default::default()
    };
    let w = hub.subscribe(&sub, 8000).window;
    let good = w.series[0].good.as_ref().unwrap();
    assert_eq!(good, &vec![Some(9), Some(9), None, None, Some(1)]);
}

#[test]
fn a_standing_notice_reaches_current_and_later_subscribers_until_lifted() {
    let hub = hub();
    let mut early = hub.subscribe(&Subscribe::default(), 0);
    let notice = |code: &str| ErrorMessage {
        code: code.into(),
        message: "m".into(),
        id: None,
    };
    hub.raise("up", notice("upstream"));
    assert_eq!(
        early.updates.try_recv().unwrap().notices,
        vec![notice("upstream")]
    );
    let late = hub.subscribe(&Subscribe::default(), 0);
    assert_eq!(late.notices, vec![notice("upstream")]);
    hub.lift("up", Some(notice("upstream_recovered")));
    assert_eq!(
        early.updates.try_recv().unwrap().notices,
        vec![notice("upstream_recovered")]
    );
    assert!(hub.subscribe(&Subscribe::default(), 0).notices.is_empty());
}

#[test]
fn equal_slices_in_another_dimension_order_share_a_row() {
    let hub = hub();
    let a = hub.intern(SliceMap::from_pairs([("x", "1"), ("y", "2")]));
    let b = hub.intern(SliceMap::from_pairs([("y", "2"), ("x", "1")]));
    assert!(Arc::ptr_eq(&a, &b));
}

fn capped(max_slices: usize) -> Hub {
    hub().with_limits(HubLimits {
        max_slices,
        max_label_value_bytes: 8,
    })
}

fn model(m: &str) -> SliceMap<'static> {
    SliceMap::from_pairs([("model", m.to_owned())])
}

#[test]
fn a_new_slice_past_the_cap_is_refused_and_a_standing_notice_says_why() {
    let hub = capped(2);
    hub.admit(model("a")).unwrap();
    hub.admit(model("b")).unwrap();
    assert_eq!(hub.admit(model("c")), Err(SliceRefused::Full { max: 2 }));
    assert!(hub.admit(model("a")).is_ok(), "a held slice is still taken");
    let notices = hub.standing();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].code, "slice_cap");
    assert_eq!(hub.slices(), 2);
}

#[test]
fn a_label_value_over_the_cap_is_refused_whatever_the_room() {
    let hub = capped(10);
    let e = hub.admit(model("123456789")).unwrap_err();
    assert!(e.to_string().contains("9 bytes, over the cap of 8"), "{e}");
    assert_eq!(hub.slices(), 0);
    assert!(hub.standing().is_empty(), "not a full hub");
}

#[test]
fn slices_that_aged_out_of_the_window_are_forgotten_and_free_their_place() {
    let hub = capped(2);
    let a = hub.admit(model("a")).unwrap();
    let b = hub.admit(model("b")).unwrap();
    let qa = hub.signal("qa").unwrap();
    let at = |slice: &Arc<SliceMap<'static>>, ts| UpdatePoint {
        slice: Arc::clone(slice),
        signal: Arc::clone(&qa),
        ts,
        value: BucketValue::Ratio { good: 1, total: 1 },
    };
    hub.publish(vec![at(&a, 0), at(&b, 0)]);
    assert!(hub.admit(model("c")).is_err());
    // Five buckets later, b holds nothing of the window any more.
    hub.publish(vec![at(&a, 5000)]);
    assert_eq!(hub.slices(), 1);
    assert!(hub.standing().is_empty(), "the notice is lifted");
    let c = hub.admit(model("c")).unwrap();
    hub.publish(vec![at(&c, 5000), at(&a, 6000)]);
    let sub = Subscribe {
        window_ms: 5000,
        ..Default::default()
    };
    let w = hub.subscribe(&sub, 6000).window;
    let mut held: Vec<&str> = w
        .series
        .iter()
        .filter_map(|s| s.slice.get("model"))
        .collect();
    held.sort_unstable();
    assert_eq!(held, ["a", "c"]);
}
