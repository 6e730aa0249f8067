//! Local hours of the report's time zone (SPEC §5.2): where an hour starts and ends as epoch
//! instants, in any IANA zone, including half-hour offsets (Asia/Kolkata hours start at :30
//! UTC) and DST (a 23- or 25-hour local day; the repeated hour is two distinct buckets).
//! Also parses the instants and spans users type on the command line. No I/O.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// Offsets of every zone in use today are multiples of 15 minutes, so hour boundaries sit on
/// multiples of this step in UTC.
const STEP: i64 = 900;

/// An IANA time zone whose local hours are the report's hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

/// One local hour `[start, end)` in epoch seconds. `end - start` is 3600 except across an
/// offset change that is not a whole hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourBucket {
    pub start: i64,
    pub end: i64,
}

impl Zone {
    pub const UTC: Zone = Zone(Tz::UTC);

    /// Parses an IANA zone name such as `Asia/Dubai`.
    pub fn parse(name: &str) -> Result<Zone> {
        name.trim().parse::<Tz>().map(Zone).map_err(|_| {
            Error::config(format!(
                "time zone '{name}' is not an IANA zone name; expected e.g. Asia/Dubai, Asia/Kolkata, Europe/London"
            ))
        })
    }

    /// The system's zone, else UTC (SPEC §2 default).
    pub fn system() -> Zone {
        iana_time_zone::get_timezone()
            .ok()
            .and_then(|n| n.parse::<Tz>().ok())
            .map(Zone)
            .unwrap_or(Zone::UTC)
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> Tz {
        self.0
    }

    /// Seconds east of UTC in force at instant `t`.
    pub fn offset_at(&self, t: i64) -> i64 {
        let utc = DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .naive_utc();
        self.0
            .offset_from_utc_datetime(&utc)
            .fix()
            .local_minus_utc() as i64
    }

    /// Whether the local clock reads `HH:00:00` at instant `t`.
    pub fn is_hour_start(&self, t: i64) -> bool {
        (t + self.offset_at(t)).rem_euclid(3600) == 0
    }

    /// The start of the local hour containing `t`.
    pub fn floor_hour(&self, t: i64) -> i64 {
        let quick = t - (t + self.offset_at(t)).rem_euclid(3600);
        if self.offset_at(quick) == self.offset_at(t) {
            return quick;
        }
        // An offset change lies between: walk back on the 15-minute grid.
        let mut c = t - t.rem_euclid(STEP);
        for _ in 0..16 {
            if self.is_hour_start(c) {
                return c;
            }
            c -= STEP;
        }
        quick
    }

    /// The first local hour start strictly after `t`.
    pub fn next_hour_start(&self, t: i64) -> i64 {
        let quick = t - (t + self.offset_at(t)).rem_euclid(3600) + 3600;
        if self.offset_at(quick) == self.offset_at(t) {
            return quick;
        }
        let mut c = t - t.rem_euclid(STEP) + STEP;
        for _ in 0..16 {
            if self.is_hour_start(c) {
                return c;
            }
            c += STEP;
        }
        quick
    }

    /// The local hour containing `t`.
    pub fn hour_containing(&self, t: i64) -> HourBucket {
        let start = self.floor_hour(t);
        HourBucket {
            start,
            end: self.next_hour_start(start),
        }
    }

    /// Every local hour that overlaps `[from, to)`, in order.
    pub fn hours(&self, from: i64, to: i64) -> Vec<HourBucket> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        let mut start = self.floor_hour(from);
        while start < to {
            let end = self.next_hour_start(start);
            out.push(HourBucket { start, end });
            start = end;
        }
        out
    }

    /// The first instant of the local day holding `t`.
    pub fn day_start(&self, t: i64) -> i64 {
        let date = self.local(t).date_naive();
        self.instant_of(date.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    /// The local wall-clock time at instant `t`.
    pub fn local(&self, t: i64) -> DateTime<Tz> {
        DateTime::<Utc>::from_timestamp(t, 0)
            .unwrap_or_default()
            .with_timezone(&self.0)
    }

    /// `YYYY-MM-DD HH:00` of the local hour starting at `start` (`report_hour_local`).
    pub fn hour_label(&self, start: i64) -> String {
        self.local(start).format("%Y-%m-%d %H:00").to_string()
    }

    /// The first instant at which the local clock reads `naive` or later: a time skipped by
    /// a DST gap resolves to the end of the gap, a repeated time to its first occurrence.
    pub fn instant_of(&self, naive: NaiveDateTime) -> i64 {
        match self.0.from_local_datetime(&naive) {
            LocalResult::Single(dt) => dt.timestamp(),
            LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
            LocalResult::None => {
                // Inside a gap: the gap ends at the first representable minute after it.
                let mut probe = naive;
                for _ in 0..(24 * 60) {
                    probe += chrono::Duration::minutes(1);
                    if let Some(dt) = self.0.from_local_datetime(&probe).earliest() {
                        return dt.timestamp();
                    }
                }
                naive.and_utc().timestamp()
            }
        }
    }
}

/// A local date given as exactly `YYYY-MM-DD` (chrono alone would take a short year or a
/// sign); `arg` names the flag or parameter in the error.
pub fn parse_date(s: &str, arg: &str) -> Result<NaiveDate> {
    let t = s.trim();
    // chrono accepts a year without four digits and signs; the form is exactly YYYY-MM-DD.
    let shaped = t.len() == 10
        && t.bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 4 | 7) == (b == b'-') && (b == b'-' || b.is_ascii_digit()));
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if shaped => Ok(d),
        _ => Err(Error::usage(format!(
            "{arg} '{s}' is not a date; expected YYYY-MM-DD, e.g. 2025-09-07"
        ))),
    }
}

/// Parses an instant given on the command line (`--from`, `--since`, ...): epoch seconds,
/// RFC 3339, or a local `YYYY-MM-DD[ HH:MM[:SS]]` in `zone`. `flag` names the argument in
/// the error.
pub fn parse_instant(zone: Zone, s: &str, flag: &str) -> Result<i64> {
    let s = s.trim();
    if !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = s.parse::<i64>()
    {
        return Ok(n);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(zone.instant_of(n));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(zone.instant_of(d.and_time(NaiveTime::MIN)));
    }
    Err(Error::usage(format!(
        "{flag} '{s}' is not a time; expected epoch seconds, RFC 3339, or local 'YYYY-MM-DD[ HH:MM[:SS]]'"
    )))
}

/// Parses a span such as `15m`, `24h`, `90s`, `2d` (a bare number is seconds).
pub fn parse_span(s: &str, flag: &str) -> Result<i64> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match num.parse::<i64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(secs) if mult > 0 => Ok(secs),
        _ => Err(Error::usage(format!(
            "{flag} '{s}' is not a span; expected a number with s, m, h or d, e.g. 15m or 24h"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(name: &str) -> Zone {
        Zone::parse(name).unwrap()
    }

    fn at(zone: Zone, s: &str) -> i64 {
        parse_instant(zone, s, "t").unwrap()
    }

    #[test]
    fn utc_hours_are_aligned() {
        let u = Zone::UTC;
        assert_eq!(u.floor_hour(7_205), 7_200);
        assert_eq!(u.next_hour_start(7_200), 10_800);
        assert_eq!(u.hours(7_200, 14_400).len(), 2);
    }

    #[test]
    fn kolkata_hours_start_at_half_past_utc() {
        let k = z("Asia/Kolkata");
        // 2025-08-20 08:30:00 UTC is 14:00 IST.
        assert_eq!(k.floor_hour(1_755_678_600 + 1_000), 1_755_678_600);
        assert_eq!(k.hour_label(1_755_678_600), "2025-08-20 14:00");
        assert!(k.is_hour_start(1_755_678_600));
        assert!(!k.is_hour_start(1_755_678_600 - 1_800));
    }

    #[test]
    fn kathmandu_quarter_hour_offset() {
        let n = z("Asia/Kathmandu");
        let h = n.hour_containing(1_755_678_600);
        assert_eq!(h.end - h.start, 3600);
        assert_eq!(n.local(h.start).format("%M:%S").to_string(), "00:00");
    }

    #[test]
    fn london_spring_forward_day_has_23_hours() {
        let l = z("Europe/London");
        let day = at(l, "2025-03-30");
        let next = at(l, "2025-03-31");
        let hours = l.hours(day, next);
        assert_eq!(hours.len(), 23);
        assert!(hours.iter().all(|h| h.end - h.start == 3600));
        assert_eq!(l.hour_label(hours[1].start), "2025-03-30 02:00");
    }

    #[test]
    fn london_fall_back_day_repeats_an_hour() {
        let l = z("Europe/London");
        let day = at(l, "2025-10-26");
        let next = at(l, "2025-10-27");
        let hours = l.hours(day, next);
        assert_eq!(hours.len(), 25);
        assert_eq!(l.hour_label(hours[1].start), "2025-10-26 01:00");
        assert_eq!(l.hour_label(hours[2].start), "2025-10-26 01:00");
        assert_ne!(hours[1].start, hours[2].start);
        assert!(hours.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn lord_howe_half_hour_dst_keeps_buckets_contiguous() {
        let lh = z("Australia/Lord_Howe");
        let from = at(lh, "2025-10-04");
        let to = at(lh, "2025-10-07");
        let hours = lh.hours(from, to);
        assert!(hours.windows(2).all(|w| w[0].end == w[1].start));
        assert!(hours.iter().all(|h| lh.is_hour_start(h.start)));
        let total: i64 = hours.iter().map(|h| h.end - h.start).sum();
        assert_eq!(total, hours.last().unwrap().end - hours[0].start);
    }

    #[test]
    fn instants_parse_in_every_form() {
        let k = z("Asia/Kolkata");
        assert_eq!(at(k, "1755678600"), 1_755_678_600);
        assert_eq!(at(k, "2025-08-20T08:30:00Z"), 1_755_678_600);
        assert_eq!(at(k, "2025-08-20 14:00"), 1_755_678_600);
        assert_eq!(at(k, "2025-08-20 14:00:00"), 1_755_678_600);
        assert_eq!(at(k, "2025-08-20"), 1_755_678_600 - 14 * 3600);
        let err = parse_instant(k, "yesterday", "--from")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--from 'yesterday'"), "{err}");
    }

    #[test]
    fn gap_times_resolve_after_the_gap() {
        let l = z("Europe/London");
        // 01:30 does not exist on 2025-03-30; 02:00 BST (01:00 UTC) is the end of the gap.
        let t = at(l, "2025-03-30 01:30");
        assert_eq!(l.local(t).format("%H:%M").to_string(), "02:00");
    }

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("15m", "x").unwrap(), 900);
        assert_eq!(parse_span("24h", "x").unwrap(), 86_400);
        assert_eq!(parse_span("90", "x").unwrap(), 90);
        assert!(
            parse_span("soon", "--overlap")
                .unwrap_err()
                .to_string()
                .contains("--overlap")
        );
    }

    #[test]
    fn bad_zone_names_the_input() {
        let e = Zone::parse("Mars/Base").unwrap_err().to_string();
        assert!(e.contains("Mars/Base"));
    }
}
