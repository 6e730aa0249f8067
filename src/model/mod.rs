//! Every record that crosses a module boundary: agent state events (the timeline) and
//! per-hour call statistics as sources produce them, what a load writes and reads back, the
//! hourly summary rows, the cached platform token, typed watermarks ([`state`]) and the
//! queue_log records ([`queue`]), and the HTML body of a mailed report ([`mail_body`]).
//! Nothing downstream sees upstream JSON, and nothing here does I/O.

use serde::Serialize;

pub mod details;
pub mod live;
pub mod mail_body;
pub mod queue;
pub mod state;
pub mod stop;

/// Where an event came from (the `source` column of `agent_events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Api,
    QueueLog,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Api => "api",
            EventSource::QueueLog => "queue_log",
        }
    }
}

impl EventSource {
    /// The source named by a stored `source` column.
    pub fn parse(s: &str) -> Option<EventSource> {
        match s {
            "api" => Some(EventSource::Api),
            "queue_log" => Some(EventSource::QueueLog),
            _ => None,
        }
    }
}

/// What the timeline does with an event type (SPEC §3.2, §5.1): [`EventType`] without the
/// text of unknown types, small and `Copy` for the per-event aggregation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Idle,
    OnCall,
    WrapUp,
    Hold,
    NotAvail,
    /// `agent_reg`: the phone registering (no effect) or unregistering (goes offline).
    Reg,
    /// Anything else: kept, counted, no effect.
    Unknown,
}

/// An event's type as the platform names it, parsed once where events enter (platform JSON,
/// replay files, queue_log derivation, stored rows). Unknown types keep their text byte for
/// byte, so [`EventType::as_str`] writes back exactly what came in: the store's natural key
/// and the drill-down show the upstream text.
///
/// Build it with [`EventType::parse`]: `Unknown` never holds a known type's text. Equality
/// and hashing go by the text, so even a hand-built `Unknown("agent_idle")` is the same key
/// as `Idle`.
#[derive(Debug, Clone, Eq)]
pub enum EventType {
    Idle,
    OnCall,
    WrapUp,
    Hold,
    NotAvail,
    Reg,
    Unknown(String),
}

impl EventType {
    /// Every known type, for tests and documentation.
    pub const KNOWN: [EventType; 6] = [
        EventType::Idle,
        EventType::OnCall,
        EventType::WrapUp,
        EventType::Hold,
        EventType::NotAvail,
        EventType::Reg,
    ];

    /// The type named by `text`, compared exactly (no trimming or case folding: the platform
    /// parser trims once, and anything else is an unknown type kept as it came).
    pub fn parse(text: &str) -> EventType {
        EventType::known(text).unwrap_or_else(|| EventType::Unknown(text.to_string()))
    }

    fn known(text: &str) -> Option<EventType> {
        Some(match text {
            "agent_idle" => EventType::Idle,
            "agent_on_call" => EventType::OnCall,
            "agent_wrap_up" => EventType::WrapUp,
            "agent_hold" => EventType::Hold,
            "agent_not_avail_state" => EventType::NotAvail,
            "agent_reg" => EventType::Reg,
            _ => return None,
        })
    }

    /// The text as the platform names it (and as stored).
    pub fn as_str(&self) -> &str {
        match self {
            EventType::Idle => "agent_idle",
            EventType::OnCall => "agent_on_call",
            EventType::WrapUp => "agent_wrap_up",
            EventType::Hold => "agent_hold",
            EventType::NotAvail => "agent_not_avail_state",
            EventType::Reg => "agent_reg",
            EventType::Unknown(text) => text,
        }
    }

    /// What the timeline does with it.
    pub fn kind(&self) -> EventKind {
        match self {
            EventType::Idle => EventKind::Idle,
            EventType::OnCall => EventKind::OnCall,
            EventType::WrapUp => EventKind::WrapUp,
            EventType::Hold => EventKind::Hold,
            EventType::NotAvail => EventKind::NotAvail,
            EventType::Reg => EventKind::Reg,
            // A hand-built `Unknown` with a known text still acts as that type.
            EventType::Unknown(text) => {
                EventType::known(text).map_or(EventKind::Unknown, |k| k.kind())
            }
        }
    }
}

impl PartialEq for EventType {
    fn eq(&self, other: &EventType) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::hash::Hash for EventType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for EventType {
    fn from(text: &str) -> EventType {
        EventType::parse(text)
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One agent state event, normalized: epoch seconds, sanitized name, trimmed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEvent {
    pub ext: String,
    pub ts: i64,
    /// Upstream event type, e.g. `agent_idle`; unknown types keep their text.
    pub event: EventType,
    pub enabled: bool,
    /// The reason for `agent_not_avail_state` (`lunch`, `Login`, ...), else `none`/`available`.
    pub state: String,
    pub user_id: String,
    pub username: String,
}

/// Call statistics of one extension for one aligned local hour (SPEC §3.3). Every count is
/// non-negative: upstream non-numbers and negatives were turned into 0 when parsing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CallStats {
    pub ext: String,
    pub name: String,
    /// `tags` as JSON text (`null` when upstream had none).
    pub tags: String,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub talked_time: i64,
    pub talked_average: i64,
    pub duration_seconds: i64,
    pub max_connect_seconds: i64,
    pub avg_connect_seconds: i64,
    pub total_connect_seconds: i64,
    pub callee_id_number: String,
    pub callee_id_name: String,
    pub registered_time: i64,
    pub idle_time: i64,
    pub wrap_up_time: i64,
    pub hold_time: i64,
    pub on_call_time: i64,
    pub on_call_time_avg: i64,
    pub not_available_time: i64,
    /// `not_available_detailed_report` as JSON text (`null` when absent).
    pub not_available_detailed_report: String,
}

/// The stats of every extension for one local hour `[hour_start, hour_end)`; loading it
/// replaces whatever an earlier fetch stored for that hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourStats {
    pub hour_start: i64,
    pub records: Vec<CallStats>,
}

/// Seconds of one agent-hour per state bucket (SPEC §5.2). The totals (Available,
/// Productive, Non-productive) are derived, never stored apart from their parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Buckets {
    pub idle: i64,
    pub talk: i64,
    pub wrap_up: i64,
    pub hold: i64,
    pub meeting: i64,
    pub training: i64,
    pub chat: i64,
    pub tickets: i64,
    pub outbound: i64,
    pub lunch: i64,
    pub tea: i64,
    pub bio: i64,
    pub short: i64,
    pub other: i64,
    pub login: i64,
    pub logoff: i64,
    pub dnd: i64,
    pub unaccounted: i64,
}

impl Buckets {
    /// Idle + Talk + Wrap-up + Hold.
    pub fn available(&self) -> i64 {
        self.idle + self.talk + self.wrap_up + self.hold
    }

    /// Meeting + Training + Chat + Tickets + Outbound.
    pub fn productive(&self) -> i64 {
        self.meeting + self.training + self.chat + self.tickets + self.outbound
    }

    /// Lunch + Tea/Coffee + Bio + Short + Other.
    pub fn non_productive(&self) -> i64 {
        self.lunch + self.tea + self.bio + self.short + self.other
    }

    /// Every second of the hour that the buckets account for; equals `covered_secs`.
    pub fn total(&self) -> i64 {
        self.available()
            + self.productive()
            + self.non_productive()
            + self.login
            + self.logoff
            + self.dnd
            + self.unaccounted
    }

    /// Adds `o`'s seconds bucket by bucket; the destructuring names every bucket, so a new
    /// one cannot be left out of the sums.
    pub fn add(&mut self, o: &Buckets) {
        let Buckets {
            idle,
            talk,
            wrap_up,
            hold,
            meeting,
            training,
            chat,
            tickets,
            outbound,
            lunch,
            tea,
            bio,
            short,
            other,
            login,
            logoff,
            dnd,
            unaccounted,
        } = *o;
        self.idle += idle;
        self.talk += talk;
        self.wrap_up += wrap_up;
        self.hold += hold;
        self.meeting += meeting;
        self.training += training;
        self.chat += chat;
        self.tickets += tickets;
        self.outbound += outbound;
        self.lunch += lunch;
        self.tea += tea;
        self.bio += bio;
        self.short += short;
        self.other += other;
        self.login += login;
        self.logoff += logoff;
        self.dnd += dnd;
        self.unaccounted += unaccounted;
    }
}

/// The figures of one agent-hour that add up: an hour's row stores them, and a report sums
/// them over a period, over agents, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HourFigures {
    pub buckets: Buckets,
    pub idle_count: i64,
    pub notavail_count: i64,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub failed_calls: i64,
    /// Seconds of the hour covered by loaded data: the whole hour once it is past.
    pub covered_secs: i64,
}

impl HourFigures {
    /// Adds `o` figure by figure (destructured, so a new figure cannot be left out).
    pub fn add(&mut self, o: &HourFigures) {
        let HourFigures {
            buckets,
            idle_count,
            notavail_count,
            total_calls,
            answered_calls,
            failed_calls,
            covered_secs,
        } = *o;
        self.buckets.add(&buckets);
        self.idle_count += idle_count;
        self.notavail_count += notavail_count;
        self.total_calls += total_calls;
        self.answered_calls += answered_calls;
        self.failed_calls += failed_calls;
        self.covered_secs += covered_secs;
    }
}

/// One row of `agent_activity`: an agent's local hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityRow {
    pub agent_ext: String,
    /// Epoch of the local hour's start.
    pub report_hour: i64,
    /// `YYYY-MM-DD HH:00`, local.
    pub report_hour_local: String,
    pub agent_name: String,
    /// Flattened, so that the row serializes with the figures beside its other columns.
    #[serde(flatten)]
    pub figures: HourFigures,
    /// Whether the hour is over (and so `figures.covered_secs` is the whole hour).
    pub complete: bool,
    /// The hour's events for drill-down, in the compact JSON of [`details`].
    pub event_details: String,
}

/// An event as stored, with its load-order id and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub ext: String,
    pub ts: i64,
    /// The event type, parsed once when the row is read (unknown types keep their text).
    pub event: EventType,
    pub enabled: bool,
    pub state: String,
    pub source: EventSource,
}

/// What one load writes, all in one transaction.
#[derive(Debug)]
pub struct LoadBatch<'a> {
    pub events: &'a [AgentEvent],
    /// Hours of stats; each replaces what that hour held from the same source.
    pub stats: &'a [HourStats],
    pub source: EventSource,
    /// `etl_state` entries committed with the data (watermarks, cursors).
    pub state: Vec<(String, String)>,
    /// Moves the source's "data until" forward (never back) to this instant.
    pub data_until: Option<i64>,
}

impl Default for LoadBatch<'_> {
    fn default() -> Self {
        LoadBatch {
            events: &[],
            stats: &[],
            source: EventSource::Api,
            state: Vec::new(),
            data_until: None,
        }
    }
}

/// Counts of one load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOutcome {
    /// Events not stored before.
    pub events_new: u64,
    /// Events in the batch, duplicates included.
    pub events_seen: u64,
    /// `users_calls` rows written.
    pub stats_rows: u64,
}

/// Calls of one extension in one hour, from `users_calls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCalls {
    pub ext: String,
    pub hour_start: i64,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub source: EventSource,
}

/// Which `agent_activity` rows a report reads: local hour starts (`report_hour_local`) in
/// `[from_local, to_local)`, optionally only some extensions. Rows come ordered by
/// `report_hour`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityFilter {
    pub from_local: String,
    pub to_local: String,
    pub exts: Vec<String>,
}

/// The cached platform token (SPEC §3.1). Its `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A Galera node's place in its cluster (SPEC §15), as `status` and `/health` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    /// `wsrep_ready`: the node takes queries (it is in the cluster's primary component).
    pub ready: bool,
    /// `wsrep_cluster_size`: the nodes of the component it is in.
    pub size: u32,
    /// `wsrep_local_state_comment`: Synced, Donor/Desynced, Joining, Initialized...
    pub state: String,
}

/// What one table holds, for the init-load prompt: its rows and the time range they date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub table: &'static str,
    pub rows: u64,
    /// Earliest and latest instant of the table's dating column, when it has rows and one.
    pub span: Option<(i64, i64)>,
}

/// Progress of a long load, reported by the library and drawn by the CLI (a progress bar,
/// or nothing); the library never sees how it is shown.
pub trait Reporter {
    /// How many steps there are.
    fn set_total(&self, _steps: u64) {}
    /// What the current step is (e.g. the local hour being fetched).
    fn set_message(&self, _message: &str) {}
    /// Steps finished since the last call.
    fn advance(&self, _steps: u64) {}
    /// How many steps are finished, where a step can be undone (bytes of a file read
    /// again).
    fn set_position(&self, _steps: u64) {}
    /// The steps are done: a display is taken down before what follows writes to the
    /// terminal.
    fn finish(&self) {}
}

/// A [`Reporter`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {}

#[cfg(test)]
mod tests {
    use super::{EventKind, EventType};

    #[test]
    fn every_known_type_round_trips_through_its_text() {
        let mut texts = Vec::new();
        for t in EventType::KNOWN {
            let text = t.as_str().to_string();
            let back = EventType::parse(&text);
            assert!(
                !matches!(back, EventType::Unknown(_)),
                "{text} parsed as unknown"
            );
            assert_eq!(back, t);
            assert_eq!(back.as_str(), text);
            assert_eq!(back.to_string(), text);
            assert_ne!(back.kind(), EventKind::Unknown, "{text}");
            texts.push(text);
        }
        texts.sort();
        texts.dedup();
        assert_eq!(
            texts.len(),
            EventType::KNOWN.len(),
            "two known types share a text"
        );
        assert_eq!(EventType::parse("agent_idle").kind(), EventKind::Idle);
        assert_eq!(
            EventType::parse("agent_not_avail_state").kind(),
            EventKind::NotAvail
        );
    }

    #[test]
    fn an_unknown_type_keeps_its_text_byte_for_byte() {
        for text in [
            "agent_parked",
            "Agent_Idle",
            "AGENT_IDLE",
            " agent_idle",
            "agent_idle ",
            "agent_idle\t",
            "agent__idle",
            "agent idle",
            "agent_on_call\u{200b}",
            "réunion",
            "",
        ] {
            let t = EventType::parse(text);
            assert_eq!(t, EventType::Unknown(text.to_string()), "{text:?}");
            assert_eq!(t.as_str().as_bytes(), text.as_bytes(), "{text:?}");
            assert_eq!(t.kind(), EventKind::Unknown, "{text:?}");
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn equality_and_hashing_go_by_the_text() {
        use std::collections::HashSet;
        let hand_built = EventType::Unknown("agent_hold".into());
        assert_eq!(hand_built, EventType::Hold);
        assert_eq!(hand_built.kind(), EventKind::Hold);
        let set: HashSet<EventType> = [EventType::Hold, hand_built].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(EventType::parse("agent_Hold"), EventType::Hold);
    }
}
