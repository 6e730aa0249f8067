//! One descriptor per table: its columns (with the width of every text column), its key and
//! the column that dates its rows. Column lists and placeholder counts are derived from
//! these, and [`super::rows`] encodes and decodes rows by them, so they cannot drift apart;
//! a test checks every descriptor against `schema.sql`.

use super::value::Cell;
use crate::model::AgentEvent;

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
    pub fn fit<'a>(&self, i: usize, s: &'a str) -> Cell<'a> {
        Cell::text(clip(s, self.width(i)))
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
        text("hangup_by", 8),
        text("did", 128),
        text("agent_rings", TEXT_CHARS),
    ],
    has_id: false,
    key: &["callid", "queuename", "enter_time"],
    time_column: Some("enter_time"),
};

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

pub const AGENT_LIVE: Table = Table {
    name: "agent_live",
    columns: &[
        text("agent_ext", 64),
        text("agent_name", 255),
        text("source", 16),
        text("state", 16),
        text("reason", 128),
        int("since"),
        int("as_of"),
        int("day_start"),
        int("answered_calls"),
        int("talk_secs"),
        int("hold_secs"),
        int("wrap_up_secs"),
        int("break_secs"),
        int("dnd_secs"),
    ],
    has_id: false,
    key: &["agent_ext"],
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
    &AGENT_LIVE,
    &ETL_STATE,
    &API_TOKEN,
    &QUEUE_LOG,
    &QUEUE_CALLS,
    &QUEUE_LOG_REJECTS,
    &QUEUE_LOG_STATE,
];

/// The tables `init-load` replaces (everything but `apr_meta` and the cached token). The
/// queue_log tables go too: their cursors live in `etl_state`, and re-reading the files after
/// a reload must derive the agent timeline again. `agent_live` goes with them: the old floor
/// would show states of data that is gone, and the staging aggregation wrote the new one.
pub const REPLACED_BY_INIT_LOAD: &[&Table] = &[
    &AGENT_EVENTS,
    &USERS_CALLS,
    &AGENT_ACTIVITY,
    &AGENT_LIVE,
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
        let sql = crate::store::schema::SCHEMA_SQL;
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
