//! The MySQL/MariaDB backend (the sync `mysql` crate): multi-row prepared statements sized
//! to the server's `max_allowed_packet` (and at most [`ROWS_PER_STATEMENT`] rows), one
//! dedicated connection per store (so that `GET_LOCK` locks live exactly as long as the
//! store), the choice of a NO PAD binary collation and session settings. The URL and its
//! waits are in [`url`], the mapping of driver errors in `error`, how cells travel in
//! `wire`, lock names in `lock`, the write lease a Galera cluster's nodes all see in
//! `lease`, a Galera node's state in `cluster`.

use std::cell::Cell as Flag;
use std::path::Path;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value};

use super::contract;
use super::db::Db;
use super::sql::{Backend, Dialect, insert_ignoring};
use super::sqlite::SqliteStore;
use super::sqlite::file::SqliteFile;
use super::table::Table;
use super::traits::BeforeWrite;
use super::value::{Cell, RowRead};
use crate::error::{Error, Result};
use crate::model::ClusterState;

mod cluster;
mod error;
mod lease;
mod lock;
mod socket;
pub mod url;
mod wire;

use error::{connect_error, mysql_error, ran_out_error, url_error};
use lease::{Held, RELEASE, lease_busy, lease_key, lease_lost};
use lock::lock_name;
use socket::{Dialed, cut, dial, ran_out, stalled_wait};
use url::{MysqlUrl, Timeouts, Wait};
use wire::{LOCAL_INFILE_REFUSED, bind, params, row_placeholders, sent_bytes, write_tsv_row};

/// Most rows per multi-row statement: enough to amortize round trips. A statement also stays
/// under [`MAX_PLACEHOLDERS`] and under half the server's `max_allowed_packet` (see
/// [`MysqlBackend::statement_bytes`]), whichever is reached first.
const ROWS_PER_STATEMENT: usize = 4096;
/// Placeholders per statement: a quarter of the protocol's 65,535. The driver keeps each
/// table's full statement prepared, with a parsed definition per placeholder (some 140 bytes
/// each: 9 MB at 65,535); at 16,384 a 1 M-line queue_log load into MariaDB peaks at
/// 132-134 MiB instead of 154 with the same wall and server CPU (`/usr/bin/time`, release).
const MAX_PLACEHOLDERS: usize = 16_384;

/// What a statement's bytes are bounded to when the server does not say (MySQL 5.7's
/// default `max_allowed_packet` is 4 MiB; half of it).
const DEFAULT_STATEMENT_BYTES: usize = 2 << 20;

/// How long a writer waits for a lock another session holds before reporting it busy.
const LOCK_WAIT_SECS: i64 = 5;

/// The collation `schema.sql` names. It is PAD SPACE ('a' = 'a '), unlike SQLite's byte
/// comparison, so on open it is swapped for a NO PAD binary collation when the server has one.
const SCHEMA_COLLATION: &str = "COLLATE=utf8mb4_bin";

/// apr's tables in a MySQL/MariaDB database.
pub type MysqlStore = Db<MysqlBackend>;

/// One connection to a MySQL/MariaDB database.
pub struct MysqlBackend {
    conn: Conn,
    shown: String,
    /// What the URL was given as, named in messages about it.
    named: &'static str,
    /// The database name, scoping lock names to it.
    database: String,
    /// `GET_LOCK` names this session holds (see [`Backend::try_lock`]).
    locks: Vec<String>,
    /// The write lease held beside the `GET_LOCK` (see `lease`), checked and renewed by
    /// every write transaction just before its commit.
    lease: Option<Held>,
    /// A lock whose lease waits for apr's schema (taken before the schema is created, where
    /// `apr_meta` does not exist yet): taken by [`MysqlStore::open_checked`] once it does.
    pending_lease: Option<String>,
    /// The lease's period.
    lease_period: std::time::Duration,
    /// The NO PAD binary collation to use instead of [`SCHEMA_COLLATION`], if the server has one.
    nopad: Option<String>,
    timeouts: Timeouts,
    /// How this connection was made, for [`Backend::connect_reader`].
    opts: Opts,
    /// The most bytes one multi-row statement sends: half the server's `max_allowed_packet`
    /// (read once per connection), so a statement fits with room for what the estimate of
    /// [`sent_bytes`] leaves out. A single row larger than this still goes, alone.
    statement_bytes: usize,
    /// Whether `LOAD DATA LOCAL INFILE` may be tried; false once the server refused it.
    local_infile: bool,
    /// Set once the connection failed (a wait that ran out, a broken socket): its socket is
    /// shut down and nothing more is sent, so no rollback, lock release or goodbye waits on
    /// a server that stopped answering (issue 26). The server rolls back what was not
    /// committed and frees the locks when it sees the connection gone.
    dropped: Flag<bool>,
}

struct MysqlRow(mysql::Row);

impl MysqlRow {
    fn take<T: mysql::prelude::FromValue>(&mut self, i: usize) -> Result<T> {
        let value = self
            .0
            .take::<Value, _>(i)
            .ok_or_else(|| Error::db(format!("a result row has no column {i}")))?;
        mysql::from_value_opt::<T>(value)
            .map_err(|_| Error::db(format!("unexpected value in column {i} of a result row")))
    }
}

/// Hands each row of a result to `each`; the driver's failure, if one ends the rows, is
/// returned for the caller to map (the connection is borrowed until the rows are done).
fn stream_rows<P: mysql::prelude::Protocol>(
    rows: mysql::Result<mysql::QueryResult<'_, '_, '_, P>>,
    each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
) -> Result<Option<mysql::Error>> {
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return Ok(Some(e)),
    };
    for row in rows {
        match row {
            Ok(row) => each(&mut MysqlRow(row))?,
            Err(e) => return Ok(Some(e)),
        }
    }
    Ok(None)
}

impl RowRead for MysqlRow {
    fn int(&mut self, i: usize) -> Result<i64> {
        self.take(i)
    }
    fn opt_int(&mut self, i: usize) -> Result<Option<i64>> {
        self.take(i)
    }
    fn text(&mut self, i: usize) -> Result<String> {
        self.take(i)
    }
}

impl MysqlBackend {
    /// Connects to `url` (`mysql://user:pass@host:port/db`). The database itself must exist.
    fn connect(url: &MysqlUrl) -> Result<MysqlBackend> {
        let driver = url.driver()?;
        let (shown, named, timeouts, lease_period) =
            (url.shown(), url.named, url.timeouts, url.lease);
        let opts = Opts::from_url(driver).map_err(|e| url_error(&shown, named, &e))?;
        let database = match opts.get_db_name() {
            Some(db) if !db.is_empty() => db.to_string(),
            _ => {
                return Err(Error::config(format!(
                    "{named} '{shown}' names no database; expected mysql://user:pass@host:port/db"
                )));
            }
        };
        let opts = OptsBuilder::from_opts(opts)
            // Strict mode: a value too long for its column fails instead of being truncated
            // (a truncated key could silently merge two events).
            .init(vec![
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
                "SET NAMES utf8mb4",
            ]);
        let opts = Opts::from(opts);
        let conn = Self::dial(&opts, &shown, named, &database, &timeouts)?;
        let mut b = MysqlBackend {
            conn,
            shown,
            named,
            database,
            locks: Vec::new(),
            lease: None,
            pending_lease: None,
            lease_period,
            nopad: None,
            timeouts,
            opts,
            statement_bytes: DEFAULT_STATEMENT_BYTES,
            local_infile: true,
            dropped: Flag::new(false),
        };
        // A Galera node outside the primary component answers nothing else (error 1047):
        // one line that says so, instead of the first query's refusal.
        if let Some(c) = b.cluster_state()?
            && !c.ready
        {
            return Err(Error::db(format!(
                "MySQL database {}: this server is a Galera node that is not ready \
                 (wsrep_ready OFF, state {}, {} node(s) in its component); point {named} at \
                 a node of the cluster's primary component, or wait until this one rejoins",
                b.shown, c.state, c.size
            )));
        }
        b.nopad = b
            .conn
            .query_first(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
                 WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin') \
                 ORDER BY COLLATION_NAME = 'utf8mb4_nopad_bin' DESC LIMIT 1",
            )
            .map_err(|e| b.err(e))?;
        let packet: Option<u64> = b
            .conn
            .query_first("SELECT @@max_allowed_packet")
            .map_err(|e| b.err(e))?;
        if let Some(packet) = packet.filter(|p| *p > 0) {
            b.statement_bytes = usize::try_from(packet / 2).unwrap_or(usize::MAX);
        }
        Ok(b)
    }

    /// A connection to the server, within the connect timeout (see [`socket::dial`]).
    fn dial(
        opts: &Opts,
        shown: &str,
        named: &'static str,
        database: &str,
        timeouts: &Timeouts,
    ) -> Result<Conn> {
        dial(opts, timeouts).map_err(|d| match d {
            Dialed::TimedOut => ran_out_error(shown, timeouts, Wait::Connect),
            Dialed::Failed(e) => connect_error(shown, named, database, timeouts, e),
        })
    }

    /// Another connection to this backend's server and database (the lease's renewer, a
    /// reader beside the writer).
    fn dial_again(&self) -> Result<Conn> {
        Self::dial(
            &self.opts,
            &self.shown,
            self.named,
            &self.database,
            &self.timeouts,
        )
    }

    /// The connection, unless an earlier failure dropped it (see [`MysqlBackend::dropped`]).
    fn conn(&mut self) -> Result<&mut Conn> {
        if self.dropped.get() {
            return Err(Error::db(format!(
                "MySQL database {}: the connection was dropped after a failure; run again",
                self.shown
            )));
        }
        Ok(&mut self.conn)
    }

    /// Takes the write lease of the lock `name` (see `lease`) and starts renewing it on a
    /// connection of its own; `false` when another process holds it.
    fn take_lease(&mut self, name: &str) -> Result<bool> {
        let (key, period) = (lease_key(name), self.lease_period);
        let taken = lease::take(self.conn()?, &key, period).map_err(|e| self.err(e))?;
        let Some(ident) = taken else {
            return Ok(false);
        };
        let renewer = self.dial_again()?;
        self.lease = Some(Held::start(renewer, key, ident, period));
        Ok(true)
    }

    /// Inside a write transaction, just before its `COMMIT`: renews the lease when one is
    /// held; a holder that lost it rolls back and stops there.
    fn renew_lease_in_tx(&mut self) -> Result<()> {
        let Some(params) = self.lease.as_ref().map(Held::renew_params) else {
            return Ok(());
        };
        let held = lease::renew(self.conn()?, params).map_err(|e| self.err(e))?;
        if !held {
            let _ = self.rollback();
            self.lease = None;
            return Err(lease_lost(&self.shown));
        }
        Ok(())
    }

    /// The error `e` in the user's words. A failure of the connection itself (anything but
    /// the server's own error answer) drops it: its socket is shut down at once.
    fn err(&self, e: mysql::Error) -> Error {
        if matches!(e, mysql::Error::MySqlError(_)) {
            return mysql_error(&self.shown, self.named, e);
        }
        let wait = ran_out(&e).then(|| stalled_wait(&self.conn));
        self.dropped.set(true);
        cut(&self.conn);
        match wait {
            Some(wait) => ran_out_error(&self.shown, &self.timeouts, wait),
            None => mysql_error(&self.shown, self.named, e),
        }
    }
}

impl Db<MysqlBackend> {
    /// Connects for writing, under the contract of SPEC §9 (creating or upgrading apr's
    /// schema, refusing a database that is not apr's).
    pub fn open(url: &MysqlUrl) -> Result<MysqlStore> {
        Self::open_checked(url, &mut |_, _| Ok(()))
    }

    /// [`Self::open`], running `before` ([`BeforeWrite`]) before the schema is created or
    /// upgraded.
    pub fn open_checked(url: &MysqlUrl, before: &mut BeforeWrite<'_>) -> Result<MysqlStore> {
        let mut db = Db::new(MysqlBackend::connect(url)?);
        let holds = contract::holds_apr(&mut db.b)?;
        before(&mut db, holds)?;
        contract::prepare_for_write(&mut db.b)?;
        if let Some(name) = db.b.pending_lease.take()
            && !db.b.take_lease(&name)?
        {
            return Err(lease_busy());
        }
        Ok(db)
    }

    /// Connects for reading only: apr's schema must be there; nothing is created.
    pub fn open_read_only(url: &MysqlUrl) -> Result<MysqlStore> {
        Self::open_existing(url)?.ok_or_else(|| contract::no_data(&url.shown()))
    }

    /// Connects read-only when the database holds apr's tables, else `None`.
    pub fn open_existing(url: &MysqlUrl) -> Result<Option<MysqlStore>> {
        let mut b = MysqlBackend::connect(url)?;
        b.conn
            .query_drop("SET SESSION TRANSACTION READ ONLY")
            .map_err(|e| b.err(e))?;
        Ok(contract::holds_apr(&mut b)?.then(|| Db::new(b)))
    }
}

impl Backend for MysqlBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn shown(&self) -> &str {
        &self.shown
    }

    fn named(&self) -> &'static str {
        self.named
    }

    fn exec(&mut self, sql: &str, cells: &[Cell<'_>]) -> Result<u64> {
        let conn = self.conn()?;
        let result = if cells.is_empty() {
            // Text protocol: DDL (RENAME TABLE, CREATE TABLE ... LIKE) needs no preparing.
            conn.query_drop(sql)
        } else {
            conn.exec_drop(sql, params(cells))
        };
        result.map_err(|e| self.err(e))?;
        Ok(self.conn.affected_rows())
    }

    fn insert_rows<'c>(
        &mut self,
        head: &str,
        tail: &str,
        cols: usize,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let max_rows = (MAX_PLACEHOLDERS / cols.max(1)).clamp(1, ROWS_PER_STATEMENT);
        let mut values: Vec<Value> = Vec::new();
        let (mut n, mut bytes) = (0, 0);
        let mut flush = |b: &mut MysqlBackend, values: &mut Vec<Value>, n: usize| {
            let sql = format!("{head} VALUES {} {tail}", row_placeholders(n, cols));
            let values = Params::Positional(std::mem::take(values));
            let conn = b.conn()?;
            let done = if n == max_rows {
                // The full statement of this table, used batch after batch: the driver's
                // statement cache keeps it prepared.
                conn.exec_drop(&sql, values)
            } else {
                // A shorter one (a batch's last rows, or one cut by the packet size) is
                // rarely sent again: closed at once, since a cached statement holds every
                // placeholder's metadata (some 10 MB at 65,535 placeholders), and the
                // driver's cache of 32 of them held 84 MB of a queue_log load's peak.
                conn.prep(&sql).and_then(|stmt| {
                    let done = conn.exec_drop(&stmt, values);
                    let closed = conn.close(stmt);
                    done.and(closed)
                })
            };
            done.map_err(|e| b.err(e))?;
            affected(b.conn.affected_rows());
            Ok::<(), Error>(())
        };
        for row in rows {
            let row: Vec<Value> = row.iter().map(bind).collect();
            let row_bytes: usize = row.iter().map(sent_bytes).sum();
            if n > 0 && (n == max_rows || bytes + row_bytes > self.statement_bytes) {
                flush(self, &mut values, n)?;
                (n, bytes) = (0, 0);
            }
            values.extend(row);
            n += 1;
            bytes += row_bytes;
        }
        if n > 0 {
            flush(self, &mut values, n)?;
        }
        Ok(())
    }

    /// `LOAD DATA LOCAL INFILE ... IGNORE` from the rows written as tab-separated text in
    /// memory: apr binds no parameters (1.7 CPU-s less per 1 M queue_log lines in
    /// `benches/queue_log.rs`; the server's cost is the same). The handler sends only this
    /// buffer, whatever file the server names. A server that refuses local files
    /// (`local_infile = 0`, see [`LOCAL_INFILE_REFUSED`]) gets the multi-row inserts, for
    /// this and every later call.
    fn insert_new_rows<'c>(
        &mut self,
        table: &Table,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        if !self.local_infile {
            return insert_ignoring(self, table, rows, affected);
        }
        let rows: Vec<Vec<Cell<'c>>> = rows.collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = Vec::with_capacity(rows.len() * 96);
        for row in &rows {
            write_tsv_row(&mut data, row);
        }
        let mut data = Some(data);
        self.conn()?
            .set_local_infile_handler(Some(mysql::LocalInfileHandler::new(move |_, out| {
                use std::io::Write as _;
                out.write_all(&data.take().unwrap_or_default())
            })));
        let sql = format!(
            "LOAD DATA LOCAL INFILE 'apr-rows' IGNORE INTO TABLE {} CHARACTER SET utf8mb4 \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
            table.name,
            table.column_list()
        );
        let result = self.conn.query_drop(&sql);
        self.conn.set_local_infile_handler(None);
        match result {
            Ok(()) => {
                affected(self.conn.affected_rows());
                Ok(())
            }
            Err(mysql::Error::MySqlError(m)) if LOCAL_INFILE_REFUSED.contains(&m.code) => {
                self.local_infile = false;
                insert_ignoring(self, table, &mut rows.into_iter(), affected)
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn query(
        &mut self,
        sql: &str,
        cells: &[Cell<'_>],
        each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
    ) -> Result<()> {
        // Rows stream to `each` as they arrive: a report never holds its range in memory.
        let conn = self.conn()?;
        let failed = if cells.is_empty() {
            // Text protocol for parameterless reads (information_schema, SELECT 1).
            stream_rows(conn.query_iter(sql), each)?
        } else {
            stream_rows(conn.exec_iter(sql, params(cells)), each)?
        };
        match failed {
            Some(e) => Err(self.err(e)),
            None => Ok(()),
        }
    }

    fn begin(&mut self) -> Result<()> {
        self.conn()?
            .query_drop("START TRANSACTION")
            .map_err(|e| self.err(e))
    }

    /// Renews the write lease (when held) in the transaction first: a holder that lost it
    /// rolls back instead of committing (see `lease`).
    fn commit(&mut self) -> Result<()> {
        self.renew_lease_in_tx()?;
        self.conn()?.query_drop("COMMIT").map_err(|e| self.err(e))
    }

    /// Nothing to send on a dropped connection: the server rolls back on its own.
    fn rollback(&mut self) -> Result<()> {
        if self.dropped.get() {
            return Ok(());
        }
        self.conn.query_drop("ROLLBACK").map_err(|e| self.err(e))
    }

    fn try_lock(&mut self, name: &str) -> Result<bool> {
        let lock = lock_name(&self.database, name);
        // GET_LOCK is re-entrant within a session; SQLite's file lock is not, so a second
        // take of a held name reports it held, as on SQLite.
        if self.locks.contains(&lock) {
            return Ok(false);
        }
        // Within the read timeout, or the wait itself would fail as a frozen server.
        let wait = LOCK_WAIT_SECS
            .min(self.timeouts.read.limit.as_secs() as i64 - 1)
            .max(0);
        // A run killed a moment ago leaves its session, and so its lock, on the server
        // until the server notices the client is gone (it finishes the statement in flight
        // and rolls back first). Waiting briefly lets the next run take over then, instead
        // of exiting 75 after every kill (issue 15.5); a live holder still means "busy".
        let got: Option<Option<i64>> = self
            .conn()?
            .exec_first("SELECT GET_LOCK(?, ?)", (&lock, wait))
            .map_err(|e| self.err(e))?;
        match got.flatten() {
            Some(1) => {
                // The node-local lock is ours; the lease makes it the cluster's (a single
                // server hands it over at once, see `lease::may_take`).
                if !contract::holds_apr(self)? {
                    self.pending_lease = Some(name.to_string());
                } else if !self.take_lease(name)? {
                    self.conn()?
                        .exec_drop("DO RELEASE_LOCK(?)", (&lock,))
                        .map_err(|e| self.err(e))?;
                    return Ok(false);
                }
                self.locks.push(lock);
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(Error::db(format!(
                "MySQL database {}: GET_LOCK('{lock}') failed; run again",
                self.shown
            ))),
        }
    }

    /// See [`cluster::read`].
    fn cluster_state(&mut self) -> Result<Option<ClusterState>> {
        let conn = self.conn()?;
        cluster::read(conn).map_err(|e| self.err(e))
    }

    fn apply_schema_statement(&mut self, stmt: &str) -> Result<()> {
        let stmt = match &self.nopad {
            Some(c) => stmt.replace(SCHEMA_COLLATION, &format!("COLLATE={c}")),
            None => stmt.to_string(),
        };
        self.conn()?.query_drop(&stmt).map_err(|e| self.err(e))
    }

    fn connect_reader(&self) -> Result<Option<MysqlBackend>> {
        let conn = self.dial_again()?;
        let mut b = MysqlBackend {
            conn,
            shown: self.shown.clone(),
            named: self.named,
            database: self.database.clone(),
            locks: Vec::new(),
            lease: None,
            pending_lease: None,
            lease_period: self.lease_period,
            nopad: self.nopad.clone(),
            timeouts: self.timeouts,
            opts: self.opts.clone(),
            statement_bytes: self.statement_bytes,
            local_infile: self.local_infile,
            dropped: Flag::new(false),
        };
        b.conn
            .query_drop("SET SESSION TRANSACTION READ ONLY")
            .map_err(|e| b.err(e))?;
        Ok(Some(b))
    }

    fn staging_reader(&self, staging: &Path) -> Result<Option<Box<dyn Backend>>> {
        let file = SqliteFile {
            path: staging.to_path_buf(),
            named: self.named,
        };
        Ok(Some(Box::new(SqliteStore::open_read_only(file)?.b)))
    }
}

impl Drop for MysqlBackend {
    fn drop(&mut self) {
        // Closing the connection frees its locks, but the server does that asynchronously;
        // releasing them here means a process that starts right after this one finds them free.
        // A dropped connection sends nothing more (the server frees them when it sees it gone).
        if self.dropped.get() {
            return;
        }
        if let Some(held) = self.lease.take() {
            let _ = self.conn.exec_drop(RELEASE, (&held.key, &held.ident));
        }
        for lock in std::mem::take(&mut self.locks) {
            let _ = self.conn.exec_drop("DO RELEASE_LOCK(?)", (&lock,));
        }
    }
}
