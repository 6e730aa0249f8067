//! The headline figures of a report, the totals a supervisor reads first (the plain-text
//! part of a mailed report): summed from the same detail rows the report writes, through a
//! sink that passes every call on to the format's own sink. Pure: no I/O.

use crate::error::Result;
use crate::model::queue::Outcome;

use super::agent_figures::AgentSums;
use super::cell::{Column, ReportMeta, RowKind, push_duration, push_hundredths};
use super::queue_figures::{QueueHour, SlBasis};
use super::sink::{Figures, RowSink};

/// The totals of a report's detail rows, by the kind of rows it held.
#[derive(Debug, Clone, Default)]
pub struct Headline {
    agents: Option<AgentSums>,
    queues: Option<(QueueHour, SlBasis)>,
    calls: Option<CallCounts>,
    /// The service level's threshold and basis as the report's header states them.
    service_level: Option<String>,
}

/// A call list's stints by how they ended.
#[derive(Debug, Clone, Default)]
struct CallCounts {
    stints: i64,
    answered: i64,
    abandoned: i64,
}

impl Headline {
    /// Adds one detail row's figures.
    pub fn add(&mut self, f: &Figures<'_>) {
        match *f {
            Figures::Agent { sums, .. } => self.agents.get_or_insert_default().add_sums(sums),
            Figures::Queue { figures, basis, .. } => {
                let (total, b) = self
                    .queues
                    .get_or_insert_with(|| (QueueHour::default(), basis));
                total.merge(figures);
                *b = basis;
            }
            Figures::Call { outcome } => {
                let c = self.calls.get_or_insert_default();
                c.stints += 1;
                match outcome {
                    Some(Outcome::Answered | Outcome::Transfer) => c.answered += 1,
                    Some(Outcome::Abandon) => c.abandoned += 1,
                    _ => {}
                }
            }
        }
    }

    /// One line per figure (`Answered calls: 12 of 15`); nothing for a report without rows.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(a) = &self.agents {
            let f = &a.figures;
            lines.push(format!(
                "Calls answered by agents: {} of {}",
                f.answered_calls, f.total_calls
            ));
            lines.push(format!("Answer rate: {}", percent(a.answer_rate())));
            lines.push(format!("Talk time: {}", duration(Some(f.buckets.talk))));
            lines.push(format!(
                "Average handling time (AHT): {}",
                duration(a.aht())
            ));
        }
        if let Some((q, basis)) = &self.queues {
            lines.push(format!("Calls offered to queues: {}", q.offered));
            lines.push(format!("Answered: {}", q.answered));
            lines.push(format!("Abandoned: {}", q.abandoned));
            lines.push(format!(
                "Service level ({}): {}",
                self.service_level.as_deref().unwrap_or(basis.name()),
                percent(q.service_level(*basis))
            ));
            lines.push(format!(
                "Average speed of answer (ASA): {}",
                duration(q.asa())
            ));
        }
        if let Some(c) = &self.calls {
            lines.push(format!("Calls listed: {}", c.stints));
            lines.push(format!("Answered: {}", c.answered));
            lines.push(format!("Abandoned: {}", c.abandoned));
        }
        lines
    }
}

/// `87.50%`, or `n/a` for a ratio without a denominator (no calls is not 0 %).
fn percent(hundredths: Option<i64>) -> String {
    let Some(h) = hundredths else {
        return "n/a".to_string();
    };
    let mut s = String::new();
    push_hundredths(&mut s, h, '.');
    s.push('%');
    s
}

/// `HH:MM:SS`, or `n/a` for a mean of nothing.
fn duration(secs: Option<i64>) -> String {
    let Some(secs) = secs else {
        return "n/a".to_string();
    };
    let mut s = String::new();
    push_duration(&mut s, secs);
    s
}

/// A sink that sums the headline figures of every detail row and passes everything on to
/// `inner`, so the figures and the rendered report come from one reading of the rows.
pub struct HeadlineSink<'a> {
    inner: &'a mut dyn RowSink,
    pub headline: Headline,
}

impl<'a> HeadlineSink<'a> {
    pub fn new(inner: &'a mut dyn RowSink) -> HeadlineSink<'a> {
        HeadlineSink {
            inner,
            headline: Headline::default(),
        }
    }
}

impl RowSink for HeadlineSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.headline.service_level.clone_from(&meta.service_level);
        self.inner.header(meta, columns)
    }

    fn row(&mut self, kind: RowKind, cells: &[super::cell::Cell<'_>]) -> Result<()> {
        self.inner.row(kind, cells)
    }

    fn observe(&mut self, figures: &Figures<'_>) {
        self.headline.add(figures);
        self.inner.observe(figures);
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}

/// [`super::write_report`], also returning the headline figures of the rows it wrote.
pub fn write_report_with_headline(
    store: &mut dyn crate::store::Store,
    zone: crate::hours::Zone,
    req: &super::request::ReportRequest,
    out: &mut dyn std::io::Write,
) -> Result<(super::sink::ReportSummary, Headline)> {
    let mut sink = super::format_sink(req, out);
    let mut tee = HeadlineSink::new(sink.as_mut());
    let summary = super::render(store, zone, req, &mut tee)?;
    tee.finish()?;
    Ok((summary, tee.headline))
}
