//! The engine of the reports grouped by period (agents, queues): rows stream in hour order,
//! each is summed into its member's (agent's or queue's) sums of the period in progress,
//! and when a period ends its members are written in order, then its total; at the end,
//! the grand total over the range. At most one period's sums are held, except for the
//! cyclic periods (hour of the day, weekday), whose 24 or 7 periods are all held and
//! written at the end. What a member's
//! sums are, how they merge and how a row is written is the report kind's
//! ([`PeriodRows`]). `--sort` and `--top` ([`Ranking`]) order and cut each period's
//! members; a period's total still sums all of them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use crate::error::Result;
use crate::hours::Zone;

use super::cell::{Cell, RowKind};
use super::period::{By, PeriodTracker, RowClock};

/// What a report grouped by period sums and writes.
pub trait PeriodRows {
    /// The sums of one member (or of all, for a total) over one period.
    type Sums: Default;
    /// The order of the members within a period.
    fn order(a: &str, b: &str) -> Ordering;
    /// Adds a member's sums to a total.
    fn merge(total: &mut Self::Sums, sums: &Self::Sums);
    /// The value of column `column` (an index into the kind's cells) in `member`'s row, to
    /// rank a period's members by (`--sort`); kinds that are not ranked keep the default.
    fn sort_value(
        &self,
        _clock: &RowClock,
        _member: &str,
        _sums: &Self::Sums,
        _column: usize,
    ) -> SortValue {
        SortValue::Missing
    }
    /// Writes one row: a member's (`Detail`) or a total (`Total`, member `TOTAL`).
    fn write(
        &mut self,
        clock: &RowClock,
        member: &str,
        sums: &Self::Sums,
        kind: RowKind,
    ) -> Result<()>;
}

/// How each period's members are ordered and cut (`--sort COLUMN[:asc]`, `--top N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ranking {
    /// The column (an index into the kind's cells) to order by, largest first unless
    /// `ascending`; ties, and every row without `column`, in the kind's own order.
    pub column: Option<usize>,
    pub ascending: bool,
    /// Only the first this many members of each period.
    pub top: Option<usize>,
}

/// A cell's value as a rank: a number (counts, durations, ratios), a text, or nothing (a
/// ratio without a denominator), which ranks after every value in both directions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Missing,
    Num(i64),
    Text(String),
}

impl SortValue {
    pub fn of(cell: &Cell<'_>) -> SortValue {
        match *cell {
            Cell::Int(n) | Cell::Duration(n) | Cell::Mean(Some(n)) | Cell::Percent(Some(n)) => {
                SortValue::Num(n)
            }
            Cell::Flag(b) => SortValue::Num(i64::from(b)),
            Cell::Text(t) | Cell::Date(_, t) => SortValue::Text(t.to_string()),
            Cell::Clock(c) => SortValue::Num(c.at.timestamp()),
            Cell::Mean(None) | Cell::Percent(None) | Cell::Empty => SortValue::Missing,
        }
    }

    /// `a` before `b` under `ascending` (largest first otherwise), missing values last.
    fn order(a: &SortValue, b: &SortValue, ascending: bool) -> Ordering {
        match (a, b) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Missing, _) => Ordering::Greater,
            (_, SortValue::Missing) => Ordering::Less,
            _ if ascending => a.cmp(b),
            _ => b.cmp(a),
        }
    }
}

/// The members of one period, in the order first seen, and where each is.
struct Period<S> {
    members: Vec<(String, S)>,
    index: HashMap<String, usize>,
}

impl<S: Default> Period<S> {
    fn new() -> Period<S> {
        Period {
            members: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn sums(&mut self, member: String) -> &mut S {
        let i = match self.index.get(&member) {
            Some(&i) => i,
            None => {
                let i = self.members.len();
                self.index.insert(member.clone(), i);
                self.members.push((member, S::default()));
                i
            }
        };
        &mut self.members[i].1
    }
}

/// Groups streamed rows into periods of `by` and writes them through `W`.
pub struct Grouper<W: PeriodRows> {
    by: By,
    zone: Zone,
    range: (i64, i64),
    /// Whether a TOTAL row follows each period, and a grand total the report.
    totals: bool,
    rows: W,
    tracker: PeriodTracker,
    /// The period in progress.
    current: Period<W::Sums>,
    /// With a cyclic `by`, every period by key (24 hours of the day or 7 weekdays), written
    /// at the end.
    cyclic: BTreeMap<i64, Period<W::Sums>>,
    grand: W::Sums,
    ranking: Ranking,
    /// Detail rows written.
    written: u64,
}

impl<W: PeriodRows> Grouper<W> {
    /// Periods of `by` in `zone`, cut to the range `[range.0, range.1)` (instants).
    pub fn new(by: By, zone: Zone, range: (i64, i64), totals: bool, rows: W) -> Grouper<W> {
        Grouper {
            by,
            zone,
            range,
            totals,
            rows,
            tracker: PeriodTracker::default(),
            current: Period::new(),
            cyclic: BTreeMap::new(),
            grand: W::Sums::default(),
            ranking: Ranking::default(),
            written: 0,
        }
    }

    /// Orders and cuts each period's members by `ranking` instead of the kind's order.
    pub fn ranked(mut self, ranking: Ranking) -> Grouper<W> {
        self.ranking = ranking;
        self
    }

    /// The sums of `member` in the period holding the hour that starts at `hour_start`;
    /// when the hour begins a new period, the one that ended is written first.
    pub fn sums(&mut self, hour_start: i64, member: String) -> Result<&mut W::Sums> {
        if self.by.is_cyclic() {
            let key = self.by.key(self.zone, hour_start);
            return Ok(self
                .cyclic
                .entry(key)
                .or_insert_with(Period::new)
                .sums(member));
        }
        if let Some(key) = self.tracker.next_period(self.by, self.zone, hour_start) {
            if let Some(ended) = self.tracker.take() {
                let period = std::mem::replace(&mut self.current, Period::new());
                self.write_period(ended, period)?;
            }
            self.tracker.enter(key, hour_start);
        }
        Ok(self.current.sums(member))
    }

    /// Writes the last period (every period, when cyclic) and, with totals, the grand total
    /// of a report that had rows; returns how many detail rows were written.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(key) = self.tracker.take() {
            let period = std::mem::replace(&mut self.current, Period::new());
            self.write_period(key, period)?;
        }
        for (key, period) in std::mem::take(&mut self.cyclic) {
            self.write_period(key, period)?;
        }
        if self.totals && self.written > 0 {
            let clock = RowClock::range(self.zone, self.range);
            self.rows
                .write(&clock, "TOTAL", &self.grand, RowKind::Total)?;
        }
        Ok(self.written)
    }

    /// Writes the period `key`: its members in order, then its total.
    fn write_period(&mut self, key: i64, mut period: Period<W::Sums>) -> Result<()> {
        let clock = RowClock::of(self.by, self.zone, key, self.range);
        let members = &mut period.members;
        match self.ranking.column {
            Some(column) => {
                let mut keyed: Vec<(SortValue, (String, W::Sums))> = members
                    .drain(..)
                    .map(|(m, s)| (self.rows.sort_value(&clock, &m, &s, column), (m, s)))
                    .collect();
                let ascending = self.ranking.ascending;
                keyed.sort_by(|a, b| {
                    SortValue::order(&a.0, &b.0, ascending)
                        .then_with(|| W::order(&(a.1).0, &(b.1).0))
                });
                members.extend(keyed.into_iter().map(|(_, m)| m));
            }
            None => members.sort_by(|a, b| W::order(&a.0, &b.0)),
        }
        let shown = self.ranking.top.unwrap_or(usize::MAX);
        let mut total = W::Sums::default();
        for (i, (member, sums)) in members.iter().enumerate() {
            if i < shown {
                self.rows.write(&clock, member, sums, RowKind::Detail)?;
                self.written += 1;
            }
            W::merge(&mut total, sums);
        }
        if self.totals {
            self.rows.write(&clock, "TOTAL", &total, RowKind::Total)?;
        }
        W::merge(&mut self.grand, &total);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums count rows; the rows written are kept as text.
    struct Written<'a>(&'a mut Vec<String>);

    impl PeriodRows for Written<'_> {
        type Sums = i64;
        fn order(a: &str, b: &str) -> Ordering {
            b.cmp(a)
        }
        fn merge(total: &mut i64, sums: &i64) {
            *total += sums;
        }
        fn write(&mut self, clock: &RowClock, member: &str, n: &i64, kind: RowKind) -> Result<()> {
            self.0
                .push(format!("{} {member} {n} {kind:?}", clock.interval));
            Ok(())
        }
    }

    /// Counts `(hour, member)` rows from 2025-09-07 00:00 UTC by day over two days.
    fn grouped(rows: &[(i64, &str)], totals: bool) -> (u64, Vec<String>) {
        let z = Zone::UTC;
        let day = crate::hours::parse_instant(z, "2025-09-07 00:00", "t").unwrap();
        let mut out = Vec::new();
        let range = (day, day + 2 * 86_400);
        let mut g = Grouper::new(By::Day, z, range, totals, Written(&mut out));
        for &(h, m) in rows {
            *g.sums(day + h * 3600, m.to_string()).unwrap() += 1;
        }
        (g.finish().unwrap(), out)
    }

    #[test]
    fn periods_are_written_in_member_order_with_totals() {
        let rows = [(0, "a"), (1, "b"), (5, "a"), (24, "a")];
        let (n, out) = grouped(&rows, true);
        assert_eq!(n, 3);
        assert_eq!(
            out,
            [
                "2025-09-07 b 1 Detail",
                "2025-09-07 a 2 Detail",
                "2025-09-07 TOTAL 3 Total",
                "2025-09-08 a 1 Detail",
                "2025-09-08 TOTAL 1 Total",
                "Total TOTAL 4 Total",
            ]
        );
        let (n, out) = grouped(&rows, false);
        assert_eq!(n, 3);
        assert_eq!(out.len(), 3, "{out:?}");
    }

    #[test]
    fn cyclic_periods_gather_hours_from_the_whole_range() {
        let z = Zone::parse("Europe/London").unwrap();
        // The fall-back day: 00:00 BST, 01:00 BST, 01:00 GMT, 02:00 GMT, then 01:00 GMT
        // of the next day.
        let day = crate::hours::parse_instant(z, "2025-10-26 00:00", "t").unwrap();
        let mut out = Vec::new();
        let range = (day, day + 3 * 86_400);
        let mut g = Grouper::new(By::HourOfDay, z, range, true, Written(&mut out));
        for (h, m) in [(0, "a"), (1, "a"), (2, "a"), (2, "b"), (3, "a"), (26, "a")] {
            *g.sums(day + h * 3600, m.to_string()).unwrap() += 1;
        }
        assert_eq!(g.finish().unwrap(), 4);
        assert_eq!(
            out,
            [
                "00:00 - 01:00 a 1 Detail",
                "00:00 - 01:00 TOTAL 1 Total",
                "01:00 - 02:00 b 1 Detail",
                "01:00 - 02:00 a 3 Detail",
                "01:00 - 02:00 TOTAL 4 Total",
                "02:00 - 03:00 a 1 Detail",
                "02:00 - 03:00 TOTAL 1 Total",
                "Total TOTAL 6 Total",
            ]
        );
        let mut out = Vec::new();
        let mut g = Grouper::new(By::Weekday, z, range, false, Written(&mut out));
        for h in [0, 30, 50, 1] {
            *g.sums(day + h * 3600, "a".into()).unwrap() += 1;
        }
        g.finish().unwrap();
        assert_eq!(
            out,
            [
                "Monday a 1 Detail",
                "Tuesday a 1 Detail",
                "Sunday a 2 Detail"
            ]
        );
    }

    #[test]
    fn a_report_without_rows_has_no_total() {
        assert_eq!(grouped(&[], true), (0, Vec::new()));
    }
}
