//! The normalized records that flow from sources into the store: agent state events (the
//! timeline) and per-hour call statistics. Sources produce these; nothing downstream sees
//! upstream JSON.

use serde::Serialize;

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

/// One agent state event, normalized: epoch seconds, sanitized name, trimmed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEvent {
    pub ext: String,
    pub ts: i64,
    /// Upstream event type, e.g. `agent_idle`; unknown types are kept as they came.
    pub event: String,
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
    pub buckets: Buckets,
    pub idle_count: i64,
    pub notavail_count: i64,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub failed_calls: i64,
    /// Seconds of the hour covered by loaded data: the whole hour once it is past.
    pub covered_secs: i64,
    /// Whether the hour is over (and so `covered_secs` is the whole hour).
    pub complete: bool,
    /// JSON array of the hour's events, for drill-down.
    pub event_details: String,
}
