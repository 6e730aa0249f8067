//! Report periods (SPEC §10 `--by`): which local period an hour belongs to, the period's
//! label and its bounds cut to the requested range, and the clock columns of a row. Pure:
//! no I/O, no store.
//!
//! A day is a local calendar date (23 or 25 hours on DST days), a week an ISO week starting
//! on Monday, a month a calendar month. Hours are keyed by their own start instant, so a
//! repeated fall-back hour stays two rows in the hourly report.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike};

use crate::error::{Error, Result};
use crate::hours::Zone;

use super::cell::{Cell, Clock, Column, col};

/// Which period the streamed hours are in. Rows come ordered by hour, and a period is a run
/// of consecutive hours, so an hour between two hours already seen in the current period is
/// in it too: most rows then cost no zone lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeriodTracker {
    key: Option<i64>,
    /// `[start, end)` of hour starts known to map to `key`.
    known: (i64, i64),
}

impl PeriodTracker {
    /// The key of the period that `hour_start` begins, or `None` while it lies in the current
    /// one. On `Some`, the caller writes the current period out, then calls [`Self::enter`].
    pub fn next_period(&mut self, by: By, zone: Zone, hour_start: i64) -> Option<i64> {
        let h = hour_start;
        if self.known.0 <= h && h < self.known.1 {
            return None;
        }
        let key = by.key(zone, h);
        if self.key == Some(key) {
            self.known = (self.known.0.min(h), self.known.1.max(h + 1));
            None
        } else {
            Some(key)
        }
    }

    /// Starts the period `key` at `hour_start`.
    pub fn enter(&mut self, key: i64, hour_start: i64) {
        self.key = Some(key);
        self.known = (hour_start, hour_start + 1);
    }

    /// Ends the period in progress and returns its key (`None` when there was none).
    pub fn take(&mut self) -> Option<i64> {
        self.known = (0, 0);
        self.key.take()
    }
}

/// The length of a report row (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum By {
    #[default]
    Hour,
    Day,
    Week,
    Month,
    /// The local hour of the day, 00 to 23, over every day of the range (cyclic).
    HourOfDay,
    /// The local weekday, Monday to Sunday, over every week of the range (cyclic).
    Weekday,
}

/// The weekdays' names, Monday first, as a weekday row's Interval reads.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl By {
    pub const ALL: [By; 6] = [
        By::Hour,
        By::Day,
        By::Week,
        By::Month,
        By::HourOfDay,
        By::Weekday,
    ];

    pub fn parse(s: &str, arg: &str) -> Result<By> {
        let t = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == t)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{arg} '{s}' is not a period; expected hour, day, week, month, hour-of-day or weekday"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Hour => "hour",
            By::Day => "day",
            By::Week => "week",
            By::Month => "month",
            By::HourOfDay => "hour-of-day",
            By::Weekday => "weekday",
        }
    }

    /// Whether the periods recur (hour of the day, weekday): each gathers hours from all
    /// over the range, so rows are written only once the range has been read.
    pub fn is_cyclic(self) -> bool {
        matches!(self, By::HourOfDay | By::Weekday)
    }

    /// The Interval of the cyclic period `key`: `09:00 - 10:00` or `Monday`.
    pub fn cyclic_label(self, key: i64) -> String {
        match self {
            By::Weekday => WEEKDAYS[key.rem_euclid(7) as usize].to_string(),
            _ => format!("{:02}:00 - {:02}:00", key, (key + 1) % 24),
        }
    }

    /// The key of the period holding the local hour that starts at `hour_start`: the hour's
    /// own start for `Hour`, the local hour (0-23) or weekday (0 = Monday) for the cyclic
    /// periods, else the period's first local date as days since the epoch.
    pub fn key(self, zone: Zone, hour_start: i64) -> i64 {
        match self {
            By::Hour => hour_start,
            By::HourOfDay => i64::from(zone.local(hour_start).hour()),
            By::Weekday => i64::from(zone.local(hour_start).weekday().num_days_from_monday()),
            _ => {
                let date = zone.local(hour_start).date_naive();
                i64::from(self.first_date(date).num_days_from_ce())
            }
        }
    }

    /// The first local date of the day, week or month that holds `d`.
    pub fn first_date(self, d: NaiveDate) -> NaiveDate {
        match self {
            By::Hour | By::Day | By::HourOfDay | By::Weekday => d,
            By::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            By::Month => d.with_day(1).unwrap_or(d),
        }
    }

    /// The first local date after the period that starts on `first`.
    pub fn next_date(self, first: NaiveDate) -> NaiveDate {
        match self {
            By::Hour | By::Day | By::HourOfDay | By::Weekday => first + Duration::days(1),
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
            By::Hour | By::Day | By::HourOfDay | By::Weekday => {
                first.format("%Y-%m-%d").to_string()
            }
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

/// The period's bounds and whether the range cut it, which the machine form (JSON) of the
/// queue kinds adds to each row: [`RowClock::bounds`].
pub const PERIOD_BOUNDS: [Column; 3] = [
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Complete", "complete"),
];

/// The clock columns of one row: Interval, Date (with its date), Start and End Time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowClock {
    pub interval: String,
    pub date: chrono::NaiveDate,
    pub date_text: String,
    pub start: Clock,
    pub end: Clock,
    /// The range cut the period.
    pub cut: bool,
}

impl RowClock {
    /// The cells of [`PERIOD_BOUNDS`].
    pub fn bounds(&self) -> [Cell<'_>; 3] {
        [
            Cell::Clock(&self.start),
            Cell::Clock(&self.end),
            Cell::Flag(!self.cut),
        ]
    }

    /// The clock of the local hour starting at `start`: the Interval reads the clock one
    /// hour later, so a repeated fall-back hour shows `01:00 - 01:00`; End Time is the
    /// hour's actual end.
    pub fn hour(zone: Zone, start: i64) -> RowClock {
        let s = zone.local(start);
        let later = zone.local(start + 3600);
        RowClock {
            interval: format!("{} - {}", s.format("%H:%M"), later.format("%H:%M")),
            date: s.date_naive(),
            date_text: s.format("%d-%b").to_string(),
            start: Clock::new(zone, start),
            end: Clock::new(zone, zone.next_hour_start(start)),
            cut: false,
        }
    }

    /// The clock of a row: an hour, or the period `key` of `by` cut to `range`.
    pub fn of(by: By, zone: Zone, key: i64, range: (i64, i64)) -> RowClock {
        if by == By::Hour {
            return RowClock::hour(zone, key);
        }
        if by.is_cyclic() {
            return RowClock::cyclic(by, zone, key, range);
        }
        let p = span(by, zone, key, range.0, range.1);
        RowClock {
            interval: p.label,
            date: p.first_date,
            date_text: p.first_date.format("%d-%b").to_string(),
            start: Clock::new(zone, p.start),
            end: Clock::new(zone, p.end),
            cut: p.cut,
        }
    }

    /// The clock of the cyclic period `key` of `by`: its Interval, over the whole range.
    pub fn cyclic(by: By, zone: Zone, key: i64, range: (i64, i64)) -> RowClock {
        RowClock {
            interval: by.cyclic_label(key),
            ..RowClock::range(zone, range)
        }
    }

    /// The grand total's clock: the whole range.
    pub fn range(zone: Zone, range: (i64, i64)) -> RowClock {
        let d = zone.local(range.0).date_naive();
        RowClock {
            interval: "Total".into(),
            date: d,
            date_text: d.format("%d-%b").to_string(),
            start: Clock::new(zone, range.0),
            end: Clock::new(zone, range.1),
            cut: false,
        }
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
    fn the_tracker_starts_a_period_only_where_the_key_changes() {
        let z = Zone::parse("Europe/London").unwrap();
        let mut t = PeriodTracker::default();
        // The fall-back day's 25 hours, then the next day's first hour.
        let first = at(z, "2025-10-26 00:00");
        let key = t
            .next_period(By::Day, z, first)
            .expect("the first hour starts a period");
        t.enter(key, first);
        for h in 1..25 {
            assert_eq!(
                t.next_period(By::Day, z, first + h * 3600),
                None,
                "hour {h}"
            );
        }
        // A gap in the rows (no hour 3) and a row between known hours stay in the day.
        assert_eq!(t.next_period(By::Day, z, first + 3 * 3600), None);
        let next = t
            .next_period(By::Day, z, first + 25 * 3600)
            .expect("a new day");
        assert_ne!(next, key);
        assert_eq!(t.take(), Some(key));
        assert_eq!(t.take(), None);
        // By hour, every hour is its own period.
        let mut t = PeriodTracker::default();
        let k = t.next_period(By::Hour, z, first).unwrap();
        t.enter(k, first);
        assert_eq!(t.next_period(By::Hour, z, first), None);
        assert!(t.next_period(By::Hour, z, first + 3600).is_some());
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

    fn clock(zone: &str, local: &str) -> Vec<String> {
        let z = Zone::parse(zone).unwrap();
        let t = crate::hours::parse_instant(z, local, "t").unwrap();
        let c = RowClock::hour(z, t);
        vec![c.interval, c.date_text, c.start.text, c.end.text]
    }

    #[test]
    fn clock_columns() {
        assert_eq!(
            clock("Asia/Dubai", "2025-09-07 18:00"),
            [
                "18:00 - 19:00",
                "07-Sep",
                "07/09/2025, 18:00:00",
                "07/09/2025, 19:00:00"
            ]
        );
        assert_eq!(
            clock("UTC", "2025-12-31 23:00"),
            [
                "23:00 - 00:00",
                "31-Dec",
                "31/12/2025, 23:00:00",
                "01/01/2026, 00:00:00"
            ]
        );
    }

    #[test]
    fn kolkata_hours_start_at_half_past_utc() {
        // 2025-08-20T08:30:00Z is 14:00 in Kolkata.
        let z = Zone::parse("Asia/Kolkata").unwrap();
        let c = RowClock::hour(z, 1_755_678_600);
        assert_eq!(c.interval, "14:00 - 15:00");
        assert_eq!(c.start.text, "20/08/2025, 14:00:00");
    }

    #[test]
    fn london_fall_back_repeats_one_oclock() {
        let z = Zone::parse("Europe/London").unwrap();
        // 2025-10-26: 00:00 UTC is 01:00 BST, 01:00 UTC is 01:00 GMT.
        let first = RowClock::hour(z, 1_761_436_800);
        let second = RowClock::hour(z, 1_761_440_400);
        assert_eq!(first.interval, "01:00 - 01:00");
        assert_eq!(second.interval, "01:00 - 02:00");
        assert_eq!(first.end.text, "26/10/2025, 01:00:00");
        assert_eq!(second.start.text, "26/10/2025, 01:00:00");
    }

    #[test]
    fn london_spring_forward_skips_one_oclock() {
        // 2025-03-30: 00:00 GMT is followed by 02:00 BST.
        assert_eq!(
            clock("Europe/London", "2025-03-30 00:00"),
            [
                "00:00 - 02:00",
                "30-Mar",
                "30/03/2025, 00:00:00",
                "30/03/2025, 02:00:00"
            ]
        );
        assert_eq!(
            clock("Europe/London", "2025-03-30 02:00")[0],
            "02:00 - 03:00"
        );
    }
}
