//! The engine of the reports grouped by period (agents, queues): rows stream in hour order,
//! each is summed into its member's (agent's or queue's) sums of the period in progress,
//! and when a period ends its members are written in order, then its total; at the end,
//! the grand total over the range. At most one period's sums are held. What a member's
//! sums are, how they merge and how a row is written is the report kind's
//! ([`PeriodRows`]).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::error::Result;
use crate::hours::Zone;

use super::cell::RowKind;
use super::period::{By, PeriodTracker, RowClock};

/// What a report grouped by period sums and writes.
pub trait PeriodRows {
    /// The sums of one member (or of all, for a total) over one period.
    type Sums: Default;
    /// The order of the members within a period.
    fn order(a: &str, b: &str) -> Ordering;
    /// Adds a member's sums to a total.
    fn merge(total: &mut Self::Sums, sums: &Self::Sums);
    /// Writes one row: a member's (`Detail`) or a total (`Total`, member `TOTAL`).
    fn write(
        &mut self,
        clock: &RowClock,
        member: &str,
        sums: &Self::Sums,
        kind: RowKind,
    ) -> Result<()>;
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
    /// The period in progress: its members in the order first seen, and where each is.
    members: Vec<(String, W::Sums)>,
    index: HashMap<String, usize>,
    grand: W::Sums,
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
            members: Vec::new(),
            index: HashMap::new(),
            grand: W::Sums::default(),
            written: 0,
        }
    }

    /// The sums of `member` in the period holding the hour that starts at `hour_start`;
    /// when the hour begins a new period, the one that ended is written first.
    pub fn sums(&mut self, hour_start: i64, member: String) -> Result<&mut W::Sums> {
        if let Some(key) = self.tracker.next_period(self.by, self.zone, hour_start) {
            self.write_period()?;
            self.tracker.enter(key, hour_start);
        }
        let i = match self.index.get(&member) {
            Some(&i) => i,
            None => {
                let i = self.members.len();
                self.index.insert(member.clone(), i);
                self.members.push((member, W::Sums::default()));
                i
            }
        };
        Ok(&mut self.members[i].1)
    }

    /// Writes the last period and, with totals, the grand total of a report that had rows;
    /// returns how many detail rows were written.
    pub fn finish(mut self) -> Result<u64> {
        self.write_period()?;
        if self.totals && self.written > 0 {
            let clock = RowClock::range(self.zone, self.range);
            self.rows
                .write(&clock, "TOTAL", &self.grand, RowKind::Total)?;
        }
        Ok(self.written)
    }

    /// Writes the period in progress, if any: its members in order, then its total.
    fn write_period(&mut self) -> Result<()> {
        let Some(key) = self.tracker.take() else {
            return Ok(());
        };
        let clock = RowClock::of(self.by, self.zone, key, self.range);
        self.members.sort_by(|a, b| W::order(&a.0, &b.0));
        let mut total = W::Sums::default();
        for (member, sums) in &self.members {
            self.rows.write(&clock, member, sums, RowKind::Detail)?;
            W::merge(&mut total, sums);
        }
        self.written += self.members.len() as u64;
        if self.totals {
            self.rows.write(&clock, "TOTAL", &total, RowKind::Total)?;
        }
        W::merge(&mut self.grand, &total);
        self.members.clear();
        self.index.clear();
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
    fn a_report_without_rows_has_no_total() {
        assert_eq!(grouped(&[], true), (0, Vec::new()));
    }
}
