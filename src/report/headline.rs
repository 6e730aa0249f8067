//! The headline figures of a report, the totals a supervisor reads first (the plain-text
//! part of a mailed report): summed from the same detail rows the report writes, through a
//! sink that passes every call on to the format's own sink. Pure: no I/O.

use crate::error::Result;
use crate::model::queue::Outcome;

use super::agent_figures::AgentSums;
use super::cell::{Cell, Column, ReportMeta, RowKind, push_duration, push_hundredths};
use super::queue_figures::{QueueHour, SlBasis};
use super::sink::{Figures, RowSink};

/// The totals of a report's detail rows, by the kind of rows it held.
#[derive(Debug, Clone, Default)]
pub struct Headline {
    agents: Option<AgentSums>,
    queues: Option<(QueueHour, SlBasis)>,
    calls: Option<CallCounts>,
    /// The unanswered list: rows, and those called back.
    unanswered: Option<[i64; 2]>,
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
            Figures::Unanswered { called_back } => {
                let u = self.unanswered.get_or_insert_default();
                u[0] += 1;
                u[1] += i64::from(called_back);
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
        if let Some([n, back]) = self.unanswered {
            lines.push(format!("Calls nobody answered: {n}"));
            lines.push(format!("Called back: {back}"));
            lines.push(format!("Not called back: {}", n - back));
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

    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::queue::Stint;
    use crate::report::cell::col;
    use crate::report::queue_figures::QueueOptions;

    fn agent(total: i64, answered: i64, talk: i64, wrap_up: i64) -> AgentSums {
        let mut a = AgentSums::default();
        a.figures.total_calls = total;
        a.figures.answered_calls = answered;
        a.figures.buckets.talk = talk;
        a.figures.buckets.wrap_up = wrap_up;
        a
    }

    fn stint(outcome: Outcome, wait: i64) -> Stint {
        crate::report::queue_figures::tests::stint(outcome, Some(wait), Some(60))
    }

    #[test]
    fn agent_rows_add_up_and_their_kpis_are_recomputed_from_the_sums() {
        let mut h = Headline::default();
        for (ext, sums) in [("201", agent(3, 2, 600, 60)), ("202", agent(1, 1, 300, 0))] {
            h.add(&Figures::Agent {
                period: "p",
                ext,
                sums: &sums,
            });
        }
        assert_eq!(
            h.lines(),
            [
                "Calls answered by agents: 3 of 4",
                "Answer rate: 75.00%",
                "Talk time: 00:15:00",
                // (600 + 60 + 300) / 3, not the mean of the agents' AHTs.
                "Average handling time (AHT): 00:05:20",
            ]
        );
    }

    #[test]
    fn a_ratio_without_a_denominator_is_not_zero() {
        let mut h = Headline::default();
        h.add(&Figures::Agent {
            period: "p",
            ext: "201",
            sums: &agent(0, 0, 0, 0),
        });
        let lines = h.lines();
        assert!(lines.contains(&"Answer rate: n/a".to_string()), "{lines:?}");
        assert!(
            lines.contains(&"Average handling time (AHT): n/a".to_string()),
            "{lines:?}"
        );
    }

    #[test]
    fn queue_rows_merge_and_the_service_level_names_the_headers_threshold() {
        let opts = QueueOptions::default();
        let mut first = QueueHour::default();
        first.add(&stint(Outcome::Answered, 10), &opts);
        first.add(&stint(Outcome::Abandon, 30), &opts);
        let mut second = QueueHour::default();
        second.add(&stint(Outcome::Answered, 40), &opts);
        second.add(&stint(Outcome::Transfer, 0), &opts);
        let meta = ReportMeta {
            title: "Queues",
            range: String::new(),
            zone: String::new(),
            by: "hour",
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap(),
            service_level: Some("20 s, offered-minus-short".to_string()),
        };
        let mut inner = Recorder::default();
        let mut sink = HeadlineSink::new(&mut inner);
        sink.header(&meta, &[col("Queue", "queue")]).unwrap();
        for (queue, figures) in [("sales", &first), ("support", &second)] {
            sink.observe(&Figures::Queue {
                period: "p",
                queue,
                figures,
                basis: SlBasis::OfferedMinusShort,
            });
        }
        sink.finish().unwrap();
        assert_eq!(
            sink.headline.lines(),
            [
                "Calls offered to queues: 4",
                "Answered: 3",
                "Abandoned: 1",
                // 2 of 4 answered within 20 s (the abandon after 30 s is not short).
                "Service level (20 s, offered-minus-short): 50.00%",
                // (10 + 40 + 0) / 3, floored.
                "Average speed of answer (ASA): 00:00:16",
            ]
        );
        // Everything reached the format's own sink too.
        assert_eq!(
            (inner.headers, inner.observed, inner.finished),
            (1, 2, true)
        );
    }

    #[test]
    fn call_lists_count_their_outcomes_and_no_rows_is_no_lines() {
        assert!(Headline::default().lines().is_empty());
        let mut h = Headline::default();
        for outcome in [
            Some(Outcome::Answered),
            Some(Outcome::Transfer),
            Some(Outcome::Abandon),
            Some(Outcome::Timeout),
        ] {
            h.add(&Figures::Call { outcome });
        }
        assert_eq!(
            h.lines(),
            ["Calls listed: 4", "Answered: 2", "Abandoned: 1"]
        );
    }

    #[test]
    fn unanswered_lists_count_their_callbacks() {
        let mut h = Headline::default();
        for called_back in [true, false, false] {
            h.add(&Figures::Unanswered { called_back });
        }
        assert_eq!(
            h.lines(),
            [
                "Calls nobody answered: 3",
                "Called back: 1",
                "Not called back: 2"
            ]
        );
    }

    /// A format's sink that counts what reached it.
    #[derive(Default)]
    struct Recorder {
        headers: usize,
        observed: usize,
        finished: bool,
    }

    impl RowSink for Recorder {
        fn header(&mut self, _: &ReportMeta, _: &[Column]) -> Result<()> {
            self.headers += 1;
            Ok(())
        }
        fn row(&mut self, _: RowKind, _: &[Cell<'_>]) -> Result<()> {
            Ok(())
        }
        fn observe(&mut self, _: &Figures<'_>) {
            self.observed += 1;
        }
        fn finish(&mut self) -> Result<()> {
            self.finished = true;
            Ok(())
        }
    }
}
