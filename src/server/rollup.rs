//! Rollups on demand: a subscription with `group_by` gets one series per
//! group of leaves (a leaf's values of the grouping dimensions) instead of
//! one per leaf. Ratio counts are summed, never ratios averaged, so the
//! rolled-up rate is exact; a gauge (a latency percentile, which cannot be
//! summed) is the largest of its leaves' values, as the client's own
//! rollup shows it: the worst slice in the group.
//!
//! A live point that replaces a leaf's bucket changes its group's sum, so a
//! grouped batch carries each touched group's bucket recomputed from every
//! leaf the hub holds, never the leaf's counts alone.

use std::collections::HashMap;

use crate::protocol::{BucketValue, Hello, Point, SliceMap, Subscribe};

/// The hello feature a source announces when it answers `group_by`.
pub const ROLLUPS_FEATURE: &str = "rollups";

/// Why a `group_by` is refused.
pub fn check_group_by(sub: &Subscribe, hello: &Hello) -> Result<(), String> {
    let Some(dims) = &sub.group_by else {
        return Ok(());
    };
    if !hello.has_feature(ROLLUPS_FEATURE) {
        return Err(
            "subscribe: group_by: this backend does not roll up (no `rollups` feature)".into(),
        );
    }
    for (i, d) in dims.iter().enumerate() {
        if !hello.dimensions.iter().any(|h| h == d) {
            return Err(format!(
                "subscribe: group_by: unknown dimension {d:?} (the hello lists {})",
                hello.dimensions.join(", ")
            ));
        }
        if dims[..i].contains(d) {
            return Err(format!("subscribe: group_by: {d:?} named twice"));
        }
    }
    Ok(())
}

/// The group a leaf belongs to: its values of `group_by`, in that order
/// (a dimension the leaf lacks is left out, as the leaf leaves it out).
pub fn group_of(slice: &SliceMap<'_>, group_by: &[String]) -> SliceMap<'static> {
    SliceMap::from_pairs(
        group_by
            .iter()
            .filter_map(|d| slice.get(d).map(|v| (d.clone(), v.to_owned()))),
    )
}

/// The group's key as text, for maps (dimension order is `group_by`'s).
pub fn group_key(slice: &SliceMap<'_>, group_by: &[String]) -> String {
    let mut key = String::new();
    for d in group_by {
        if let Some(v) = slice.get(d) {
            key.push_str(v);
        }
        key.push('\u{1f}');
    }
    key
}

/// One rolled-up bucket under construction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Acc {
    #[default]
    Empty,
    Ratio {
        good: u64,
        total: u64,
    },
    Gauge(f64),
}

impl Acc {
    /// Adds one leaf's bucket: counts summed, a gauge kept at the largest.
    pub fn add(&mut self, value: Option<&BucketValue>) {
        *self = match (*self, value) {
            (acc, None) => acc,
            (Acc::Empty, Some(BucketValue::Ratio { good, total })) => Acc::Ratio {
                good: u64::from(*good),
                total: u64::from(*total),
            },
            (Acc::Ratio { good, total }, Some(BucketValue::Ratio { good: g, total: t })) => {
                Acc::Ratio {
                    good: good + u64::from(*g),
                    total: total + u64::from(*t),
                }
            }
            (Acc::Empty, Some(BucketValue::Gauge(v))) => Acc::Gauge(*v),
            (Acc::Gauge(a), Some(BucketValue::Gauge(v))) => Acc::Gauge(a.max(*v)),
            // A hub holds one kind per signal; a mix cannot arise.
            (acc, Some(_)) => acc,
        }
    }

    /// Good and total counts, when this is a ratio bucket.
    pub fn counts(self) -> Option<(i64, i64)> {
        match self {
            Acc::Ratio { good, total } => Some((to_i64(good), to_i64(total))),
            _ => None,
        }
    }

    /// The value, when this is a gauge bucket.
    pub fn value(self) -> Option<f64> {
        match self {
            Acc::Gauge(v) => Some(v),
            _ => None,
        }
    }

    /// As a point of `group`'s `signal` at `ts`; `None` when no leaf had it.
    pub fn point(self, group: &SliceMap<'static>, signal: &str, ts: i64) -> Option<Point<'static>> {
        let (good, total, value) = match self {
            Acc::Empty => return None,
            Acc::Ratio { .. } => {
                let (g, t) = self.counts()?;
                (Some(g), Some(t), None)
            }
            Acc::Gauge(v) => (None, None, Some(v)),
        };
        Some(Point {
            slice: group.clone(),
            signal: signal.to_owned().into(),
            ts,
            good,
            total,
            value,
        })
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Buckets of several groups being summed: group key → (group, buckets).
#[derive(Debug, Default)]
pub struct Groups {
    pub order: Vec<String>,
    pub by_key: HashMap<String, (SliceMap<'static>, Vec<Acc>)>,
}

impl Groups {
    /// The buckets of `slice`'s group, `len` of them, made on first use.
    pub fn buckets_of(
        &mut self,
        slice: &SliceMap<'_>,
        group_by: &[String],
        len: usize,
    ) -> &mut [Acc] {
        let key = group_key(slice, group_by);
        if !self.by_key.contains_key(&key) {
            self.order.push(key.clone());
            self.by_key.insert(
                key.clone(),
                (group_of(slice, group_by), vec![Acc::Empty; len]),
            );
        }
        self.by_key
            .get_mut(&key)
            .map_or(&mut [][..], |(_, b)| b.as_mut_slice())
    }

    /// Groups in the order first met.
    pub fn iter(&self) -> impl Iterator<Item = (&SliceMap<'static>, &[Acc])> {
        self.order
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .map(|(g, b)| (g, b.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(pairs: &[(&str, &str)]) -> SliceMap<'static> {
        SliceMap::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_group_keeps_the_grouping_dimensions_in_their_order() {
        let leaf = slice(&[("model", "m1"), ("hardware", "tpu"), ("region", "eu")]);
        let by = vec!["region".to_owned(), "model".to_owned()];
        assert_eq!(
            group_of(&leaf, &by),
            slice(&[("region", "eu"), ("model", "m1")])
        );
        assert_eq!(group_of(&leaf, &[]), slice(&[]));
    }

    #[test]
    fn counts_are_summed_and_a_gauge_is_the_worst_leaf() {
        let mut r = Acc::Empty;
        r.add(Some(&BucketValue::Ratio { good: 9, total: 10 }));
        r.add(None);
        r.add(Some(&BucketValue::Ratio {
            good: u32::MAX,
            total: u32::MAX,
        }));
        assert_eq!(
            r.counts(),
            Some((9 + i64::from(u32::MAX), 10 + i64::from(u32::MAX)))
        );
        let mut g = Acc::Empty;
        g.add(Some(&BucketValue::Gauge(120.0)));
        g.add(Some(&BucketValue::Gauge(480.0)));
        g.add(Some(&BucketValue::Gauge(60.0)));
        assert_eq!(g.value(), Some(480.0));
        assert_eq!(Acc::Empty.point(&slice(&[]), "x", 0), None);
    }

    #[test]
    fn group_by_names_only_known_dimensions_once_and_needs_the_feature() {
        let hello = |features: &[&str]| Hello {
            protocol: 1,
            server: "t".into(),
            epoch: "e".into(),
            dimensions: vec!["model".into(), "hardware".into()],
            signals: Vec::new(),
            bucket_ms: 60_000,
            history_ms: 3_600_000,
            now: 0,
            features: features.iter().map(|f| (*f).to_owned()).collect(),
        };
        let sub = |dims: &[&str]| Subscribe {
            window_ms: 60_000,
            group_by: Some(dims.iter().map(|d| (*d).to_owned()).collect()),
            ..Subscribe::default()
        };
        let h = hello(&[ROLLUPS_FEATURE]);
        assert_eq!(check_group_by(&sub(&["model"]), &h), Ok(()));
        assert_eq!(check_group_by(&sub(&[]), &h), Ok(()));
        assert_eq!(check_group_by(&Subscribe::default(), &hello(&[])), Ok(()));
        let err = check_group_by(&sub(&["region"]), &h).unwrap_err();
        assert!(err.contains("unknown dimension \"region\""), "{err}");
        let err = check_group_by(&sub(&["model", "model"]), &h).unwrap_err();
        assert!(err.contains("named twice"), "{err}");
        let err = check_group_by(&sub(&["model"]), &hello(&[])).unwrap_err();
        assert!(err.contains("does not roll up"), "{err}");
    }

    mod on_a_hub {
        use super::*;
        use crate::protocol::{SignalKind, SignalRole, SignalSpec};
        use crate::server::{Hub, UpdatePoint};

        fn hub() -> Hub {
            let spec = |name: &str, kind| SignalSpec {
                name: name.into(),
                kind,
                role: SignalRole::Quality,
                unit: None,
            };
            Hub::new(
                &[
                    spec("qa", SignalKind::Ratio),
                    spec("p99", SignalKind::Gauge),
                ],
                1000,
                5000,
                8,
            )
        }

        fn ratio(hub: &Hub, model: &str, hw: &str, ts: i64, good: u32, total: u32) -> UpdatePoint {
            UpdatePoint {
                slice: hub.intern(slice(&[("model", model), ("hardware", hw)])),
                signal: hub.signal("qa").unwrap(),
                ts,
                value: BucketValue::Ratio { good, total },
            }
        }

        fn gauge(hub: &Hub, model: &str, hw: &str, ts: i64, v: f64) -> UpdatePoint {
            UpdatePoint {
                slice: hub.intern(slice(&[("model", model), ("hardware", hw)])),
                signal: hub.signal("p99").unwrap(),
                ts,
                value: BucketValue::Gauge(v),
            }
        }

        fn by_model() -> Subscribe {
            Subscribe {
                window_ms: 5000,
                group_by: Some(vec!["model".into()]),
                ..Subscribe::default()
            }
        }

        #[test]
        fn a_grouped_window_sums_counts_and_keeps_the_worst_gauge() {
            let hub = hub();
            hub.publish(vec![
                ratio(&hub, "a", "tpu", 0, 9, 10),
                ratio(&hub, "a", "gpu", 0, 5, 10),
                ratio(&hub, "b", "tpu", 0, 1, 2),
                gauge(&hub, "a", "tpu", 0, 100.0),
                gauge(&hub, "a", "gpu", 0, 300.0),
            ]);
            hub.publish(vec![ratio(&hub, "a", "gpu", 1000, 7, 7)]);
            let w = hub
                .subscribe(
                    &Subscribe {
                        window_ms: 2000,
                        ..by_model()
                    },
                    2000,
                )
                .window;
            let find = |model: &str, signal: &str| {
                w.series
                    .iter()
                    .find(|s| s.slice.get("model") == Some(model) && s.signal.as_str() == signal)
                    .unwrap_or_else(|| panic!("no {model} {signal}: {:?}", w.series))
            };
            let a = find("a", "qa");
            assert_eq!(
                a.slice,
                slice(&[("model", "a")]),
                "only the grouping dimension"
            );
            assert_eq!(a.good.as_deref(), Some(&[Some(14), Some(7)][..]));
            assert_eq!(a.total.as_deref(), Some(&[Some(20), Some(7)][..]));
            assert_eq!(find("b", "qa").good.as_deref(), Some(&[Some(1), None][..]));
            assert_eq!(
                find("a", "p99").values.as_deref(),
                Some(&[Some(300.0), None][..])
            );
            assert_eq!(w.series.len(), 3, "b has no p99: no series");
        }

        #[test]
        fn a_replaced_leaf_bucket_gives_its_groups_new_sum_not_the_leafs_counts() {
            let hub = hub();
            hub.publish(vec![
                ratio(&hub, "a", "tpu", 0, 9, 10),
                ratio(&hub, "a", "gpu", 0, 5, 10),
                ratio(&hub, "b", "tpu", 0, 1, 2),
            ]);
            // A late push corrects a/gpu at bucket 0 alone.
            let late = vec![ratio(&hub, "a", "gpu", 0, 2, 10)];
            hub.publish(late.clone());
            let points = hub.rolled_points(&by_model(), &late);
            assert_eq!(points.len(), 1, "{points:?}");
            assert_eq!(points[0].slice, slice(&[("model", "a")]));
            assert_eq!((points[0].good, points[0].total), (Some(11), Some(20)));
            // A filter keeps other groups' leaves out of the sums.
            let only_gpu = Subscribe {
                filter: [("hardware".to_owned(), vec!["gpu".to_owned()])].into(),
                ..by_model()
            };
            let points = hub.rolled_points(&only_gpu, &late);
            assert_eq!((points[0].good, points[0].total), (Some(2), Some(10)));
            let only_tpu = Subscribe {
                filter: [("hardware".to_owned(), vec!["tpu".to_owned()])].into(),
                ..by_model()
            };
            assert!(hub.rolled_points(&only_tpu, &late).is_empty());
            // A leaf subscription gets no rolled points.
            assert!(hub.rolled_points(&Subscribe::default(), &late).is_empty());
        }

        #[test]
        fn an_empty_group_by_rolls_everything_into_the_whole_fleet() {
            let hub = hub();
            hub.publish(vec![
                ratio(&hub, "a", "tpu", 0, 9, 10),
                ratio(&hub, "b", "gpu", 0, 1, 10),
            ]);
            let all = Subscribe {
                window_ms: 1000,
                group_by: Some(Vec::new()),
                ..by_model()
            };
            let w = hub.subscribe(&all, 1000).window;
            let qa: Vec<_> = w
                .series
                .iter()
                .filter(|s| s.signal.as_str() == "qa")
                .collect();
            assert_eq!(qa.len(), 1);
            assert!(qa[0].slice.is_empty());
            assert_eq!(qa[0].good.as_deref(), Some(&[Some(10)][..]));
        }
    }
}
