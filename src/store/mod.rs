//! Storage: one trait, [`Store`], implemented once by [`db::Db`] over a small backend trait
//! ([`sql::Backend`]) with an SQLite backend (the embedded default) and a MySQL/MariaDB
//! backend. Tables are described once in [`table`]; the schema lives in `schema.sql` at the
//! repository root; [`contract`] keeps SPEC §9 (ownership, schema versions) before anything
//! runs. Every write method is one transaction; loads are idempotent (the natural key of
//! `agent_events`, replace-per-hour for `users_calls`).

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::state::{self, InstantKey};
pub use crate::model::{
    ActivityFilter, CachedToken, HourCalls, LoadBatch, LoadOutcome, StoredEvent,
};
use crate::model::{ActivityRow, TableSummary};

pub mod contract;
pub mod db;
pub mod maintenance;
pub mod mysql;
pub mod queue;
pub mod sql;
pub mod sqlite;
pub mod table;

pub use table::NameSeen;
use table::clip;

/// Width in characters of the free-text name columns (`VARCHAR(255)` in `schema.sql`).
const NAME_MAX: usize = 255;

/// The portable schema, applied idempotently on every open for writing.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");
/// Recorded in `apr_meta` as `schema_version`; [`contract`] upgrades older databases.
pub const SCHEMA_VERSION: u32 = 5;

/// Where a `schema.sql` comment that only SQLite reads starts (MySQL skips the comment).
const SQLITE_ONLY: &str = "/*sqlite ";

/// A `schema.sql` statement as SQLite runs it: each `/*sqlite TEXT*/` comment replaced by
/// its TEXT.
pub(crate) fn sqlite_statement(stmt: &str) -> String {
    let mut out = String::with_capacity(stmt.len());
    let mut rest = stmt;
    while let Some(at) = rest.find(SQLITE_ONLY) {
        out.push_str(&rest[..at]);
        let body = &rest[at + SQLITE_ONLY.len()..];
        let end = body
            .find("*/")
            .expect("every /*sqlite comment in schema.sql is closed");
        out.push_str(body[..end].trim());
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `etl_state` keys by name (the typed forms are in [`crate::model::state`]).
pub mod keys {
    use crate::model::state;

    pub const DIRTY_FROM: &str = state::DIRTY_FROM.name();
    pub const DIRTY_TO: &str = state::DIRTY_TO.name();
    pub const COLLECT_EVENTS_UNTIL: &str = state::COLLECT_EVENTS_UNTIL.name();
    pub const COLLECT_LAST_RUN: &str = state::COLLECT_LAST_RUN.name();
    pub const API_DATA_UNTIL: &str = state::API_DATA_UNTIL.name();
    pub const QUEUE_LOG_DATA_UNTIL: &str = state::QUEUE_LOG_DATA_UNTIL.name();
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

/// Opens the database for writing: creates apr's schema where there is none (the SQLite file
/// too), upgrades an older one, and refuses a database that is not apr's (SPEC §9). Call it
/// only after the command's arguments, files and settings are validated.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    open_checked(url, &mut |_, _| Ok(()))
}

/// What a writing command decides after connecting and before apr's schema is created or
/// upgraded: it gets the store and whether it holds apr's schema (of this version or an
/// older one; only then may it read apr's tables). It takes its lock and makes every
/// refusal there, so that a refused run leaves the database as it found it.
pub type BeforeWrite<'a> = dyn FnMut(&mut dyn Store, bool) -> Result<()> + 'a;

/// [`open`], with `before` run under the contract checks but before the first write to the
/// schema. A missing SQLite file is created (empty) before `before` runs.
pub fn open_checked(url: &DatabaseUrl, before: &mut BeforeWrite<'_>) -> Result<Box<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(sqlite::SqliteStore::open_checked(path, before)?),
        DatabaseUrl::Mysql(url) => Box::new(mysql::MysqlStore::open_checked(url, before)?),
    })
}

/// Opens an existing database for reading only: never creates a file, a table or a row
/// (SPEC §9). A missing database is a configuration error (exit 2).
pub fn open_read_only(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(sqlite::SqliteStore::open_read_only(path)?),
        DatabaseUrl::Mysql(url) => Box::new(mysql::MysqlStore::open_read_only(url)?),
    })
}

/// The database read-only when it exists and holds apr's tables, else `None`; never
/// creates anything. A database that is not apr's, or is newer, is refused.
pub fn peek(url: &DatabaseUrl) -> Result<Option<Box<dyn Store>>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            sqlite::SqliteStore::open_existing(path)?.map(|s| Box::new(s) as Box<dyn Store>)
        }
        DatabaseUrl::Mysql(url) => {
            mysql::MysqlStore::open_existing(url)?.map(|s| Box::new(s) as Box<dyn Store>)
        }
    })
}

impl DatabaseUrl {
    /// The database as shown to people: the SQLite URL, or the MySQL URL without password.
    pub fn shown(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Mysql(u) => redact_url(&mysql::without_timeouts(u)),
        }
    }
}

/// A database holding apr's tables.
pub trait Store: Send {
    /// `sqlite` or `mysql`.
    fn backend(&self) -> &'static str;
    /// The database as shown in messages (path, or URL without password).
    fn shown(&self) -> String;
    /// Checks the connection (for `/health`).
    fn ping(&mut self) -> Result<()>;

    /// A value of `apr_meta` (`schema_version`, `timezone`, `owner`).
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;

    /// A value of `etl_state`.
    fn state(&mut self, key: &str) -> Result<Option<String>>;
    fn set_state(&mut self, key: &str, value: &str) -> Result<()>;
    /// A typed instant of `etl_state`; a corrupt value is an error naming the key.
    fn instant(&mut self, key: InstantKey) -> Result<Option<i64>> {
        key.decode(self.state(key.name())?.as_deref())
    }

    /// The report zone the next committed write records in `apr_meta` when none is
    /// recorded yet (or, with `replace`, over the recorded one): SPEC §9 has the zone
    /// recorded by the first run that commits data.
    fn record_zone(&mut self, zone: &str, replace: bool);

    /// Loads events and stats in one transaction, records the instants touched for the next
    /// aggregation, and commits `batch.state` with them.
    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome>;

    /// Rows and time range of each table `init-load` replaces, in a fixed order.
    fn table_summaries(&mut self) -> Result<Vec<TableSummary>>;
    /// Row counts of the tables `init-load` replaces, in a fixed order.
    fn table_counts(&mut self) -> Result<Vec<(&'static str, u64)>> {
        Ok(self
            .table_summaries()?
            .into_iter()
            .map(|t| (t.table, t.rows))
            .collect())
    }
    /// Replaces the tables `init-load` replaces with those of the SQLite database at
    /// `staging`, in one atomic step; `apr_meta` and the cached token stay.
    fn replace_with(&mut self, staging: &Path) -> Result<()>;

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
    /// A second, read-only connection to the same database, so that reading can run on
    /// another thread beside this connection's writes (aggregation reads the next batch
    /// while it writes the last); `None` where the database cannot have one.
    fn reader(&self) -> Result<Option<Box<dyn Store + Send>>>;
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

    /// The connection underneath, for the operating commands (`status`, `prune`) that run
    /// their own portable statements through [`maintenance::Conn`].
    fn sql(&mut self) -> &mut dyn sql::Backend;

    /// The queue_log tables of this database (the queue report).
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

/// Every `etl_state` write a load commits with its data, given the values stored before it:
/// the widened dirty range for the next aggregation, the source's "data until" (forward only), and the
/// batch's own entries (watermarks, cursors). Both backends write exactly these.
pub(crate) fn load_state_writes(
    batch: &LoadBatch<'_>,
    old_dirty_from: Option<i64>,
    old_dirty_to: Option<i64>,
    until_key: InstantKey,
    old_until: Option<i64>,
) -> Vec<(String, String)> {
    let mut writes = Vec::new();
    if let Some(span) = batch_span(batch, old_until) {
        let (from, to) = merge_dirty(old_dirty_from, old_dirty_to, span);
        writes.push((state::DIRTY_FROM.name().to_string(), from.to_string()));
        writes.push((state::DIRTY_TO.name().to_string(), to.to_string()));
    }
    if let Some(until) = batch.data_until
        && old_until.is_none_or(|old| until > old)
    {
        writes.push((until_key.name().to_string(), until.to_string()));
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
        assert!(stmts[0].contains("apr_meta"), "apr_meta comes first");
        assert!(
            stmts
                .iter()
                .all(|s| s.trim_start().starts_with("CREATE TABLE IF NOT EXISTS"))
        );
    }

    #[test]
    fn sqlite_reads_its_own_comments_and_mysql_keeps_them_comments() {
        assert_eq!(
            sqlite_statement(
                "id INTEGER /*!40101 UNSIGNED */ /*sqlite PRIMARY KEY*/,\n) /*sqlite WITHOUT ROWID*/;"
            ),
            "id INTEGER /*!40101 UNSIGNED */ PRIMARY KEY,\n) WITHOUT ROWID;"
        );
        assert_eq!(sqlite_statement("no comment"), "no comment");
        let events = schema_statements()
            .find(|s| s.contains("TABLE IF NOT EXISTS agent_events"))
            .unwrap();
        let sqlite = sqlite_statement(&events);
        assert!(
            sqlite.contains("id INTEGER /*!40101 UNSIGNED NOT NULL AUTO_INCREMENT */ PRIMARY KEY,")
        );
        assert!(sqlite.contains("CONSTRAINT agent_events_ts UNIQUE (ts_epoch, id),"));
        assert!(!sqlite.contains("/*sqlite"));
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
