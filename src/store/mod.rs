//! Storage: one trait, [`Store`], with an SQLite backend (the embedded default) and a
//! MySQL/MariaDB backend. The schema lives in `schema.sql` at the repository root and is
//! applied on open. Every write method is one transaction; loads are idempotent (the natural
//! key of `agent_events`, replace-per-hour for `users_calls`).

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::{ActivityRow, AgentEvent, EventSource, HourStats};

pub mod maintenance;
pub mod mysql;
mod mysql_queue;
pub mod queue;
pub mod sqlite;
mod sqlite_queue;

/// The portable schema, applied idempotently on every open.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");
/// Recorded in `apr_meta` as `schema_version`.
pub const SCHEMA_VERSION: &str = "1";

/// `etl_state` keys shared by the pipeline.
pub mod keys {
    /// Newest instant the loaded data speaks for; time after it is never guessed.
    pub const DATA_UNTIL: &str = "data_until";
    /// Earliest / latest instant touched by loads since the last aggregation.
    pub const DIRTY_FROM: &str = "aggregate.dirty_from";
    pub const DIRTY_TO: &str = "aggregate.dirty_to";
    /// Last successful `collect`: the end of its fetched window, and when it ran.
    pub const COLLECT_EVENTS_UNTIL: &str = "collect.events_until";
    pub const COLLECT_LAST_RUN: &str = "collect.last_run";
}

/// Where a database lives, parsed from `APR_DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(std::path::PathBuf),
    Mysql(String),
}

impl DatabaseUrl {
    /// `sqlite://PATH`, a bare path, or `mysql://user:pass@host:port/db`.
    pub fn parse(s: &str) -> Result<DatabaseUrl> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::config(
                    "APR_DATABASE_URL 'sqlite://' has no path; expected sqlite://PATH",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(path.into()));
        }
        if s.starts_with("mysql://") || s.starts_with("mariadb://") {
            return Ok(DatabaseUrl::Mysql(s.replacen("mariadb://", "mysql://", 1)));
        }
        if s.is_empty() || s.contains("://") {
            return Err(Error::config(format!(
                "APR_DATABASE_URL '{}' is not understood; expected sqlite://PATH, a file path, or mysql://user:pass@host:port/db",
                redact_url(s)
            )));
        }
        Ok(DatabaseUrl::Sqlite(s.into()))
    }
}

/// The URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Opens (creating if needed) the database and applies the schema.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path)?),
        DatabaseUrl::Mysql(url) => Box::new(mysql::MysqlStore::open(url)?),
    })
}

/// An event as stored, with its load-order id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub ext: String,
    pub ts: i64,
    pub event: String,
    pub enabled: bool,
    pub state: String,
}

/// What one load writes, all in one transaction.
#[derive(Debug, Default)]
pub struct LoadBatch<'a> {
    pub events: &'a [AgentEvent],
    /// Hours of stats; each replaces what that hour held from the same source.
    pub stats: &'a [HourStats],
    pub source: Option<EventSource>,
    /// `etl_state` entries committed with the data (watermarks, cursors).
    pub state: Vec<(String, String)>,
    /// Moves `data_until` forward (never back) to this instant.
    pub data_until: Option<i64>,
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

/// The cached platform token (SPEC §3.1).
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

/// A database holding apr's tables.
pub trait Store: Send {
    /// `sqlite` or `mysql`.
    fn backend(&self) -> &'static str;
    /// Checks the connection (for `/health`).
    fn ping(&mut self) -> Result<()>;

    /// A value of `apr_meta` (`schema_version`, `timezone`).
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;

    /// A value of `etl_state`.
    fn state(&mut self, key: &str) -> Result<Option<String>>;
    fn set_state(&mut self, key: &str, value: &str) -> Result<()>;

    /// Loads events and stats in one transaction, records the instants touched for the next
    /// aggregation, and commits `batch.state` with them.
    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome>;

    /// Row counts of the tables `init-load` wipes, in a fixed order.
    fn table_counts(&mut self) -> Result<Vec<(&'static str, u64)>>;
    /// Empties the staging and summary tables and the ETL state, in one transaction.
    fn wipe(&mut self) -> Result<()>;

    /// Earliest event or stats hour stored, if any.
    fn earliest_data(&mut self) -> Result<Option<i64>>;
    /// Events with `after < ts < before`, in `(ts, id)` order.
    fn scan_events(
        &mut self,
        after: i64,
        before: i64,
        each: &mut dyn FnMut(StoredEvent),
    ) -> Result<()>;
    /// `users_calls` rows with `from <= hour_start < to`.
    fn hour_calls(&mut self, from: i64, to: i64) -> Result<Vec<HourCalls>>;
    /// Canonical agent names: latest stats name, else latest event name.
    fn agent_names(&mut self) -> Result<HashMap<String, String>>;
    /// Replaces every `agent_activity` row with `from <= report_hour < to` by `rows`, and
    /// writes `state`, in one transaction.
    fn replace_activity(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
    ) -> Result<()>;
    /// Streams the report's rows in `report_hour` order.
    fn scan_activity(
        &mut self,
        filter: &ActivityFilter,
        each: &mut dyn FnMut(ActivityRow) -> Result<()>,
    ) -> Result<()>;

    fn token(&mut self) -> Result<Option<CachedToken>>;
    fn set_token(&mut self, token: &CachedToken) -> Result<()>;

    /// Takes the named exclusive lock for as long as this store lives (SQLite: a lock on a
    /// file beside the database; MySQL: `GET_LOCK`). `Ok(false)` when another process holds it.
    fn try_lock(&mut self, name: &str) -> Result<bool>;

    /// The queue_log tables of this database, when the backend has them (the queue report).
    fn queue_store(&mut self) -> Option<&mut dyn queue::QueueStore> {
        None
    }
}

/// The latest non-empty name per extension in a batch: from events (by timestamp) and from
/// stats (by hour). Both backends merge these into `agents` with [`merge_name`].
pub(crate) fn batch_names(batch: &LoadBatch<'_>) -> HashMap<String, NameSeen> {
    let mut seen: HashMap<String, NameSeen> = HashMap::new();
    for e in batch.events {
        if !e.username.is_empty() {
            let entry = seen.entry(e.ext.clone()).or_default();
            if e.ts >= entry.event_at {
                entry.event = clip(&e.username, NAME_MAX).to_string();
                entry.event_at = e.ts;
            }
        }
    }
    for hour in batch.stats {
        for r in &hour.records {
            if !r.name.is_empty() {
                let entry = seen.entry(r.ext.clone()).or_default();
                if hour.hour_start >= entry.stats_at {
                    entry.stats = clip(&r.name, NAME_MAX).to_string();
                    entry.stats_at = hour.hour_start;
                }
            }
        }
    }
    seen
}

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

/// Merges a batch's names into the stored ones; newer (or equally new) wins.
pub(crate) fn merge_name(stored: Option<NameSeen>, new: &NameSeen) -> NameSeen {
    let mut out = stored.unwrap_or_default();
    if !new.stats.is_empty() && new.stats_at >= out.stats_at {
        out.stats = new.stats.clone();
        out.stats_at = new.stats_at;
    }
    if !new.event.is_empty() && new.event_at >= out.event_at {
        out.event = new.event.clone();
        out.event_at = new.event_at;
    }
    out
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

/// The instants a batch touches, `(earliest, latest)`, for the dirty range of §5.4.
pub(crate) fn batch_span(batch: &LoadBatch<'_>, old_data_until: Option<i64>) -> Option<(i64, i64)> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for e in batch.events {
        lo = lo.min(e.ts);
        hi = hi.max(e.ts);
    }
    for h in batch.stats {
        lo = lo.min(h.hour_start);
        hi = hi.max(h.hour_start);
    }
    // Advancing data_until changes the covered part of the hour in progress.
    if let (Some(new), Some(old)) = (batch.data_until, old_data_until)
        && new > old
    {
        lo = lo.min(old);
        hi = hi.max(new);
    }
    if let (Some(new), None) = (batch.data_until, old_data_until) {
        hi = hi.max(new);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Splits `schema.sql` into statements.
pub(crate) fn schema_statements() -> impl Iterator<Item = String> {
    let mut stmts = Vec::new();
    let mut cur = String::new();
    for line in SCHEMA_SQL.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if line.trim_end().ends_with(';') {
            stmts.push(std::mem::take(&mut cur));
        }
    }
    stmts.into_iter().filter(|s| !s.trim().is_empty())
}

/// Shared values for both backends' `wipe` and `table_counts`: the tables init-load empties.
pub(crate) const WIPED_TABLES: &[&str] = &[
    "agent_events",
    "users_calls",
    "agent_activity",
    "agents",
    "etl_state",
    // queue_log staging goes too: its derivation state and cursors live in etl_state, and
    // re-reading the files after a wipe must derive the agent timeline again.
    "queue_log",
    "queue_calls",
    "queue_log_rejects",
    "queue_log_state",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://apr.db").unwrap(),
            DatabaseUrl::Sqlite("apr.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("/var/lib/apr.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/apr.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("mysql://root:pw@127.0.0.1:3306/apr").unwrap(),
            DatabaseUrl::Mysql(_)
        ));
        let err = DatabaseUrl::parse("postgres://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("postgres://u:***@h/db") && !err.contains("secret"),
            "{err}"
        );
    }

    #[test]
    fn schema_splits_into_create_statements() {
        let stmts: Vec<String> = schema_statements().collect();
        assert!(stmts.len() >= 7);
        assert!(
            stmts
                .iter()
                .all(|s| s.trim_start().starts_with("CREATE TABLE IF NOT EXISTS"))
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

    #[test]
    fn newer_names_win() {
        let old = NameSeen {
            stats: "Old".into(),
            stats_at: 10,
            ..Default::default()
        };
        let newer = NameSeen {
            stats: "New".into(),
            stats_at: 20,
            event: "Ev".into(),
            event_at: 5,
        };
        let merged = merge_name(Some(old.clone()), &newer);
        assert_eq!(
            (merged.stats.as_str(), merged.event.as_str()),
            ("New", "Ev")
        );
        let stale = NameSeen {
            stats: "Stale".into(),
            stats_at: 1,
            ..Default::default()
        };
        assert_eq!(merge_name(Some(merged), &stale).canonical(), "New");
        assert_eq!(NameSeen::default().canonical(), "Unknown");
    }
}

/// One SQL parameter, backend-neutral, so that column lists and row encodings are written
/// once here and both backends bind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell<'a> {
    Int(i64),
    Text(&'a str),
}

/// Width in characters of the free-text name columns (`VARCHAR(255)` in `schema.sql`).
pub(crate) const NAME_MAX: usize = 255;
/// Width of `agent_events.user_id` (`VARCHAR(64)`).
pub(crate) const USER_ID_MAX: usize = 64;

/// `s` cut to at most `max_chars` characters, the width of its column. Only for display
/// text (names, ids that are no part of a key): MySQL refuses a longer value and SQLite would
/// keep it whole, so both backends store the same cut value instead.
pub(crate) fn clip(s: &str, max_chars: usize) -> &str {
    // A string no longer in bytes than the limit has no more characters either.
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// `agent_events` insert columns, in the order of [`event_cells`].
pub(crate) const EVENT_COLUMNS: &str =
    "ext, ts_epoch, event, enabled, state, user_id, username, source, loaded_at";

pub(crate) fn event_cells<'a>(e: &'a AgentEvent, source: &'a str, now: i64) -> [Cell<'a>; 9] {
    [
        Cell::Text(&e.ext),
        Cell::Int(e.ts),
        Cell::Text(&e.event),
        Cell::Int(e.enabled as i64),
        Cell::Text(&e.state),
        Cell::Text(clip(&e.user_id, USER_ID_MAX)),
        Cell::Text(clip(&e.username, NAME_MAX)),
        Cell::Text(source),
        Cell::Int(now),
    ]
}

/// `users_calls` columns, in the order of [`stats_cells`].
pub(crate) const STATS_COLUMNS: &str = "ext, hour_start, name, tags, total_calls, answered_calls, \
    talked_time, talked_average, duration_seconds, max_connect_seconds, avg_connect_seconds, \
    total_connect_seconds, callee_id_number, callee_id_name, registered_time, idle_time, \
    wrap_up_time, hold_time, on_call_time, on_call_time_avg, not_available_time, \
    not_available_detailed_report, source, fetched_at";

pub(crate) fn stats_cells<'a>(
    r: &'a crate::model::CallStats,
    hour_start: i64,
    source: &'a str,
    now: i64,
) -> [Cell<'a>; 24] {
    [
        Cell::Text(&r.ext),
        Cell::Int(hour_start),
        Cell::Text(clip(&r.name, NAME_MAX)),
        Cell::Text(&r.tags),
        Cell::Int(r.total_calls),
        Cell::Int(r.answered_calls),
        Cell::Int(r.talked_time),
        Cell::Int(r.talked_average),
        Cell::Int(r.duration_seconds),
        Cell::Int(r.max_connect_seconds),
        Cell::Int(r.avg_connect_seconds),
        Cell::Int(r.total_connect_seconds),
        Cell::Text(clip(&r.callee_id_number, NAME_MAX)),
        Cell::Text(clip(&r.callee_id_name, NAME_MAX)),
        Cell::Int(r.registered_time),
        Cell::Int(r.idle_time),
        Cell::Int(r.wrap_up_time),
        Cell::Int(r.hold_time),
        Cell::Int(r.on_call_time),
        Cell::Int(r.on_call_time_avg),
        Cell::Int(r.not_available_time),
        Cell::Text(&r.not_available_detailed_report),
        Cell::Text(source),
        Cell::Int(now),
    ]
}

/// `agent_activity` columns: four leading text/int columns, [`ACTIVITY_INTS`] integers, then
/// `event_details`. The order of [`activity_cells`] and [`activity_from`].
pub(crate) const ACTIVITY_COLUMNS: &str = "agent_ext, report_hour, report_hour_local, agent_name, \
    available_secs, idle_secs, talk_secs, wrap_up_secs, hold_secs, productive_secs, meeting_secs, \
    training_secs, chat_secs, tickets_secs, outbound_secs, non_productive_secs, lunch_secs, \
    tea_secs, bio_secs, short_secs, other_secs, login_secs, logoff_secs, dnd_secs, \
    unaccounted_secs, idle_count, notavail_count, total_calls, answered_calls, failed_calls, \
    covered_secs, complete, event_details";
pub(crate) const ACTIVITY_INTS: usize = 28;

fn activity_ints(r: &ActivityRow) -> [i64; ACTIVITY_INTS] {
    let b = &r.buckets;
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
        r.idle_count,
        r.notavail_count,
        r.total_calls,
        r.answered_calls,
        r.failed_calls,
        r.covered_secs,
        r.complete as i64,
    ]
}

pub(crate) fn activity_cells(r: &ActivityRow) -> Vec<Cell<'_>> {
    let mut cells = Vec::with_capacity(ACTIVITY_INTS + 5);
    cells.push(Cell::Text(&r.agent_ext));
    cells.push(Cell::Int(r.report_hour));
    cells.push(Cell::Text(&r.report_hour_local));
    cells.push(Cell::Text(clip(&r.agent_name, NAME_MAX)));
    cells.extend(activity_ints(r).into_iter().map(Cell::Int));
    cells.push(Cell::Text(&r.event_details));
    cells
}

/// Rebuilds a row from the columns of [`ACTIVITY_COLUMNS`]; the derived totals are not read.
pub(crate) fn activity_from(
    head: (String, i64, String, String),
    n: &[i64; ACTIVITY_INTS],
    event_details: String,
) -> ActivityRow {
    let buckets = crate::model::Buckets {
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
    ActivityRow {
        agent_ext: head.0,
        report_hour: head.1,
        report_hour_local: head.2,
        agent_name: head.3,
        buckets,
        idle_count: n[21],
        notavail_count: n[22],
        total_calls: n[23],
        answered_calls: n[24],
        failed_calls: n[25],
        covered_secs: n[26],
        complete: n[27] != 0,
        event_details,
    }
}

/// `?, ?, ...` for `n` parameters.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The report's query: rows of [`ACTIVITY_COLUMNS`] selected by `filter`, in `report_hour`
/// then extension order, with its parameters (never SQL built from input).
pub(crate) fn activity_query(filter: &ActivityFilter) -> (String, Vec<Cell<'_>>) {
    let mut sql = format!(
        "SELECT {ACTIVITY_COLUMNS} FROM agent_activity \
         WHERE report_hour_local >= ? AND report_hour_local < ?"
    );
    if !filter.exts.is_empty() {
        // The unary `+` keeps SQLite from choosing the primary key on `agent_ext` and then
        // sorting everything it found; `agent_ext` is part of the `agent_activity_local` key,
        // so the filter is checked on the index walk. MySQL reads `+x` as `x`.
        sql.push_str(&format!(
            " AND +agent_ext IN ({})",
            placeholders(filter.exts.len())
        ));
    }
    // The same order as `report_hour, agent_ext` (an hour start's local label never
    // decreases as time goes on; the two starts of a repeated fall-back hour share one label
    // and are told apart by `report_hour`), but it is the order of the `agent_activity_local`
    // key, so the rows stream from the index instead of being sorted first.
    sql.push_str(" ORDER BY report_hour_local, report_hour, agent_ext");
    let mut cells = vec![Cell::Text(&filter.from_local), Cell::Text(&filter.to_local)];
    cells.extend(filter.exts.iter().map(|e| Cell::Text(e)));
    (sql, cells)
}

/// Every `etl_state` write a load commits with its data, given the values stored before it:
/// the widened dirty range for the next aggregation, `data_until` (forward only), and the
/// batch's own entries (watermarks, cursors). Both backends write exactly these.
pub(crate) fn load_state_writes(
    batch: &LoadBatch<'_>,
    old_dirty_from: Option<i64>,
    old_dirty_to: Option<i64>,
    old_until: Option<i64>,
) -> Vec<(String, String)> {
    let mut writes = Vec::new();
    if let Some(span) = batch_span(batch, old_until) {
        let (from, to) = merge_dirty(old_dirty_from, old_dirty_to, span);
        writes.push((keys::DIRTY_FROM.to_string(), from.to_string()));
        writes.push((keys::DIRTY_TO.to_string(), to.to_string()));
    }
    if let Some(until) = batch.data_until
        && old_until.is_none_or(|old| until > old)
    {
        writes.push((keys::DATA_UNTIL.to_string(), until.to_string()));
    }
    writes.extend(batch.state.iter().cloned());
    writes
}

/// Merges the dirty range already stored with a batch's span.
pub(crate) fn merge_dirty(
    old_from: Option<i64>,
    old_to: Option<i64>,
    span: (i64, i64),
) -> (i64, i64) {
    (
        old_from.map_or(span.0, |f| f.min(span.0)),
        old_to.map_or(span.1, |t| t.max(span.1)),
    )
}

/// Wall-clock now, epoch seconds (for `loaded_at`, `fetched_at`).
pub(crate) fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
