//! How stints ended (SPEC §14 `--kind outcomes`): per queue and period, every stint counted
//! once by how it ended: answered and hung up by the agent, by the caller, or with no
//! completion line (still talking, or cut), transferred, and each exit reason. The counts sum
//! to the queue report's Offered. Streamed like the queue report: one period's queues at a
//! time.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::queue::{HangupBy, Outcome, Stint};
use crate::store::Store;

use super::cell::{Cell, Column, RowKind, col};
use super::grouped::{Grouper, PeriodRows};
use super::period::{PERIOD_BOUNDS, RowClock};
use super::request::ReportRequest;
use super::sink::{ReportSummary, RowSink};

/// The columns of the outcome report, in order; JSON adds [`MACHINE_COLUMNS`].
pub const COLUMNS: [Column; 14] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Queue", "queue"),
    col("Offered", "offered"),
    col("Agent Hung Up", "agent_hung_up"),
    col("Caller Hung Up", "caller_hung_up"),
    col("Answered, No Hangup", "answered_no_hangup"),
    col("Transferred", "transferred"),
    col("Abandoned", "abandoned"),
    col("Timeout", "timeout"),
    col("Exit With Key", "exit_with_key"),
    col("Exit Empty", "exit_empty"),
    col("Withdrawn", "withdrawn"),
    col("Incomplete", "incomplete"),
];

/// The period's bounds, machine form only.
pub const MACHINE_COLUMNS: [Column; 3] = PERIOD_BOUNDS;

/// How many ways a stint can end: the columns after Offered.
const WAYS: usize = 10;

/// The counts of one queue over one period (or of a total), by [`way`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub offered: i64,
    pub by_way: [i64; WAYS],
}

/// The column (after Offered) a stint is counted in; a stint without an outcome (never
/// stored so) counts as incomplete.
pub fn way(s: &Stint) -> usize {
    match (s.outcome, s.hangup_by) {
        (Some(Outcome::Answered), Some(HangupBy::Agent)) => 0,
        (Some(Outcome::Answered), Some(HangupBy::Caller)) => 1,
        (Some(Outcome::Answered), None) => 2,
        (Some(Outcome::Transfer), _) => 3,
        (Some(Outcome::Abandon), _) => 4,
        (Some(Outcome::Timeout), _) => 5,
        (Some(Outcome::ExitWithKey), _) => 6,
        (Some(Outcome::ExitEmpty), _) => 7,
        (Some(Outcome::Withdraw), _) => 8,
        (Some(Outcome::Incomplete) | None, _) => 9,
    }
}

impl OutcomeCounts {
    pub fn add(&mut self, s: &Stint) {
        self.offered += 1;
        self.by_way[way(s)] += 1;
    }

    pub fn merge(&mut self, o: &OutcomeCounts) {
        self.offered += o.offered;
        for (m, t) in self.by_way.iter_mut().zip(o.by_way) {
            *m += t;
        }
    }
}

/// Streams the outcome report of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let machine = req.header(sink, "Outcomes", zone, &COLUMNS, &MACHINE_COLUMNS)?;
    let filter = req.filter();
    let range = req.instants(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the outcome report")?;
    let rows = OutcomeRows { machine, sink };
    let mut g = Grouper::new(req.by, zone, range, req.totals, rows);
    queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |mut s| {
        if !req.queue_names.is_empty() && !req.queue_names.contains(&s.queue) {
            return Ok(());
        }
        let queue = std::mem::take(&mut s.queue);
        g.sums(s.enter_hour, queue)?.add(&s);
        Ok(())
    })?;
    Ok(ReportSummary { rows: g.finish()? })
}

struct OutcomeRows<'s> {
    machine: bool,
    sink: &'s mut dyn RowSink,
}

impl PeriodRows for OutcomeRows<'_> {
    type Sums = OutcomeCounts;

    fn order(a: &str, b: &str) -> Ordering {
        a.cmp(b)
    }

    fn merge(total: &mut OutcomeCounts, q: &OutcomeCounts) {
        total.merge(q);
    }

    fn write(
        &mut self,
        clock: &RowClock,
        queue: &str,
        q: &OutcomeCounts,
        kind: RowKind,
    ) -> Result<()> {
        let mut cells = vec![
            Cell::Text(&clock.interval),
            Cell::Date(clock.date, &clock.date_text),
            Cell::Text(queue),
            Cell::Int(q.offered),
        ];
        cells.extend(q.by_way.iter().map(|&n| Cell::Int(n)));
        if self.machine {
            cells.extend(clock.bounds());
        }
        self.sink.row(kind, &cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::queue_figures::tests::stint;

    #[test]
    fn every_stint_is_counted_once_and_the_ways_sum_to_offered() {
        let mut c = OutcomeCounts::default();
        let all = [
            Outcome::Answered,
            Outcome::Abandon,
            Outcome::Timeout,
            Outcome::ExitWithKey,
            Outcome::ExitEmpty,
            Outcome::Withdraw,
            Outcome::Transfer,
            Outcome::Incomplete,
        ];
        for o in all {
            c.add(&stint(o, Some(5), None));
        }
        for by in [HangupBy::Agent, HangupBy::Caller, HangupBy::Caller] {
            let mut s = stint(Outcome::Answered, Some(5), Some(60));
            s.hangup_by = Some(by);
            c.add(&s);
        }
        let mut open = stint(Outcome::Answered, Some(5), None);
        open.outcome = None;
        c.add(&open);
        assert_eq!(c.offered, 12);
        assert_eq!(c.by_way, [1, 2, 1, 1, 1, 1, 1, 1, 1, 2]);
        assert_eq!(c.by_way.iter().sum::<i64>(), c.offered);
        let mut total = OutcomeCounts::default();
        total.merge(&c);
        total.merge(&c);
        assert_eq!(total.offered, 24);
        assert_eq!(total.by_way[1], 4);
        assert_eq!(COLUMNS.len(), 4 + WAYS);
    }
}
