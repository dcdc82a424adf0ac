//! A snapshot as frames: one for a client that does not read parts (or a
//! snapshot that fits one part), else parts of about a target size each.

use crate::protocol::{MAX_SNAPSHOT_PARTS, Series, ServerMessage, Snapshot, SnapshotPart};

/// The frames of `snap`, in sending order, each made when it is taken (a
/// large fleet's snapshot is never all in memory as text). `parts` says the
/// client reads parts; `target` is the size each part aims at, in bytes.
pub fn snapshot_frames(
    mut snap: Snapshot<'static>,
    parts: bool,
    target: usize,
) -> Box<dyn Iterator<Item = String> + Send> {
    let bounds = if parts {
        // Larger parts rather than more than a client accepts (twice the
        // even share: a greedy cut can leave a part nearly half empty).
        let total: usize = snap.series.iter().map(series_bytes).sum();
        let floor = 2 * total.div_ceil(MAX_SNAPSHOT_PARTS as usize);
        part_bounds(&snap.series, target.max(floor).max(1))
    } else {
        Vec::new()
    };
    if bounds.len() <= 1 {
        // One frame, exactly as protocol 1 always sent it.
        return Box::new(std::iter::once(ServerMessage::Snapshot(snap).to_json()));
    }
    let count = u32::try_from(bounds.len()).unwrap_or(u32::MAX);
    let slices = distinct_slices(&snap.series);
    let mut series = std::mem::take(&mut snap.series).into_iter();
    let mut annotations = Some(std::mem::take(&mut snap.annotations));
    let mut changes = Some(std::mem::take(&mut snap.changes));
    let mut taken = 0;
    Box::new(bounds.into_iter().enumerate().map(move |(i, end)| {
        let first = i == 0;
        let part = Snapshot {
            seq: snap.seq,
            from: snap.from,
            to: snap.to,
            series: series.by_ref().take(end - taken).collect(),
            annotations: annotations.take().unwrap_or_default(),
            changes: changes.take().unwrap_or_default(),
            part: Some(SnapshotPart {
                id: snap.seq,
                index: u32::try_from(i + 1).unwrap_or(u32::MAX),
                count,
                slices: first.then_some(slices),
            }),
        };
        taken = end;
        ServerMessage::Snapshot(part).to_json()
    }))
}

/// End index (exclusive) of each part's series: whole series, each part
/// holding at least one and stopping once it reaches `target` bytes.
fn part_bounds(series: &[Series<'_>], target: usize) -> Vec<usize> {
    let mut bounds = Vec::new();
    let mut size = 0;
    for (i, s) in series.iter().enumerate() {
        let bytes = series_bytes(s);
        if size > 0 && size + bytes > target {
            bounds.push(i);
            size = 0;
        }
        size += bytes;
    }
    if size > 0 || bounds.is_empty() {
        bounds.push(series.len());
    }
    bounds
}

/// About how many bytes a series takes as JSON: counted digit by digit,
/// since a 50,000-slice snapshot should not be serialised twice to split it.
fn series_bytes(s: &Series<'_>) -> usize {
    let ints = |v: &Option<Vec<Option<i64>>>| {
        v.as_ref().map_or(0, |v| {
            v.iter()
                .map(|c| {
                    c.map_or(5, |n| {
                        n.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 2
                    })
                })
                .sum::<usize>()
        })
    };
    let labels: usize = s.slice.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    64 + labels
        + s.signal.as_str().len()
        + ints(&s.good)
        + ints(&s.total)
        + s.values.as_ref().map_or(0, |v| v.len() * 12)
}

/// Slices in a snapshot: a hub sends each slice's series together.
fn distinct_slices(series: &[Series<'_>]) -> u64 {
    let mut n = 0;
    let mut last = None;
    for s in series {
        if last != Some(&s.slice) {
            n += 1;
            last = Some(&s.slice);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ServerMessage, SliceMap, decode_server};

    fn series(model: &str, signal: &str, buckets: usize) -> Series<'static> {
        Series {
            slice: SliceMap::from_pairs([("model", model)]),
            signal: signal.to_owned().into(),
            start: 0,
            good: Some(vec![Some(990); buckets]),
            total: Some(vec![Some(1000); buckets]),
            values: None,
        }
    }

    fn snapshot(series: Vec<Series<'static>>) -> Snapshot<'static> {
        Snapshot {
            seq: 3,
            from: 0,
            to: 60_000,
            series,
            annotations: Vec::new(),
            changes: Vec::new(),
            part: None,
        }
    }

    #[test]
    fn a_large_snapshot_splits_into_parts_near_the_target_that_keep_every_series() {
        let all: Vec<_> = (0..40)
            .flat_map(|m| {
                [
                    series(&format!("m{m}"), "q", 360),
                    series(&format!("m{m}"), "a", 360),
                ]
            })
            .collect();
        let frames: Vec<String> = snapshot_frames(snapshot(all.clone()), true, 16 * 1024).collect();
        assert!(frames.len() > 3, "{} frames", frames.len());
        let mut back = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            assert!(f.len() < 2 * 16 * 1024, "part {i} is {} bytes", f.len());
            let Ok(Some(ServerMessage::Snapshot(s))) = decode_server(f) else {
                panic!("part {i} does not decode");
            };
            let part = s.part.expect("every frame is a part");
            assert_eq!(
                (part.id, part.index as usize, part.count as usize),
                (3, i + 1, frames.len())
            );
            assert_eq!(part.slices, (i == 0).then_some(40));
            back.extend(s.series.into_iter().map(|s| s.slice.into_owned()));
        }
        assert_eq!(back, all.into_iter().map(|s| s.slice).collect::<Vec<_>>());
    }

    #[test]
    fn a_tiny_target_still_makes_no_more_parts_than_a_client_accepts() {
        let all: Vec<_> = (0..5000)
            .map(|m| series(&format!("m{m}"), "q", 2))
            .collect();
        let frames = snapshot_frames(snapshot(all), true, 1).count();
        assert!(frames <= MAX_SNAPSHOT_PARTS as usize, "{frames} parts");
        assert!(frames > 1000, "{frames} parts");
    }

    #[test]
    fn a_client_without_parts_or_a_small_snapshot_gets_one_plain_frame() {
        let all = vec![series("a", "q", 10), series("b", "q", 10)];
        for (parts, target) in [(false, 16), (true, 1 << 20)] {
            let frames: Vec<String> =
                snapshot_frames(snapshot(all.clone()), parts, target).collect();
            assert_eq!(frames.len(), 1);
            assert!(!frames[0].contains("\"part\""), "{}", frames[0]);
        }
    }
}
