//! queue_log records that cross from the source into the store and the queue report: raw
//! lines and rejects as stored, the derived stints (`queue_calls` rows) with their outcome,
//! and what one chunk writes.

use serde::{Deserialize, Serialize};

use super::{AgentEvent, HourStats, LoadOutcome};
use crate::error::Result;
use crate::hours::HourBucket;

/// How a stint ended (`queue_calls.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Answered,
    Abandon,
    Timeout,
    ExitWithKey,
    ExitEmpty,
    Withdraw,
    /// Answered, then transferred.
    Transfer,
    /// Never connected and its end is missing (cut by a restart, or open too long).
    Incomplete,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "ANSWERED",
            Outcome::Abandon => "ABANDON",
            Outcome::Timeout => "TIMEOUT",
            Outcome::ExitWithKey => "EXITWITHKEY",
            Outcome::ExitEmpty => "EXITEMPTY",
            Outcome::Withdraw => "WITHDRAW",
            Outcome::Transfer => "TRANSFER",
            Outcome::Incomplete => "INCOMPLETE",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Answered,
            Outcome::Abandon,
            Outcome::Timeout,
            Outcome::ExitWithKey,
            Outcome::ExitEmpty,
            Outcome::Withdraw,
            Outcome::Transfer,
            Outcome::Incomplete,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// Who ended an answered stint: the queue_log's `COMPLETEAGENT` or `COMPLETECALLER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HangupBy {
    Agent,
    Caller,
}

impl HangupBy {
    /// `queue_calls.hangup_by` and the call list's `Hangup By`.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupBy::Agent => "agent",
            HangupBy::Caller => "caller",
        }
    }

    /// The stored text; anything else (the empty text of a stint not ended by a completion,
    /// or loaded before schema 7) is `None`.
    pub fn parse(s: &str) -> Option<HangupBy> {
        match s {
            "agent" => Some(HangupBy::Agent),
            "caller" => Some(HangupBy::Caller),
            _ => None,
        }
    }
}

/// One call's pass through one queue: a `queue_calls` row, keyed by
/// `(callid, queue, enter_time)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stint {
    pub callid: String,
    pub queue: String,
    pub enter_time: i64,
    /// Start of the local hour of `enter_time`, and its `YYYY-MM-DD HH:00` label.
    pub enter_hour: i64,
    pub enter_hour_local: String,
    pub caller_number: String,
    pub caller_name: String,
    pub entry_position: Option<i64>,
    /// `None` while the stint is open and not connected (not written yet).
    pub outcome: Option<Outcome>,
    /// Extension of the agent that answered.
    pub agent: String,
    pub wait_secs: Option<i64>,
    /// Talk seconds, `None` when unknown (answered and the end is missing).
    pub talk_secs: Option<i64>,
    /// Agent rings: `RINGNOANSWER`, `RINGCANCELED` and the ring that connected.
    pub ring_attempts: i64,
    pub end_time: Option<i64>,
    /// Who hung up an answered stint that completed; `None` otherwise (transfers, cuts,
    /// stints loaded before schema 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hangup_by: Option<HangupBy>,
    /// The number dialled (FreePBX's `DID` line of the call before it entered the queue);
    /// empty when the log has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub did: String,
    /// Who was rung, by extension in the order first rung: `ring_attempts` split by agent
    /// (lines whose agent names none are counted there only). Stored as
    /// `queue_calls.agent_rings` (schema 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rings: Vec<AgentRings>,
    /// Connected since the last flush of the derivation and not written yet. Not stored: every
    /// chunk flushes before its state is saved.
    #[serde(skip)]
    pub pending: bool,
}

impl Stint {
    /// Whether an agent took the call (answered, or answered then transferred).
    pub fn connected(&self) -> bool {
        self.outcome
            .is_some_and(|o| matches!(o, Outcome::Answered | Outcome::Transfer))
    }
}

/// How often one agent was rung for one stint: every ring (`RINGNOANSWER`, `RINGCANCELED`
/// and the `CONNECT` of the ring it answered) and the rings it let ring out (`RINGNOANSWER`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRings {
    pub agent: String,
    pub rings: i64,
    pub no_answer: i64,
}

/// The longest `queue_calls.agent_rings` text: what MySQL's `TEXT` holds (its 65,535 bytes
/// over 4 bytes a character). Agents past it are left out of the stored text; no stint of a
/// real queue rings that many (some 700 agents of 20-character extensions).
pub const AGENT_RINGS_CHARS: usize = 16_000;

impl AgentRings {
    /// Counts one ring of `agent` in `rings`: `no_answer` when it rang out.
    pub fn count(rings: &mut Vec<AgentRings>, agent: &str, no_answer: bool) {
        let i = match rings.iter().position(|r| r.agent == agent) {
            Some(i) => i,
            None => {
                rings.push(AgentRings {
                    agent: agent.to_string(),
                    rings: 0,
                    no_answer: 0,
                });
                rings.len() - 1
            }
        };
        rings[i].rings += 1;
        rings[i].no_answer += i64::from(no_answer);
    }

    /// The stored text of `rings`: a JSON array of `[agent, rings, no_answer]`, `""` for
    /// none; agents that would take it past [`AGENT_RINGS_CHARS`] are left out.
    pub fn encode(rings: &[AgentRings]) -> String {
        if rings.is_empty() {
            return String::new();
        }
        let mut out = String::from("[");
        let mut chars = 1;
        for r in rings {
            let entry = serde_json::json!([r.agent, r.rings, r.no_answer]).to_string();
            let len = entry.chars().count();
            // The entry, its comma and the closing bracket must fit.
            if chars + len + 2 > AGENT_RINGS_CHARS {
                break;
            }
            if chars > 1 {
                out.push(',');
                chars += 1;
            }
            out.push_str(&entry);
            chars += len;
        }
        out.push(']');
        out
    }

    /// The rings of a stored text; an empty or unreadable text (a stint stored before
    /// schema 8 whose lines were gone) is none.
    pub fn decode(text: &str) -> Vec<AgentRings> {
        if text.is_empty() {
            return Vec::new();
        }
        let entries: Vec<(String, i64, i64)> = serde_json::from_str(text).unwrap_or_default();
        entries
            .into_iter()
            .map(|(agent, rings, no_answer)| AgentRings {
                agent,
                rings,
                no_answer,
            })
            .collect()
    }
}

/// A raw line that rang an agent (`CONNECT`, `RINGNOANSWER`, `RINGCANCELED`), with the
/// key of its stored row (`time`, `line_hash`): an hour's rows are counted in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingRow {
    pub time: i64,
    pub line_hash: i64,
    pub agent: String,
    pub callid: String,
    pub connected: bool,
}

/// One raw line as stored in `queue_log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    pub time: i64,
    pub hash: u64,
    pub callid: &'a str,
    pub queuename: &'a str,
    pub agent: &'a str,
    pub event: &'a str,
    pub data: [&'a str; 5],
}

/// One unparseable line, for `queue_log_rejects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow<'a> {
    pub file: &'a str,
    pub line_no: u64,
    pub hash: u64,
    pub reason: String,
    pub line: &'a str,
}

/// What a chunk writes beside its raw lines, derived from the lines that were new.
#[derive(Debug, Default)]
pub struct ChunkWrites {
    pub events: Vec<AgentEvent>,
    /// Upserted by `(callid, queue, enter_time)`, in order.
    pub stints: Vec<Stint>,
    /// Hours whose `users_calls` counts are recomputed from the stored raw lines.
    pub ring_hours: Vec<HourBucket>,
    /// Hours whose `users_calls` counts the source computed from the ring lines it holds
    /// (those the last chunk read back, and this chunk's new ones), written as they are.
    pub stats: Vec<HourStats>,
    /// `etl_state` entries (file cursors) committed with the chunk.
    pub state: Vec<(String, String)>,
    /// `queue_log_state` entries (the derivation's carry-over) committed with the chunk.
    pub queue_state: Vec<(String, String)>,
    /// The queue_log source's new "data until" (moves forward only).
    pub data_until: Option<i64>,
}

/// Counts of one chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    /// Raw lines not stored before.
    pub lines_new: u64,
    pub rejects_new: u64,
    pub stints_written: u64,
    pub load: LoadOutcome,
}

/// Derives a chunk's writes from which of its lines were new (`new[i]` for `lines[i]`).
pub type DeriveFn<'f> = dyn FnMut(&[bool]) -> Result<ChunkWrites> + 'f;
/// Counts of one hour from the raw lines that rang agents in it.
pub type HourStatsFn<'f> = dyn FnMut(HourBucket, &[RingRow]) -> HourStats + 'f;

#[cfg(test)]
mod tests {
    use super::AgentRings;

    #[test]
    fn agent_rings_count_by_agent_and_survive_their_stored_text() {
        let mut rings = Vec::new();
        for (agent, no_answer) in [("201", true), ("202", false), ("201", true), ("201", false)] {
            AgentRings::count(&mut rings, agent, no_answer);
        }
        AgentRings::count(&mut rings, "Jane \"Roe\", 3", true);
        let text = AgentRings::encode(&rings);
        assert_eq!(text, r#"[["201",3,2],["202",1,0],["Jane \"Roe\", 3",1,1]]"#);
        assert_eq!(AgentRings::decode(&text), rings);
        assert_eq!(AgentRings::encode(&[]), "");
        assert!(AgentRings::decode("").is_empty());
        assert!(AgentRings::decode("not json").is_empty());
    }

    #[test]
    fn agent_rings_beyond_the_column_are_left_out_whole() {
        let rings: Vec<AgentRings> = (0..2_000)
            .map(|i| AgentRings {
                agent: format!("agent-with-a-long-name-{i:05}"),
                rings: 1,
                no_answer: 1,
            })
            .collect();
        let text = AgentRings::encode(&rings);
        assert!(text.chars().count() <= super::AGENT_RINGS_CHARS);
        let back = AgentRings::decode(&text);
        assert!(
            back.len() > 100 && back.len() < rings.len(),
            "{}",
            back.len()
        );
        assert_eq!(back[..], rings[..back.len()]);
    }
}
