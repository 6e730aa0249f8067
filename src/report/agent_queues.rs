//! Which agent took calls in which queue (SPEC §14 `--kind agent-queues`): per agent, queue
//! and period of the stints' entry, how often the queue rang the agent (every ring:
//! answered, rung out or cancelled), the calls it answered, the rings it let ring out
//! (`RINGNOANSWER`), its talk and average talk. From `queue_calls` (its `agent_rings` and
//! the answering agent), so it survives prune as the queue report does; the answered calls
//! and talk over all agents are the queue report's answered and the call list's talk.
//! Streamed like the queue report: one period's agent-queue pairs at a time.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::queue::Stint;
use crate::store::Store;

use super::cell::{Cell, Column, RowKind, col};
use super::grouped::{Grouper, PeriodRows};
use super::period::{PERIOD_BOUNDS, RowClock};
use super::request::ReportRequest;
use super::sink::{ReportSummary, RowSink};

/// The columns of the agent-queue report, in order; JSON adds [`MACHINE_COLUMNS`].
pub const COLUMNS: [Column; 9] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Agent", "agent"),
    col("Queue", "queue"),
    col("Rings", "rings"),
    col("Answered", "answered"),
    col("Ring No Answer", "ring_no_answer"),
    col("Talk", "talk_secs"),
    col("Avg Talk", "avg_talk_secs"),
];

/// The period's bounds, machine form only.
pub const MACHINE_COLUMNS: [Column; 3] = PERIOD_BOUNDS;

/// The figures of one agent in one queue over one period (or of a total).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentQueueSums {
    pub rings: i64,
    pub answered: i64,
    pub no_answer: i64,
    /// Talk seconds of the answered calls whose talk is known, and how many those are.
    pub talk: i64,
    pub talk_known: i64,
}

impl AgentQueueSums {
    /// Counts a call the agent answered, with its talk when known.
    pub fn answer(&mut self, talk: Option<i64>) {
        self.answered += 1;
        if let Some(t) = talk {
            self.talk += t;
            self.talk_known += 1;
        }
    }

    pub fn merge(&mut self, o: &AgentQueueSums) {
        self.rings += o.rings;
        self.answered += o.answered;
        self.no_answer += o.no_answer;
        self.talk += o.talk;
        self.talk_known += o.talk_known;
    }

    /// The floored mean talk of the answered calls with a known talk.
    pub fn avg_talk(&self) -> Option<i64> {
        (self.talk_known > 0).then(|| self.talk / self.talk_known)
    }
}

/// The grouper's member of an agent and a queue: both in one text that splits back
/// unambiguously (the agent's length first), whatever characters they hold.
pub fn member(agent: &str, queue: &str) -> String {
    format!("{}:{agent}{queue}", agent.len())
}

/// The agent and queue of a [`member`] text; a total's member is the agent.
pub fn split_member(m: &str) -> (&str, &str) {
    m.split_once(':')
        .and_then(|(n, rest)| {
            let n: usize = n.parse().ok()?;
            rest.is_char_boundary(n).then(|| rest.split_at(n))
        })
        .unwrap_or((m, ""))
}

/// What one stint adds to each agent it counts for (of the `wanted` agents): its rings by
/// agent and the call to the agent that answered it, handed to `each` with the agent.
pub fn count_stint(
    s: &Stint,
    wanted: &dyn Fn(&str) -> bool,
    each: &mut dyn FnMut(&str, &AgentQueueSums) -> Result<()>,
) -> Result<()> {
    for r in s.rings.iter().filter(|r| wanted(&r.agent)) {
        let rung = AgentQueueSums {
            rings: r.rings,
            no_answer: r.no_answer,
            ..AgentQueueSums::default()
        };
        each(&r.agent, &rung)?;
    }
    if s.connected() && wanted(&s.agent) {
        let mut answered = AgentQueueSums::default();
        answered.answer(s.talk_secs);
        each(&s.agent, &answered)?;
    }
    Ok(())
}

/// Streams the agent-queue report of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let machine = req.header(sink, "Agent Queues", zone, &COLUMNS, &MACHINE_COLUMNS)?;
    let filter = req.filter();
    let range = req.instants(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the agent-queue report")?;
    let rows = AgentQueueRows { machine, sink };
    let mut g = Grouper::new(req.by, zone, range, req.totals, rows);
    let wanted = |agent: &str| req.exts.is_empty() || req.exts.iter().any(|e| e == agent);
    queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |s| {
        if !req.queue_names.is_empty() && !req.queue_names.contains(&s.queue) {
            return Ok(());
        }
        count_stint(&s, &wanted, &mut |agent, add| {
            g.sums(s.enter_hour, member(agent, &s.queue))?.merge(add);
            Ok(())
        })
    })?;
    Ok(ReportSummary { rows: g.finish()? })
}

struct AgentQueueRows<'s> {
    machine: bool,
    sink: &'s mut dyn RowSink,
}

impl PeriodRows for AgentQueueRows<'_> {
    type Sums = AgentQueueSums;

    /// By agent, then queue.
    fn order(a: &str, b: &str) -> Ordering {
        split_member(a).cmp(&split_member(b))
    }

    fn merge(total: &mut AgentQueueSums, s: &AgentQueueSums) {
        total.merge(s);
    }

    fn write(
        &mut self,
        clock: &RowClock,
        member: &str,
        s: &AgentQueueSums,
        kind: RowKind,
    ) -> Result<()> {
        let (agent, queue) = match kind {
            RowKind::Total => (member, ""),
            _ => split_member(member),
        };
        let mut cells = vec![
            Cell::Text(&clock.interval),
            Cell::Date(clock.date, &clock.date_text),
            Cell::Text(agent),
            Cell::Text(queue),
            Cell::Int(s.rings),
            Cell::Int(s.answered),
            Cell::Int(s.no_answer),
            Cell::Duration(s.talk),
            Cell::Mean(s.avg_talk()),
        ];
        if self.machine {
            cells.extend(clock.bounds());
        }
        self.sink.row(kind, &cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::queue::{AgentRings, HangupBy, Outcome};
    use crate::report::queue_figures::tests::stint;
    use std::collections::BTreeMap;

    fn rings(list: &[(&str, i64, i64)]) -> Vec<AgentRings> {
        list.iter()
            .map(|&(agent, rings, no_answer)| AgentRings {
                agent: agent.into(),
                rings,
                no_answer,
            })
            .collect()
    }

    /// Counts `stints` into one map of (agent, queue) → sums.
    fn counted(
        stints: &[Stint],
        wanted: &dyn Fn(&str) -> bool,
    ) -> BTreeMap<(String, String), AgentQueueSums> {
        let mut out: BTreeMap<(String, String), AgentQueueSums> = BTreeMap::new();
        for s in stints {
            count_stint(s, wanted, &mut |agent, add| {
                out.entry((agent.to_string(), s.queue.clone()))
                    .or_default()
                    .merge(add);
                Ok(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn rings_answers_and_talk_add_up_by_agent_and_queue() {
        let mut a = stint(Outcome::Answered, Some(20), Some(90));
        a.queue = "sales".into();
        a.agent = "202".into();
        a.hangup_by = Some(HangupBy::Caller);
        a.rings = rings(&[("201", 2, 2), ("202", 2, 0)]);
        let mut b = stint(Outcome::Transfer, Some(5), Some(40));
        b.queue = "support".into();
        b.agent = "201".into();
        b.rings = rings(&[("203", 1, 1), ("201", 1, 0)]);
        let mut c = stint(Outcome::Abandon, Some(30), None);
        c.queue = "sales".into();
        c.rings = rings(&[("201", 3, 3)]);
        let mut d = stint(Outcome::Answered, Some(5), None);
        d.queue = "sales".into();
        d.agent = "202".into();
        d.rings = rings(&[("202", 1, 0)]);
        let all = [a, b, c, d];
        let got = counted(&all, &|_| true);
        let key = |a: &str, q: &str| (a.to_string(), q.to_string());
        let sums = |rings, answered, no_answer, talk, talk_known| AgentQueueSums {
            rings,
            answered,
            no_answer,
            talk,
            talk_known,
        };
        assert_eq!(got[&key("201", "sales")], sums(5, 0, 5, 0, 0));
        assert_eq!(got[&key("202", "sales")], sums(3, 2, 0, 90, 1));
        assert_eq!(got[&key("201", "support")], sums(1, 1, 0, 40, 1));
        assert_eq!(got[&key("203", "support")], sums(1, 0, 1, 0, 0));
        assert_eq!(got.len(), 4);
        // Answered over the pairs is the connected stints; talk the stints' talk.
        let mut total = AgentQueueSums::default();
        for s in got.values() {
            total.merge(s);
        }
        assert_eq!(
            total.answered,
            all.iter().filter(|s| s.connected()).count() as i64
        );
        assert_eq!(
            total.talk,
            all.iter().filter_map(|s| s.talk_secs).sum::<i64>()
        );
        assert_eq!(got[&key("202", "sales")].avg_talk(), Some(90));
        assert_eq!(got[&key("201", "sales")].avg_talk(), None);
        // --ext keeps the pairs of its agents only.
        let only = counted(&all, &|a| a == "201");
        assert_eq!(
            only.keys().cloned().collect::<Vec<_>>(),
            [key("201", "sales"), key("201", "support")]
        );
    }

    #[test]
    fn members_split_back_whatever_their_names_hold() {
        for (agent, queue) in [("201", "sales"), ("", "q"), ("a:b", "c:d"), ("é1", "")] {
            assert_eq!(split_member(&member(agent, queue)), (agent, queue));
        }
        assert_eq!(split_member("TOTAL"), ("TOTAL", ""));
        let mut names = [member("202", "a"), member("201", "z"), member("2010", "a")];
        names.sort_by(|a, b| AgentQueueRows::order(a, b));
        let shown: Vec<_> = names.iter().map(|m| split_member(m)).collect();
        assert_eq!(shown, [("201", "z"), ("2010", "a"), ("202", "a")]);
    }
}
