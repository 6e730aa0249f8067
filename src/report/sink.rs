//! What a report kind writes into: a [`RowSink`] (one per format), the [`Figures`] behind a
//! detail row for the formats that summarize and chart the report, and what a rendered
//! report held. Report kinds and formats both sit on this file; neither knows the other.

use crate::error::{Error, Result};
use crate::model::queue::Outcome;

use super::agent_figures::AgentSums;
use super::cell::{Cell, Column, ReportMeta, RowKind};
use super::queue_figures::{QueueHour, SlBasis};

/// The figures behind a detail row, for the formats that summarize and chart the report
/// (HTML) beside writing its cells.
#[derive(Debug, Clone, Copy)]
pub enum Figures<'a> {
    Agent {
        /// The row's Interval.
        period: &'a str,
        ext: &'a str,
        sums: &'a AgentSums,
    },
    Queue {
        period: &'a str,
        queue: &'a str,
        figures: &'a QueueHour,
        basis: SlBasis,
    },
    Call {
        outcome: Option<Outcome>,
    },
    /// A row of the unanswered list.
    Unanswered {
        called_back: bool,
    },
}

/// A format of a report: a header, then rows of typed cells in header order.
pub trait RowSink {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()>;
    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()>;
    /// The figures of the detail row about to be written; formats that only write cells
    /// ignore them.
    fn observe(&mut self, _figures: &Figures<'_>) {}
    fn finish(&mut self) -> Result<()>;
}

/// Two sinks fed the same report in one reading of its rows (the mailed HTML report: the
/// attached page and the message's own HTML).
pub struct Both<'a>(pub &'a mut dyn RowSink, pub &'a mut dyn RowSink);

impl RowSink for Both<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.0.header(meta, columns)?;
        self.1.header(meta, columns)
    }

    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        self.0.row(kind, cells)?;
        self.1.row(kind, cells)
    }

    fn observe(&mut self, figures: &Figures<'_>) {
        self.0.observe(figures);
        self.1.observe(figures);
    }

    fn finish(&mut self) -> Result<()> {
        self.0.finish()?;
        self.1.finish()
    }
}

/// What a rendered report held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportSummary {
    pub rows: u64,
}

/// Maps a write failure of the output to an error naming it.
pub(crate) fn write_err(e: std::io::Error) -> Error {
    Error::io("cannot write the report", e)
}
