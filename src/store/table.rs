//! One descriptor per table: its columns (with the width of every text column), its key,
//! the column that dates its rows, and the one encoder and decoder of its rows. Column
//! lists, placeholder counts and decoders are all derived from these, so they cannot drift
//! apart; a test checks every descriptor against `schema.sql`.

use super::sql::RowRead;
use crate::error::Result;
use crate::model::queue::{Outcome, RawLine, RejectRow, Stint};
use crate::model::{
    ActivityRow, AgentEvent, Buckets, CachedToken, CallStats, EventSource, EventType, HourCalls,
    HourFigures, StoredEvent,
};

/// One SQL parameter, backend-neutral; text binds borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Int(i64),
    Null,
    Text(&'a str),
}

impl<'a> Cell<'a> {
    pub fn opt(v: Option<i64>) -> Cell<'a> {
        v.map_or(Cell::Null, Cell::Int)
    }
}

/// A column and, for text columns, its width in characters (`VARCHAR(n)`; `TEXT` columns
/// have the width MySQL allows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub width: Option<usize>,
}

const fn int(name: &'static str) -> Column {
    Column { name, width: None }
}

const fn text(name: &'static str, width: usize) -> Column {
    Column {
        name,
        width: Some(width),
    }
}

/// `TEXT` on MySQL holds 65,535 bytes; 16,000 characters of up to 4 bytes fit.
pub const TEXT_CHARS: usize = 16_000;
/// `MEDIUMTEXT`: 16 MiB.
pub const MEDIUMTEXT_CHARS: usize = 4_000_000;

/// A table of apr's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// The written columns, in the order of the table's encoder (a surrogate `id`, assigned
    /// by the database, comes first where the table has one and is not part of this list).
    pub columns: &'static [Column],
    /// Whether the table has a surrogate `id` before `columns`.
    pub has_id: bool,
    /// The primary (or natural unique) key, for upserts.
    pub key: &'static [&'static str],
    /// The column that dates a row (epoch seconds), for the init-load prompt.
    pub time_column: Option<&'static str>,
}

impl Table {
    /// `a, b, c` of the written columns.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        names.join(", ")
    }

    /// Whether each column (without the surrogate `id`) holds integers.
    pub fn int_columns(&self) -> Vec<bool> {
        self.columns.iter().map(|c| c.width.is_none()).collect()
    }

    /// Every column including the surrogate `id`, for copying whole rows.
    pub fn all_columns(&self) -> String {
        if self.has_id {
            format!("id, {}", self.column_list())
        } else {
            self.column_list()
        }
    }

    pub fn width(&self, i: usize) -> usize {
        self.columns[i].width.unwrap_or(usize::MAX)
    }

    /// Text cell of column `i`, cut to the column's width.
    fn fit<'a>(&self, i: usize, s: &'a str) -> Cell<'a> {
        Cell::Text(clip(s, self.width(i)))
    }

    /// The column named `name` (descriptors are static: a wrong name is a bug).
    pub fn column(&self, name: &str) -> Column {
        *self
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} has no column {name}", self.name))
    }

    /// `Err(reason)` when `value` is longer than column `name` holds. For a key column that
    /// is a value no backend may cut (two values would become one key); MySQL would refuse
    /// it and SQLite keep it whole, so it is refused before either sees it (issue 15.3).
    pub fn check_fits(&self, name: &str, value: &str) -> std::result::Result<(), String> {
        let width = self.column(name).width.unwrap_or(usize::MAX);
        if value.len() <= width {
            return Ok(());
        }
        let chars = value.chars().count();
        if chars <= width {
            return Ok(());
        }
        Err(format!(
            "{name} '{}...' is {chars} characters, longer than the {width} of {}.{name}",
            clip(value, 24),
            self.name
        ))
    }
}

/// The key text columns of an agent event fit `agent_events` (and so `agents`,
/// `users_calls` and `agent_activity`, whose extension columns are as wide).
pub fn event_keys_fit(e: &AgentEvent) -> std::result::Result<(), String> {
    let t = &AGENT_EVENTS;
    t.check_fits("ext", &e.ext)?;
    t.check_fits("event", e.event.as_str())?;
    t.check_fits("state", &e.state)
}

/// `s` cut to at most `max_chars` characters, the width of its column. MySQL refuses a
/// longer value and SQLite would keep it whole, so both backends store the same cut value.
pub fn clip(s: &str, max_chars: usize) -> &str {
    // A string no longer in bytes than the limit has no more characters either.
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

pub const APR_META: Table = Table {
    name: "apr_meta",
    columns: &[text("meta_key", 64), text("meta_value", 255)],
    has_id: false,
    key: &["meta_key"],
    time_column: None,
};

pub const AGENT_EVENTS: Table = Table {
    name: "agent_events",
    columns: &[
        text("ext", 64),
        int("ts_epoch"),
        text("event", 64),
        int("enabled"),
        text("state", 128),
        text("user_id", 64),
        text("username", 255),
        text("source", 16),
        int("loaded_at"),
    ],
    has_id: true,
    key: &["ts_epoch", "ext", "event", "enabled", "state"],
    time_column: Some("ts_epoch"),
};

pub fn encode_event<'a>(e: &'a AgentEvent, source: EventSource, now: i64) -> Vec<Cell<'a>> {
    let t = &AGENT_EVENTS;
    vec![
        Cell::Text(&e.ext),
        Cell::Int(e.ts),
        Cell::Text(e.event.as_str()),
        Cell::Int(e.enabled as i64),
        Cell::Text(&e.state),
        t.fit(5, &e.user_id),
        t.fit(6, &e.username),
        Cell::Text(source.as_str()),
        Cell::Int(now),
    ]
}

/// The columns [`decode_stored_event`] reads.
pub const STORED_EVENT_SELECT: &str = "id, ext, ts_epoch, event, enabled, state, source";

pub fn decode_stored_event(r: &mut dyn RowRead) -> Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.int(0)?,
        ext: r.text(1)?,
        ts: r.int(2)?,
        event: EventType::parse(&r.text(3)?),
        enabled: r.int(4)? != 0,
        state: r.text(5)?,
        source: decode_source(&r.text(6)?),
    })
}

fn decode_source(s: &str) -> EventSource {
    // Only apr writes this column; an unknown value is read as the API's (the wider clock).
    EventSource::parse(s).unwrap_or(EventSource::Api)
}

pub const USERS_CALLS: Table = Table {
    name: "users_calls",
    columns: &[
        text("ext", 64),
        int("hour_start"),
        text("name", 255),
        text("tags", TEXT_CHARS),
        int("total_calls"),
        int("answered_calls"),
        int("talked_time"),
        int("talked_average"),
        int("duration_seconds"),
        int("max_connect_seconds"),
        int("avg_connect_seconds"),
        int("total_connect_seconds"),
        text("callee_id_number", 255),
        text("callee_id_name", 255),
        int("registered_time"),
        int("idle_time"),
        int("wrap_up_time"),
        int("hold_time"),
        int("on_call_time"),
        int("on_call_time_avg"),
        int("not_available_time"),
        text("not_available_detailed_report", TEXT_CHARS),
        text("source", 16),
        int("fetched_at"),
    ],
    has_id: false,
    key: &["ext", "hour_start"],
    time_column: Some("hour_start"),
};

pub fn encode_stats<'a>(
    r: &'a CallStats,
    hour_start: i64,
    source: EventSource,
    now: i64,
) -> Vec<Cell<'a>> {
    let t = &USERS_CALLS;
    vec![
        Cell::Text(&r.ext),
        Cell::Int(hour_start),
        t.fit(2, &r.name),
        Cell::Text(&r.tags),
        Cell::Int(r.total_calls),
        Cell::Int(r.answered_calls),
        Cell::Int(r.talked_time),
        Cell::Int(r.talked_average),
        Cell::Int(r.duration_seconds),
        Cell::Int(r.max_connect_seconds),
        Cell::Int(r.avg_connect_seconds),
        Cell::Int(r.total_connect_seconds),
        t.fit(12, &r.callee_id_number),
        t.fit(13, &r.callee_id_name),
        Cell::Int(r.registered_time),
        Cell::Int(r.idle_time),
        Cell::Int(r.wrap_up_time),
        Cell::Int(r.hold_time),
        Cell::Int(r.on_call_time),
        Cell::Int(r.on_call_time_avg),
        Cell::Int(r.not_available_time),
        Cell::Text(&r.not_available_detailed_report),
        Cell::Text(source.as_str()),
        Cell::Int(now),
    ]
}

/// The columns [`decode_hour_calls`] reads.
pub const HOUR_CALLS_SELECT: &str = "ext, hour_start, total_calls, answered_calls, source";

pub fn decode_hour_calls(r: &mut dyn RowRead) -> Result<HourCalls> {
    Ok(HourCalls {
        ext: r.text(0)?,
        hour_start: r.int(1)?,
        total_calls: r.int(2)?,
        answered_calls: r.int(3)?,
        source: decode_source(&r.text(4)?),
    })
}

pub const AGENTS: Table = Table {
    name: "agents",
    columns: &[
        text("ext", 64),
        text("stats_name", 255),
        int("stats_name_at"),
        text("event_name", 255),
        int("event_name_at"),
    ],
    has_id: false,
    key: &["ext"],
    time_column: None,
};

/// Names of one extension with the instant each was seen (`i64::MIN` = never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSeen {
    pub stats: String,
    pub stats_at: i64,
    pub event: String,
    pub event_at: i64,
}

impl Default for NameSeen {
    fn default() -> Self {
        NameSeen {
            stats: String::new(),
            stats_at: i64::MIN,
            event: String::new(),
            event_at: i64::MIN,
        }
    }
}

impl NameSeen {
    /// Latest stats name, else latest event name, else `Unknown`.
    pub fn canonical(&self) -> String {
        if !self.stats.is_empty() {
            self.stats.clone()
        } else if !self.event.is_empty() {
            self.event.clone()
        } else {
            "Unknown".to_string()
        }
    }
}

pub fn encode_name<'a>(ext: &'a str, n: &'a NameSeen) -> Vec<Cell<'a>> {
    let t = &AGENTS;
    vec![
        Cell::Text(ext),
        t.fit(1, &n.stats),
        Cell::Int(n.stats_at),
        t.fit(3, &n.event),
        Cell::Int(n.event_at),
    ]
}

pub fn decode_name(r: &mut dyn RowRead) -> Result<(String, NameSeen)> {
    Ok((
        r.text(0)?,
        NameSeen {
            stats: r.text(1)?,
            stats_at: r.int(2)?,
            event: r.text(3)?,
            event_at: r.int(4)?,
        },
    ))
}

pub const AGENT_ACTIVITY: Table = Table {
    name: "agent_activity",
    columns: &[
        text("agent_ext", 64),
        int("report_hour"),
        text("report_hour_local", 16),
        text("agent_name", 255),
        int("available_secs"),
        int("idle_secs"),
        int("talk_secs"),
        int("wrap_up_secs"),
        int("hold_secs"),
        int("productive_secs"),
        int("meeting_secs"),
        int("training_secs"),
        int("chat_secs"),
        int("tickets_secs"),
        int("outbound_secs"),
        int("non_productive_secs"),
        int("lunch_secs"),
        int("tea_secs"),
        int("bio_secs"),
        int("short_secs"),
        int("other_secs"),
        int("login_secs"),
        int("logoff_secs"),
        int("dnd_secs"),
        int("unaccounted_secs"),
        int("idle_count"),
        int("notavail_count"),
        int("total_calls"),
        int("answered_calls"),
        int("failed_calls"),
        int("covered_secs"),
        int("complete"),
        text("event_details", MEDIUMTEXT_CHARS),
    ],
    has_id: false,
    key: &["agent_ext", "report_hour"],
    time_column: Some("report_hour"),
};

pub fn encode_activity(r: &ActivityRow) -> Vec<Cell<'_>> {
    let f = &r.figures;
    let b = &f.buckets;
    let t = &AGENT_ACTIVITY;
    let mut cells = vec![
        Cell::Text(&r.agent_ext),
        Cell::Int(r.report_hour),
        Cell::Text(&r.report_hour_local),
        t.fit(3, &r.agent_name),
    ];
    cells.extend(
        [
            b.available(),
            b.idle,
            b.talk,
            b.wrap_up,
            b.hold,
            b.productive(),
            b.meeting,
            b.training,
            b.chat,
            b.tickets,
            b.outbound,
            b.non_productive(),
            b.lunch,
            b.tea,
            b.bio,
            b.short,
            b.other,
            b.login,
            b.logoff,
            b.dnd,
            b.unaccounted,
            f.idle_count,
            f.notavail_count,
            f.total_calls,
            f.answered_calls,
            f.failed_calls,
            f.covered_secs,
            r.complete as i64,
        ]
        .map(Cell::Int),
    );
    cells.push(Cell::Text(&r.event_details));
    cells
}

/// Rebuilds a row from the columns of [`AGENT_ACTIVITY`]; the derived totals are not read.
pub fn decode_activity(r: &mut dyn RowRead) -> Result<ActivityRow> {
    let mut n = [0i64; 28];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = r.int(4 + i)?;
    }
    let buckets = Buckets {
        idle: n[1],
        talk: n[2],
        wrap_up: n[3],
        hold: n[4],
        meeting: n[6],
        training: n[7],
        chat: n[8],
        tickets: n[9],
        outbound: n[10],
        lunch: n[12],
        tea: n[13],
        bio: n[14],
        short: n[15],
        other: n[16],
        login: n[17],
        logoff: n[18],
        dnd: n[19],
        unaccounted: n[20],
    };
    Ok(ActivityRow {
        agent_ext: r.text(0)?,
        report_hour: r.int(1)?,
        report_hour_local: r.text(2)?,
        agent_name: r.text(3)?,
        figures: HourFigures {
            buckets,
            idle_count: n[21],
            notavail_count: n[22],
            total_calls: n[23],
            answered_calls: n[24],
            failed_calls: n[25],
            covered_secs: n[26],
        },
        complete: n[27] != 0,
        event_details: r.text(32)?,
    })
}

pub const ETL_STATE: Table = Table {
    name: "etl_state",
    columns: &[
        text("state_key", 255),
        text("state_value", TEXT_CHARS),
        int("updated_at"),
    ],
    has_id: false,
    key: &["state_key"],
    time_column: None,
};

pub const API_TOKEN: Table = Table {
    name: "api_token",
    columns: &[
        int("id"),
        text("access_token", TEXT_CHARS),
        text("refresh_token", TEXT_CHARS),
        int("expires_at"),
    ],
    has_id: false,
    key: &["id"],
    time_column: None,
};

pub fn encode_token(t: &CachedToken) -> Vec<Cell<'_>> {
    vec![
        Cell::Int(1),
        Cell::Text(&t.access_token),
        Cell::Text(&t.refresh_token),
        Cell::Int(t.expires_at),
    ]
}

pub fn decode_token(r: &mut dyn RowRead) -> Result<CachedToken> {
    Ok(CachedToken {
        access_token: r.text(1)?,
        refresh_token: r.text(2)?,
        expires_at: r.int(3)?,
    })
}

pub const QUEUE_LOG: Table = Table {
    name: "queue_log",
    columns: &[
        int("time"),
        int("line_hash"),
        text("callid", 128),
        text("queuename", 128),
        text("agent", 255),
        text("event", 64),
        text("data1", TEXT_CHARS),
        text("data2", TEXT_CHARS),
        text("data3", TEXT_CHARS),
        text("data4", TEXT_CHARS),
        text("data5", TEXT_CHARS),
        int("loaded_at"),
    ],
    has_id: false,
    key: &["time", "line_hash"],
    time_column: Some("time"),
};

pub fn encode_raw_line<'a>(l: &RawLine<'a>, now: i64) -> Vec<Cell<'a>> {
    let t = &QUEUE_LOG;
    vec![
        Cell::Int(l.time),
        Cell::Int(l.hash as i64),
        t.fit(2, l.callid),
        t.fit(3, l.queuename),
        t.fit(4, l.agent),
        t.fit(5, l.event),
        t.fit(6, l.data[0]),
        t.fit(7, l.data[1]),
        t.fit(8, l.data[2]),
        t.fit(9, l.data[3]),
        t.fit(10, l.data[4]),
        Cell::Int(now),
    ]
}

pub const QUEUE_CALLS: Table = Table {
    name: "queue_calls",
    columns: &[
        text("callid", 128),
        text("queuename", 128),
        int("enter_time"),
        int("enter_hour"),
        text("enter_hour_local", 16),
        text("caller_number", 128),
        text("caller_name", 255),
        int("entry_position"),
        text("outcome", 16),
        text("agent", 64),
        int("wait_secs"),
        int("talk_secs"),
        int("ring_attempts"),
        int("end_time"),
    ],
    has_id: false,
    key: &["callid", "queuename", "enter_time"],
    time_column: Some("enter_time"),
};

pub fn encode_stint(s: &Stint) -> Vec<Cell<'_>> {
    let t = &QUEUE_CALLS;
    vec![
        t.fit(0, &s.callid),
        t.fit(1, &s.queue),
        Cell::Int(s.enter_time),
        Cell::Int(s.enter_hour),
        Cell::Text(&s.enter_hour_local),
        t.fit(5, &s.caller_number),
        t.fit(6, &s.caller_name),
        Cell::opt(s.entry_position),
        Cell::Text(s.outcome.unwrap_or(Outcome::Incomplete).as_str()),
        t.fit(9, &s.agent),
        Cell::opt(s.wait_secs),
        Cell::opt(s.talk_secs),
        Cell::Int(s.ring_attempts),
        Cell::opt(s.end_time),
    ]
}

pub fn decode_stint(r: &mut dyn RowRead) -> Result<Stint> {
    Ok(Stint {
        callid: r.text(0)?,
        queue: r.text(1)?,
        enter_time: r.int(2)?,
        enter_hour: r.int(3)?,
        enter_hour_local: r.text(4)?,
        caller_number: r.text(5)?,
        caller_name: r.text(6)?,
        entry_position: r.opt_int(7)?,
        outcome: Outcome::parse(&r.text(8)?),
        agent: r.text(9)?,
        wait_secs: r.opt_int(10)?,
        talk_secs: r.opt_int(11)?,
        ring_attempts: r.int(12)?,
        end_time: r.opt_int(13)?,
        pending: false,
    })
}

pub const QUEUE_LOG_REJECTS: Table = Table {
    name: "queue_log_rejects",
    columns: &[
        text("file", 255),
        int("line_no"),
        int("line_hash"),
        text("reason", 255),
        text("line", TEXT_CHARS),
        int("loaded_at"),
    ],
    has_id: false,
    key: &["file", "line_no", "line_hash"],
    time_column: Some("loaded_at"),
};

pub fn encode_reject<'a>(r: &'a RejectRow<'a>, now: i64) -> Vec<Cell<'a>> {
    let t = &QUEUE_LOG_REJECTS;
    vec![
        t.fit(0, r.file),
        Cell::Int(r.line_no as i64),
        Cell::Int(r.hash as i64),
        t.fit(3, &r.reason),
        t.fit(4, r.line),
        Cell::Int(now),
    ]
}

pub const QUEUE_LOG_STATE: Table = Table {
    name: "queue_log_state",
    columns: &[
        text("state_key", 64),
        text("state_value", usize::MAX),
        int("updated_at"),
    ],
    has_id: false,
    key: &["state_key"],
    time_column: None,
};

/// Every table of apr's schema. A database holding one of these names without apr's
/// ownership marker is not apr's (SPEC §9).
pub const ALL: &[&Table] = &[
    &APR_META,
    &AGENT_EVENTS,
    &USERS_CALLS,
    &AGENTS,
    &AGENT_ACTIVITY,
    &ETL_STATE,
    &API_TOKEN,
    &QUEUE_LOG,
    &QUEUE_CALLS,
    &QUEUE_LOG_REJECTS,
    &QUEUE_LOG_STATE,
];

/// The tables `init-load` replaces (everything but `apr_meta` and the cached token). The
/// queue_log tables go too: their cursors live in `etl_state`, and re-reading the files after
/// a reload must derive the agent timeline again.
pub const REPLACED_BY_INIT_LOAD: &[&Table] = &[
    &AGENT_EVENTS,
    &USERS_CALLS,
    &AGENT_ACTIVITY,
    &AGENTS,
    &ETL_STATE,
    &QUEUE_LOG,
    &QUEUE_CALLS,
    &QUEUE_LOG_REJECTS,
    &QUEUE_LOG_STATE,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// `(column, VARCHAR width or None)` of `table` in `schema.sql`, in order.
    fn schema_columns(table: &str) -> Vec<(String, Option<usize>, String)> {
        let sql = super::super::SCHEMA_SQL;
        let head = format!("CREATE TABLE IF NOT EXISTS {table} (");
        let start = sql
            .find(&head)
            .unwrap_or_else(|| panic!("{table} in schema.sql"))
            + head.len();
        let body = &sql[start..start + sql[start..].find("\n)").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("--")
                    && !l.starts_with("CONSTRAINT")
                    && !l.starts_with("PRIMARY KEY")
                    && !l.starts_with("/*")
            })
            .map(|l| {
                let mut parts = l.split_whitespace();
                let name = parts.next().unwrap().to_string();
                let ty = parts.next().unwrap().trim_end_matches(',').to_string();
                let width = ty
                    .strip_prefix("VARCHAR(")
                    .map(|w| w.trim_end_matches(')').parse().unwrap());
                (name, width, ty)
            })
            .collect()
    }

    #[test]
    fn every_descriptor_matches_schema_sql() {
        for table in ALL {
            let mut cols = schema_columns(table.name);
            if table.has_id {
                assert_eq!(cols.remove(0).0, "id", "{}", table.name);
            }
            let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
            let ours: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            assert_eq!(names, ours, "{}", table.name);
            for ((name, width, ty), col) in cols.iter().zip(table.columns) {
                match width {
                    Some(w) => assert_eq!(col.width, Some(*w), "{}.{name}", table.name),
                    None if ty.contains("TEXT") => {
                        assert!(col.width.is_some(), "{}.{name} is text", table.name)
                    }
                    None => assert_eq!(col.width, None, "{}.{name} is an integer", table.name),
                }
            }
        }
    }

    #[test]
    fn encoders_fill_every_column() {
        let e = AgentEvent {
            ext: "1".into(),
            ts: 1,
            event: "agent_idle".into(),
            enabled: true,
            state: "none".into(),
            user_id: String::new(),
            username: "n".repeat(300),
        };
        let cells = encode_event(&e, EventSource::Api, 0);
        assert_eq!(cells.len(), AGENT_EVENTS.columns.len());
        assert_eq!(cells[6], Cell::Text(&e.username[..255]));
        let s = CallStats::default();
        assert_eq!(
            encode_stats(&s, 0, EventSource::Api, 0).len(),
            USERS_CALLS.columns.len()
        );
        let row = ActivityRow {
            agent_ext: String::new(),
            report_hour: 0,
            report_hour_local: String::new(),
            agent_name: String::new(),
            figures: HourFigures::default(),
            complete: false,
            event_details: String::new(),
        };
        assert_eq!(encode_activity(&row).len(), AGENT_ACTIVITY.columns.len());
        let n = NameSeen::default();
        assert_eq!(encode_name("1", &n).len(), AGENTS.columns.len());
        let t = CachedToken {
            access_token: String::new(),
            refresh_token: String::new(),
            expires_at: 0,
        };
        assert_eq!(encode_token(&t).len(), API_TOKEN.columns.len());
        let raw = RawLine {
            time: 0,
            hash: 0,
            callid: "",
            queuename: "",
            agent: "",
            event: "",
            data: [""; 5],
        };
        assert_eq!(encode_raw_line(&raw, 0).len(), QUEUE_LOG.columns.len());
        let rej = RejectRow {
            file: "",
            line_no: 0,
            hash: 0,
            reason: String::new(),
            line: "",
        };
        assert_eq!(
            encode_reject(&rej, 0).len(),
            QUEUE_LOG_REJECTS.columns.len()
        );
    }

    #[test]
    fn key_values_longer_than_their_column_are_named() {
        let mut e = AgentEvent {
            ext: "2".repeat(64),
            ts: 1,
            event: "agent_idle".into(),
            enabled: true,
            state: "é".repeat(128),
            user_id: String::new(),
            username: String::new(),
        };
        assert_eq!(event_keys_fit(&e), Ok(()));
        e.ext.push('2');
        let why = event_keys_fit(&e).unwrap_err();
        assert!(
            why.starts_with("ext '222222222222222222222222...' is 65 characters, longer than the 64 of agent_events.ext"),
            "{why}"
        );
        e.ext.pop();
        e.state.push('x');
        assert!(
            event_keys_fit(&e)
                .unwrap_err()
                .contains("agent_events.state")
        );
    }

    #[test]
    fn clip_cuts_at_a_character_count() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("ééééé", 2), "éé");
        assert_eq!(clip("", 0), "");
    }
}
