//! Report periods (SPEC §10 `--by`): which local period an hour belongs to, the period's
//! label and its bounds cut to the requested range. Pure: no I/O, no store.
//!
//! A day is a local calendar date (23 or 25 hours on DST days), a week an ISO week starting
//! on Monday, a month a calendar month. Hours are keyed by their own start instant, so a
//! repeated fall-back hour stays two rows in the hourly report.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

use crate::error::{Error, Result};
use crate::hours::Zone;

/// The length of a report row (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum By {
    #[default]
    Hour,
    Day,
    Week,
    Month,
}

impl By {
    pub fn parse(s: &str, arg: &str) -> Result<By> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hour" => Ok(By::Hour),
            "day" => Ok(By::Day),
            "week" => Ok(By::Week),
            "month" => Ok(By::Month),
            _ => Err(Error::usage(format!(
                "{arg} '{s}' is not a period; expected hour, day, week or month"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Hour => "hour",
            By::Day => "day",
            By::Week => "week",
            By::Month => "month",
        }
    }

    /// The key of the period holding the local hour that starts at `hour_start`: the hour's
    /// own start for `Hour`, else the period's first local date as days since the epoch.
    pub fn key(self, zone: Zone, hour_start: i64) -> i64 {
        match self {
            By::Hour => hour_start,
            _ => {
                let date = zone.local(hour_start).date_naive();
                i64::from(self.first_date(date).num_days_from_ce())
            }
        }
    }

    /// The first local date of the day, week or month that holds `d`.
    pub fn first_date(self, d: NaiveDate) -> NaiveDate {
        match self {
            By::Hour | By::Day => d,
            By::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            By::Month => d.with_day(1).unwrap_or(d),
        }
    }

    /// The first local date after the period that starts on `first`.
    pub fn next_date(self, first: NaiveDate) -> NaiveDate {
        match self {
            By::Hour | By::Day => first + Duration::days(1),
            By::Week => first + Duration::days(7),
            By::Month => {
                let (y, m) = if first.month() == 12 {
                    (first.year() + 1, 1)
                } else {
                    (first.year(), first.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first)
            }
        }
    }

    /// `2025-09-07`, `2025-W37` or `2025-09` for the period starting on `first`.
    pub fn label(self, first: NaiveDate) -> String {
        match self {
            By::Hour | By::Day => first.format("%Y-%m-%d").to_string(),
            By::Week => {
                let w = first.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            By::Month => first.format("%Y-%m").to_string(),
        }
    }
}

/// A day, week or month as reported: its label, first date and bounds within the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodSpan {
    pub label: String,
    pub first_date: NaiveDate,
    /// Instants of the period's start and end, cut to the range.
    pub start: i64,
    pub end: i64,
    /// Whether the range cut the period (it is reported for the part inside the range).
    pub cut: bool,
}

/// The period `by` (not `Hour`) with key `key`, cut to the range `[range_start, range_end)`
/// (instants).
pub fn span(by: By, zone: Zone, key: i64, range_start: i64, range_end: i64) -> PeriodSpan {
    let first = NaiveDate::from_num_days_from_ce_opt(key as i32).unwrap_or_default();
    let start = zone.instant_of(first.and_time(NaiveTime::MIN));
    let end = zone.instant_of(by.next_date(first).and_time(NaiveTime::MIN));
    PeriodSpan {
        label: by.label(first),
        first_date: first,
        start: start.max(range_start),
        end: end.min(range_end),
        cut: range_start > start || range_end < end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(zone: Zone, s: &str) -> i64 {
        crate::hours::parse_instant(zone, s, "t").unwrap()
    }

    #[test]
    fn labels_and_first_dates() {
        assert_eq!(By::Day.label(d("2025-09-07")), "2025-09-07");
        assert_eq!(By::Week.first_date(d("2025-09-07")), d("2025-09-01"));
        assert_eq!(By::Week.label(d("2025-09-08")), "2025-W37");
        assert_eq!(By::Month.first_date(d("2025-09-07")), d("2025-09-01"));
        assert_eq!(By::Month.label(d("2025-09-01")), "2025-09");
        assert_eq!(By::Month.next_date(d("2025-12-01")), d("2026-01-01"));
        // ISO week 1 of 2026 starts on Monday 2025-12-29.
        assert_eq!(By::Week.first_date(d("2026-01-01")), d("2025-12-29"));
        assert_eq!(By::Week.label(d("2025-12-29")), "2026-W01");
        assert_eq!(By::parse("Week", "--by").unwrap(), By::Week);
        let e = By::parse("year", "--by").unwrap_err().to_string();
        assert!(e.starts_with("--by 'year'"), "{e}");
    }

    #[test]
    fn dst_days_have_23_and_25_hours() {
        let z = Zone::parse("Europe/London").unwrap();
        let far = (i64::MIN / 2, i64::MAX / 2);
        let key = By::Day.key(z, at(z, "2025-03-30 05:00"));
        let s = span(By::Day, z, key, far.0, far.1);
        assert_eq!((s.end - s.start) / 3600, 23);
        let key = By::Day.key(z, at(z, "2025-10-26 23:00"));
        let s = span(By::Day, z, key, far.0, far.1);
        assert_eq!((s.end - s.start) / 3600, 25);
        assert!(!s.cut);
        // Both 01:00 hours of the fall-back day are in that day.
        let first = at(z, "2025-10-26 01:00");
        assert_eq!(By::Day.key(z, first), By::Day.key(z, first + 3600));
        assert_ne!(By::Hour.key(z, first), By::Hour.key(z, first + 3600));
    }

    #[test]
    fn periods_are_cut_by_the_range() {
        let z = Zone::parse("Asia/Kolkata").unwrap();
        let (from, to) = (at(z, "2025-08-20 14:00"), at(z, "2025-09-03 00:00"));
        let key = By::Month.key(z, at(z, "2025-08-31 23:00"));
        let s = span(By::Month, z, key, from, to);
        assert_eq!(s.label, "2025-08");
        assert_eq!((s.start, s.end), (from, at(z, "2025-09-01 00:00")));
        assert!(s.cut);
        let key = By::Month.key(z, at(z, "2025-09-01 00:00"));
        let s = span(By::Month, z, key, from, to);
        assert_eq!(
            (s.label.as_str(), s.start, s.end),
            ("2025-09", at(z, "2025-09-01 00:00"), to)
        );
        // A +05:30 day starts at 18:30 UTC.
        let key = By::Day.key(z, at(z, "2025-08-21 00:00"));
        let s = span(By::Day, z, key, from, to);
        assert_eq!(s.start, at(z, "2025-08-21 00:00"));
        assert_eq!(s.start % 3600, 1800);
        assert!(!s.cut);
    }
}
