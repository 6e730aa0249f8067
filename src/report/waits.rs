//! The wait distribution (SPEC §14 `--kind waits`): per queue and period, the answered and
//! the abandoned stints by how long they waited, in the buckets of `--buckets` (each
//! `≤ N s`, then `> last`), one row per bucket with the counts and the cumulative
//! percentages — the service level at every threshold at once. A percentage is over every
//! answered (abandoned) stint of the row's queue and period, so the `≤ 20 s` row's
//! cumulative answered percentage is the queue report's service level with `--sl-secs 20
//! --sl-basis answered`. Streamed like the queue report: one period's queues at a time.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::queue::{Outcome, Stint};
use crate::store::Store;

use super::cell::{Cell, Column, RowKind, col, ratio_hundredths};
use super::grouped::{Grouper, PeriodRows};
use super::period::RowClock;
use super::request::ReportRequest;
use super::sink::{ReportSummary, RowSink};

pub use super::columns::{DEFAULT_BUCKETS, MAX_BUCKETS, parse_buckets};

/// The columns of the wait distribution, in order; JSON adds [`MACHINE_COLUMNS`].
pub const COLUMNS: [Column; 8] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Queue", "queue"),
    col("Wait", "wait"),
    col("Answered", "answered"),
    col("Answered Cum. (%)", "answered_cum_pct"),
    col("Abandoned", "abandoned"),
    col("Abandoned Cum. (%)", "abandoned_cum_pct"),
];

/// The bucket's upper limit (none for `> last`) and the period's bounds, machine form only.
pub const MACHINE_COLUMNS: [Column; 4] = [
    col("Up To", "up_to_secs"),
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Complete", "complete"),
];

/// The index of the bucket of `wait` under `limits` (`limits.len()` for `> last`).
pub fn bucket_of(limits: &[i64], wait: i64) -> usize {
    limits.partition_point(|&l| l < wait)
}

/// The counts of one queue over one period (or of a total).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitCounts {
    /// Per bucket (the last is `> last limit`); empty until a stint with a known wait.
    pub answered: Vec<i64>,
    pub abandoned: Vec<i64>,
    /// Every answered (abandoned) stint, known wait or not: the percentages' denominators.
    pub answered_total: i64,
    pub abandoned_total: i64,
}

impl WaitCounts {
    /// Counts one stint under `limits`.
    pub fn add(&mut self, s: &Stint, limits: &[i64]) {
        let (counts, total) = match s.outcome {
            Some(Outcome::Answered | Outcome::Transfer) => {
                (&mut self.answered, &mut self.answered_total)
            }
            Some(Outcome::Abandon) => (&mut self.abandoned, &mut self.abandoned_total),
            _ => return,
        };
        *total += 1;
        if let Some(w) = s.wait_secs {
            counts.resize(limits.len() + 1, 0);
            counts[bucket_of(limits, w)] += 1;
        }
    }

    pub fn merge(&mut self, o: &WaitCounts) {
        for (mine, theirs) in [
            (&mut self.answered, &o.answered),
            (&mut self.abandoned, &o.abandoned),
        ] {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        self.answered_total += o.answered_total;
        self.abandoned_total += o.abandoned_total;
    }
}

/// Streams the wait distribution of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let machine = req.header(sink, "Waits", zone, &COLUMNS, &MACHINE_COLUMNS)?;
    let filter = req.filter();
    let range = req.instants(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the wait distribution")?;
    let limits = &req.buckets;
    let labels = labels(limits);
    let rows = WaitRows {
        limits,
        labels: &labels,
        machine,
        sink,
    };
    let mut g = Grouper::new(req.by, zone, range, req.totals, rows);
    queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |mut s| {
        if !req.queue_names.is_empty() && !req.queue_names.contains(&s.queue) {
            return Ok(());
        }
        let queue = std::mem::take(&mut s.queue);
        g.sums(s.enter_hour, queue)?.add(&s, limits);
        Ok(())
    })?;
    Ok(ReportSummary { rows: g.finish()? })
}

/// `≤ 10 s`, ..., `> 120 s`.
fn labels(limits: &[i64]) -> Vec<String> {
    let mut out: Vec<String> = limits.iter().map(|l| format!("≤ {l} s")).collect();
    out.push(format!("> {} s", limits.last().copied().unwrap_or(0)));
    out
}

struct WaitRows<'s> {
    limits: &'s [i64],
    labels: &'s [String],
    machine: bool,
    sink: &'s mut dyn RowSink,
}

impl PeriodRows for WaitRows<'_> {
    type Sums = WaitCounts;

    fn order(a: &str, b: &str) -> Ordering {
        a.cmp(b)
    }

    fn merge(total: &mut WaitCounts, q: &WaitCounts) {
        total.merge(q);
    }

    fn write(
        &mut self,
        clock: &RowClock,
        queue: &str,
        q: &WaitCounts,
        kind: RowKind,
    ) -> Result<()> {
        let count = |v: &[i64], i: usize| v.get(i).copied().unwrap_or(0);
        let (mut cum_answered, mut cum_abandoned) = (0, 0);
        for (i, label) in self.labels.iter().enumerate() {
            let (answered, abandoned) = (count(&q.answered, i), count(&q.abandoned, i));
            cum_answered += answered;
            cum_abandoned += abandoned;
            let cells = [
                Cell::Text(&clock.interval),
                Cell::Date(clock.date, &clock.date_text),
                Cell::Text(queue),
                Cell::Text(label),
                Cell::Int(answered),
                Cell::Percent(ratio_hundredths(cum_answered, q.answered_total)),
                Cell::Int(abandoned),
                Cell::Percent(ratio_hundredths(cum_abandoned, q.abandoned_total)),
                self.limits.get(i).map_or(Cell::Empty, |&l| Cell::Int(l)),
                Cell::Clock(&clock.start),
                Cell::Clock(&clock.end),
                Cell::Flag(!clock.cut),
            ];
            let n = if self.machine {
                cells.len()
            } else {
                COLUMNS.len()
            };
            self.sink.row(kind, &cells[..n])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_parse_increasing_seconds_only() {
        assert_eq!(
            parse_buckets(" 10,20, 30", "--buckets").unwrap(),
            [10, 20, 30]
        );
        assert_eq!(parse_buckets("0", "--buckets").unwrap(), [0]);
        for bad in ["", "10,,20", "20,10", "10,10", "x", "-5", "1.5", "86401"] {
            let e = parse_buckets(bad, "--buckets").unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--buckets '{bad}' is not a list of wait limits")),
                "{e}"
            );
        }
        let many: Vec<String> = (1..=MAX_BUCKETS + 1).map(|i| i.to_string()).collect();
        assert!(parse_buckets(&many.join(","), "buckets").is_err());
    }

    #[test]
    fn a_wait_goes_in_the_first_bucket_it_does_not_exceed() {
        let l = [10, 20];
        assert_eq!(bucket_of(&l, 0), 0);
        assert_eq!(bucket_of(&l, 10), 0);
        assert_eq!(bucket_of(&l, 11), 1);
        assert_eq!(bucket_of(&l, 20), 1);
        assert_eq!(bucket_of(&l, 21), 2);
        assert_eq!(labels(&l), ["≤ 10 s", "≤ 20 s", "> 20 s"]);
    }

    #[test]
    fn counts_add_and_merge_with_every_stint_in_the_denominator() {
        let stint = |outcome, wait| Stint {
            callid: String::new(),
            queue: String::new(),
            enter_time: 0,
            enter_hour: 0,
            enter_hour_local: String::new(),
            caller_number: String::new(),
            caller_name: String::new(),
            entry_position: None,
            outcome: Some(outcome),
            agent: String::new(),
            wait_secs: wait,
            talk_secs: None,
            ring_attempts: 0,
            end_time: None,
            hangup_by: None,
            did: String::new(),
            rings: Vec::new(),
            pending: false,
        };
        let l = [10, 20];
        let mut a = WaitCounts::default();
        a.add(&stint(Outcome::Answered, Some(5)), &l);
        a.add(&stint(Outcome::Transfer, Some(25)), &l);
        a.add(&stint(Outcome::Answered, None), &l);
        a.add(&stint(Outcome::Timeout, Some(300)), &l);
        let mut b = WaitCounts::default();
        b.add(&stint(Outcome::Abandon, Some(15)), &l);
        b.merge(&a);
        assert_eq!(b.answered, [1, 0, 1]);
        assert_eq!(b.abandoned, [0, 1, 0]);
        assert_eq!((b.answered_total, b.abandoned_total), (3, 1));
    }
}
