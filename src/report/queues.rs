//! The queue report (SPEC §6, `--kind queues`): one row per queue and local hour of the
//! stints' entry, from `queue_calls`, with the exact headers and order of the spec. Counts
//! are of stints; waits are queue_log's own figures; means are floored to a second and
//! percentages use the half-up two-decimal rule of the agent report. Rows arrive from the
//! store ordered by hour and queue, so one (hour, queue) group is held at a time.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

use super::cell::{Cell, Column, RowKind, col};
use super::grouped::{Grouper, PeriodRows, SortValue};
use super::period::RowClock;
use super::queue_figures::{QueueHour, QueueOptions};
use super::request::ReportRequest;
use super::sink::{Figures, ReportSummary, RowSink};

/// The columns of the queue report, in order; JSON adds [`MACHINE_COLUMNS`].
pub use super::columns::QUEUE_COLUMNS as COLUMNS;

/// The period's bounds, whether the range cut it, and the service level's threshold and
/// basis, in the machine form only.
pub const MACHINE_COLUMNS: [Column; 5] = [
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Complete", "complete"),
    col("Service Level Threshold", "service_level_secs"),
    col("Service Level Basis", "service_level_basis"),
];

/// Streams the queue report of `req` from `store` into `sink`: stints arrive ordered by
/// hour and queue; one period's queues are summed at a time.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let machine = req.header(sink, "Queues", zone, &COLUMNS, &MACHINE_COLUMNS)?;
    let filter = req.filter();
    let range = req.instants(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the queue report")?;
    let opts = req.queues;
    let rows = QueueRows {
        opts,
        machine,
        sink,
    };
    let mut g = Grouper::new(req.by, zone, range, req.totals, rows).ranked(req.ranking);
    queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |mut s| {
        if !req.queue_names.is_empty() && !req.queue_names.contains(&s.queue) {
            return Ok(());
        }
        let queue = std::mem::take(&mut s.queue);
        g.sums(s.enter_hour, queue)?.add(&s, &opts);
        Ok(())
    })?;
    Ok(ReportSummary { rows: g.finish()? })
}

/// Where the queue report's rows go: queues by name, in the human or the machine columns.
struct QueueRows<'s> {
    opts: QueueOptions,
    machine: bool,
    sink: &'s mut dyn RowSink,
}

impl PeriodRows for QueueRows<'_> {
    type Sums = QueueHour;

    fn order(a: &str, b: &str) -> Ordering {
        a.cmp(b)
    }

    fn merge(total: &mut QueueHour, q: &QueueHour) {
        total.merge(q);
    }

    fn sort_value(&self, clock: &RowClock, queue: &str, q: &QueueHour, column: usize) -> SortValue {
        self.cells(clock, queue, q)
            .get(column)
            .map_or(SortValue::Missing, SortValue::of)
    }

    fn write(&mut self, clock: &RowClock, queue: &str, q: &QueueHour, kind: RowKind) -> Result<()> {
        if kind == RowKind::Detail {
            self.sink.observe(&Figures::Queue {
                period: &clock.interval,
                queue,
                figures: q,
                basis: self.opts.sl_basis,
            });
        }
        let cells = self.cells(clock, queue, q);
        let n = if self.machine {
            cells.len()
        } else {
            COLUMNS.len()
        };
        self.sink.row(kind, &cells[..n])
    }
}

impl QueueRows<'_> {
    /// Every cell of a row: [`COLUMNS`], then [`MACHINE_COLUMNS`].
    fn cells<'a>(&self, clock: &'a RowClock, queue: &'a str, q: &'a QueueHour) -> [Cell<'a>; 23] {
        [
            Cell::Text(&clock.interval),
            Cell::Date(clock.date, &clock.date_text),
            Cell::Text(queue),
            Cell::Int(q.offered),
            Cell::Int(q.answered),
            Cell::Int(q.abandoned),
            Cell::Int(q.short_abandons),
            Cell::Int(q.timeouts),
            Cell::Int(q.exit_key),
            Cell::Int(q.exit_empty),
            Cell::Int(q.transferred),
            Cell::Int(q.incomplete),
            Cell::Percent(q.service_level(self.opts.sl_basis)),
            Cell::Mean(q.asa()),
            Cell::Mean(q.avg_abandon_wait()),
            Cell::Duration(q.max_wait),
            Cell::Mean(q.avg_talk()),
            Cell::Percent(q.abandon_rate()),
            Cell::Clock(&clock.start),
            Cell::Clock(&clock.end),
            Cell::Flag(!clock.cut),
            Cell::Int(self.opts.sl_secs),
            Cell::Text(self.opts.sl_basis.name()),
        ]
    }
}
