//! The stint machine: one open stint per call and queue, from `ENTERQUEUE` to the line that
//! ends it, closed as cut when Asterisk restarts or when it stays open longer than
//! `--max-call-hours`. Produces the [`Stint`]s, the `queue_calls` rows: when one ends, or at
//! a flush when it connected and is still talking. Pure: no I/O.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::super::agent_map::AgentMap;
use super::super::parse::{EventKind, QueueLogLine, line_hash};
use crate::hours::{HourBucket, Zone};
use crate::model::queue::{AgentRings, HangupBy, Outcome, Stint};

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

/// Frees the agent (by extension) of a connected stint that was cut at the instant given:
/// its end is missing, so no line will.
pub(super) type Release<'a> = dyn FnMut(&str, i64) + 'a;

/// The open stints, walked line by line; see the module doc.
#[derive(Clone)]
pub(super) struct Stints {
    zone: Zone,
    /// A stint open longer than this after it entered is closed.
    max_call_secs: i64,
    /// Stints not ended, by the hash of their callid (a bucket holds every stint of its
    /// callids; lookups compare the callid and queue).
    open: ByHash<Vec<Stint>>,
    /// `(enter_time + max_call_secs, callid hash, enter_time)` of open stints, sorted,
    /// earliest first; entries of stints that ended since find nothing when they come up.
    /// Lines come in time order, so a new deadline nearly always goes at the back (a queue,
    /// not a heap: no sifting per call).
    deadlines: VecDeque<(i64, u64, i64)>,
    /// The local hour last entered into and its label (most lines share an hour).
    hour: Option<(HourBucket, String)>,
    /// Call ids proven to be one call by a transfer line logged under the other id
    /// (Asterisk 16+ swaps them on an attended transfer into another queue), while a stint
    /// of either is open.
    links: Vec<(String, String)>,
    /// `(time, callid, DID)` of FreePBX `DID` lines whose call has not entered a queue yet,
    /// oldest first; kept [`DID_KEEP_SECS`].
    dids: VecDeque<PendingDid>,
}

/// `(time, callid, DID)` of a FreePBX `DID` line whose call has not entered a queue yet.
pub(super) type PendingDid = (i64, String, String);

/// How long a `DID` line waits for its call's `ENTERQUEUE` (FreePBX writes it just before).
const DID_KEEP_SECS: i64 = 600;

fn callid_key(callid: &str) -> u64 {
    line_hash(callid.as_bytes())
}

fn num(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

impl Stints {
    /// Continues from the stints left open and the links of a previous run.
    pub(super) fn new(
        zone: Zone,
        max_call_secs: i64,
        open: Vec<Stint>,
        links: Vec<(String, String)>,
        dids: Vec<PendingDid>,
    ) -> Stints {
        let mut deadlines: Vec<(i64, u64, i64)> = open
            .iter()
            .map(|s| {
                (
                    s.enter_time.saturating_add(max_call_secs),
                    callid_key(&s.callid),
                    s.enter_time,
                )
            })
            .collect();
        deadlines.sort_unstable();
        let mut by_callid: ByHash<Vec<Stint>> = ByHash::default();
        for s in open {
            by_callid.entry(callid_key(&s.callid)).or_default().push(s);
        }
        Stints {
            zone,
            max_call_secs,
            open: by_callid,
            deadlines: VecDeque::from(deadlines),
            hour: None,
            links,
            dids: VecDeque::from(dids),
        }
    }

    /// The open stints ordered by entry time, callid and queue, and the links sorted: a
    /// stable order, because they are stored as JSON.
    pub(super) fn state(&self) -> (Vec<Stint>, Vec<(String, String)>, Vec<PendingDid>) {
        let mut open: Vec<Stint> = self.open.values().flatten().cloned().collect();
        open.sort_by(|a, b| {
            (a.enter_time, &a.callid, &a.queue).cmp(&(b.enter_time, &b.callid, &b.queue))
        });
        let mut links = self.links.clone();
        links.sort();
        (open, links, self.dids.iter().cloned().collect())
    }

    fn is_open(&self, callid: &str) -> bool {
        self.open
            .get(&callid_key(callid))
            .is_some_and(|l| l.iter().any(|s| s.callid == callid))
    }

    /// Writes the stints that connected since the last flush and are still talking, as
    /// `ANSWERED` with unknown talk (their end may come in a later chunk or run), and
    /// forgets the links of calls no longer open.
    pub(super) fn flush(&mut self, out: &mut Vec<Stint>) {
        for stint in self.open.values_mut().flatten() {
            if stint.pending {
                stint.pending = false;
                out.push(stint.clone());
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

    /// Whether a stint has been open longer than allowed at `now` (then [`Self::expire`]).
    pub(super) fn overdue(&self, now: i64) -> bool {
        self.deadlines.front().is_some_and(|(d, ..)| now > *d)
    }

    /// FreePBX's `DID` line: the number the call dialled, for the stint it enters next.
    pub(super) fn did(&mut self, line: &QueueLogLine<'_>) {
        let did = crate::names::sanitize(line.data[0]);
        if !did.is_empty() {
            self.dids
                .push_back((line.time, line.callid.to_string(), did));
        }
    }

    /// The DID of the call entering a queue at `now`: its `DID` line, else the DID of a
    /// stint of the same call still open (a transfer into another queue).
    fn take_did(&mut self, callid: &str, now: i64) -> String {
        while self
            .dids
            .front()
            .is_some_and(|(t, ..)| *t < now.saturating_sub(DID_KEEP_SECS))
        {
            self.dids.pop_front();
        }
        if let Some(i) = self.dids.iter().rposition(|(_, c, _)| c == callid) {
            return self.dids.remove(i).map(|(.., d)| d).unwrap_or_default();
        }
        self.open
            .get(&callid_key(callid))
            .and_then(|l| l.iter().find(|s| s.callid == callid && !s.did.is_empty()))
            .map(|s| s.did.clone())
            .unwrap_or_default()
    }

    /// `ENTERQUEUE`: opens the stint of the line's call and queue.
    pub(super) fn enter(
        &mut self,
        line: &QueueLogLine<'_>,
        out: &mut Vec<Stint>,
        release: &mut Release<'_>,
    ) {
        // The same call entering the same queue again while its stint is open means the
        // first one was cut (uniqueids repeat after a restart).
        let key = callid_key(line.callid);
        if let Some(list) = self.open.get_mut(&key)
            && let Some(i) = list
                .iter()
                .position(|s| s.callid == line.callid && s.queue == line.queuename)
        {
            let cut = list.remove(i);
            Self::close_cut(cut, line.time, out, release);
        }
        let (hour, label) = match &self.hour {
            Some((b, label)) if b.start <= line.time && line.time < b.end => {
                (b.start, label.clone())
            }
            _ => {
                let b = self.zone.hour_containing(line.time);
                let label = self.zone.hour_label(b.start);
                self.hour = Some((b, label.clone()));
                (b.start, label)
            }
        };
        let did = self.take_did(line.callid, line.time);
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
            hangup_by: None,
            did,
            rings: Vec::new(),
            pending: false,
        };
        let deadline = (
            line.time.saturating_add(self.max_call_secs),
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

    /// A stint whose end is missing, closed at `at`: answered ones stay `ANSWERED` with
    /// unknown talk (and free their agent), the others become `INCOMPLETE`.
    fn close_cut(mut stint: Stint, at: i64, out: &mut Vec<Stint>, release: &mut Release<'_>) {
        if stint.connected() {
            release(&stint.agent, at);
            if stint.pending {
                stint.pending = false;
                out.push(stint);
            }
        } else {
            stint.outcome = Some(Outcome::Incomplete);
            out.push(stint);
        }
    }

    /// Closes the stints open longer than `max_call_secs` at `now`, each at its deadline
    /// (the moment it became too long, not the line that noticed).
    pub(super) fn expire(&mut self, now: i64, out: &mut Vec<Stint>, release: &mut Release<'_>) {
        while let Some((deadline, ..)) = self.deadlines.front()
            && now > *deadline
        {
            let Some((deadline, key, enter_time)) = self.deadlines.pop_front() else {
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
                Self::close_cut(stint, deadline, out, release);
            }
        }
    }

    /// `QUEUESTART` at `now`: Asterisk restarted; every open call is gone, cut.
    pub(super) fn restart(&mut self, now: i64, out: &mut Vec<Stint>, release: &mut Release<'_>) {
        let open = std::mem::take(&mut self.open);
        for stint in open.into_values().flatten() {
            Self::close_cut(stint, now, out, release);
        }
        self.deadlines.clear();
        self.links.clear();
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

    /// Applies a line to the open stint it belongs to, if any.
    pub(super) fn line(
        &mut self,
        kind: EventKind,
        line: &QueueLogLine<'_>,
        agents: &AgentMap,
        out: &mut Vec<Stint>,
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
                if let Some(ext) = agents.ext_of(line.agent) {
                    AgentRings::count(&mut stint.rings, ext, kind == RingNoAnswer);
                }
                return;
            }
            Connect => {
                stint.ring_attempts += 1;
                let ext = agents.ext_of(line.agent);
                if let Some(ext) = ext {
                    AgentRings::count(&mut stint.rings, ext, false);
                }
                stint.outcome = Some(Outcome::Answered);
                stint.wait_secs = num(line.data[0]);
                stint.agent = ext.unwrap_or("").to_string();
                // Written at its end, or at the chunk's flush if still talking then.
                stint.pending = true;
                return;
            }
            CompleteCaller | CompleteAgent => {
                let wait = stint.wait_secs.or(num(line.data[0]));
                ended(stint, Outcome::Answered, wait);
                stint.talk_secs = num(line.data[1]);
                stint.hangup_by = Some(if matches!(kind, CompleteAgent) {
                    HangupBy::Agent
                } else {
                    HangupBy::Caller
                });
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
        out.push(done);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn completions_say_who_hung_up_and_did_lines_give_the_stint_its_did() {
        let (out, state) = run(&[
            l(0, "c1|sales|NONE|DID|5550100"),
            l(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
            l(1, "c2|sales|NONE|DID|5550200"),
            l(2, "c2|sales|NONE|ENTERQUEUE||5551235|1"),
            l(3, "c3|sales|NONE|ENTERQUEUE||5551236|1"),
            l(4, "c4|sales|NONE|DID|5550400"),
            l(5, "c1|sales|PJSIP/201|CONNECT|5|c1.2|1"),
            l(6, "c2|sales|PJSIP/202|CONNECT|4|c2.2|1"),
            l(30, "c1|sales|PJSIP/201|COMPLETEAGENT|5|25|1"),
            l(40, "c2|sales|PJSIP/202|COMPLETECALLER|4|34|1"),
            l(50, "c3|sales|NONE|ABANDON|1|1|47"),
        ]);
        let rows = finals(&out);
        let got: Vec<(&str, Option<HangupBy>, &str)> = rows
            .iter()
            .map(|s| (s.callid.as_str(), s.hangup_by, s.did.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("c1", Some(HangupBy::Agent), "5550100"),
                ("c2", Some(HangupBy::Caller), "5550200"),
                ("c3", None, ""),
            ]
        );
        // c4's DID waits for its ENTERQUEUE, in the state the next chunk continues from.
        assert_eq!(
            state.dids,
            [(T0 + 4, "c4".to_string(), "5550400".to_string())]
        );
        let (out, state) = run(&[
            l(0, "c5|sales|NONE|DID|5550500"),
            l(DID_KEEP_SECS + 1, "c5|sales|NONE|ENTERQUEUE||5551237|1"),
            l(DID_KEEP_SECS + 9, "c5|sales|NONE|ABANDON|1|1|8"),
        ]);
        assert_eq!(
            finals(&out)[0].did,
            "",
            "a DID line too old is not the stint's"
        );
        assert!(state.dids.is_empty());
    }

    /// Two calls in two queues ringing three agents (one by member name): each stint's
    /// rings by agent, the same when the lines arrive in chunks with the state stored as
    /// JSON in between.
    #[test]
    fn rings_are_counted_by_agent_and_survive_every_chunk_split() {
        use super::super::super::parse::parse_line;
        use super::super::{DeriveConfig, Deriver};
        let lines = [
            l(0, "c1|sales|NONE|ENTERQUEUE||5551234|1"),
            l(1, "c2|support|NONE|ENTERQUEUE||5551235|1"),
            l(5, "c1|sales|PJSIP/201|RINGNOANSWER|15000"),
            l(6, "c2|support|John Doe|RINGNOANSWER|15000"),
            l(7, "c1|sales|PJSIP/202|RINGCANCELED|2000"),
            l(9, "c1|sales|PJSIP/201|RINGNOANSWER|15000"),
            l(20, "c1|sales|PJSIP/202|CONNECT|20|c1.2|4"),
            l(21, "c2|support|NONE|RINGNOANSWER|1000"),
            l(22, "c2|support|SIP/201|CONNECT|21|c2.2|1"),
            l(110, "c1|sales|PJSIP/202|COMPLETECALLER|20|90|1"),
            l(120, "c2|support|SIP/201|COMPLETEAGENT|21|98|1"),
        ];
        let mut aliases = std::collections::HashMap::new();
        aliases.insert("John Doe".to_string(), "203".to_string());
        let agents = AgentMap::new(aliases);
        let rings = |s: &Stint| -> Vec<(String, i64, i64)> {
            s.rings
                .iter()
                .map(|r| (r.agent.clone(), r.rings, r.no_answer))
                .collect()
        };
        let (whole, _) = run_with(&lines, &agents, 4);
        let rows = finals(&whole);
        let got: Vec<_> = rows.iter().map(rings).collect();
        let own = |a: &str, r, n| (a.to_string(), r, n);
        assert_eq!(
            got,
            [
                vec![own("201", 2, 2), own("202", 2, 0)],
                vec![own("203", 1, 1), own("201", 1, 0)],
            ]
        );
        // A ring line without an agent counts in ring_attempts only.
        assert_eq!((rows[0].ring_attempts, rows[1].ring_attempts), (4, 3));
        for split in 1..lines.len() {
            let (mut out, state) = run_with(&lines[..split], &agents, 4);
            let json = serde_json::to_string(&state).unwrap();
            let config = DeriveConfig {
                zone: Zone::UTC,
                max_call_secs: 4 * 3600,
            };
            let mut d = Deriver::new(config, serde_json::from_str(&json).unwrap());
            for line in &lines[split..] {
                d.feed(&parse_line(line, Zone::UTC).unwrap(), &agents, &mut out);
            }
            d.flush(&mut out);
            // A split writes a talking stint at its flush, so the rows come in another order.
            let mut got = finals(&out);
            got.sort_by(|a, b| a.callid.cmp(&b.callid));
            assert_eq!(got, rows, "split at {split}");
        }
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
}
