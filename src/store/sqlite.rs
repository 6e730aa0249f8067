//! The SQLite backend (rusqlite, bundled): WAL journal, one immediate transaction per write
//! batch, cached prepared statements for bulk inserts.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    ACTIVITY_COLUMNS, ACTIVITY_INTS, ActivityFilter, CachedToken, Cell, EVENT_COLUMNS, HourCalls,
    LoadBatch, LoadOutcome, NameSeen, STATS_COLUMNS, Store, StoredEvent, WIPED_TABLES,
    activity_cells, activity_from, activity_query, batch_names, event_cells, keys,
    load_state_writes, merge_name, now_epoch, placeholders, schema_statements, stats_cells,
};
use crate::error::{Error, Result};
use crate::model::{ActivityRow, EventSource};

/// A database file opened with apr's schema.
pub struct SqliteStore {
    pub(crate) conn: Connection,
    path: std::path::PathBuf,
    /// Lock files held (see [`Store::try_lock`]); released when the store is dropped.
    locks: Vec<std::fs::File>,
}

/// Cells bind borrowed: no copy of the text per row.
impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            Cell::Int(n) => rusqlite::types::ToSqlOutput::Owned(Value::Integer(*n)),
            Cell::Text(s) => rusqlite::types::ToSqlOutput::Borrowed(
                rusqlite::types::ValueRef::Text(s.as_bytes()),
            ),
        })
    }
}

impl SqliteStore {
    /// Opens or creates the file, switches it to WAL and applies the schema.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            return Err(Error::config(format!(
                "database directory '{}' does not exist; create it or point APR_DATABASE_URL elsewhere",
                dir.display()
            )));
        }
        let conn = Connection::open(path).map_err(|e| {
            Error::db(format!(
                "cannot open SQLite database '{}': {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(64);
        for stmt in schema_statements() {
            conn.execute_batch(&stmt)?;
        }
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            locks: Vec::new(),
        };
        if store.meta("schema_version")?.is_none() {
            store.set_meta("schema_version", super::SCHEMA_VERSION)?;
        }
        Ok(store)
    }

    fn tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

pub(crate) fn get_state(tx: &Connection, key: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT state_value FROM etl_state WHERE state_key = ?1")?
        .query_row([key], |r| r.get::<_, String>(0))
        .optional()?)
}

pub(crate) fn put_state(tx: &Connection, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(state_key) DO UPDATE SET state_value = excluded.state_value, updated_at = excluded.updated_at",
    )?
    .execute(params![key, value, now_epoch()])?;
    Ok(())
}

fn state_i64(tx: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(get_state(tx, key)?.and_then(|v| v.trim().parse().ok()))
}

impl Store for SqliteStore {
    fn queue_store(&mut self) -> Option<&mut dyn super::queue::QueueStore> {
        Some(self)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&mut self) -> Result<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT meta_value FROM apr_meta WHERE meta_key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO apr_meta (meta_key, meta_value) VALUES (?1, ?2) \
             ON CONFLICT(meta_key) DO UPDATE SET meta_value = excluded.meta_value",
            params![key, value],
        )?;
        Ok(())
    }

    fn state(&mut self, key: &str) -> Result<Option<String>> {
        get_state(&self.conn, key)
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        put_state(&self.conn, key, value)
    }

    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome> {
        let tx = self.tx()?;
        let outcome = load_in(&tx, batch)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn table_counts(&mut self) -> Result<Vec<(&'static str, u64)>> {
        WIPED_TABLES
            .iter()
            .map(|t| {
                let n: i64 =
                    self.conn
                        .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
                Ok((*t, n as u64))
            })
            .collect()
    }

    fn wipe(&mut self) -> Result<()> {
        let tx = self.tx()?;
        for t in WIPED_TABLES {
            tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn earliest_data(&mut self) -> Result<Option<i64>> {
        let ev: Option<i64> =
            self.conn
                .query_row("SELECT MIN(ts_epoch) FROM agent_events", [], |r| r.get(0))?;
        let st: Option<i64> =
            self.conn
                .query_row("SELECT MIN(hour_start) FROM users_calls", [], |r| r.get(0))?;
        Ok(match (ev, st) {
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
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, ext, ts_epoch, event, enabled, state FROM agent_events \
             WHERE ts_epoch > ?1 AND ts_epoch < ?2 ORDER BY ts_epoch, id",
        )?;
        let mut rows = stmt.query(params![after, before])?;
        while let Some(r) = rows.next()? {
            each(StoredEvent {
                id: r.get(0)?,
                ext: r.get(1)?,
                ts: r.get(2)?,
                event: r.get(3)?,
                enabled: r.get::<_, i64>(4)? != 0,
                state: r.get(5)?,
            });
        }
        Ok(())
    }

    fn hour_calls(&mut self, from: i64, to: i64) -> Result<Vec<HourCalls>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ext, hour_start, total_calls, answered_calls FROM users_calls \
             WHERE hour_start >= ?1 AND hour_start < ?2",
        )?;
        let rows = stmt.query_map(params![from, to], |r| {
            Ok(HourCalls {
                ext: r.get(0)?,
                hour_start: r.get(1)?,
                total_calls: r.get(2)?,
                answered_calls: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn agent_names(&mut self) -> Result<HashMap<String, String>> {
        Ok(read_names(&self.conn)?
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
        let tx = self.tx()?;
        tx.execute(
            "DELETE FROM agent_activity WHERE report_hour >= ?1 AND report_hour < ?2",
            params![from, to],
        )?;
        {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO agent_activity ({ACTIVITY_COLUMNS}) VALUES ({})",
                placeholders(ACTIVITY_INTS + 5)
            ))?;
            for row in rows {
                let cells = activity_cells(row);
                insert.execute(rusqlite::params_from_iter(cells.iter()))?;
            }
        }
        for (k, v) in state {
            put_state(&tx, k, v)?;
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
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(cells.iter()))?;
        while let Some(r) = rows.next()? {
            let mut n = [0i64; ACTIVITY_INTS];
            for (i, slot) in n.iter_mut().enumerate() {
                *slot = r.get(4 + i)?;
            }
            each(activity_from(
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                &n,
                r.get(4 + ACTIVITY_INTS)?,
            ))?;
        }
        Ok(())
    }

    fn token(&mut self) -> Result<Option<CachedToken>> {
        Ok(self
            .conn
            .query_row(
                "SELECT access_token, refresh_token, expires_at FROM api_token WHERE id = 1",
                [],
                |r| {
                    Ok(CachedToken {
                        access_token: r.get(0)?,
                        refresh_token: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn set_token(&mut self, token: &CachedToken) -> Result<()> {
        self.conn.execute(
            "INSERT INTO api_token (id, access_token, refresh_token, expires_at) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token, \
             refresh_token = excluded.refresh_token, expires_at = excluded.expires_at",
            params![token.access_token, token.refresh_token, token.expires_at],
        )?;
        Ok(())
    }

    fn try_lock(&mut self, name: &str) -> Result<bool> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(format!(".{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                Error::io(
                    format!("cannot open lock file {}", lock_path.to_string_lossy()),
                    e,
                )
            })?;
        match file.try_lock() {
            Ok(()) => {
                self.locks.push(file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(
                format!("cannot lock {}", lock_path.to_string_lossy()),
                e,
            )),
        }
    }
}

fn read_names(conn: &Connection) -> Result<HashMap<String, NameSeen>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ext, stats_name, stats_name_at, event_name, event_name_at FROM agents",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            NameSeen {
                stats: r.get(1)?,
                stats_at: r.get(2)?,
                event: r.get(3)?,
                event_at: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn merge_names(tx: &Connection, batch: &LoadBatch<'_>) -> Result<()> {
    let seen = batch_names(batch);
    if seen.is_empty() {
        return Ok(());
    }
    let mut stored = read_names(tx)?;
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO agents (ext, stats_name, stats_name_at, event_name, event_name_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (ext, new) in &seen {
        let old = stored.remove(ext);
        let merged = merge_name(old.clone(), new);
        if old.as_ref() != Some(&merged) {
            put.execute(params![
                ext,
                merged.stats,
                merged.stats_at,
                merged.event,
                merged.event_at
            ])?;
        }
    }
    Ok(())
}

/// The body of [`Store::load`] inside a transaction the caller owns, so that other writes
/// (a queue_log chunk) commit together with it.
pub(crate) fn load_in(tx: &Connection, batch: &LoadBatch<'_>) -> Result<LoadOutcome> {
    let source = batch.source.unwrap_or(EventSource::Api).as_str();
    let now = now_epoch();
    let mut outcome = LoadOutcome {
        events_seen: batch.events.len() as u64,
        ..Default::default()
    };
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT OR IGNORE INTO agent_events ({EVENT_COLUMNS}) VALUES ({})",
            placeholders(9)
        ))?;
        for e in batch.events {
            let cells = event_cells(e, source, now);
            outcome.events_new += insert.execute(rusqlite::params_from_iter(cells.iter()))? as u64;
        }
        let mut clear =
            tx.prepare_cached("DELETE FROM users_calls WHERE hour_start = ?1 AND source = ?2")?;
        let mut put = tx.prepare_cached(&format!(
            "INSERT OR REPLACE INTO users_calls ({STATS_COLUMNS}) VALUES ({})",
            placeholders(24)
        ))?;
        for hour in batch.stats {
            clear.execute(params![hour.hour_start, source])?;
            for r in &hour.records {
                let cells = stats_cells(r, hour.hour_start, source, now);
                outcome.stats_rows += put.execute(rusqlite::params_from_iter(cells.iter()))? as u64;
            }
        }
    }
    merge_names(tx, batch)?;
    let writes = load_state_writes(
        batch,
        state_i64(tx, keys::DIRTY_FROM)?,
        state_i64(tx, keys::DIRTY_TO)?,
        state_i64(tx, keys::DATA_UNTIL)?,
    );
    for (k, v) in &writes {
        put_state(tx, k, v)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report streams: its query walks the `agent_activity_local` key in order and
    /// never sorts the range first (a sort holds every row before the first is returned).
    #[test]
    fn the_report_query_needs_no_sort() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        for exts in [vec![], vec!["3012".to_string(), "3032".to_string()]] {
            let filter = ActivityFilter {
                from_local: "2025-09-01 00:00".into(),
                to_local: "2025-10-01 00:00".into(),
                exts,
            };
            let (sql, cells) = activity_query(&filter);
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(cells.iter()), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert!(
                plan.iter().all(|step| !step.contains("TEMP B-TREE")),
                "{plan:?}"
            );
        }
    }
}
