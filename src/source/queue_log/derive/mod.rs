//! queue_log lines → derived records (SPEC §6). Pure: no I/O.
//!
//! [`Deriver`] walks lines in file order and keeps what a line alone does not tell, in two
//! machines: `stints` (the open stints of calls, one per call and queue) and `agents`
//! (each agent's queue memberships, pause and calls in progress). Its [`DeriverState`] is
//! saved with every loaded chunk so that the next chunk (or the next cron run) continues
//! exactly where this one stopped. It produces:
//! - [`Stint`]s, the `queue_calls` rows: when one ends, or at the end of a chunk (its
//!   [`Deriver::flush`]) when it connected and is still talking;
//! - the agent timeline as platform-style [`TimelineEvent`]s.
//!
//! Per agent-hour call counts ([`hour_stats`]) are computed from the stored raw lines of
//! whole hours, because `users_calls` rows replace whole hours.

mod agents;
mod stints;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use agents::AgentTimeline;
pub use agents::{AgentState, TimelineEvent};
use stints::Stints;

use super::agent_map::AgentMap;
use super::parse::{EventKind, QueueLogLine};
use crate::hours::Zone;
use crate::model::queue::{RingRow, Stint};
use crate::model::{CallStats, HourStats};

/// Everything [`Deriver`] carries from one chunk (or run) to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeriverState {
    /// Stints not ended, ordered by entry time, callid and queue.
    pub open: Vec<Stint>,
    /// By extension.
    pub agents: BTreeMap<String, AgentState>,
    /// Call ids proven to be one call by a transfer line logged under the other id
    /// (Asterisk 16+ swaps them on an attended transfer into another queue), while a stint
    /// of either is open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(String, String)>,
    /// `(time, callid, DID)` of FreePBX `DID` lines whose call has not entered a queue yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dids: Vec<(i64, String, String)>,
}

/// What a run of lines produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Derived {
    pub events: Vec<TimelineEvent>,
    /// Stints that connected or ended, in order; a later entry for the same key supersedes.
    pub stints: Vec<Stint>,
}

/// Settings of the derivation.
#[derive(Debug, Clone, Copy)]
pub struct DeriveConfig {
    pub zone: Zone,
    /// A stint open longer than this after it entered is closed (`--max-call-hours`).
    pub max_call_secs: i64,
}

/// Walks lines in order; see the module doc. Cloned before a chunk so that a chunk whose
/// transaction is tried again derives from the same state.
#[derive(Clone)]
pub struct Deriver {
    stints: Stints,
    agents: AgentTimeline,
}

impl Deriver {
    pub fn new(config: DeriveConfig, state: DeriverState) -> Deriver {
        Deriver {
            stints: Stints::new(
                config.zone,
                config.max_call_secs,
                state.open,
                state.links,
                state.dids,
            ),
            agents: AgentTimeline::new(state.agents),
        }
    }

    /// Member names seen in this run on call or pause lines only, that apr cannot map to an
    /// extension (see [`AgentMap::is_unmapped_name`]).
    pub fn unmapped_names(&self) -> Vec<String> {
        self.agents.unmapped_names()
    }

    /// What the next chunk or run needs, in a stable order (it is stored as JSON).
    pub fn state(&self) -> DeriverState {
        let (open, links, dids) = self.stints.state();
        DeriverState {
            open,
            agents: self.agents.state(),
            links,
            dids,
        }
    }

    /// Writes the stints that connected since the last flush and are still talking, as
    /// `ANSWERED` with unknown talk (their end may come in a later chunk or run). Call at the
    /// end of every chunk, before saving [`Self::state`].
    pub fn flush(&mut self, out: &mut Derived) {
        self.stints.flush(&mut out.stints);
    }

    /// Applies one line.
    pub fn feed(&mut self, line: &QueueLogLine<'_>, agents: &AgentMap, out: &mut Derived) {
        self.feed_kind(line, EventKind::of(line.event), agents, out);
    }

    /// [`Self::feed`] with the line's event kind known.
    pub fn feed_kind(
        &mut self,
        line: &QueueLogLine<'_>,
        kind: EventKind,
        agents: &AgentMap,
        out: &mut Derived,
    ) {
        // A stint cut (by its deadline, a re-entry or a restart) frees its agent, and ends
        // the agent's call on the timeline.
        let events = &mut out.events;
        let mut release = |ext: &str, at: i64| self.agents.release_call(ext, at, events);
        if self.stints.overdue(line.time) {
            self.stints.expire(line.time, &mut out.stints, &mut release);
        }
        match kind {
            EventKind::EnterQueue => self.stints.enter(line, &mut out.stints, &mut release),
            EventKind::QueueStart => {
                // The agents end their calls on the timeline first, so releasing them again
                // for the cut stints finds no call left.
                self.agents.restart(line.time, &mut out.events);
                self.stints
                    .restart(line.time, &mut out.stints, &mut |ext, at| {
                        self.agents.release_call(ext, at, &mut out.events)
                    });
            }
            EventKind::RingNoAnswer | EventKind::RingCanceled => self.agents.rung(line, agents),
            EventKind::Custom if line.event == "DID" => self.stints.did(line),
            _ => {}
        }
        if kind.moves_agents() {
            self.agents.line(kind, line, agents, &mut out.events);
        }
        self.stints.line(kind, line, agents, &mut out.stints);
    }
}

/// Per agent call counts of one hour into `users_calls`: presented = distinct calls that
/// rang the agent, answered = distinct calls it connected. Records come sorted by extension.
pub fn hour_stats(hour_start: i64, rows: &[RingRow], agents: &AgentMap) -> HourStats {
    let mut per: BTreeMap<&str, (HashSet<&str>, HashSet<&str>, &str)> = BTreeMap::new();
    for r in rows {
        let Some(ext) = agents.ext_of(&r.agent) else {
            continue;
        };
        let e = per.entry(ext).or_default();
        e.0.insert(&r.callid);
        if r.connected {
            e.1.insert(&r.callid);
        }
        e.2 = &r.agent;
    }
    HourStats {
        hour_start,
        records: per
            .into_iter()
            .map(|(ext, (rang, answered, agent))| CallStats {
                ext: ext.to_string(),
                name: agents.display_name(agent),
                tags: "null".into(),
                total_calls: rang.len() as i64,
                answered_calls: answered.len() as i64,
                not_available_detailed_report: "null".into(),
                ..Default::default()
            })
            .collect(),
    }
}

#[cfg(test)]
mod testing {
    //! Runs of lines through a whole [`Deriver`], for the tests of each machine.
    use super::*;
    use crate::source::queue_log::parse::parse_line;

    pub(super) const T0: i64 = 1_757_235_600; // 2025-09-07 09:00:00 UTC

    pub(super) fn run_with(
        lines: &[String],
        agents: &AgentMap,
        max_hours: i64,
    ) -> (Derived, DeriverState) {
        let mut d = Deriver::new(
            DeriveConfig {
                zone: Zone::UTC,
                max_call_secs: max_hours * 3600,
            },
            DeriverState::default(),
        );
        let mut out = Derived::default();
        for l in lines {
            d.feed(&parse_line(l, Zone::UTC).unwrap(), agents, &mut out);
        }
        d.flush(&mut out);
        (out, d.state())
    }

    pub(super) fn run(lines: &[String]) -> (Derived, DeriverState) {
        run_with(lines, &AgentMap::default(), 4)
    }

    pub(super) fn l(dt: i64, rest: &str) -> String {
        format!("{}|{rest}", T0 + dt)
    }

    /// The final row of each stint key.
    pub(super) fn finals(out: &Derived) -> Vec<Stint> {
        let mut rows: Vec<Stint> = Vec::new();
        for s in &out.stints {
            match rows.iter_mut().find(|r| {
                (&r.callid, &r.queue, r.enter_time) == (&s.callid, &s.queue, s.enter_time)
            }) {
                Some(r) => *r = s.clone(),
                None => rows.push(s.clone()),
            }
        }
        rows
    }

    pub(super) fn evs(out: &Derived) -> Vec<(i64, &str, bool, &str)> {
        out.events
            .iter()
            .map(|e| (e.ts - T0, e.event, e.enabled, &*e.state))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::source::queue_log::parse::parse_line;

    #[test]
    fn custom_and_housekeeping_events_change_nothing() {
        let (out, state) = run(&[
            l(0, "c1|q|NONE|DID|5551000"),
            l(1, "NONE|NONE|NONE|NONE|CONFIGRELOAD|"),
            l(2, "c1|q|SIP/201|SYSCOMPAT|"),
            l(3, "c1|q|SIP/201|AGENTDUMP|"),
            l(4, "c1|q|SIP/201|RINGINUSE|"),
            l(5, "NONE|q|SIP/201|PENALTY|2"),
            l(6, "c1|q|SIP/201|COMPLETECALLER|1|2|3"),
        ]);
        assert!(out.stints.is_empty());
        assert!(state.open.is_empty());
        // The orphan end still ends the agent's call on the timeline.
        assert_eq!(out.events.len(), 2);
    }

    #[test]
    fn state_round_trips_through_json() {
        let lines = [
            l(0, "NONE|q|SIP/201|ADDMEMBER|"),
            l(5, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(10, "c1|q|SIP/201|CONNECT|5|c1.2|2"),
            l(50, "c1|q|SIP/201|COMPLETECALLER|5|40|1"),
        ];
        let (whole, _) = run(&lines);
        // Split after the CONNECT, with the state through JSON in between.
        let (mut first, state) = run(&lines[..3]);
        let json = serde_json::to_string(&state).unwrap();
        let mut d = Deriver::new(
            DeriveConfig {
                zone: Zone::UTC,
                max_call_secs: 4 * 3600,
            },
            serde_json::from_str(&json).unwrap(),
        );
        d.feed(
            &parse_line(&lines[3], Zone::UTC).unwrap(),
            &AgentMap::default(),
            &mut first,
        );
        d.flush(&mut first);
        assert_eq!(first.events, whole.events);
        // The split run also wrote the talking stint at its flush; the final rows agree.
        assert_eq!(first.stints.len(), 2);
        assert_eq!(finals(&first), finals(&whole));
    }

    #[test]
    fn hour_counts_are_distinct_calls() {
        let rows = [
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: false,
            },
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: false,
            },
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: true,
            },
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "SIP/201".into(),
                callid: "c2".into(),
                connected: false,
            },
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "SIP/202".into(),
                callid: "c2".into(),
                connected: true,
            },
            RingRow {
                time: T0,
                line_hash: 0,
                agent: "NONE".into(),
                callid: "c3".into(),
                connected: true,
            },
        ];
        let h = hour_stats(T0, &rows, &AgentMap::default());
        let got: Vec<(&str, i64, i64)> = h
            .records
            .iter()
            .map(|r| (r.ext.as_str(), r.total_calls, r.answered_calls))
            .collect();
        assert_eq!(got, [("201", 2, 1), ("202", 1, 1)]);
        assert_eq!(h.hour_start, T0);
    }

    #[test]
    fn hour_counts_carry_the_extensions_display_name() {
        let agents = AgentMap::from_toml(
            "[agents]\n\"PJSIP/201\" = { name = \"Reception 1\" }\n",
            "a.toml",
        )
        .unwrap();
        let ring = |agent: &str, callid: &str| RingRow {
            time: T0,
            line_hash: 0,
            agent: agent.into(),
            callid: callid.into(),
            connected: true,
        };
        let rows = [ring("Local/201@from-queue/n", "c1"), ring("SIP/202", "c2")];
        let h = hour_stats(T0, &rows, &agents);
        let got: Vec<(&str, &str)> = h
            .records
            .iter()
            .map(|r| (r.ext.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(got, [("201", "Reception 1"), ("202", "SIP/202")]);
        // The timeline's events carry it too.
        let (out, _) = run_with(
            &[l(0, "NONE|q|Local/201@from-queue/n|ADDMEMBER|")],
            &agents,
            4,
        );
        assert_eq!(&*out.events[0].name, "Reception 1");
    }
}
