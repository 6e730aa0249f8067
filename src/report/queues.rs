//! The queue report (SPEC §6, `--kind queues`): one row per queue and local hour of the
//! stints' entry, from `queue_calls`, with the exact headers and order of the spec. Counts
//! are of stints; waits are queue_log's own figures; means are floored to a second and
//! percentages use the half-up two-decimal rule of the agent report. Rows arrive from the
//! store ordered by hour and queue, so one (hour, queue) group is held at a time.

use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::queue::{Outcome, Stint};
use crate::store::Store;

use std::collections::BTreeMap;

use super::agents::RowClock;
#[cfg(test)]
use super::agents::push_rate;
use super::cell::{Cell, Column, Figures, RowKind, col, ratio_hundredths};
use super::period::{By, PeriodTracker};
use super::{ReportFormat, ReportRequest, ReportSummary, RowSink};

/// The columns of the queue report, in order; JSON adds [`MACHINE_COLUMNS`].
pub const COLUMNS: [Column; 18] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Queue", "queue"),
    col("Offered", "offered"),
    col("Answered", "answered"),
    col("Abandoned", "abandoned"),
    col("Short Abandons", "short_abandons"),
    col("Timeouts", "timeouts"),
    col("Exit Key", "exit_key"),
    col("Exit Empty", "exit_empty"),
    col("Transferred", "transferred"),
    col("Incomplete", "incomplete"),
    col("Service Level (%)", "service_level_pct"),
    col("ASA", "asa_secs"),
    col("Avg Abandon Wait", "avg_abandon_wait_secs"),
    col("Max Wait", "max_wait_secs"),
    col("Avg Talk", "avg_talk_secs"),
    col("Abandon Rate (%)", "abandon_rate_pct"),
];

/// The period's bounds and whether the range cut it, in the machine form only.
pub const MACHINE_COLUMNS: [Column; 3] = [
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Complete", "complete"),
];

/// The denominator of the service level (`--sl-basis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlBasis {
    /// Offered minus short abandons.
    #[default]
    OfferedMinusShort,
    Offered,
    Answered,
    AnsweredPlusAbandoned,
}

impl SlBasis {
    pub fn parse(s: &str, arg: &str) -> Result<SlBasis> {
        match s.trim() {
            "offered-minus-short" => Ok(SlBasis::OfferedMinusShort),
            "offered" => Ok(SlBasis::Offered),
            "answered" => Ok(SlBasis::Answered),
            "answered-plus-abandoned" => Ok(SlBasis::AnsweredPlusAbandoned),
            _ => Err(Error::usage(format!(
                "{arg} '{s}' is not a service level basis; expected offered-minus-short, offered, answered or answered-plus-abandoned"
            ))),
        }
    }
}

/// Settings of the queue report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Abandons with a wait up to this many seconds are short (`--short-abandon-secs`).
    pub short_abandon_secs: i64,
    /// Answered within this many seconds counts for the service level (`--sl-secs`).
    pub sl_secs: i64,
    pub sl_basis: SlBasis,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            short_abandon_secs: 5,
            sl_secs: 20,
            sl_basis: SlBasis::OfferedMinusShort,
        }
    }
}

/// Sum and count of known values, for a floored mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mean {
    sum: i64,
    n: i64,
}

impl Mean {
    fn add(&mut self, v: Option<i64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }

    fn merge(&mut self, o: &Mean) {
        self.sum += o.sum;
        self.n += o.n;
    }

    fn floor(&self) -> i64 {
        if self.n > 0 { self.sum / self.n } else { 0 }
    }
}

/// The figures of one queue in one hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueHour {
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandons: i64,
    pub timeouts: i64,
    pub exit_key: i64,
    pub exit_empty: i64,
    pub transferred: i64,
    pub incomplete: i64,
    /// Answered with a known wait within the service level.
    pub within_sl: i64,
    asa: Mean,
    abandon_wait: Mean,
    talk: Mean,
    pub max_wait: i64,
}

impl QueueHour {
    /// Counts one stint.
    pub fn add(&mut self, s: &Stint, opts: &QueueOptions) {
        self.offered += 1;
        if let Some(w) = s.wait_secs {
            self.max_wait = self.max_wait.max(w);
        }
        match s.outcome {
            Some(Outcome::Answered | Outcome::Transfer) => {
                self.answered += 1;
                if s.outcome == Some(Outcome::Transfer) {
                    self.transferred += 1;
                }
                if s.wait_secs.is_some_and(|w| w <= opts.sl_secs) {
                    self.within_sl += 1;
                }
                self.asa.add(s.wait_secs);
                self.talk.add(s.talk_secs);
            }
            Some(Outcome::Abandon) => {
                self.abandoned += 1;
                if s.wait_secs.is_some_and(|w| w <= opts.short_abandon_secs) {
                    self.short_abandons += 1;
                }
                self.abandon_wait.add(s.wait_secs);
            }
            Some(Outcome::Timeout) => self.timeouts += 1,
            Some(Outcome::ExitWithKey) => self.exit_key += 1,
            Some(Outcome::ExitEmpty) => self.exit_empty += 1,
            Some(Outcome::Incomplete) => self.incomplete += 1,
            Some(Outcome::Withdraw) | None => {}
        }
    }

    /// Adds another hour's (or queue's) figures: counts and numerators add up, so every
    /// mean and rate of the sum is recomputed from them, never averaged.
    pub fn merge(&mut self, o: &QueueHour) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.short_abandons += o.short_abandons;
        self.timeouts += o.timeouts;
        self.exit_key += o.exit_key;
        self.exit_empty += o.exit_empty;
        self.transferred += o.transferred;
        self.incomplete += o.incomplete;
        self.within_sl += o.within_sl;
        self.asa.merge(&o.asa);
        self.abandon_wait.merge(&o.abandon_wait);
        self.talk.merge(&o.talk);
        self.max_wait = self.max_wait.max(o.max_wait);
    }

    /// Service level in hundredths of a percent.
    pub fn service_level(&self, basis: SlBasis) -> i64 {
        ratio_hundredths(self.within_sl, self.sl_denominator(basis))
    }

    /// Abandon rate (short abandons left out of both sides) in hundredths of a percent.
    pub fn abandon_rate(&self) -> i64 {
        ratio_hundredths(
            self.abandoned - self.short_abandons,
            self.offered - self.short_abandons,
        )
    }

    /// The service level's denominator under `basis`.
    pub fn sl_denominator(&self, basis: SlBasis) -> i64 {
        match basis {
            SlBasis::OfferedMinusShort => self.offered - self.short_abandons,
            SlBasis::Offered => self.offered,
            SlBasis::Answered => self.answered,
            SlBasis::AnsweredPlusAbandoned => self.answered + self.abandoned,
        }
    }

    pub fn asa(&self) -> i64 {
        self.asa.floor()
    }

    pub fn avg_abandon_wait(&self) -> i64 {
        self.abandon_wait.floor()
    }

    pub fn avg_talk(&self) -> i64 {
        self.talk.floor()
    }
}

/// Streams the queue report of `req` from `store` into `sink`: stints arrive ordered by
/// hour and queue; one period's queues are summed at a time.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let machine = req.format == ReportFormat::Json;
    let mut columns: Vec<Column> = COLUMNS.to_vec();
    if machine {
        columns.extend(MACHINE_COLUMNS);
    }
    sink.header(&req.meta("Queues", zone), &columns)?;
    let filter = req.filter();
    let range = req.instants(zone);
    let backend = store.backend();
    let queue_store = store.queue_store().ok_or_else(|| {
        Error::config(format!(
            "the {backend} backend has no queue_log tables; the queue report needs SQLite or MySQL"
        ))
    })?;
    let mut w = QueueRows {
        by: req.by,
        zone,
        range,
        opts: req.queues,
        machine,
        totals: req.totals,
        sink,
        period: PeriodTracker::default(),
        queues: BTreeMap::new(),
        grand: QueueHour::default(),
        rows: 0,
    };
    queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |s| {
        if !req.queue_names.is_empty() && !req.queue_names.contains(&s.queue) {
            return Ok(());
        }
        w.add(s)
    })?;
    w.flush()?;
    if req.totals && w.grand.offered > 0 {
        let clock = RowClock::range(zone, range);
        let grand = std::mem::take(&mut w.grand);
        w.write(&clock, "TOTAL", &grand, RowKind::Total)?;
    }
    Ok(ReportSummary { rows: w.rows })
}

/// The period in progress and its queues' figures.
struct QueueRows<'s> {
    by: By,
    zone: Zone,
    range: (i64, i64),
    opts: QueueOptions,
    machine: bool,
    totals: bool,
    sink: &'s mut dyn RowSink,
    period: PeriodTracker,
    queues: BTreeMap<String, QueueHour>,
    grand: QueueHour,
    rows: u64,
}

impl QueueRows<'_> {
    fn add(&mut self, s: Stint) -> Result<()> {
        let h = s.enter_hour;
        if let Some(key) = self.period.next_period(self.by, self.zone, h) {
            self.flush()?;
            self.period.enter(key, h);
        }
        match self.queues.get_mut(&s.queue) {
            Some(q) => q.add(&s, &self.opts),
            None => {
                let mut q = QueueHour::default();
                q.add(&s, &self.opts);
                self.queues.insert(s.queue, q);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(key) = self.period.take() else {
            return Ok(());
        };
        let clock = RowClock::of(self.by, self.zone, key, self.range);
        let queues = std::mem::take(&mut self.queues);
        let mut total = QueueHour::default();
        for (queue, q) in &queues {
            self.write(&clock, queue, q, RowKind::Detail)?;
            total.merge(q);
        }
        self.rows += queues.len() as u64;
        if self.totals {
            self.write(&clock, "TOTAL", &total, RowKind::Total)?;
        }
        self.grand.merge(&total);
        Ok(())
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
        let cells = [
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
            Cell::Duration(q.asa()),
            Cell::Duration(q.avg_abandon_wait()),
            Cell::Duration(q.max_wait),
            Cell::Duration(q.avg_talk()),
            Cell::Percent(q.abandon_rate()),
            Cell::Clock(&clock.start),
            Cell::Clock(&clock.end),
            Cell::Flag(!clock.cut),
        ];
        let n = if self.machine {
            cells.len()
        } else {
            COLUMNS.len()
        };
        self.sink.row(kind, &cells[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stint(outcome: Outcome, wait: Option<i64>, talk: Option<i64>) -> Stint {
        Stint {
            callid: "c".into(),
            queue: "q".into(),
            enter_time: 0,
            enter_hour: 0,
            enter_hour_local: String::new(),
            caller_number: String::new(),
            caller_name: String::new(),
            entry_position: None,
            outcome: Some(outcome),
            agent: String::new(),
            wait_secs: wait,
            talk_secs: talk,
            ring_attempts: 0,
            end_time: None,
            pending: false,
        }
    }

    fn hour(stints: &[Stint], opts: &QueueOptions) -> QueueHour {
        let mut q = QueueHour::default();
        for s in stints {
            q.add(s, opts);
        }
        q
    }

    #[test]
    fn counts_and_means() {
        let opts = QueueOptions::default();
        let q = hour(
            &[
                stint(Outcome::Answered, Some(10), Some(100)),
                stint(Outcome::Answered, Some(25), None),
                stint(Outcome::Transfer, Some(20), Some(51)),
                stint(Outcome::Abandon, Some(3), None),
                stint(Outcome::Abandon, Some(40), None),
                stint(Outcome::Timeout, Some(300), None),
                stint(Outcome::ExitWithKey, Some(7), None),
                stint(Outcome::ExitEmpty, Some(1), None),
                stint(Outcome::Incomplete, None, None),
                stint(Outcome::Withdraw, Some(2), None),
            ],
            &opts,
        );
        assert_eq!(
            (
                q.offered,
                q.answered,
                q.transferred,
                q.abandoned,
                q.short_abandons
            ),
            (10, 3, 1, 2, 1)
        );
        assert_eq!(
            (q.timeouts, q.exit_key, q.exit_empty, q.incomplete),
            (1, 1, 1, 1)
        );
        assert_eq!(q.within_sl, 2, "10 s and 20 s are within 20 s; 25 s is not");
        assert_eq!(q.asa(), 18, "(10 + 25 + 20) / 3 floored");
        assert_eq!(
            q.avg_talk(),
            75,
            "(100 + 51) / 2 floored; unknown talk left out"
        );
        assert_eq!(q.avg_abandon_wait(), 21);
        assert_eq!(q.max_wait, 300);
        assert_eq!(q.sl_denominator(SlBasis::OfferedMinusShort), 9);
        assert_eq!(q.sl_denominator(SlBasis::Offered), 10);
        assert_eq!(q.sl_denominator(SlBasis::Answered), 3);
        assert_eq!(q.sl_denominator(SlBasis::AnsweredPlusAbandoned), 5);
    }

    #[test]
    fn thresholds_are_inclusive_and_configurable() {
        let opts = QueueOptions {
            short_abandon_secs: 10,
            sl_secs: 5,
            sl_basis: SlBasis::Answered,
        };
        let q = hour(
            &[
                stint(Outcome::Abandon, Some(10), None),
                stint(Outcome::Abandon, Some(11), None),
                stint(Outcome::Abandon, None, None),
                stint(Outcome::Answered, Some(5), Some(1)),
                stint(Outcome::Answered, Some(6), Some(1)),
            ],
            &opts,
        );
        assert_eq!((q.short_abandons, q.within_sl), (1, 1));
    }

    #[test]
    fn basis_names() {
        assert_eq!(
            SlBasis::parse("answered-plus-abandoned", "--sl-basis").unwrap(),
            SlBasis::AnsweredPlusAbandoned
        );
        let e = SlBasis::parse("all", "--sl-basis").unwrap_err().to_string();
        assert!(e.starts_with("--sl-basis 'all'"), "{e}");
    }

    #[test]
    fn empty_hour_figures_are_zero() {
        let q = QueueHour::default();
        assert_eq!((q.asa(), q.avg_talk(), q.avg_abandon_wait()), (0, 0, 0));
        let mut t = String::new();
        push_rate(&mut t, 0, q.sl_denominator(SlBasis::Offered));
        assert_eq!(t, "0.00%");
    }
}
