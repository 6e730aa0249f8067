//! queue_log lines → derived records (SPEC §6). Pure: no I/O.
//!
//! [`Deriver`] walks lines in file order and keeps what a line alone does not tell: the open
//! stints of calls (one per call and queue) and each agent's queue memberships, pause and
//! calls in progress. Its [`DeriverState`] is saved with every loaded chunk so that the next
//! chunk (or the next cron run) continues exactly where this one stopped. It produces:
//! - [`Stint`]s, the `queue_calls` rows: when one ends, or at the end of a chunk (its
//!   [`Deriver::flush`]) when it connected and is still talking;
//! - the agent timeline as platform-style [`TimelineEvent`]s (`agent_idle`, `agent_on_call`,
//!   `agent_not_avail_state` with the reason, `Logoff` for a logoff) so the hourly
//!   aggregation of §5 applies unchanged.
//!
//! Per agent-hour call counts ([`hour_stats`]) are computed from the stored raw lines of
//! whole hours, because `users_calls` rows replace whole hours.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::parse::{EventKind, QueueLogLine};
use crate::error::{Error, Result};
use crate::hours::{HourBucket, Zone};
pub use crate::model::queue::{Outcome, RingRow, Stint};
use crate::model::{AgentEvent, CallStats, EventType, HourStats};

/// Event names and states of the platform's timeline (SPEC §3.2) that queue_log maps to.
pub mod timeline {
    pub const IDLE: &str = "agent_idle";
    pub const ON_CALL: &str = "agent_on_call";
    pub const NOT_AVAIL: &str = "agent_not_avail_state";
    pub const IDLE_STATE: &str = "available";
    pub const ON_CALL_STATE: &str = "none";
    /// A pause without a reason.
    pub const DEFAULT_PAUSE: &str = "Not Available";
    pub const LOGOFF: &str = "Logoff";
}

/// Agent field → extension: an alias table for member display names (`[agents]` in the
/// TOML given by `--agents` / `APR_QUEUE_AGENTS`), then channel forms (`PJSIP/201`,
/// `SIP/201`, `Local/201@from-queue/n`, `Agent/201` → `201`), else the name itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMap {
    aliases: HashMap<String, String>,
}

#[derive(Deserialize)]
struct AgentsFile {
    #[serde(default)]
    agents: HashMap<String, toml::Value>,
}

impl AgentMap {
    pub fn new(aliases: HashMap<String, String>) -> AgentMap {
        AgentMap {
            aliases: aliases
                .into_iter()
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        }
    }

    /// Reads `[agents]` (`"John Doe" = "201"`) from TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<AgentMap> {
        let file: AgentsFile = toml::from_str(text).map_err(|e| {
            Error::config(format!(
                "{origin}: {}; expected an [agents] table of \"Member Name\" = \"201\"",
                crate::error::one_line(&e.to_string())
            ))
        })?;
        let mut aliases = HashMap::new();
        for (name, v) in file.agents {
            let ext = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                other => {
                    return Err(Error::config(format!(
                        "{origin}: [agents] \"{name}\" = {other} is not an extension; expected \"{name}\" = \"201\""
                    )));
                }
            };
            aliases.insert(name, ext);
        }
        Ok(AgentMap::new(aliases))
    }

    /// Whether an agent field is a member display name apr cannot map: not a channel
    /// (`SIP/1001`), not an extension (`1001`), not `NONE`, and not in the alias table.
    pub fn is_unmapped_name(&self, agent: &str) -> bool {
        let agent = agent.trim();
        !agent.is_empty()
            && agent != "NONE"
            && !agent.contains('/')
            && !agent.bytes().all(|b| b.is_ascii_digit())
            && !self.aliases.contains_key(agent)
    }

    /// The extension of an agent field; `None` for `NONE` or empty.
    pub fn ext_of<'a>(&'a self, agent: &'a str) -> Option<&'a str> {
        let agent = agent.trim();
        if agent.is_empty() || agent == "NONE" {
            return None;
        }
        if let Some(ext) = self.aliases.get(agent) {
            return Some(ext);
        }
        if let Some((_, after)) = agent.split_once('/') {
            let ext = after.split(['@', '/']).next().unwrap_or("");
            if !ext.is_empty() {
                return Some(ext);
            }
        }
        Some(agent)
    }
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
}

impl AgentState {
    fn logged_in(&self) -> bool {
        self.agent_login || !self.queues.is_empty()
    }
}

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
    /// The member's display name (sanitized agent field).
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

/// Hasher of keys that are already hashes (the open stints' callid hashes).
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<PreHashed>>;

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

/// Walks lines in order; see the module doc.
pub struct Deriver {
    config: DeriveConfig,
    /// Stints not ended, by the hash of their callid (a bucket holds every stint of its
    /// callids; lookups compare the callid and queue).
    open: ByHash<Vec<Stint>>,
    /// By extension.
    agents: HashMap<Arc<str>, AgentState>,
    /// `(enter_time + max_call_secs, callid hash, enter_time)` of open stints, sorted,
    /// earliest first; entries of stints that ended since find nothing when they come up.
    /// Lines come in time order, so a new deadline nearly always goes at the back (a queue,
    /// not a heap: no sifting per call).
    deadlines: VecDeque<(i64, u64, i64)>,
    /// The local hour last entered into and its label (most lines share an hour).
    hour: Option<(HourBucket, String)>,
    /// Sanitized display names by raw agent field.
    names: HashMap<String, Arc<str>>,
    texts: Texts,
    /// See [`DeriverState::links`].
    links: Vec<(String, String)>,
    /// Unmapped member names seen on other lines than membership ones in this run.
    call_names: BTreeSet<String>,
}

fn callid_key(callid: &str) -> u64 {
    super::reader::line_hash(callid.as_bytes())
}

fn num(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

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

impl Deriver {
    pub fn new(config: DeriveConfig, state: DeriverState) -> Deriver {
        let mut deadlines: Vec<(i64, u64, i64)> = state
            .open
            .iter()
            .map(|s| {
                (
                    s.enter_time.saturating_add(config.max_call_secs),
                    callid_key(&s.callid),
                    s.enter_time,
                )
            })
            .collect();
        deadlines.sort_unstable();
        let deadlines = VecDeque::from(deadlines);
        let mut open: ByHash<Vec<Stint>> = ByHash::default();
        for s in state.open {
            open.entry(callid_key(&s.callid)).or_default().push(s);
        }
        Deriver {
            config,
            open,
            agents: state
                .agents
                .into_iter()
                .map(|(k, v)| (Arc::from(k), v))
                .collect(),
            deadlines,
            hour: None,
            names: HashMap::new(),
            texts: Texts::default(),
            links: state.links,
            call_names: BTreeSet::new(),
        }
    }

    /// Member names seen in this run on call or pause lines only: neither channels nor in
    /// the agents file, and never on a membership or login line. No Asterisk version writes
    /// a member's interface and display name on one line (membership lines carry the
    /// interface unless `log_membername_as_agent` is set, call and pause lines the member
    /// name), so apr cannot link them and says so instead of guessing.
    pub fn unmapped_names(&self) -> Vec<String> {
        self.call_names
            .iter()
            .filter(|n| self.agents.get(n.trim()).is_none_or(|a| !a.member_line))
            .cloned()
            .collect()
    }

    /// What the next chunk or run needs, in a stable order (it is stored as JSON).
    pub fn state(&self) -> DeriverState {
        let mut open: Vec<Stint> = self.open.values().flatten().cloned().collect();
        open.sort_by(|a, b| {
            (a.enter_time, &a.callid, &a.queue).cmp(&(b.enter_time, &b.callid, &b.queue))
        });
        let mut links = self.links.clone();
        links.sort();
        DeriverState {
            open,
            agents: self
                .agents
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            links,
        }
    }

    fn is_open(&self, callid: &str) -> bool {
        self.open
            .get(&callid_key(callid))
            .is_some_and(|l| l.iter().any(|s| s.callid == callid))
    }

    /// Writes the stints that connected since the last flush and are still talking, as
    /// `ANSWERED` with unknown talk (their end may come in a later chunk or run). Call at the
    /// end of every chunk, before saving [`Self::state`].
    pub fn flush(&mut self, out: &mut Derived) {
        for stint in self.open.values_mut().flatten() {
            if stint.pending {
                stint.pending = false;
                out.stints.push(stint.clone());
            }
        }
        if !self.links.is_empty() {
            let links = std::mem::take(&mut self.links);
            self.links = links
                .into_iter()
                .filter(|(a, b)| self.is_open(a) || self.is_open(b))
                .collect();
        }
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
        if self.deadlines.front().is_some_and(|(d, ..)| line.time > *d) {
            self.expire(line.time, out);
        }
        match kind {
            EventKind::EnterQueue => self.enter(line, out),
            EventKind::QueueStart => self.restart(line.time, out),
            _ => {}
        }
        if kind.moves_agents()
            && let Some(ext) = agents.ext_of(line.agent)
        {
            let name = match self.names.get(line.agent) {
                Some(n) => n.clone(),
                None => {
                    let n: Arc<str> = Arc::from(crate::names::sanitize(line.agent));
                    self.names.insert(line.agent.to_string(), n.clone());
                    n
                }
            };
            Self::agent_line(&mut self.agents, &self.texts, kind, line, ext, &name, out);
            if !kind.is_membership()
                && !self.call_names.contains(line.agent)
                && agents.is_unmapped_name(line.agent)
            {
                self.call_names.insert(line.agent.to_string());
            }
        }
        self.stint_line(kind, line, agents, out);
    }

    fn enter(&mut self, line: &QueueLogLine<'_>, out: &mut Derived) {
        // The same call entering the same queue again while its stint is open means the
        // first one was cut (uniqueids repeat after a restart).
        let key = callid_key(line.callid);
        if let Some(list) = self.open.get_mut(&key)
            && let Some(i) = list
                .iter()
                .position(|s| s.callid == line.callid && s.queue == line.queuename)
        {
            let cut = list.remove(i);
            Self::close_cut(cut, out, &mut self.agents);
        }
        let (hour, label) = match &self.hour {
            Some((b, label)) if b.start <= line.time && line.time < b.end => {
                (b.start, label.clone())
            }
            _ => {
                let b = self.config.zone.hour_containing(line.time);
                let label = self.config.zone.hour_label(b.start);
                self.hour = Some((b, label.clone()));
                (b.start, label)
            }
        };
        let stint = Stint {
            callid: line.callid.to_string(),
            queue: line.queuename.to_string(),
            enter_time: line.time,
            enter_hour: hour,
            enter_hour_local: label,
            caller_number: crate::names::sanitize(line.data[1]),
            caller_name: crate::names::sanitize(line.data[3]),
            entry_position: num(line.data[2]),
            outcome: None,
            agent: String::new(),
            wait_secs: None,
            talk_secs: None,
            ring_attempts: 0,
            end_time: None,
            pending: false,
        };
        let deadline = (
            line.time.saturating_add(self.config.max_call_secs),
            key,
            stint.enter_time,
        );
        if self.deadlines.back().is_none_or(|last| *last <= deadline) {
            self.deadlines.push_back(deadline);
        } else {
            let at = self.deadlines.partition_point(|d| *d <= deadline);
            self.deadlines.insert(at, deadline);
        }
        self.open.entry(key).or_default().push(stint);
    }

    /// A stint whose end is missing: answered ones stay `ANSWERED` with unknown talk (and
    /// free their agent), the others become `INCOMPLETE`.
    fn close_cut(mut stint: Stint, out: &mut Derived, agents: &mut HashMap<Arc<str>, AgentState>) {
        if stint.connected() {
            if let Some(a) = agents.get_mut(stint.agent.as_str()) {
                a.calls = a.calls.saturating_sub(1);
            }
            if stint.pending {
                stint.pending = false;
                out.stints.push(stint);
            }
        } else {
            stint.outcome = Some(Outcome::Incomplete);
            out.stints.push(stint);
        }
    }

    /// Closes the stints open longer than `max_call_secs` at `now`.
    fn expire(&mut self, now: i64, out: &mut Derived) {
        while let Some((deadline, ..)) = self.deadlines.front()
            && now > *deadline
        {
            let Some((_, key, enter_time)) = self.deadlines.pop_front() else {
                break;
            };
            let Some(list) = self.open.get_mut(&key) else {
                continue;
            };
            // Every stint of the bucket that entered then has this deadline.
            let (cut, kept): (Vec<Stint>, Vec<Stint>) = std::mem::take(list)
                .into_iter()
                .partition(|s| s.enter_time == enter_time);
            if kept.is_empty() {
                self.open.remove(&key);
            } else {
                *list = kept;
            }
            for stint in cut {
                Self::close_cut(stint, out, &mut self.agents);
            }
        }
    }

    /// `QUEUESTART`: Asterisk restarted; every open call is gone. Agents on those calls end
    /// them; membership and pauses stay (persistent members come back without lines).
    fn restart(&mut self, ts: i64, out: &mut Derived) {
        // Sorted, so that the events (and their load-order ids) are the same on every run.
        let mut busy: Vec<Arc<str>> = self
            .agents
            .iter()
            .filter(|(_, a)| a.calls > 0)
            .map(|(ext, _)| ext.clone())
            .collect();
        busy.sort();
        let t = &self.texts;
        for ext in &busy {
            let Some(a) = self.agents.get_mut(ext) else {
                continue;
            };
            a.calls = 0;
            out.events.push(event(
                ext,
                &t.empty,
                ts,
                timeline::ON_CALL,
                false,
                &t.on_call,
            ));
            if a.paused.is_none() && !a.off {
                out.events
                    .push(event(ext, &t.empty, ts, timeline::IDLE, true, &t.idle));
            }
        }
        let open = std::mem::take(&mut self.open);
        for stint in open.into_values().flatten() {
            Self::close_cut(stint, out, &mut self.agents);
        }
        self.deadlines.clear();
        self.links.clear();
    }

    fn agent_line(
        agents: &mut HashMap<Arc<str>, AgentState>,
        t: &Texts,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        ext: &str,
        name: &Arc<str>,
        out: &mut Derived,
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
        let idle = |out: &mut Derived| {
            out.events
                .push(event(ext, name, ts, timeline::IDLE, true, &t.idle))
        };
        let logoff = |out: &mut Derived| {
            out.events
                .push(event(ext, name, ts, timeline::NOT_AVAIL, true, &t.logoff))
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
                        out.events.push(event(
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
                    out.events
                        .push(event(ext, name, ts, timeline::NOT_AVAIL, true, &state));
                    a.paused = Some(reason);
                }
            }
            Unpause | UnpauseAll => {
                if let Some(reason) = a.paused.take() {
                    if a.calls > 0 {
                        let state: Arc<str> = Arc::from(reason);
                        out.events
                            .push(event(ext, name, ts, timeline::NOT_AVAIL, false, &state));
                    } else {
                        idle(out);
                    }
                }
            }
            Connect => {
                a.calls += 1;
                a.off = false;
                out.events
                    .push(event(ext, name, ts, timeline::ON_CALL, true, &t.on_call));
            }
            CompleteCaller | CompleteAgent | Transfer | BlindTransfer | AttendedTransfer => {
                a.calls = a.calls.saturating_sub(1);
                out.events
                    .push(event(ext, name, ts, timeline::ON_CALL, false, &t.on_call));
                // An agent that logged off during the call stays off.
                if a.calls == 0 && a.paused.is_none() && !a.off {
                    idle(out);
                }
            }
            _ => {}
        }
    }

    /// The open stint a call line belongs to, as `(bucket key, index)`: the stint of its
    /// call id and queue; else that of a call id linked to it by a transfer; else, for a
    /// transfer line, the one connected stint of its queue and agent (Asterisk 16+ logs an
    /// attended transfer into another queue under the new call's id), which links the two
    /// ids. Never a guess: two candidates match none.
    fn locate(
        &mut self,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        agents: &AgentMap,
    ) -> Option<(u64, usize)> {
        let find = |open: &ByHash<Vec<Stint>>, callid: &str| {
            let key = callid_key(callid);
            open.get(&key)?
                .iter()
                .position(|s| s.callid == callid && s.queue == line.queuename)
                .map(|i| (key, i))
        };
        if let Some(hit) = find(&self.open, line.callid) {
            return Some(hit);
        }
        for (a, b) in &self.links {
            let other = if a == line.callid {
                b
            } else if b == line.callid {
                a
            } else {
                continue;
            };
            if let Some(hit) = find(&self.open, other) {
                return Some(hit);
            }
        }
        if !matches!(
            kind,
            EventKind::Transfer | EventKind::BlindTransfer | EventKind::AttendedTransfer
        ) {
            return None;
        }
        let ext = agents.ext_of(line.agent)?;
        let mut hits = self.open.iter().flat_map(|(key, list)| {
            list.iter().enumerate().filter_map(move |(i, s)| {
                (s.queue == line.queuename
                    && s.connected()
                    && s.agent == ext
                    && s.callid != line.callid)
                    .then_some((*key, i, s.callid.as_str()))
            })
        });
        let (key, i, callid) = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        let link = (line.callid.to_string(), callid.to_string());
        self.links.push(link);
        Some((key, i))
    }

    fn stint_line(
        &mut self,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        agents: &AgentMap,
        out: &mut Derived,
    ) {
        use EventKind::*;
        if !matches!(
            kind,
            Connect
                | CompleteCaller
                | CompleteAgent
                | Abandon
                | ExitWithTimeout
                | ExitEmpty
                | ExitWithKey
                | Withdraw
                | RingNoAnswer
                | RingCanceled
                | Transfer
                | BlindTransfer
                | AttendedTransfer
        ) {
            return;
        }
        let Some((key, i)) = self.locate(kind, line, agents) else {
            return;
        };
        let Some(list) = self.open.get_mut(&key) else {
            return;
        };
        let stint = &mut list[i];
        let ended = |stint: &mut Stint, outcome: Outcome, wait: Option<i64>| {
            stint.outcome = Some(outcome);
            if wait.is_some() {
                stint.wait_secs = wait;
            }
            stint.end_time = Some(line.time);
        };
        match kind {
            RingNoAnswer | RingCanceled => {
                stint.ring_attempts += 1;
                return;
            }
            Connect => {
                stint.ring_attempts += 1;
                stint.outcome = Some(Outcome::Answered);
                stint.wait_secs = num(line.data[0]);
                stint.agent = agents.ext_of(line.agent).unwrap_or("").to_string();
                // Written at its end, or at the chunk's flush if still talking then.
                stint.pending = true;
                return;
            }
            CompleteCaller | CompleteAgent => {
                let wait = stint.wait_secs.or(num(line.data[0]));
                ended(stint, Outcome::Answered, wait);
                stint.talk_secs = num(line.data[1]);
            }
            Transfer | BlindTransfer | AttendedTransfer => {
                // exten|context|wait|talk|pos, or for ATTENDEDTRANSFER method|target..|wait|talk
                // with LINK naming two channels.
                let skip = match kind {
                    AttendedTransfer if line.data[0] == "LINK" => 3,
                    _ => 2,
                };
                let wait = stint.wait_secs.or(num(line.field(skip)));
                ended(stint, Outcome::Transfer, wait);
                stint.talk_secs = num(line.field(skip + 1));
            }
            Abandon | ExitEmpty | Withdraw => ended(
                stint,
                match kind {
                    Abandon => Outcome::Abandon,
                    ExitEmpty => Outcome::ExitEmpty,
                    _ => Outcome::Withdraw,
                },
                num(line.data[2]),
            ),
            ExitWithTimeout => ended(stint, Outcome::Timeout, num(line.data[2])),
            ExitWithKey => ended(stint, Outcome::ExitWithKey, num(line.data[3])),
            _ => return,
        }
        if stint.agent.is_empty()
            && let Some(ext) = agents.ext_of(line.agent)
        {
            stint.agent = ext.to_string();
        }
        let mut done = list.remove(i);
        done.pending = false;
        if list.is_empty() {
            self.open.remove(&key);
        }
        out.stints.push(done);
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
                name: crate::names::sanitize(agent),
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
mod tests {
    use super::*;
    use crate::source::queue_log::parse::parse_line;

    const T0: i64 = 1_757_235_600; // 2025-09-07 09:00:00 UTC

    fn run_with(lines: &[String], agents: &AgentMap, max_hours: i64) -> (Derived, DeriverState) {
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

    fn run(lines: &[String]) -> (Derived, DeriverState) {
        run_with(lines, &AgentMap::default(), 4)
    }

    fn l(dt: i64, rest: &str) -> String {
        format!("{}|{rest}", T0 + dt)
    }

    /// The final row of each stint key.
    fn finals(out: &Derived) -> Vec<Stint> {
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

    fn evs(out: &Derived) -> Vec<(i64, &str, bool, &str)> {
        out.events
            .iter()
            .map(|e| (e.ts - T0, e.event, e.enabled, &*e.state))
            .collect()
    }

    #[test]
    fn agent_names_to_extensions() {
        let mut aliases = HashMap::new();
        aliases.insert("John Doe".to_string(), "201".to_string());
        let m = AgentMap::new(aliases);
        for (agent, ext) in [
            ("PJSIP/201", Some("201")),
            ("SIP/202", Some("202")),
            ("IAX2/203", Some("203")),
            ("Local/204@from-queue/n", Some("204")),
            ("Agent/205", Some("205")),
            ("John Doe", Some("201")),
            (" John Doe ", Some("201")),
            ("Jane Roe", Some("Jane Roe")),
            ("NONE", None),
            ("", None),
        ] {
            assert_eq!(m.ext_of(agent), ext, "{agent}");
        }
    }

    #[test]
    fn agents_toml() {
        let m = AgentMap::from_toml("[agents]\n\"John Doe\" = \"201\"\nMary = 202\n", "a.toml")
            .unwrap();
        assert_eq!(m.ext_of("John Doe"), Some("201"));
        assert_eq!(m.ext_of("Mary"), Some("202"));
        let err = AgentMap::from_toml("[agents]\nx = [1]\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("a.toml"), "{err}");
        assert!(AgentMap::from_toml("[agents\n", "a.toml").is_err());
    }

    #[test]
    fn answered_call() {
        let (out, state) = run(&[
            l(0, "c1|sales|NONE|ENTERQUEUE||5551234|1|Jane Roe"),
            l(5, "c1|sales|PJSIP/201|RINGNOANSWER|15000"),
            l(20, "c1|sales|PJSIP/202|CONNECT|20|c1.2|4"),
            l(110, "c1|sales|PJSIP/202|COMPLETECALLER|20|90|1"),
        ]);
        let rows = finals(&out);
        assert_eq!(rows.len(), 1);
        let s = &rows[0];
        assert_eq!(s.outcome, Some(Outcome::Answered));
        assert_eq!((s.wait_secs, s.talk_secs), (Some(20), Some(90)));
        assert_eq!(s.agent, "202");
        assert_eq!(s.ring_attempts, 2);
        assert_eq!(s.end_time, Some(T0 + 110));
        assert_eq!(
            (s.caller_number.as_str(), s.caller_name.as_str()),
            ("5551234", "Jane Roe")
        );
        assert_eq!(s.entry_position, Some(1));
        assert_eq!(s.enter_hour_local, "2025-09-07 09:00");
        assert!(state.open.is_empty());
        assert_eq!(
            evs(&out),
            [
                (20, "agent_on_call", true, "none"),
                (110, "agent_on_call", false, "none"),
                (110, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn connected_without_end_is_answered_with_unknown_talk() {
        let (out, state) = run(&[
            l(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
            l(20, "c1|sales|SIP/202|CONNECT|20|c1.2|4"),
        ]);
        let rows = finals(&out);
        assert_eq!(rows[0].outcome, Some(Outcome::Answered));
        assert_eq!(rows[0].talk_secs, None);
        assert_eq!(state.open.len(), 1, "still open: its end may come");
    }

    #[test]
    fn each_unanswered_outcome_and_its_wait() {
        let cases = [
            ("ABANDON|2|1|30", Outcome::Abandon, Some(30)),
            ("EXITWITHTIMEOUT|1|1|300", Outcome::Timeout, Some(300)),
            ("EXITWITHTIMEOUT|1", Outcome::Timeout, None),
            ("EXITEMPTY|1|1|4", Outcome::ExitEmpty, Some(4)),
            ("EXITWITHKEY|9|1|1|17", Outcome::ExitWithKey, Some(17)),
            ("WITHDRAW|1|1|8|info", Outcome::Withdraw, Some(8)),
        ];
        for (end, outcome, wait) in cases {
            let (out, state) = run(&[
                l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
                l(30, &format!("c1|q|NONE|{end}")),
            ]);
            let rows = finals(&out);
            assert_eq!(rows.len(), 1, "{end}");
            assert_eq!(rows[0].outcome, Some(outcome), "{end}");
            assert_eq!(rows[0].wait_secs, wait, "{end}");
            assert_eq!(rows[0].talk_secs, None, "{end}");
            assert_eq!(rows[0].end_time, Some(T0 + 30), "{end}");
            assert!(state.open.is_empty());
        }
    }

    #[test]
    fn transfers_keep_talk_in_every_layout() {
        let cases = [
            "TRANSFER|300|from-internal|12|40",
            "BLINDTRANSFER|300|from-internal|12|40|1",
            "ATTENDEDTRANSFER|BRIDGE|abc-123|12|40|1",
            "ATTENDEDTRANSFER|APP|Voicemail|12|40|1",
            "ATTENDEDTRANSFER|LINK|SIP/201-01|SIP/301-02|12|40|1",
        ];
        for end in cases {
            let (out, _) = run(&[
                l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
                l(12, "c1|q|SIP/201|CONNECT|12|c1.2|3"),
                l(52, &format!("c1|q|SIP/201|{end}")),
            ]);
            let rows = finals(&out);
            assert_eq!(rows[0].outcome, Some(Outcome::Transfer), "{end}");
            assert_eq!(
                (rows[0].wait_secs, rows[0].talk_secs),
                (Some(12), Some(40)),
                "{end}"
            );
            assert_eq!(out.events.last().unwrap().event, "agent_idle", "{end}");
        }
    }

    #[test]
    fn restart_cuts_open_calls() {
        let (out, state) = run(&[
            l(-600, "NONE|q|SIP/201|ADDMEMBER|"),
            l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(1, "c2|q|NONE|ENTERQUEUE||556|2"),
            l(5, "c2|q|SIP/201|CONNECT|4|c2.2|2"),
            l(60, "NONE|NONE|NONE|QUEUESTART|"),
            // uniqueids repeat after the restart: a new stint.
            l(90, "c1|q|NONE|ENTERQUEUE||557|1"),
            l(95, "c1|q|NONE|ABANDON|1|1|5"),
        ]);
        let rows = finals(&out);
        let by = |c: &str, t: i64| {
            rows.iter()
                .find(|r| r.callid == c && r.enter_time == T0 + t)
                .unwrap()
        };
        assert_eq!(by("c1", 0).outcome, Some(Outcome::Incomplete));
        assert_eq!(by("c1", 0).end_time, None);
        assert_eq!(by("c2", 1).outcome, Some(Outcome::Answered));
        assert_eq!(by("c2", 1).talk_secs, None);
        assert_eq!(by("c1", 90).outcome, Some(Outcome::Abandon));
        assert!(state.open.is_empty());
        assert_eq!(state.agents["201"].calls, 0);
        assert_eq!(
            evs(&out),
            [
                (-600, "agent_idle", true, "available"),
                (5, "agent_on_call", true, "none"),
                (60, "agent_on_call", false, "none"),
                (60, "agent_idle", true, "available"),
            ]
        );
    }

    #[test]
    fn stints_open_too_long_become_incomplete() {
        let (out, state) = run_with(
            &[
                l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
                l(3600, "c9|q|NONE|ENTERQUEUE||555|1"),
                l(2 * 3600 + 1, "c9|q|NONE|ABANDON|1|1|3601"),
                // c1's late end is ignored: it was already closed.
                l(2 * 3600 + 2, "c1|q|NONE|ABANDON|1|1|7202"),
            ],
            &AgentMap::default(),
            2,
        );
        let rows = finals(&out);
        assert_eq!(rows[0].callid, "c1");
        assert_eq!(rows[0].outcome, Some(Outcome::Incomplete));
        assert_eq!(rows[1].outcome, Some(Outcome::Abandon));
        assert_eq!(rows.len(), 2);
        assert!(state.open.is_empty());
    }

    #[test]
    fn a_call_through_two_queues_is_two_stints() {
        let (out, _) = run(&[
            l(0, "c1|sales|NONE|ENTERQUEUE||555|1"),
            l(30, "c1|sales|NONE|EXITWITHKEY|1|1|1|30"),
            l(31, "c1|support|NONE|ENTERQUEUE||555|1"),
            l(40, "c1|support|SIP/301|CONNECT|9|c1.5|3"),
            l(100, "c1|support|SIP/301|COMPLETEAGENT|9|60|1"),
        ]);
        let rows = finals(&out);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].queue.as_str(), rows[0].outcome),
            ("sales", Some(Outcome::ExitWithKey))
        );
        assert_eq!(
            (rows[1].queue.as_str(), rows[1].outcome),
            ("support", Some(Outcome::Answered))
        );
        assert_eq!(rows[1].talk_secs, Some(60));
    }

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
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: false,
            },
            RingRow {
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: false,
            },
            RingRow {
                agent: "SIP/201".into(),
                callid: "c1".into(),
                connected: true,
            },
            RingRow {
                agent: "SIP/201".into(),
                callid: "c2".into(),
                connected: false,
            },
            RingRow {
                agent: "SIP/202".into(),
                callid: "c2".into(),
                connected: true,
            },
            RingRow {
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
    fn a_transfer_under_an_unknown_id_is_matched_only_when_one_stint_fits() {
        let lines = [
            l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(1, "c2|q|NONE|ENTERQUEUE||556|1"),
            l(5, "c1|q|SIP/201|CONNECT|5|c1.2|2"),
            l(6, "c2|q|SIP/202|CONNECT|5|c2.2|2"),
            l(59, "c9|q2|NONE|ENTERQUEUE||201|1"),
            // Logged under the new call's id: the queue and the agent tell which stint.
            l(60, "c9|q|SIP/201|ATTENDEDTRANSFER|APP|Queue|5|55|1"),
        ];
        let (out, state) = run(&lines);
        let rows = finals(&out);
        assert_eq!(rows[0].outcome, Some(Outcome::Transfer));
        assert_eq!(rows[0].talk_secs, Some(55));
        assert_eq!(rows[1].outcome, Some(Outcome::Answered));
        // Kept while c9's stint in q2 is open, for its lines logged under c1.
        assert_eq!(state.links, [("c9".to_string(), "c1".to_string())]);

        // Two connected stints of the same agent and queue: no guess, nothing matched.
        let (out, state) = run(&[
            l(0, "c1|q|NONE|ENTERQUEUE||555|1"),
            l(1, "c2|q|NONE|ENTERQUEUE||556|1"),
            l(5, "c1|q|SIP/201|CONNECT|5|c1.2|2"),
            l(6, "c2|q|SIP/201|CONNECT|5|c2.2|2"),
            l(60, "c9|q|SIP/201|BLINDTRANSFER|300|from-internal|5|55|1"),
        ]);
        assert!(
            finals(&out)
                .iter()
                .all(|s| s.outcome == Some(Outcome::Answered))
        );
        assert!(state.links.is_empty());
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
