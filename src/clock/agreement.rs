//! Whether the backends agree on the time. Their data meet on one time axis,
//! so one backend whose clock is hours off (local time sent as UTC, a host
//! set to 9999) would push the others' data out of the window: a false
//! all-clear. The reference is the clock nearest the local one; a backend
//! further than the tolerance from it is refused and named.

use crate::protocol::Millis;

/// Clocks this far apart still agree: NTP-less hosts drift by seconds, a
/// relay reports a scrape or two late; hours apart is a bug, never data.
pub const MAX_CLOCK_DISAGREEMENT_MS: Millis = 5 * 60_000;

/// Real time a report handled late (a loaded host) may have waited, run on
/// at a fast clock's scale: the late-report allowance, [`LATE_DELIVERY_MS`]...
const MAX_DELIVERY_ALLOWANCE_MS: f64 = LATE_DELIVERY_MS as f64;
/// ...but no more than this much data time, so that a fast clock that
/// jumped hours (a demo restarted without its clock) is still told apart...
const DELIVERY_ALLOWANCE_DATA_MS: f64 = 3_600_000.0;
/// ...and never less real time than this, however fast the clock.
const MIN_DELIVERY_ALLOWANCE_MS: f64 = 5_000.0;

/// One backend's clock as it last said it: data time `data_ms` at wall
/// time `at_wall_ms`, running `scale` seconds of data time per real second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub data_ms: Millis,
    pub at_wall_ms: Millis,
    pub scale: f64,
}

impl Reading {
    /// Its clock run on to wall time `wall_now`.
    pub fn projected(&self, wall_now: Millis) -> Millis {
        let ran = (wall_now - self.at_wall_ms).max(0) as f64 * self.scale;
        self.data_ms.saturating_add(ran as Millis)
    }
}

/// How far apart two clocks may be: [`MAX_CLOCK_DISAGREEMENT_MS`], or more
/// for a fast (demo) clock, whose delivery delay is scaled with it. A report
/// handled late makes its clock look behind by the delay times the scale: a
/// busy client that took 5.6 s to read the demo's second hello saw its x60
/// clocks 5m37s apart and refused one (a CI run). So a fast clock is allowed
/// 30 s of real time, as a late heartbeat is ([`freshest`]), up to an hour of
/// data time: at x3,600 (60 buckets a second) 30 s would be 30 h, and a demo
/// restarted 9 h back would pass for a late one. There the allowance is 5 s.
pub fn tolerance_ms(scale: f64) -> Millis {
    let scale = scale.clamp(0.0, 1e6);
    let real = if scale > 0.0 {
        (DELIVERY_ALLOWANCE_DATA_MS / scale)
            .clamp(MIN_DELIVERY_ALLOWANCE_MS, MAX_DELIVERY_ALLOWANCE_MS)
    } else {
        MAX_DELIVERY_ALLOWANCE_MS
    };
    MAX_CLOCK_DISAGREEMENT_MS.max((real * scale) as Millis)
}

/// A report that reached us this much real time late is still a late
/// report, not a clock set back: a loaded host delays messages by seconds.
pub const LATE_DELIVERY_MS: Millis = 30_000;

/// The better of a backend's last clock reading and a new one (each is
/// data time at a wall time): a report delivered or handled late makes its
/// clock look behind by the delay times the scale (6 s at the demo's ×60 is
/// 6 minutes), never ahead. So a new reading that falls behind the last one
/// run on, by less than [`LATE_DELIVERY_MS`] of real time, is taken as late
/// and the last one run on is kept; further behind, the clock was set back.
pub fn freshest(
    last: Option<(Millis, Millis)>,
    new: (Millis, Millis),
    scale: f64,
) -> (Millis, Millis) {
    let Some((data, at)) = last else {
        return new;
    };
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let run_on = data.saturating_add(((new.1 - at).max(0) as f64 * scale) as Millis);
    let behind = run_on.saturating_sub(new.0);
    if behind > 0 && (behind as f64) <= LATE_DELIVERY_MS as f64 * scale {
        (run_on, new.1)
    } else {
        new
    }
}

/// What [`judge`] concluded, per source in index order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdicts {
    /// The source whose clock the others are measured against.
    pub reference: Option<usize>,
    /// The reference's clock at the wall time judged.
    pub reference_now: Option<Millis>,
    /// Per source: how far its clock is from the reference's (positive:
    /// ahead), when that is beyond the tolerance and it is refused.
    pub refused: Vec<Option<Millis>>,
}

/// Judges the clocks of the sources that have one (`None`: not connected,
/// or no hello yet) at wall time `wall_now`.
pub fn judge(readings: &[Option<Reading>], wall_now: Millis) -> Verdicts {
    let mut refused = vec![None; readings.len()];
    let projected: Vec<(usize, Millis, f64)> = readings
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| (i, r.projected(wall_now), r.scale)))
        .collect();
    // Nearest the local clock; on a tie, the first source.
    let Some(&(reference, reference_now, reference_scale)) = projected
        .iter()
        .min_by_key(|(i, now, _)| ((now - wall_now).unsigned_abs(), *i))
    else {
        return Verdicts {
            refused,
            ..Verdicts::default()
        };
    };
    for &(i, now, scale) in &projected {
        let offset = now.saturating_sub(reference_now);
        if offset.unsigned_abs() > tolerance_ms(scale.max(reference_scale)).unsigned_abs() {
            refused[i] = Some(offset);
        }
    }
    Verdicts {
        reference: Some(reference),
        reference_now: Some(reference_now),
        refused,
    }
}

/// `8h ahead`, `25m behind`, `7973y ahead`: a clock offset for people.
pub fn disagreement_words(offset_ms: Millis) -> String {
    const YEAR_MS: u64 = 365 * 86_400_000;
    // Rounded to what is shown, so 7h59m59.7s reads as the 8h it is.
    let unit: u64 = if offset_ms.unsigned_abs() >= 3_600_000 {
        60_000
    } else {
        1_000
    };
    let abs = (offset_ms.unsigned_abs().saturating_add(unit / 2)) / unit * unit;
    // Layer 1 cannot use `text`: the few units a clock offset needs, here.
    let (s, m, h, d) = (abs / 1_000, abs / 60_000, abs / 3_600_000, abs / 86_400_000);
    let size = match abs {
        _ if abs >= YEAR_MS => format!("{}y", abs / YEAR_MS),
        _ if d > 0 => format!("{d}d"),
        _ if h > 0 && m % 60 == 0 => format!("{h}h"),
        _ if h > 0 => format!("{h}h{}m", m % 60),
        _ if m > 0 && s % 60 == 0 => format!("{m}m"),
        _ if m > 0 => format!("{m}m{}s", s % 60),
        _ => format!("{s}s"),
    };
    let way = if offset_ms >= 0 { "ahead" } else { "behind" };
    format!("{size} {way}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: Millis = 1_790_000_000_000;
    const HOUR: Millis = 3_600_000;

    fn at(data_ms: Millis) -> Option<Reading> {
        Some(Reading {
            data_ms,
            at_wall_ms: WALL,
            scale: 1.0,
        })
    }

    #[test]
    fn a_late_heartbeat_does_not_pull_a_fast_clock_back_but_a_clock_set_back_does() {
        let last = Some((WALL, WALL));
        // At ×60, 6 s late reads as 6 minutes behind: the last reading run on wins.
        assert_eq!(
            freshest(last, (WALL + 4_000 * 60, WALL + 10_000), 60.0),
            (WALL + 10_000 * 60, WALL + 10_000)
        );
        // On time or ahead: the new reading.
        assert_eq!(
            freshest(last, (WALL + 5_000, WALL + 5_000), 1.0),
            (WALL + 5_000, WALL + 5_000)
        );
        assert_eq!(
            freshest(last, (WALL + 9_000, WALL + 5_000), 1.0),
            (WALL + 9_000, WALL + 5_000)
        );
        // Set back by an hour: believed.
        assert_eq!(
            freshest(last, (WALL - HOUR, WALL + 5_000), 1.0),
            (WALL - HOUR, WALL + 5_000)
        );
        assert_eq!(freshest(None, (WALL, WALL), 1.0), (WALL, WALL));
    }

    #[test]
    fn a_clock_eight_hours_ahead_is_refused_and_the_local_one_is_the_reference() {
        for order in [
            [at(WALL + 8 * HOUR), at(WALL)],
            [at(WALL), at(WALL + 8 * HOUR)],
        ] {
            let v = judge(&order, WALL);
            let skewed = usize::from(order[0] == at(WALL));
            assert_eq!(v.reference, Some(1 - skewed));
            assert_eq!(v.refused[skewed], Some(8 * HOUR));
            assert_eq!(v.refused[1 - skewed], None);
        }
    }

    #[test]
    fn year_9999_is_refused_and_says_years() {
        let v = judge(&[at(253_402_300_000_000), at(WALL - 30_000)], WALL);
        let off = v.refused[0].expect("refused");
        assert!(disagreement_words(off).ends_with("y ahead"), "{off}");
        assert_eq!(v.refused[1], None);
    }

    #[test]
    fn clocks_within_the_tolerance_agree_even_far_from_the_local_clock() {
        let old = WALL - 1000 * HOUR;
        let v = judge(&[at(old), at(old + 60_000), None], WALL);
        assert_eq!(v.refused, vec![None, None, None]);
        assert_eq!(judge(&[at(old)], WALL).refused, vec![None]);
    }

    #[test]
    fn a_fast_clock_is_projected_to_now_before_comparing() {
        let demo = |said_at: Millis| {
            Some(Reading {
                data_ms: WALL + HOUR,
                at_wall_ms: said_at,
                scale: 60.0,
            })
        };
        // The same 60x clock said 4 s apart: 4 min apart in data time, agreed.
        let v = judge(&[demo(WALL), demo(WALL - 4_000)], WALL);
        assert_eq!(v.refused, vec![None, None]);
    }

    #[test]
    fn a_fast_clock_read_seconds_late_agrees_but_one_hours_off_does_not() {
        let demo = |data_ms: Millis, scale: f64| {
            Some(Reading {
                data_ms,
                at_wall_ms: WALL,
                scale,
            })
        };
        // The CI run's case: at x60 the second hello was handled 5.6 s late,
        // so its clock read 5m36s behind the first; up to 30 s late agrees.
        for late_ms in [5_600, 29_000] {
            let behind = WALL + HOUR - late_ms * 60;
            let v = judge(&[demo(WALL + HOUR, 60.0), demo(behind, 60.0)], WALL);
            assert_eq!(v.refused, vec![None, None], "{late_ms} ms late");
        }
        // Hours off is not a late report at x60...
        let v = judge(&[demo(WALL, 60.0), demo(WALL + 8 * HOUR, 60.0)], WALL);
        assert_eq!(v.refused[1], Some(8 * HOUR));
        // ...nor at x3,600, where 30 s would be 30 h: a demo restarted 9 h
        // back is refused against the old run still connected.
        let v = judge(&[demo(WALL, 3_600.0), demo(WALL + 9 * HOUR, 3_600.0)], WALL);
        assert_eq!(v.refused[1], Some(9 * HOUR));
        // Real clocks keep the 5 min tolerance.
        let v = judge(&[at(WALL), at(WALL + 6 * 60_000)], WALL);
        assert_eq!(v.refused[1], Some(6 * 60_000));
        assert_eq!(tolerance_ms(1.0), MAX_CLOCK_DISAGREEMENT_MS);
        assert_eq!(tolerance_ms(60.0), 30 * 60_000);
        assert_eq!(tolerance_ms(600.0), HOUR);
        assert_eq!(tolerance_ms(3_600.0), 5 * HOUR);
        assert_eq!(tolerance_ms(f64::NAN), MAX_CLOCK_DISAGREEMENT_MS);
    }

    #[test]
    fn words_say_how_far_and_which_way() {
        assert_eq!(disagreement_words(8 * HOUR), "8h ahead");
        assert_eq!(disagreement_words(-25 * 60_000), "25m behind");
        assert_eq!(disagreement_words(8 * HOUR - 700), "8h ahead");
        assert_eq!(disagreement_words(-(90 * 60_000)), "1h30m behind");
        assert_eq!(disagreement_words(3 * 86_400_000), "3d ahead");
    }
}
