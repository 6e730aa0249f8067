//! The PostgreSQL backend (SPEC §15; the sync `postgres` crate): `?` placeholders numbered
//! for the server and prepared once per connection, multi-row statements under the
//! protocol's 65,535 parameters, bulk loads by `COPY ... FROM STDIN` into a temporary table
//! then one ignoring `INSERT ... SELECT` (idempotent as the other backends' loads), the
//! write lock as a session advisory lock, a statement timeout on every session. The URL is
//! in [`url`], TLS in `tls`, how cells travel in `wire`, the mapping of driver errors in
//! `error`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, TryStreamExt as _};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::contract;
use super::db::Db;
use super::sql::{Backend, Dialect};
use super::sqlite::SqliteStore;
use super::sqlite::file::SqliteFile;
use super::table::Table;
use super::traits::BeforeWrite;
use super::value::{Cell, RowRead};
use crate::error::{Error, Result};

mod error;
mod session;
mod tls;
pub mod url;
mod wire;

use error::{connect_error, connect_io_error, cut_error, query_error, ran_out_error};
use session::{Failed, Limits, Session};
use url::{PostgresUrl, Wait};
use wire::{Bound, PgInt, PgText, numbered, write_copy_row};

/// Most parameters one statement binds (the protocol counts them in 16 bits).
const MAX_PARAMETERS: usize = u16::MAX as usize;
/// Most rows per multi-row statement, as on MySQL.
const ROWS_PER_STATEMENT: usize = 4096;
/// Prepared statements kept per connection; past this the cache starts again (a run sends
/// a few dozen distinct statements).
const PREPARED_MAX: usize = 256;
/// The longest statement text kept prepared (a multi-row insert of a few rows; a full
/// batch's text is hundreds of KB and is prepared again, once per thousands of rows).
const PREPARED_TEXT_MAX: usize = 4096;
/// How long a writer waits for a lock another session holds before reporting it busy (a
/// killed run's session lingers until the server sees it gone), as on MySQL.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// apr's tables in a PostgreSQL database.
pub type PostgresStore = Db<PostgresBackend>;

/// One connection to a PostgreSQL database.
pub struct PostgresBackend {
    /// The connection; taken only by `Drop` (see there).
    session: Option<Session>,
    url: PostgresUrl,
    shown: String,
    /// Statements prepared on this connection, by their text as apr wrote it.
    prepared: HashMap<String, Statement>,
    /// Advisory lock keys this session holds.
    locks: Vec<i64>,
    /// Tables whose `COPY` staging table this session has created.
    staged: Vec<&'static str>,
}

struct PgRow(tokio_postgres::Row);

impl PgRow {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(&'a self, i: usize) -> Result<T> {
        self.0
            .try_get::<_, T>(i)
            .map_err(|_| Error::db(format!("unexpected value in column {i} of a result row")))
    }
}

impl RowRead for PgRow {
    fn int(&mut self, i: usize) -> Result<i64> {
        self.get::<PgInt>(i)?
            .0
            .ok_or_else(|| Error::db(format!("unexpected NULL in column {i} of a result row")))
    }
    fn opt_int(&mut self, i: usize) -> Result<Option<i64>> {
        Ok(self.get::<PgInt>(i)?.0)
    }
    fn text(&mut self, i: usize) -> Result<String> {
        self.get::<PgText>(i)?
            .0
            .ok_or_else(|| Error::db(format!("unexpected NULL in column {i} of a result row")))
    }
}

impl PostgresBackend {
    /// Connects to `url`; the database itself must exist. `read_only` sessions refuse every
    /// write (SPEC §9: a reading command creates nothing).
    fn connect(url: &PostgresUrl, read_only: bool) -> Result<PostgresBackend> {
        url.check_settings()?;
        let (tls, mode) = tls::connector(url)?;
        let mut config = tokio_postgres::Config::new();
        config
            .user(&url.user)
            .dbname(&url.database)
            .ssl_mode(mode)
            .application_name("apr");
        if let Some(p) = &url.password {
            config.password(p);
        }
        let limits = Limits {
            connect: url.connect_timeout,
            read: url.read_timeout,
            write: url.write_timeout,
        };
        let session =
            Session::connect(&config, &url.host, url.port, tls, limits).map_err(|f| match f {
                Failed::Io(io) => connect_io_error(url, &io),
                Failed::Pg(e) => connect_error(url, e),
                Failed::RanOut(w) => ran_out_error(url, w),
                Failed::Cut => ran_out_error(url, Wait::Connect),
            })?;
        let mut session_sql = format!(
            "SET statement_timeout = {}; SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'",
            url.statement_timeout.as_millis()
        );
        if read_only {
            session_sql.push_str("; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
        }
        let b = PostgresBackend {
            session: Some(session),
            url: url.clone(),
            shown: url.shown(),
            prepared: HashMap::new(),
            locks: Vec::new(),
            staged: Vec::new(),
        };
        let set = b
            .session()
            .wait(b.session().client.batch_execute(&session_sql));
        set.map_err(|f| b.fail(f))?;
        Ok(b)
    }

    fn session(&self) -> &Session {
        self.session
            .as_ref()
            .expect("the session is taken only when the backend is dropped")
    }

    fn err(&self, e: &tokio_postgres::Error) -> Error {
        query_error(&self.url, self.url.statement_timeout.as_secs(), e)
    }

    /// What a failed request says.
    fn fail(&self, f: Failed) -> Error {
        match f {
            Failed::Pg(e) => self.err(&e),
            Failed::RanOut(w) => ran_out_error(&self.url, w),
            Failed::Io(_) | Failed::Cut => cut_error(&self.url),
        }
    }

    /// Runs one request to its end, every wait bounded (see `session`).
    fn request<T>(
        &self,
        f: impl AsyncFnOnce(&tokio_postgres::Client) -> std::result::Result<T, tokio_postgres::Error>,
    ) -> Result<T> {
        let session = self.session();
        session.wait(f(&session.client)).map_err(|e| self.fail(e))
    }

    /// The prepared form of `sql` (`?` placeholders), prepared on first use.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let text = numbered(sql);
        let stmt = self.request(async |c| c.prepare(&text).await)?;
        // A multi-row statement's text is long and its row count varies with the batch's
        // tail: only the short ones are kept, so the cache stays small.
        if sql.len() <= PREPARED_TEXT_MAX {
            if self.prepared.len() >= PREPARED_MAX {
                self.prepared.clear();
            }
            self.prepared.insert(sql.to_string(), stmt.clone());
        }
        Ok(stmt)
    }

    /// Runs a statement without parameters as simple text (DDL, transaction control).
    fn simple(&mut self, sql: &str) -> Result<()> {
        self.request(async |c| c.batch_execute(sql).await)
    }

    /// The table `COPY` fills before the ignoring insert into `table`: temporary, of
    /// `table`'s written columns, emptied before each use.
    fn copy_table(&mut self, table: &Table) -> Result<String> {
        let name = format!("apr_copy_{}", table.name);
        if !self.staged.contains(&table.name) {
            self.simple(&format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {name} AS SELECT {} FROM {} WITH NO DATA",
                table.column_list(),
                table.name
            ))?;
            self.staged.push(table.name);
        }
        self.simple(&format!("TRUNCATE {name}"))?;
        Ok(name)
    }
}

impl PostgresBackend {
    /// `COPY` of `rows` into `table`'s temporary table, then one `INSERT INTO table ...
    /// SELECT ... FROM` it ending with `tail` (the conflict clause); `affected` gets the
    /// inserted (or updated) rows.
    fn copy_rows<'c>(
        &mut self,
        table: &Table,
        tail: &str,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let mut data = Vec::new();
        for row in rows {
            write_copy_row(&mut data, &row);
        }
        if data.is_empty() {
            return Ok(());
        }
        let staging = self.copy_table(table)?;
        let cols = table.column_list();
        let copy = format!("COPY {staging} ({cols}) FROM STDIN");
        let data = bytes::Bytes::from(data);
        self.request(async |c| {
            let mut sink = std::pin::pin!(c.copy_in::<_, bytes::Bytes>(&copy).await?);
            sink.send(data).await?;
            sink.finish().await
        })?;
        let n = self.exec(
            &format!(
                "INSERT INTO {} ({cols}) SELECT {cols} FROM {staging} {tail}",
                table.name
            ),
            &[],
        )?;
        affected(n);
        Ok(())
    }
}

impl Db<PostgresBackend> {
    /// Connects for writing, under the contract of SPEC §9 (creating or upgrading apr's
    /// schema, refusing a database that is not apr's).
    pub fn open(url: &PostgresUrl) -> Result<PostgresStore> {
        Self::open_checked(url, &mut |_, _| Ok(()))
    }

    /// [`Self::open`], running `before` ([`BeforeWrite`]) before the schema is created or
    /// upgraded.
    pub fn open_checked(url: &PostgresUrl, before: &mut BeforeWrite<'_>) -> Result<PostgresStore> {
        let mut db = Db::new(PostgresBackend::connect(url, false)?);
        let holds = contract::holds_apr(&mut db.b)?;
        before(&mut db, holds)?;
        contract::prepare_for_write(&mut db.b)?;
        Ok(db)
    }

    /// Connects for reading only: apr's schema must be there; nothing is created.
    pub fn open_read_only(url: &PostgresUrl) -> Result<PostgresStore> {
        Self::open_existing(url)?.ok_or_else(|| contract::no_data(&url.shown()))
    }

    /// Connects read-only when the database holds apr's tables, else `None`.
    pub fn open_existing(url: &PostgresUrl) -> Result<Option<PostgresStore>> {
        let mut b = PostgresBackend::connect(url, true)?;
        Ok(contract::holds_apr(&mut b)?.then(|| Db::new(b)))
    }
}

impl Backend for PostgresBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn shown(&self) -> &str {
        &self.shown
    }

    fn named(&self) -> &'static str {
        self.url.named
    }

    fn exec(&mut self, sql: &str, cells: &[Cell<'_>]) -> Result<u64> {
        if cells.is_empty() {
            return self.request(async |c| c.execute(sql, &[]).await);
        }
        let stmt = self.statement(sql)?;
        let params: Vec<Bound<'_>> = cells.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.request(async |c| c.execute(&stmt, &refs).await)
    }

    fn insert_rows<'c>(
        &mut self,
        head: &str,
        tail: &str,
        cols: usize,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let max_rows = (MAX_PARAMETERS / cols.max(1)).clamp(1, ROWS_PER_STATEMENT);
        let row = format!("({})", vec!["?"; cols].join(", "));
        let mut cells: Vec<Cell<'c>> = Vec::new();
        let mut n = 0;
        let mut flush = |b: &mut PostgresBackend, cells: &mut Vec<Cell<'c>>, n: usize| {
            let sql = format!("{head} VALUES {} {tail}", vec![row.as_str(); n].join(", "));
            affected(b.exec(&sql, cells)?);
            cells.clear();
            Ok::<(), Error>(())
        };
        for r in rows {
            if n == max_rows {
                flush(self, &mut cells, n)?;
                n = 0;
            }
            cells.extend(r);
            n += 1;
        }
        if n > 0 {
            flush(self, &mut cells, n)?;
        }
        Ok(())
    }

    /// `COPY` of the rows into a temporary table, then one `INSERT ... SELECT ... ON CONFLICT
    /// DO NOTHING`: the rows travel as text in one stream, and a row stored meanwhile (or
    /// twice in the rows) is skipped as by the other backends' ignoring inserts.
    fn insert_new_rows<'c>(
        &mut self,
        table: &Table,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        self.copy_rows(table, "ON CONFLICT DO NOTHING", rows, affected)
    }

    /// Activity rows by `COPY` too: into the temporary table, then one `INSERT ... SELECT`
    /// with the upsert's `ON CONFLICT ... DO UPDATE` when `replace`.
    fn write_rows<'c>(
        &mut self,
        table: &Table,
        replace: bool,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let tail = if replace {
            Dialect::Postgres.upsert(table).1
        } else {
            String::new()
        };
        self.copy_rows(table, &tail, rows, affected)
    }

    fn query(
        &mut self,
        sql: &str,
        cells: &[Cell<'_>],
        each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
    ) -> Result<()> {
        // Rows stream to `each` as they arrive: a report never holds its range in memory.
        let stmt = self.statement(sql)?;
        let params: Vec<Bound<'_>> = cells.iter().map(Bound).collect();
        let rows = self.request(async |c| c.query_raw(&stmt, params.iter()).await)?;
        let mut rows = std::pin::pin!(rows);
        // Each batch of rows is one wait on the server.
        while let Some(row) = self.request(async |_| rows.try_next().await)? {
            each(&mut PgRow(row))?;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<()> {
        self.simple("BEGIN")
    }

    fn commit(&mut self) -> Result<()> {
        self.simple("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        if self.session().is_closed() {
            return Ok(());
        }
        self.simple("ROLLBACK")
    }

    /// A session advisory lock on a key made from the database's and the lock's names: held
    /// until this connection ends, freed by the server when a killed run's connection goes.
    fn try_lock(&mut self, name: &str) -> Result<bool> {
        let key = lock_key(&self.url.database, name);
        // Advisory locks are re-entrant within a session; SQLite's file lock is not, so a
        // second take of a held name reports it held, as on SQLite.
        if self.locks.contains(&key) {
            return Ok(false);
        }
        let started = Instant::now();
        loop {
            let mut got = None;
            self.query(
                "SELECT pg_try_advisory_lock(?)",
                &[Cell::Int(key)],
                &mut |r| {
                    got = r.opt_int(0)?;
                    Ok(())
                },
            )?;
            if got == Some(1) {
                self.locks.push(key);
                return Ok(true);
            }
            // A run killed a moment ago keeps its session (and lock) until the server sees
            // it gone: wait briefly before reporting busy, as MySQL's GET_LOCK waits.
            if started.elapsed() >= LOCK_WAIT {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn apply_schema_statement(&mut self, stmt: &str) -> Result<()> {
        self.simple(&super::schema::postgres_statement(stmt))
    }

    fn connect_reader(&self) -> Result<Option<PostgresBackend>> {
        Ok(Some(PostgresBackend::connect(&self.url, true)?))
    }

    fn staging_reader(&self, staging: &Path) -> Result<Option<Box<dyn Backend>>> {
        let file = SqliteFile {
            path: staging.to_path_buf(),
            named: self.url.named,
        };
        Ok(Some(Box::new(SqliteStore::open_read_only(file)?.b)))
    }
}

/// The advisory lock key of lock `name` in `database`: locks are per server, so the
/// database's name is part of the key (as MySQL's lock names carry it).
fn lock_key(database: &str, name: &str) -> i64 {
    let hash = twox_hash::XxHash3_64::oneshot(format!("apr\0{database}\0{name}").as_bytes());
    hash as i64
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let locked = !self.locks.is_empty();
        let close = move || {
            // The server frees a closed session's locks once it sees the connection gone;
            // releasing them here means a process that starts right after finds them free
            // (bounded as every wait; a cut connection sends nothing more).
            if locked && !session.is_closed() {
                let _ = session.wait(
                    session
                        .client
                        .batch_execute("SELECT pg_advisory_unlock_all()"),
                );
            }
            drop(session);
        };
        // The session runs its own small runtime, which may not be dropped (nor driven) on
        // a thread that drives async tasks (the web server drops its pooled stores there):
        // that must happen on a thread of its own.
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(close);
        } else {
            close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_by_database_and_name() {
        assert_eq!(lock_key("a", "write"), lock_key("a", "write"));
        assert_ne!(lock_key("a", "write"), lock_key("b", "write"));
        assert_ne!(lock_key("a", "write"), lock_key("a", "serve"));
    }
}
