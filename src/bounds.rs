//! What a source may claim about time (issue 15.2). One far-away timestamp used to become the
//! dirty range and "data until", and aggregation then walked every hour up to it; so every
//! instant a source hands in is checked against a sane window first:
//!
//! - not before [`FLOOR`] (2000-01-01T00:00:00Z): no contact center's data is older, and a
//!   zero or a small number is a broken field, not an event;
//! - not more than [`LEAD_SECS`] (one day) after the later of the machine's clock and the
//!   newest data already stored (a day absorbs clock skew between the PBX and this host).
//!
//! A whole number past the ceiling whose thousandth lies inside the window is named as a
//! millisecond epoch in the reason; it is rejected, not converted, because nothing in a
//! queue_log line proves the unit (the platform's `Timestamp`, whose milliseconds the
//! specification documents, is converted before it gets here). Pure: no clock, no I/O.

use std::fmt;

use chrono::DateTime;

/// The earliest instant accepted: 2000-01-01T00:00:00Z.
pub const FLOOR: i64 = 946_684_800;
/// How far past the later of the clock and the newest stored data an instant may lie.
pub const LEAD_SECS: i64 = 86_400;

/// The window `[floor, ceiling]` instants must fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    pub floor: i64,
    pub ceiling: i64,
}

/// Why an instant was refused; its `Display` is the reject reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfBounds {
    BeforeFloor { time: i64 },
    Milliseconds { time: i64 },
    AfterCeiling { time: i64, ceiling: i64 },
}

impl TimeBounds {
    /// The window for a run at clock `now`, with `newest` the newest instant already stored
    /// (`data_until`), if any.
    pub fn new(now: i64, newest: Option<i64>) -> TimeBounds {
        let base = newest.map_or(now, |n| n.max(now));
        TimeBounds {
            floor: FLOOR,
            ceiling: base.saturating_add(LEAD_SECS),
        }
    }

    pub fn contains(&self, time: i64) -> bool {
        self.floor <= time && time <= self.ceiling
    }

    /// `Ok` when `time` lies in the window, else why not.
    pub fn check(&self, time: i64) -> Result<(), OutOfBounds> {
        if time < self.floor {
            Err(OutOfBounds::BeforeFloor { time })
        } else if time <= self.ceiling {
            Ok(())
        } else if self.contains(time / 1000) {
            Err(OutOfBounds::Milliseconds { time })
        } else {
            Err(OutOfBounds::AfterCeiling {
                time,
                ceiling: self.ceiling,
            })
        }
    }
}

/// `2025-09-07 13:00:00 UTC`, or the bare number where chrono has no date for it.
fn utc(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("epoch {t}"))
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OutOfBounds::BeforeFloor { time } => write!(
                f,
                "time {time} ({}) is before 2000-01-01; expected epoch seconds of a real event",
                utc(time)
            ),
            OutOfBounds::Milliseconds { time } => write!(
                f,
                "time {time} looks like epoch milliseconds ({}); expected whole epoch seconds",
                utc(time / 1000)
            ),
            OutOfBounds::AfterCeiling { time, ceiling } => write!(
                f,
                "time {time} ({}) is more than a day after the newest data and the clock; expected no later than {}",
                utc(time),
                utc(ceiling)
            ),
        }
    }
}

impl std::error::Error for OutOfBounds {}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-21 00:00:00 UTC.
    const NOW: i64 = 1_795_219_200;

    #[test]
    fn the_window_runs_from_2000_to_a_day_after_the_clock_or_the_newest_data() {
        let b = TimeBounds::new(NOW, None);
        assert_eq!((b.floor, b.ceiling), (FLOOR, NOW + LEAD_SECS));
        assert_eq!(
            TimeBounds::new(NOW, Some(NOW - 10)).ceiling,
            NOW + LEAD_SECS
        );
        assert_eq!(
            TimeBounds::new(NOW, Some(NOW + 5000)).ceiling,
            NOW + 5000 + LEAD_SECS
        );
        for ok in [FLOOR, 1_757_300_000, NOW, NOW + LEAD_SECS] {
            assert_eq!(b.check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn each_side_of_the_window_has_its_reason() {
        let b = TimeBounds::new(NOW, None);
        assert_eq!(
            b.check(FLOOR - 1),
            Err(OutOfBounds::BeforeFloor { time: FLOOR - 1 })
        );
        assert_eq!(b.check(0), Err(OutOfBounds::BeforeFloor { time: 0 }));
        assert_eq!(
            b.check(i64::MIN),
            Err(OutOfBounds::BeforeFloor { time: i64::MIN })
        );
        assert_eq!(
            b.check(NOW + LEAD_SECS + 1),
            Err(OutOfBounds::AfterCeiling {
                time: NOW + LEAD_SECS + 1,
                ceiling: NOW + LEAD_SECS
            })
        );
        // Year 10000 and the largest i64 are far away, not milliseconds.
        for far in [253_402_300_800, i64::MAX] {
            assert!(matches!(
                b.check(far),
                Err(OutOfBounds::AfterCeiling { .. })
            ));
        }
    }

    #[test]
    fn a_millisecond_epoch_is_named() {
        let b = TimeBounds::new(NOW, None);
        let e = b.check(1_757_300_000_000).unwrap_err();
        assert_eq!(
            e,
            OutOfBounds::Milliseconds {
                time: 1_757_300_000_000
            }
        );
        assert_eq!(
            e.to_string(),
            "time 1757300000000 looks like epoch milliseconds (2025-09-08 02:53:20 UTC); expected whole epoch seconds"
        );
        // Milliseconds of an instant before 2000 are just far away.
        assert!(matches!(
            b.check(900_000_000_000),
            Err(OutOfBounds::AfterCeiling { .. })
        ));
    }

    #[test]
    fn reasons_are_one_line_and_survive_any_number() {
        let b = TimeBounds::new(NOW, Some(i64::MAX));
        assert_eq!(b.ceiling, i64::MAX);
        for t in [i64::MIN, -1, 0, i64::MAX] {
            if let Err(e) = TimeBounds::new(NOW, None).check(t) {
                let s = e.to_string();
                assert!(!s.contains('\n') && s.contains(&t.to_string()), "{s}");
            }
        }
        assert_eq!(
            TimeBounds::new(NOW, None)
                .check(i64::MAX)
                .unwrap_err()
                .to_string(),
            "time 9223372036854775807 (epoch 9223372036854775807) is more than a day after the newest data and the clock; expected no later than 2026-11-22 00:00:00 UTC"
        );
    }
}
