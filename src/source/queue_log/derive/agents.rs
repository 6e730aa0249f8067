//! The agent timeline machine: what each agent is doing as far as queue_log tells (queue
//! memberships, logins, the pause in force, calls in progress), and the platform-style
//! [`TimelineEvent`]s (`agent_idle`, `agent_on_call`, `agent_not_avail_state` with the
//! reason, `Logoff` for a logoff) its lines produce, so that the hourly aggregation of §5
//! applies unchanged. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::super::agent_map::AgentMap;
use super::super::parse::{EventKind, QueueLogLine};
use crate::model::{AgentEvent, EventType};

/// Event names and states of the platform's timeline (SPEC §3.2) that queue_log maps to.
mod timeline {
    pub const IDLE: &str = "agent_idle";
    pub const ON_CALL: &str = "agent_on_call";
    pub const NOT_AVAIL: &str = "agent_not_avail_state";
    pub const IDLE_STATE: &str = "available";
    pub const ON_CALL_STATE: &str = "none";
    /// A pause without a reason.
    pub const DEFAULT_PAUSE: &str = "Not Available";
    pub const LOGOFF: &str = "Logoff";
}

/// What an agent is doing, as far as queue_log tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// Queues the agent is a member of (`ADDMEMBER` .. `REMOVEMEMBER`).
    pub queues: BTreeSet<String>,
    /// Logged in through `AGENTLOGIN` (chan_agent / callback agents).
    pub agent_login: bool,
    /// The reason of the pause in force.
    pub paused: Option<String>,
    /// Calls connected and not ended.
    pub calls: u32,
    /// Logged off explicitly (and no login or call since). Static members from
    /// `queues.conf` never log in on queue_log, so "not logged in" alone is not "off".
    #[serde(default)]
    pub off: bool,
    /// Seen on a membership or login line (`ADDMEMBER`, `AGENTLOGIN`, ...) under this name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub member_line: bool,
    /// While on a call: the first line since the latest `CONNECT` that shows the agent off
    /// that call (a ring, a pause, another call's end). Where the call ends on the timeline
    /// if its own end line never comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_call_since: Option<i64>,
    /// While on a call: the latest `UNPAUSE`, whose idle waits for the call's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpaused_on_call: Option<i64>,
}

impl AgentState {
    fn logged_in(&self) -> bool {
        self.agent_login || !self.queues.is_empty()
    }

    /// A line at `ts` shows the agent off its latest call (the first such line counts).
    fn mark_off_call(&mut self, ts: i64) {
        if self.calls > 0 && self.off_call_since.is_none() {
            self.off_call_since = Some(ts);
        }
    }
}

/// Ends on the timeline the call of agent `a` (no call left) whose end line is missing, at
/// `at` or at the first line that showed the agent off it, whichever is earlier; an agent
/// neither paused nor logged off is idle from then (or from an `UNPAUSE` during the call, if
/// later).
fn end_missing_call(
    ext: &Arc<str>,
    a: &mut AgentState,
    at: i64,
    t: &Texts,
    out: &mut Vec<TimelineEvent>,
) {
    let end = a.off_call_since.take().map_or(at, |off| off.min(at));
    let unpaused = a.unpaused_on_call.take();
    out.push(event(
        ext,
        &t.empty,
        end,
        timeline::ON_CALL,
        false,
        &t.on_call,
    ));
    if a.paused.is_none() && !a.off {
        let idle_from = unpaused.map_or(end, |u| u.max(end));
        out.push(event(
            ext,
            &t.empty,
            idle_from,
            timeline::IDLE,
            true,
            &t.idle,
        ));
    }
}

/// One event of the agent timeline as derived: a platform-style event (SPEC §3.2) whose
/// texts are shared, not copied per event (a day of lines repeats a handful of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEvent {
    pub ext: Arc<str>,
    pub ts: i64,
    pub event: &'static str,
    pub enabled: bool,
    pub state: Arc<str>,
    /// The member's display name ([`AgentMap::display_name`]).
    pub name: Arc<str>,
}

impl TimelineEvent {
    /// The stored form.
    pub fn to_agent_event(&self) -> AgentEvent {
        AgentEvent {
            ext: self.ext.to_string(),
            ts: self.ts,
            event: EventType::parse(self.event),
            enabled: self.enabled,
            state: self.state.to_string(),
            user_id: String::new(),
            username: self.name.to_string(),
        }
    }
}

/// The states every timeline event uses, shared.
#[derive(Clone)]
struct Texts {
    idle: Arc<str>,
    on_call: Arc<str>,
    logoff: Arc<str>,
    default_pause: Arc<str>,
    empty: Arc<str>,
}

impl Default for Texts {
    fn default() -> Texts {
        Texts {
            idle: Arc::from(timeline::IDLE_STATE),
            on_call: Arc::from(timeline::ON_CALL_STATE),
            logoff: Arc::from(timeline::LOGOFF),
            default_pause: Arc::from(timeline::DEFAULT_PAUSE),
            empty: Arc::from(""),
        }
    }
}

/// A timeline event sharing its texts.
fn event(
    ext: &Arc<str>,
    name: &Arc<str>,
    ts: i64,
    event: &'static str,
    enabled: bool,
    state: &Arc<str>,
) -> TimelineEvent {
    TimelineEvent {
        ext: ext.clone(),
        ts,
        event,
        enabled,
        state: state.clone(),
        name: name.clone(),
    }
}

/// Every agent's state, walked line by line; see the module doc.
#[derive(Clone)]
pub(super) struct AgentTimeline {
    /// By extension.
    agents: HashMap<Arc<str>, AgentState>,
    /// Display names by raw agent field.
    names: HashMap<String, Arc<str>>,
    texts: Texts,
    /// Unmapped member names seen on other lines than membership ones in this run.
    call_names: BTreeSet<String>,
}

impl AgentTimeline {
    pub(super) fn new(agents: BTreeMap<String, AgentState>) -> AgentTimeline {
        AgentTimeline {
            agents: agents.into_iter().map(|(k, v)| (Arc::from(k), v)).collect(),
            names: HashMap::new(),
            texts: Texts::default(),
            call_names: BTreeSet::new(),
        }
    }

    /// The agents' states by extension, in a stable order (they are stored as JSON).
    pub(super) fn state(&self) -> BTreeMap<String, AgentState> {
        self.agents
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Member names seen in this run on call or pause lines only: neither channels nor in
    /// the agents file, and never on a membership or login line. No Asterisk version writes
    /// a member's interface and display name on one line (membership lines carry the
    /// interface unless `log_membername_as_agent` is set, call and pause lines the member
    /// name), so apr cannot link them and says so instead of guessing.
    pub(super) fn unmapped_names(&self) -> Vec<String> {
        self.call_names
            .iter()
            .filter(|n| self.agents.get(n.trim()).is_none_or(|a| !a.member_line))
            .cloned()
            .collect()
    }

    /// A call of the agent `ext` whose end line is missing was closed at `at` (its stint was
    /// cut). Its last call over, the agent leaves it on the timeline at `at`, or earlier at the
    /// first line that showed it off the call (SPEC §6). An agent with no call left (a
    /// logoff or a restart ended it) has nothing to end.
    pub(super) fn release_call(&mut self, ext: &str, at: i64, out: &mut Vec<TimelineEvent>) {
        // The shared key, for the events.
        let Some((ext, _)) = self.agents.get_key_value(ext) else {
            return;
        };
        let ext = ext.clone();
        let Some(a) = self.agents.get_mut(&ext).filter(|a| a.calls > 0) else {
            return;
        };
        a.calls -= 1;
        if a.calls == 0 {
            end_missing_call(&ext, a, at, &self.texts, out);
        }
    }

    /// A ring of the agent (`RINGNOANSWER`, `RINGCANCELED`): Asterisk rang it, so it was off
    /// any call whose end line is missing.
    pub(super) fn rung(&mut self, line: &QueueLogLine<'_>, map: &AgentMap) {
        if let Some(a) = map
            .ext_of(line.agent)
            .and_then(|ext| self.agents.get_mut(ext))
        {
            a.mark_off_call(line.time);
        }
    }

    /// Applies a line of a kind that moves agents ([`EventKind::moves_agents`]).
    pub(super) fn line(
        &mut self,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        map: &AgentMap,
        out: &mut Vec<TimelineEvent>,
    ) {
        let Some(ext) = map.ext_of(line.agent) else {
            return;
        };
        let name = match self.names.get(line.agent) {
            Some(n) => n.clone(),
            None => {
                let n: Arc<str> = Arc::from(map.display_name(line.agent));
                self.names.insert(line.agent.to_string(), n.clone());
                n
            }
        };
        Self::agent_line(&mut self.agents, &self.texts, kind, line, ext, &name, out);
        if !kind.is_membership()
            && !self.call_names.contains(line.agent)
            && map.is_unmapped_name(line.agent)
        {
            self.call_names.insert(line.agent.to_string());
        }
    }

    /// `QUEUESTART`: Asterisk restarted; every open call is gone. Agents on those calls end
    /// them; membership and pauses stay (persistent members come back without lines).
    pub(super) fn restart(&mut self, ts: i64, out: &mut Vec<TimelineEvent>) {
        // Sorted, so that the events (and their load-order ids) are the same on every run.
        let mut busy: Vec<Arc<str>> = self
            .agents
            .iter()
            .filter(|(_, a)| a.calls > 0)
            .map(|(ext, _)| ext.clone())
            .collect();
        busy.sort();
        for ext in &busy {
            let Some(a) = self.agents.get_mut(ext) else {
                continue;
            };
            a.calls = 0;
            end_missing_call(ext, a, ts, &self.texts, out);
        }
    }

    /// What one line does to its agent, and the events it produces.
    fn agent_line(
        agents: &mut HashMap<Arc<str>, AgentState>,
        t: &Texts,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        ext: &str,
        name: &Arc<str>,
        out: &mut Vec<TimelineEvent>,
    ) {
        use EventKind::*;
        let ts = line.time;
        let ext: Arc<str> = match agents.get_key_value(ext) {
            Some((k, _)) => k.clone(),
            None => {
                let k: Arc<str> = Arc::from(ext);
                agents.insert(k.clone(), AgentState::default());
                k
            }
        };
        let Some(a) = agents.get_mut(&ext) else {
            return;
        };
        let ext = &ext;
        if kind.is_membership() {
            a.member_line = true;
        }
        let idle = |out: &mut Vec<TimelineEvent>| {
            out.push(event(ext, name, ts, timeline::IDLE, true, &t.idle))
        };
        let logoff = |out: &mut Vec<TimelineEvent>| {
            out.push(event(ext, name, ts, timeline::NOT_AVAIL, true, &t.logoff))
        };
        match kind {
            AgentLogin | AgentCallbackLogin => {
                if !a.logged_in() {
                    a.paused = None;
                    idle(out);
                }
                a.agent_login = true;
                a.off = false;
            }
            AgentLogoff | AgentCallbackLogoff => {
                *a = AgentState {
                    off: true,
                    ..AgentState::default()
                };
                logoff(out);
            }
            AddMember => {
                let was_in = a.logged_in();
                a.queues.insert(line.queuename.to_string());
                a.off = false;
                if !was_in {
                    if line.data[0].trim().eq_ignore_ascii_case("PAUSED") {
                        a.paused = Some(timeline::DEFAULT_PAUSE.to_string());
                        out.push(event(
                            ext,
                            name,
                            ts,
                            timeline::NOT_AVAIL,
                            true,
                            &t.default_pause,
                        ));
                    } else {
                        a.paused = None;
                        idle(out);
                    }
                }
            }
            RemoveMember => {
                a.queues.remove(line.queuename);
                if !a.logged_in() {
                    *a = AgentState {
                        off: true,
                        ..AgentState::default()
                    };
                    logoff(out);
                }
            }
            Pause | PauseAll => {
                a.mark_off_call(ts);
                let reason = crate::names::sanitize(line.data[0]);
                let reason = if reason.is_empty() {
                    timeline::DEFAULT_PAUSE.to_string()
                } else {
                    reason
                };
                // A pause is agent-wide; Asterisk logs it once per queue.
                if a.paused.as_deref() != Some(reason.as_str()) {
                    let state = if reason == timeline::DEFAULT_PAUSE {
                        t.default_pause.clone()
                    } else {
                        Arc::from(reason.as_str())
                    };
                    out.push(event(ext, name, ts, timeline::NOT_AVAIL, true, &state));
                    a.paused = Some(reason);
                }
            }
            Unpause | UnpauseAll => {
                if let Some(reason) = a.paused.take() {
                    if a.calls > 0 {
                        a.unpaused_on_call = Some(ts);
                        let state: Arc<str> = Arc::from(reason);
                        out.push(event(ext, name, ts, timeline::NOT_AVAIL, false, &state));
                    } else {
                        idle(out);
                    }
                }
            }
            Connect => {
                a.calls += 1;
                a.off = false;
                a.off_call_since = None;
                out.push(event(ext, name, ts, timeline::ON_CALL, true, &t.on_call));
            }
            CompleteCaller | CompleteAgent | Transfer | BlindTransfer | AttendedTransfer => {
                a.calls = a.calls.saturating_sub(1);
                out.push(event(ext, name, ts, timeline::ON_CALL, false, &t.on_call));
                if a.calls == 0 {
                    a.off_call_since = None;
                    a.unpaused_on_call = None;
                    // An agent that logged off during the call stays off.
                    if a.paused.is_none() && !a.off {
                        idle(out);
                    }
                } else {
                    // The timeline shows no call from here: an earlier call still counted
                    // has lost its end line.
                    a.mark_off_call(ts);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{DeriveConfig, Derived, Deriver, DeriverState};
    use super::*;
    use crate::hours::Zone;
    use crate::source::queue_log::parse::parse_line;

    #[test]
    fn pauses_membership_and_logoff() {
        let (out, state) = run(&[
            l(0, "NONE|sales|PJSIP/201|ADDMEMBER|"),
            l(1, "NONE|support|PJSIP/201|ADDMEMBER|"),
            l(60, "NONE|sales|PJSIP/201|PAUSE|Lunch"),
            l(60, "NONE|support|PJSIP/201|PAUSE|Lunch"),
            l(120, "NONE|NONE|PJSIP/201|PAUSEALL|"),
            l(180, "NONE|NONE|PJSIP/201|UNPAUSEALL|"),
            l(181, "NONE|sales|PJSIP/201|UNPAUSE|"),
            l(200, "NONE|sales|PJSIP/201|REMOVEMEMBER|"),
            l(201, "NONE|support|PJSIP/201|REMOVEMEMBER|"),
            l(300, "NONE|sales|PJSIP/202|ADDMEMBER|PAUSED"),
            l(310, "NONE|sales|PJSIP/202|UNPAUSE|"),
            l(400, "1.1|NONE|Agent/203|AGENTLOGIN|SIP/203-01"),
            l(500, "1.1|NONE|Agent/203|AGENTLOGOFF|SIP/203-01|100"),
        ]);
        assert_eq!(
            evs(&out),
            [
                (0, "agent_idle", true, "available"),
                (60, "agent_not_avail_state", true, "Lunch"),
                (120, "agent_not_avail_state", true, "Not Available"),
                (180, "agent_idle", true, "available"),
                (201, "agent_not_avail_state", true, "Logoff"),
                (300, "agent_not_avail_state", true, "Not Available"),
                (310, "agent_idle", true, "available"),
                (400, "agent_idle", true, "available"),
                (500, "agent_not_avail_state", true, "Logoff"),
            ]
        );
        assert_eq!(&*out.events[0].name, "PJSIP/201");
        assert!(!state.agents["203"].agent_login);
        assert!(state.agents["202"].queues.contains("sales"));
    }

    #[test]
    fn logoff_during_a_call_stays_off_and_static_members_go_idle() {
        let (out, _) = run(&[
            l(0, "NONE|q|SIP/201|ADDMEMBER|"),
            l(5, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(10, "c1|q|SIP/201|CONNECT|5|c1.2|2"),
            l(20, "NONE|q|SIP/201|REMOVEMEMBER|"),
            l(50, "c1|q|SIP/201|COMPLETECALLER|5|40|1"),
            // A static member (no ADDMEMBER) goes idle after its call.
            l(60, "c2|q|NONE|ENTERQUEUE||556|1"),
            l(65, "c2|q|SIP/301|CONNECT|5|c2.2|2"),
            l(90, "c2|q|SIP/301|COMPLETEAGENT|5|25|1"),
        ]);
        assert_eq!(
            evs(&out),
            [
                (0, "agent_idle", true, "available"),
                (10, "agent_on_call", true, "none"),
                (20, "agent_not_avail_state", true, "Logoff"),
                (50, "agent_on_call", false, "none"),
                (65, "agent_on_call", true, "none"),
                (90, "agent_on_call", false, "none"),
                (90, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn unpause_during_a_call_keeps_the_call() {
        let (out, _) = run(&[
            l(0, "NONE|q|SIP/201|ADDMEMBER|"),
            l(5, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(10, "c1|q|SIP/201|CONNECT|5|c1.2|2"),
            l(20, "NONE|q|SIP/201|PAUSE|Tea"),
            l(30, "NONE|q|SIP/201|UNPAUSE|"),
            l(40, "NONE|q|SIP/201|PAUSE|Bio"),
            l(50, "c1|q|SIP/201|COMPLETECALLER|5|40|1"),
        ]);
        assert_eq!(
            evs(&out)[1..],
            [
                (10, "agent_on_call", true, "none"),
                (20, "agent_not_avail_state", true, "Tea"),
                (30, "agent_not_avail_state", false, "Tea"),
                (40, "agent_not_avail_state", true, "Bio"),
                (50, "agent_on_call", false, "none"),
            ]
        );
    }

    const H4: i64 = 4 * 3600;

    /// The lines: a call connected, then only housekeeping for a day.
    fn call_without_end(between: &[String]) -> Vec<String> {
        let mut lines = vec![
            l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(10, "c1|q|SIP/448|CONNECT|10|c1.1|2"),
        ];
        lines.extend_from_slice(between);
        lines.push(l(26 * 3600, "NONE|NONE|NONE|CONFIGRELOAD|"));
        lines
    }

    #[test]
    fn a_call_without_its_end_ends_when_its_stint_is_closed() {
        let (out, state) = run(&call_without_end(&[]));
        // Closed at its deadline (--max-call-hours after it entered), not at the line that
        // noticed; the static member is idle from then.
        assert_eq!(
            evs(&out),
            [
                (10, "agent_on_call", true, "none"),
                (H4, "agent_on_call", false, "none"),
                (H4, "agent_idle", true, "available"),
            ]
        );
        assert_eq!(state.agents["448"].calls, 0);
        assert!(finals(&out)[0].talk_secs.is_none());
    }

    #[test]
    fn a_pause_ends_a_call_without_its_end_there() {
        let (out, _) = run(&call_without_end(&[l(600, "NONE|q|SIP/448|PAUSE|Tea")]));
        assert_eq!(
            evs(&out),
            [
                (10, "agent_on_call", true, "none"),
                (600, "agent_not_avail_state", true, "Tea"),
                (600, "agent_on_call", false, "none"),
            ]
        );
        // Unpaused later: idle from the unpause, not from the pause.
        let (out, _) = run(&call_without_end(&[
            l(600, "NONE|q|SIP/448|PAUSE|Tea"),
            l(900, "NONE|q|SIP/448|UNPAUSE|"),
        ]));
        assert_eq!(
            evs(&out)[2..],
            [
                (900, "agent_not_avail_state", false, "Tea"),
                (600, "agent_on_call", false, "none"),
                (900, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn a_ring_or_another_call_ends_a_call_without_its_end() {
        let (out, _) = run(&call_without_end(&[
            l(290, "c2|q|NONE|ENTERQUEUE||556|1"),
            l(300, "c2|q|SIP/448|RINGNOANSWER|10000"),
            l(400, "c2|q|NONE|ABANDON|1|1|110"),
        ]));
        assert_eq!(
            evs(&out)[1..],
            [
                (300, "agent_on_call", false, "none"),
                (300, "agent_idle", true, "available"),
            ]
        );
        // Another call connects and ends: the agent talked until that end, then was free.
        let (out, _) = run(&call_without_end(&[
            l(290, "c2|q|NONE|ENTERQUEUE||556|1"),
            l(300, "c2|q|SIP/448|CONNECT|10|c2.1|2"),
            l(500, "c2|q|SIP/448|COMPLETECALLER|10|200|1"),
        ]));
        assert_eq!(
            evs(&out)[1..],
            [
                (300, "agent_on_call", true, "none"),
                (500, "agent_on_call", false, "none"),
                (500, "agent_on_call", false, "none"),
                (500, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn a_logoff_or_a_restart_already_ended_the_call() {
        let (out, _) = run(&call_without_end(&[l(
            700,
            "NONE|NONE|SIP/448|AGENTLOGOFF|SIP/448-01|690",
        )]));
        assert_eq!(
            evs(&out)[1..],
            [(700, "agent_not_avail_state", true, "Logoff")]
        );
        let (out, _) = run(&call_without_end(&[
            l(600, "NONE|q|SIP/448|PAUSE|Tea"),
            l(800, "NONE|NONE|NONE|NONE|QUEUESTART|"),
        ]));
        assert_eq!(
            evs(&out)[1..],
            [
                (600, "agent_not_avail_state", true, "Tea"),
                (600, "agent_on_call", false, "none"),
            ]
        );
    }

    #[test]
    fn a_call_with_its_end_keeps_its_agent_through_a_ring_elsewhere() {
        let (out, _) = run(&[
            l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(10, "c1|q|SIP/448|CONNECT|10|c1.1|2"),
            l(20, "c2|q2|SIP/448|RINGCANCELED|500"),
            l(90, "c1|q|SIP/448|COMPLETEAGENT|10|80|1"),
        ]);
        assert_eq!(
            evs(&out),
            [
                (10, "agent_on_call", true, "none"),
                (90, "agent_on_call", false, "none"),
                (90, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn what_showed_the_agent_off_its_call_carries_to_the_next_run() {
        let lines = call_without_end(&[l(600, "NONE|q|SIP/448|PAUSE|Tea")]);
        let (whole, _) = run(&lines);
        let (mut first, state) = run(&lines[..3]);
        assert_eq!(state.agents["448"].off_call_since, Some(T0 + 600));
        let json = serde_json::to_string(&state).unwrap();
        let mut d = Deriver::new(
            DeriveConfig {
                zone: Zone::UTC,
                max_call_secs: H4,
            },
            serde_json::from_str(&json).unwrap(),
        );
        d.feed(
            &parse_line(&lines[3], Zone::UTC).unwrap(),
            &AgentMap::default(),
            &mut first,
        );
        assert_eq!(first.events, whole.events);
    }

    #[test]
    fn unmapped_names_are_those_never_on_membership_lines() {
        let mut d = Deriver::new(
            DeriveConfig {
                zone: Zone::UTC,
                max_call_secs: 4 * 3600,
            },
            DeriverState::default(),
        );
        let mut out = Derived::default();
        for line in [
            l(0, "NONE|q|SIP/1001|ADDMEMBER|"),
            l(1, "NONE|q|Priya|ADDMEMBER|"),
            l(2, "c1|q|Priya|CONNECT|1|c1.1|1"),
            l(3, "c2|q|Sathish|CONNECT|1|c2.1|1"),
            l(4, "NONE|q|Omar|PAUSE|Break"),
            l(5, "c3|q|1002|CONNECT|1|c3.1|1"),
        ] {
            d.feed(
                &parse_line(&line, Zone::UTC).unwrap(),
                &AgentMap::default(),
                &mut out,
            );
        }
        assert_eq!(d.unmapped_names(), ["Omar", "Sathish"]);
    }
}
