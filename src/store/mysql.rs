//! The MySQL/MariaDB backend (the sync `mysql` crate): one dedicated connection per store (so
//! that `GET_LOCK` locks live exactly as long as the store), one transaction per write call,
//! and bulk writes as multi-row prepared statements of at most [`ROWS_PER_STATEMENT`] rows.
//!
//! It owns the MySQL dialect: `ON DUPLICATE KEY UPDATE` upserts, `INSERT IGNORE` guards, the
//! choice of a NO PAD binary collation, session settings, and the mapping of connection errors
//! to one-line messages that never show the password. Results match the SQLite backend
//! row for row, including `LoadOutcome::events_new` and the order of event ids.

use std::collections::{HashMap, HashSet};

use mysql::prelude::{FromValue, Queryable};
use mysql::{Conn, Opts, OptsBuilder, Params, Row, TxOpts, Value};

use super::{
    ACTIVITY_COLUMNS, ACTIVITY_INTS, ActivityFilter, CachedToken, Cell, EVENT_COLUMNS, HourCalls,
    LoadBatch, LoadOutcome, NameSeen, STATS_COLUMNS, Store, StoredEvent, WIPED_TABLES,
    activity_cells, activity_from, activity_query, batch_names, event_cells, keys,
    load_state_writes, merge_name, now_epoch, placeholders, redact_url, schema_statements,
    stats_cells,
};
use crate::error::{Error, Result};
use crate::model::{ActivityRow, AgentEvent, EventSource};

/// Rows per multi-row statement: large enough to amortize round trips, small enough to stay
/// far below the 65,535-placeholder limit (33 columns × 500) and the default packet size.
const ROWS_PER_STATEMENT: usize = 500;
const _: () = assert!(ROWS_PER_STATEMENT * (ACTIVITY_INTS + 5) <= u16::MAX as usize);

/// `GET_LOCK` names are limited to 64 characters.
const LOCK_NAME_MAX: usize = 64;

/// The collation `schema.sql` names. It is PAD SPACE ('a' = 'a '), unlike SQLite's byte
/// comparison, so on open it is swapped for a NO PAD binary collation when the server has one.
const SCHEMA_COLLATION: &str = "COLLATE=utf8mb4_bin";

/// A MySQL/MariaDB database opened with apr's schema.
pub struct MysqlStore {
    pub(crate) conn: Conn,
    /// `GET_LOCK` names this session holds (see [`Store::try_lock`]).
    locks: Vec<String>,
    /// The database name, scoping lock names to it.
    database: String,
}

pub(crate) fn bind(cell: &Cell<'_>) -> Value {
    match cell {
        Cell::Int(n) => Value::Int(*n),
        Cell::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
    }
}

/// `(?, ?, ...), (?, ?, ...)` for `rows` rows of `cols` columns.
pub(crate) fn row_placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", placeholders(cols));
    vec![one; rows].join(", ")
}

/// Column `idx` of `row`, converted; a NULL or a value of the wrong type is a database error.
pub(crate) fn col<T: FromValue>(row: &mut Row, idx: usize) -> Result<T> {
    let value = row
        .take::<Value, _>(idx)
        .ok_or_else(|| Error::db(format!("result row has no column {idx}")))?;
    mysql::from_value_opt::<T>(value)
        .map_err(|e| Error::db(format!("unexpected value in column {idx}: {e}")))
}

/// The natural key of `agent_events`.
type EventKey<'a> = (&'a str, i64, &'a str, bool, &'a str);

fn event_key(e: &AgentEvent) -> EventKey<'_> {
    (&e.ext, e.ts, &e.event, e.enabled, &e.state)
}

/// Owned form of [`EventKey`], as read back from the table.
type StoredKey = (String, i64, String, bool, String);

impl MysqlStore {
    /// Connects to `url` (`mysql://user:pass@host:port/db`), applies the schema and records
    /// the schema version. The database itself must exist.
    pub fn open(url: &str) -> Result<MysqlStore> {
        let shown = redact_url(url);
        let opts = Opts::from_url(url).map_err(|e| {
            Error::config(format!(
                "APR_DATABASE_URL '{shown}' is not a valid MySQL URL ({e}); expected mysql://user:pass@host:port/db"
            ))
        })?;
        let database = match opts.get_db_name() {
            Some(db) if !db.is_empty() => db.to_string(),
            _ => {
                return Err(Error::config(format!(
                    "APR_DATABASE_URL '{shown}' names no database; expected mysql://user:pass@host:port/db"
                )));
            }
        };
        let opts = OptsBuilder::from_opts(opts)
            .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)))
            // Strict mode: a value too long for its column fails instead of being truncated
            // (a truncated key could silently merge two events).
            .init(vec![
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
                "SET NAMES utf8mb4",
            ]);
        let conn = Conn::new(opts).map_err(|e| connect_error(&shown, &database, e))?;
        let mut store = MysqlStore {
            conn,
            locks: Vec::new(),
            database,
        };
        store.apply_schema()?;
        if store.meta("schema_version")?.is_none() {
            store.set_meta("schema_version", super::SCHEMA_VERSION)?;
        }
        Ok(store)
    }

    fn apply_schema(&mut self) -> Result<()> {
        let nopad: Option<String> = self.conn.query_first(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
             WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin') \
             ORDER BY COLLATION_NAME = 'utf8mb4_nopad_bin' DESC LIMIT 1",
        )?;
        for stmt in schema_statements() {
            let stmt = match &nopad {
                Some(c) => stmt.replace(SCHEMA_COLLATION, &format!("COLLATE={c}")),
                None => stmt,
            };
            self.conn
                .query_drop(&stmt)
                .map_err(|e| Error::db(format!("applying schema.sql failed: {e}")))?;
        }
        Ok(())
    }
}

/// The `GET_LOCK` name for `name` in `database`: scoped to the database (the server's lock
/// namespace is shared by all databases), at most [`LOCK_NAME_MAX`] characters.
fn lock_name(database: &str, name: &str) -> String {
    let full = format!("apr.{database}.{name}");
    if full.chars().count() <= LOCK_NAME_MAX {
        return full;
    }
    // Too long: keep a readable prefix and make it unique with a stable hash of the whole.
    let hash = format!("{:016x}", fnv1a(full.as_bytes()));
    let prefix: String = full.chars().take(LOCK_NAME_MAX - hash.len() - 1).collect();
    format!("{prefix}~{hash}")
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`, so two builds of apr
/// agree on lock names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One-line, password-free message for a failed connection.
fn connect_error(shown: &str, database: &str, e: mysql::Error) -> Error {
    match &e {
        mysql::Error::MySqlError(m) if m.code == 1049 => Error::config(format!(
            "MySQL database '{database}' does not exist at {shown}; create it \
             (CREATE DATABASE `{database}` CHARACTER SET utf8mb4) or fix APR_DATABASE_URL"
        )),
        mysql::Error::MySqlError(m) if m.code == 1045 || m.code == 1044 => Error::config(format!(
            "MySQL refused the login for {shown}: {}; check the user and password in APR_DATABASE_URL",
            crate::error::one_line(&m.message)
        )),
        _ => Error::db(format!(
            "cannot connect to MySQL at {shown}: {}",
            crate::error::one_line(&e.to_string())
        )),
    }
}

fn get_state(q: &mut impl Queryable, key: &str) -> Result<Option<String>> {
    Ok(q.exec_first(
        "SELECT state_value FROM etl_state WHERE state_key = ?",
        (key,),
    )?)
}

/// Reads a state value inside a write transaction, locking its row so that concurrent
/// read-modify-write of the same key (the dirty range) serializes as on SQLite.
fn get_state_for_update(q: &mut impl Queryable, key: &str) -> Result<Option<i64>> {
    let v: Option<String> = q.exec_first(
        "SELECT state_value FROM etl_state WHERE state_key = ? FOR UPDATE",
        (key,),
    )?;
    Ok(v.and_then(|v| v.trim().parse().ok()))
}

pub(crate) fn put_state(q: &mut impl Queryable, key: &str, value: &str) -> Result<()> {
    q.exec_drop(
        "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES (?, ?, ?) \
         ON DUPLICATE KEY UPDATE state_value = VALUES(state_value), updated_at = VALUES(updated_at)",
        (key, value, now_epoch()),
    )?;
    Ok(())
}

/// Runs `INSERT ... {head} VALUES (...), (...) {tail}` over `rows` in statements of at most
/// [`ROWS_PER_STATEMENT`] rows; returns the affected-row count summed over the statements.
pub(crate) fn insert_rows<'r, R: 'r>(
    tx: &mut mysql::Transaction<'_>,
    head: &str,
    tail: &str,
    cols: usize,
    rows: impl IntoIterator<Item = &'r R>,
    cells: impl Fn(&'r R) -> Vec<Value>,
) -> Result<u64> {
    let mut affected = 0;
    let mut params: Vec<Value> = Vec::with_capacity(ROWS_PER_STATEMENT * cols);
    let mut n = 0;
    let flush = |tx: &mut mysql::Transaction<'_>, params: &mut Vec<Value>, n: usize| {
        let sql = format!("{head} VALUES {} {tail}", row_placeholders(n, cols));
        tx.exec_drop(&sql, Params::Positional(std::mem::take(params)))?;
        Ok::<u64, Error>(tx.affected_rows())
    };
    for row in rows {
        params.extend(cells(row));
        n += 1;
        if n == ROWS_PER_STATEMENT {
            affected += flush(tx, &mut params, n)?;
            n = 0;
        }
    }
    if n > 0 {
        affected += flush(tx, &mut params, n)?;
    }
    Ok(affected)
}

/// The batch's events that are neither earlier in the batch nor already stored, in listed
/// order. MySQL spends an AUTO_INCREMENT id even on a row `INSERT IGNORE` drops, so
/// duplicates are removed before inserting; this keeps ids dense and in listed order.
fn new_events<'a>(
    tx: &mut mysql::Transaction<'_>,
    events: &'a [AgentEvent],
) -> Result<Vec<&'a AgentEvent>> {
    let mut seen: HashSet<EventKey<'a>> = HashSet::with_capacity(events.len());
    let mut fresh: Vec<&AgentEvent> = Vec::with_capacity(events.len());
    for e in events {
        if seen.insert(event_key(e)) {
            fresh.push(e);
        }
    }
    if fresh.is_empty() {
        return Ok(fresh);
    }
    let (lo, hi) = fresh.iter().fold((i64::MAX, i64::MIN), |(lo, hi), e| {
        (lo.min(e.ts), hi.max(e.ts))
    });
    let exts: Vec<&str> = {
        let mut v: Vec<&str> = fresh.iter().map(|e| e.ext.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // The stored rows that can collide lie in the batch's time span: one index-only range
    // scan of the natural key, which starts with ts_epoch. Naming the extensions (when
    // they fit in one statement) only trims what the server sends back.
    let mut sql = String::from(
        "SELECT ext, ts_epoch, event, enabled, state FROM agent_events \
         WHERE ts_epoch >= ? AND ts_epoch <= ?",
    );
    let mut args = vec![Value::Int(lo), Value::Int(hi)];
    if exts.len() <= ROWS_PER_STATEMENT {
        sql.push_str(&format!(" AND ext IN ({})", placeholders(exts.len())));
        args.extend(exts.iter().map(|x| Value::Bytes(x.as_bytes().to_vec())));
    }
    let mut stored: HashSet<StoredKey> = HashSet::new();
    for row in tx.exec_iter(&sql, Params::Positional(args))? {
        let mut row = row?;
        stored.insert((
            col(&mut row, 0)?,
            col(&mut row, 1)?,
            col(&mut row, 2)?,
            col::<i64>(&mut row, 3)? != 0,
            col(&mut row, 4)?,
        ));
    }
    if stored.is_empty() {
        return Ok(fresh);
    }
    let stored: HashSet<EventKey<'_>> = stored
        .iter()
        .map(|(ext, ts, event, enabled, state)| {
            (ext.as_str(), *ts, event.as_str(), *enabled, state.as_str())
        })
        .collect();
    fresh.retain(|e| !stored.contains(&event_key(e)));
    Ok(fresh)
}

fn read_names(q: &mut impl Queryable, exts: Option<&[&str]>) -> Result<HashMap<String, NameSeen>> {
    let mut sql = String::from(
        "SELECT ext, stats_name, stats_name_at, event_name, event_name_at FROM agents",
    );
    let mut args = Vec::new();
    if let Some(exts) = exts {
        sql.push_str(&format!(" WHERE ext IN ({})", placeholders(exts.len())));
        args.extend(exts.iter().map(|x| Value::Bytes(x.as_bytes().to_vec())));
    }
    let mut out = HashMap::new();
    let params = if args.is_empty() {
        Params::Empty
    } else {
        Params::Positional(args)
    };
    for row in q.exec_iter(&sql, params)? {
        let mut row = row?;
        out.insert(
            col(&mut row, 0)?,
            NameSeen {
                stats: col(&mut row, 1)?,
                stats_at: col(&mut row, 2)?,
                event: col(&mut row, 3)?,
                event_at: col(&mut row, 4)?,
            },
        );
    }
    Ok(out)
}

fn merge_names(tx: &mut mysql::Transaction<'_>, batch: &LoadBatch<'_>) -> Result<()> {
    let seen = batch_names(batch);
    if seen.is_empty() {
        return Ok(());
    }
    let exts: Vec<&str> = seen.keys().map(String::as_str).collect();
    let mut stored = HashMap::new();
    for chunk in exts.chunks(ROWS_PER_STATEMENT) {
        stored.extend(read_names(tx, Some(chunk))?);
    }
    let mut changed: Vec<(&str, NameSeen)> = Vec::new();
    for (ext, new) in &seen {
        let old = stored.remove(ext);
        let merged = merge_name(old.clone(), new);
        if old.as_ref() != Some(&merged) {
            changed.push((ext, merged));
        }
    }
    insert_rows(
        tx,
        "INSERT INTO agents (ext, stats_name, stats_name_at, event_name, event_name_at)",
        "ON DUPLICATE KEY UPDATE stats_name = VALUES(stats_name), \
         stats_name_at = VALUES(stats_name_at), event_name = VALUES(event_name), \
         event_name_at = VALUES(event_name_at)",
        5,
        &changed,
        |(ext, n)| {
            vec![
                Value::Bytes(ext.as_bytes().to_vec()),
                Value::Bytes(n.stats.as_bytes().to_vec()),
                Value::Int(n.stats_at),
                Value::Bytes(n.event.as_bytes().to_vec()),
                Value::Int(n.event_at),
            ]
        },
    )?;
    Ok(())
}

/// `col = VALUES(col)` for every column of a column list: the upsert tail that makes an
/// insert overwrite the whole row, as SQLite's `INSERT OR REPLACE` does.
pub(crate) fn update_all(columns: &str) -> String {
    let sets: Vec<String> = columns
        .split(',')
        .map(str::trim)
        .map(|c| format!("{c} = VALUES({c})"))
        .collect();
    format!("ON DUPLICATE KEY UPDATE {}", sets.join(", "))
}

impl Store for MysqlStore {
    fn queue_store(&mut self) -> Option<&mut dyn super::queue::QueueStore> {
        Some(self)
    }

    fn backend(&self) -> &'static str {
        "mysql"
    }

    fn ping(&mut self) -> Result<()> {
        self.conn.query_drop("SELECT 1")?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .exec_first("SELECT meta_value FROM apr_meta WHERE meta_key = ?", (key,))?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.exec_drop(
            "INSERT INTO apr_meta (meta_key, meta_value) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
            (key, value),
        )?;
        Ok(())
    }

    fn state(&mut self, key: &str) -> Result<Option<String>> {
        get_state(&mut self.conn, key)
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        put_state(&mut self.conn, key, value)
    }

    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome> {
        let mut tx = self.conn.start_transaction(TxOpts::default())?;
        let outcome = load_in(&mut tx, batch)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn table_counts(&mut self) -> Result<Vec<(&'static str, u64)>> {
        WIPED_TABLES
            .iter()
            .map(|t| {
                let n: Option<u64> = self.conn.query_first(format!("SELECT COUNT(*) FROM {t}"))?;
                Ok((*t, n.unwrap_or(0)))
            })
            .collect()
    }

    fn wipe(&mut self) -> Result<()> {
        // DELETE, not TRUNCATE: TRUNCATE commits implicitly and could not be one transaction.
        let mut tx = self.conn.start_transaction(TxOpts::default())?;
        for t in WIPED_TABLES {
            tx.query_drop(format!("DELETE FROM {t}"))?;
        }
        tx.commit()?;
        // Restart load-order ids at 1, as SQLite does for an emptied table, so a re-run
        // init-load yields the same ids on both backends. DDL commits by itself, hence after
        // the transaction; a kill in between leaves only a higher counter, which the next
        // wipe resets.
        self.conn
            .query_drop("ALTER TABLE agent_events AUTO_INCREMENT = 1")?;
        Ok(())
    }

    fn earliest_data(&mut self) -> Result<Option<i64>> {
        let ev: Option<Option<i64>> = self
            .conn
            .query_first("SELECT MIN(ts_epoch) FROM agent_events")?;
        let st: Option<Option<i64>> = self
            .conn
            .query_first("SELECT MIN(hour_start) FROM users_calls")?;
        Ok(match (ev.flatten(), st.flatten()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    fn scan_events(
        &mut self,
        after: i64,
        before: i64,
        each: &mut dyn FnMut(StoredEvent),
    ) -> Result<()> {
        let rows = self.conn.exec_iter(
            "SELECT id, ext, ts_epoch, event, enabled, state FROM agent_events \
             WHERE ts_epoch > ? AND ts_epoch < ? ORDER BY ts_epoch, id",
            (after, before),
        )?;
        for row in rows {
            let mut r = row?;
            each(StoredEvent {
                id: col(&mut r, 0)?,
                ext: col(&mut r, 1)?,
                ts: col(&mut r, 2)?,
                event: col(&mut r, 3)?,
                enabled: col::<i64>(&mut r, 4)? != 0,
                state: col(&mut r, 5)?,
            });
        }
        Ok(())
    }

    fn hour_calls(&mut self, from: i64, to: i64) -> Result<Vec<HourCalls>> {
        let mut out = Vec::new();
        let rows = self.conn.exec_iter(
            "SELECT ext, hour_start, total_calls, answered_calls FROM users_calls \
             WHERE hour_start >= ? AND hour_start < ?",
            (from, to),
        )?;
        for row in rows {
            let mut r = row?;
            out.push(HourCalls {
                ext: col(&mut r, 0)?,
                hour_start: col(&mut r, 1)?,
                total_calls: col(&mut r, 2)?,
                answered_calls: col(&mut r, 3)?,
            });
        }
        Ok(out)
    }

    fn agent_names(&mut self) -> Result<HashMap<String, String>> {
        Ok(read_names(&mut self.conn, None)?
            .into_iter()
            .map(|(ext, seen)| (ext, seen.canonical()))
            .collect())
    }

    fn replace_activity(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
    ) -> Result<()> {
        let mut tx = self.conn.start_transaction(TxOpts::default())?;
        tx.exec_drop(
            "DELETE FROM agent_activity WHERE report_hour >= ? AND report_hour < ?",
            (from, to),
        )?;
        insert_rows(
            &mut tx,
            &format!("INSERT INTO agent_activity ({ACTIVITY_COLUMNS})"),
            "",
            ACTIVITY_INTS + 5,
            rows,
            |r| activity_cells(r).iter().map(bind).collect(),
        )?;
        for (k, v) in state {
            put_state(&mut tx, k, v)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn scan_activity(
        &mut self,
        filter: &ActivityFilter,
        each: &mut dyn FnMut(ActivityRow) -> Result<()>,
    ) -> Result<()> {
        let (sql, cells) = activity_query(filter);
        let args: Vec<Value> = cells.iter().map(bind).collect();
        let rows = self.conn.exec_iter(&sql, Params::Positional(args))?;
        for row in rows {
            let mut r = row?;
            let mut n = [0i64; ACTIVITY_INTS];
            for (i, slot) in n.iter_mut().enumerate() {
                *slot = col(&mut r, 4 + i)?;
            }
            each(activity_from(
                (
                    col(&mut r, 0)?,
                    col(&mut r, 1)?,
                    col(&mut r, 2)?,
                    col(&mut r, 3)?,
                ),
                &n,
                col(&mut r, 4 + ACTIVITY_INTS)?,
            ))?;
        }
        Ok(())
    }

    fn token(&mut self) -> Result<Option<CachedToken>> {
        let row: Option<(String, String, i64)> = self.conn.query_first(
            "SELECT access_token, refresh_token, expires_at FROM api_token WHERE id = 1",
        )?;
        Ok(
            row.map(|(access_token, refresh_token, expires_at)| CachedToken {
                access_token,
                refresh_token,
                expires_at,
            }),
        )
    }

    fn set_token(&mut self, token: &CachedToken) -> Result<()> {
        self.conn.exec_drop(
            "INSERT INTO api_token (id, access_token, refresh_token, expires_at) VALUES (1, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE access_token = VALUES(access_token), \
             refresh_token = VALUES(refresh_token), expires_at = VALUES(expires_at)",
            (&token.access_token, &token.refresh_token, token.expires_at),
        )?;
        Ok(())
    }

    fn try_lock(&mut self, name: &str) -> Result<bool> {
        let lock = lock_name(&self.database, name);
        // GET_LOCK is re-entrant within a session; SQLite's file lock is not, so a second
        // take of a held name reports it held, as on SQLite.
        if self.locks.contains(&lock) {
            return Ok(false);
        }
        let got: Option<Option<i64>> = self.conn.exec_first("SELECT GET_LOCK(?, 0)", (&lock,))?;
        match got.flatten() {
            Some(1) => {
                self.locks.push(lock);
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(Error::db(format!("GET_LOCK('{lock}') failed"))),
        }
    }
}

impl Drop for MysqlStore {
    fn drop(&mut self) {
        // Closing the connection frees its locks, but the server does that asynchronously;
        // releasing them here means a process that starts right after this one finds them free.
        for lock in std::mem::take(&mut self.locks) {
            let _ = self.conn.exec_drop("DO RELEASE_LOCK(?)", (&lock,));
        }
    }
}

/// The body of [`Store::load`] inside a transaction the caller owns, so that other writes
/// (a queue_log chunk) commit together with it.
pub(crate) fn load_in(
    tx: &mut mysql::Transaction<'_>,
    batch: &LoadBatch<'_>,
) -> Result<LoadOutcome> {
    let source = batch.source.unwrap_or(EventSource::Api).as_str();
    let now = now_epoch();
    let mut outcome = LoadOutcome {
        events_seen: batch.events.len() as u64,
        ..Default::default()
    };

    let fresh = new_events(tx, batch.events)?;
    // INSERT IGNORE stays as a guard against a concurrent load of the same events; its
    // affected-row count is exactly the number of events stored by this call.
    outcome.events_new = insert_rows(
        tx,
        &format!("INSERT IGNORE INTO agent_events ({EVENT_COLUMNS})"),
        "",
        9,
        fresh,
        |e| event_cells(e, source, now).iter().map(bind).collect(),
    )?;

    let stats_upsert = update_all(STATS_COLUMNS);
    for hour in batch.stats {
        tx.exec_drop(
            "DELETE FROM users_calls WHERE hour_start = ? AND source = ?",
            (hour.hour_start, source),
        )?;
        insert_rows(
            tx,
            &format!("INSERT INTO users_calls ({STATS_COLUMNS})"),
            &stats_upsert,
            24,
            &hour.records,
            |r| {
                stats_cells(r, hour.hour_start, source, now)
                    .iter()
                    .map(bind)
                    .collect()
            },
        )?;
        // Every record is written (a later duplicate ext overwrites an earlier one), as
        // SQLite counts them; MySQL's affected rows would count an update twice.
        outcome.stats_rows += hour.records.len() as u64;
    }

    merge_names(tx, batch)?;
    let writes = load_state_writes(
        batch,
        get_state_for_update(tx, keys::DIRTY_FROM)?,
        get_state_for_update(tx, keys::DIRTY_TO)?,
        get_state_for_update(tx, keys::DATA_UNTIL)?,
    );
    for (k, v) in &writes {
        put_state(tx, k, v)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_are_scoped_and_capped_at_64_characters() {
        assert_eq!(lock_name("apr", "collect"), "apr.apr.collect");
        let long_a = lock_name("a_rather_long_database_name_for_reports", &"x".repeat(80));
        let long_b = lock_name("a_rather_long_database_name_for_reports", &"y".repeat(80));
        assert_eq!(long_a.chars().count(), LOCK_NAME_MAX);
        assert_ne!(long_a, long_b);
        assert_eq!(
            long_a,
            lock_name("a_rather_long_database_name_for_reports", &"x".repeat(80))
        );
        let wide = lock_name("db", &"é".repeat(100));
        assert_eq!(wide.chars().count(), LOCK_NAME_MAX);
    }

    #[test]
    fn multi_row_placeholders_and_full_row_upserts() {
        assert_eq!(row_placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(
            update_all("ext, hour_start,\n name"),
            "ON DUPLICATE KEY UPDATE ext = VALUES(ext), hour_start = VALUES(hour_start), \
             name = VALUES(name)"
        );
    }
}
