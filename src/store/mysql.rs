//! The MySQL/MariaDB backend (the sync `mysql` crate): binding of cells, multi-row prepared
//! statements sized to the server's `max_allowed_packet` (and at most [`ROWS_PER_STATEMENT`]
//! rows), one dedicated connection per store (so
//! that `GET_LOCK` locks live exactly as long as the store), the choice of a NO PAD binary
//! collation, session settings, and the mapping of driver errors to one-line messages that
//! name the database and never show the password or the SQL.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value};

use super::db::Db;
use super::redact_url;
use super::sql::{Backend, Dialect, RowRead, insert_ignoring, placeholders};
use super::table::{Cell, Table};
use crate::error::{Error, Result, one_line};

/// Most rows per multi-row statement: enough to amortize round trips. A statement also stays
/// under the protocol's 65,535 placeholders and under half the server's `max_allowed_packet`
/// (see [`MysqlBackend::statement_bytes`]), whichever is reached first.
const ROWS_PER_STATEMENT: usize = 4096;
const MAX_PLACEHOLDERS: usize = u16::MAX as usize;

/// What a statement's bytes are bounded to when the server does not say (MySQL 5.7's
/// default `max_allowed_packet` is 4 MiB; half of it).
const DEFAULT_STATEMENT_BYTES: usize = 2 << 20;

/// How long a writer waits for a lock another session holds before reporting it busy.
const LOCK_WAIT_SECS: i64 = 5;

/// `GET_LOCK` names are limited to 64 characters.
const LOCK_NAME_MAX: usize = 64;

/// The collation `schema.sql` names. It is PAD SPACE ('a' = 'a '), unlike SQLite's byte
/// comparison, so on open it is swapped for a NO PAD binary collation when the server has one.
const SCHEMA_COLLATION: &str = "COLLATE=utf8mb4_bin";

/// apr's tables in a MySQL/MariaDB database.
pub type MysqlStore = Db<MysqlBackend>;

/// How long apr waits on a MySQL/MariaDB server before giving up with an error naming the
/// database (issue 15.4: a frozen server used to hang every command). Set per database in
/// the URL (`?connect_timeout=10&read_timeout=120&write_timeout=120`, seconds; apr's own
/// parameters, removed before the driver reads the URL) or with `APR_MYSQL_CONNECT_TIMEOUT_SECS`,
/// `APR_MYSQL_READ_TIMEOUT_SECS`, `APR_MYSQL_WRITE_TIMEOUT_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP connection.
    pub connect: Duration,
    /// Any one wait for the server's answer (the handshake included): the longest a single
    /// statement may run.
    pub read: Duration,
    /// Any one wait to send to the server.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(120),
            write: Duration::from_secs(120),
        }
    }
}

/// The URL parameters of [`Timeouts`], with the settings that set them.
pub const TIMEOUT_PARAMS: [(&str, &str); 3] = [
    ("connect_timeout", "APR_MYSQL_CONNECT_TIMEOUT_SECS"),
    ("read_timeout", "APR_MYSQL_READ_TIMEOUT_SECS"),
    ("write_timeout", "APR_MYSQL_WRITE_TIMEOUT_SECS"),
];

/// Splits apr's timeout parameters off `url`: the URL the driver reads, and the timeouts.
pub fn split_timeouts(url: &str) -> Result<(String, Timeouts)> {
    let mut t = Timeouts::default();
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), t));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match k {
            "connect_timeout" => &mut t.connect,
            "read_timeout" => &mut t.read,
            "write_timeout" => &mut t.write,
            _ => {
                kept.push(pair);
                continue;
            }
        };
        let setting = TIMEOUT_PARAMS
            .iter()
            .find(|(p, _)| *p == k)
            .map_or("", |(_, s)| s);
        *slot = match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(Error::config(format!(
                    "MySQL {k} '{v}' (APR_DATABASE_URL or {setting}) is not usable; expected whole seconds above 0"
                )));
            }
        };
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, t))
}

/// `url` without apr's timeout parameters, as the database is shown in messages.
pub fn without_timeouts(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let k = p.split_once('=').map_or(*p, |(k, _)| k);
            !p.is_empty() && !TIMEOUT_PARAMS.iter().any(|(name, _)| *name == k)
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// `url` with `param=value` added unless the URL sets that parameter already.
pub fn with_param(url: &str, param: &str, value: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if query
        .split('&')
        .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == param)
    {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}={value}")
}

/// One connection to a MySQL/MariaDB database.
pub struct MysqlBackend {
    conn: Conn,
    shown: String,
    /// The database name, scoping lock names to it.
    database: String,
    /// `GET_LOCK` names this session holds (see [`Backend::try_lock`]).
    locks: Vec<String>,
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
}

fn bind(cell: &Cell<'_>) -> Value {
    match cell {
        Cell::Int(n) => Value::Int(*n),
        Cell::Null => Value::NULL,
        Cell::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
    }
}

fn params(cells: &[Cell<'_>]) -> Params {
    if cells.is_empty() {
        Params::Empty
    } else {
        Params::Positional(cells.iter().map(bind).collect())
    }
}

/// About the bytes a bound value takes in the packet that executes a prepared statement (its
/// type, length prefix and data), plus its `?, ` in the statement text that prepares it.
fn sent_bytes(v: &Value) -> usize {
    let data = match v {
        Value::Bytes(b) => b.len() + 9,
        Value::NULL => 0,
        _ => 8,
    };
    data + 2 + 3
}

/// `(?, ?, ...), (?, ?, ...)` for `rows` rows of `cols` columns.
fn row_placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", placeholders(cols));
    vec![one; rows].join(", ")
}

/// Server errors that refuse `LOAD DATA LOCAL INFILE` itself: MySQL 5's and older
/// MariaDB's "command not allowed" (1148), MariaDB 10.5+'s "local infile capability
/// disabled" (4166), MySQL 8's local data disabled on the client (3948) or the server
/// (3950).
const LOCAL_INFILE_REFUSED: [u16; 4] = [1148, 4166, 3948, 3950];

/// Appends one row in `LOAD DATA`'s default text format: tab-separated fields, `\N` for
/// NULL, backslash escapes for the bytes that would end a field or line.
fn write_tsv_row(out: &mut Vec<u8>, row: &[Cell<'_>]) {
    use std::io::Write as _;
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Text(s) => {
                let bytes = s.as_bytes();
                let mut from = 0;
                for (at, b) in bytes.iter().enumerate() {
                    let escaped: &[u8] = match b {
                        b'\\' => b"\\\\",
                        b'\t' => b"\\t",
                        b'\n' => b"\\n",
                        b'\r' => b"\\r",
                        0 => b"\\0",
                        _ => continue,
                    };
                    out.extend_from_slice(&bytes[from..at]);
                    out.extend_from_slice(escaped);
                    from = at + 1;
                }
                out.extend_from_slice(&bytes[from..]);
            }
        }
    }
    out.push(b'\n');
}

/// One-line message for a failure on the database `shown`: what happened and what to do.
/// Driver errors (a dead connection) are not shown as the driver's debug text.
pub(crate) fn mysql_error(shown: &str, e: mysql::Error) -> Error {
    let lost = |what: &str| {
        Error::db(format!(
            "lost the connection to MySQL database {shown} ({what}); check that the server is \
             running and reachable, then run again (the interrupted transaction was rolled back)"
        ))
    };
    match e {
        mysql::Error::IoError(io) => lost(&one_line(&io.to_string())),
        mysql::Error::CodecError(_) => lost("the connection broke"),
        mysql::Error::DriverError(d) => match d {
            mysql::DriverError::ConnectTimeout
            | mysql::DriverError::CouldNotConnect(_)
            | mysql::DriverError::PacketOutOfSync
            | mysql::DriverError::UnexpectedPacket
            | mysql::DriverError::Timeout => lost("the server closed it"),
            other => Error::db(format!(
                "MySQL database {shown}: {}; run again, and report it if it repeats",
                one_line(&other.to_string())
            )),
        },
        mysql::Error::MySqlError(m) => {
            // The server's message without any statement text it quotes.
            let msg = m.message.split(" near '").next().unwrap_or(&m.message);
            let hint = match m.code {
                1205 | 1213 => "another process holds the rows; run again",
                1114 | 1021 => "the server's disk is full; free space and run again",
                1142 | 1044 | 1045 | 1227 => "grant the user the needed privileges",
                2006 | 2013 => "check that the server is running, then run again",
                _ => "check the server's log",
            };
            Error::db(format!(
                "MySQL database {shown} refused the operation: {} (error {}); {hint}",
                one_line(msg),
                m.code
            ))
        }
        mysql::Error::UrlError(u) => Error::config(format!(
            "APR_DATABASE_URL '{shown}' is not a valid MySQL URL ({}); expected mysql://user:pass@host:port/db",
            one_line(&u.to_string())
        )),
        other => Error::db(format!(
            "MySQL database {shown}: unexpected data ({}); run again, and report it if it repeats",
            one_line(&other.to_string())
        )),
    }
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
    fn connect(url: &str) -> Result<MysqlBackend> {
        let (url, timeouts) = split_timeouts(url)?;
        let shown = redact_url(&url);
        let opts = Opts::from_url(&url).map_err(|e| {
            Error::config(format!(
                "APR_DATABASE_URL '{shown}' is not a valid MySQL URL ({}); expected mysql://user:pass@host:port/db",
                one_line(&e.to_string())
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
            .tcp_connect_timeout(Some(timeouts.connect))
            .read_timeout(Some(timeouts.read))
            .write_timeout(Some(timeouts.write))
            // Strict mode: a value too long for its column fails instead of being truncated
            // (a truncated key could silently merge two events).
            .init(vec![
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
                "SET NAMES utf8mb4",
            ]);
        let opts = Opts::from(opts);
        let conn =
            Conn::new(opts.clone()).map_err(|e| connect_error(&shown, &database, &timeouts, e))?;
        let mut b = MysqlBackend {
            conn,
            shown,
            database,
            locks: Vec::new(),
            nopad: None,
            timeouts,
            opts,
            statement_bytes: DEFAULT_STATEMENT_BYTES,
            local_infile: true,
        };
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

    fn err(&self, e: mysql::Error) -> Error {
        match timed_out(&self.shown, &self.timeouts, &e) {
            Some(err) => err,
            None => mysql_error(&self.shown, e),
        }
    }
}

impl Db<MysqlBackend> {
    /// Connects for writing, under the contract of SPEC §9 (creating or upgrading apr's
    /// schema, refusing a database that is not apr's).
    pub fn open(url: &str) -> Result<MysqlStore> {
        Self::open_checked(url, &mut |_, _| Ok(()))
    }

    /// [`Self::open`], running `before` ([`super::BeforeWrite`]) before the schema is
    /// created or upgraded.
    pub fn open_checked(url: &str, before: &mut super::BeforeWrite<'_>) -> Result<MysqlStore> {
        let mut db = Db::new(MysqlBackend::connect(url)?);
        let holds = super::contract::holds_apr(&mut db.b)?;
        before(&mut db, holds)?;
        super::contract::prepare_for_write(&mut db.b)?;
        Ok(db)
    }

    /// Connects for reading only: apr's schema must be there; nothing is created.
    pub fn open_read_only(url: &str) -> Result<MysqlStore> {
        Self::open_existing(url)?.ok_or_else(|| super::contract::no_data(&redact_url(url)))
    }

    /// Connects read-only when the database holds apr's tables, else `None`.
    pub fn open_existing(url: &str) -> Result<Option<MysqlStore>> {
        let mut b = MysqlBackend::connect(url)?;
        b.conn
            .query_drop("SET SESSION TRANSACTION READ ONLY")
            .map_err(|e| b.err(e))?;
        Ok(super::contract::holds_apr(&mut b)?.then(|| Db::new(b)))
    }
}

impl Backend for MysqlBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn shown(&self) -> &str {
        &self.shown
    }

    fn exec(&mut self, sql: &str, cells: &[Cell<'_>]) -> Result<u64> {
        let result = if cells.is_empty() {
            // Text protocol: DDL (RENAME TABLE, CREATE TABLE ... LIKE) needs no preparing.
            self.conn.query_drop(sql)
        } else {
            self.conn.exec_drop(sql, params(cells))
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
            b.conn
                .exec_drop(&sql, Params::Positional(std::mem::take(values)))
                .map_err(|e| b.err(e))?;
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
        self.conn
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
        let shown = self.shown.clone();
        // Rows stream to `each` as they arrive: a report never holds its range in memory.
        if cells.is_empty() {
            // Text protocol for parameterless reads (information_schema, SELECT 1).
            let rows = self
                .conn
                .query_iter(sql)
                .map_err(|e| mysql_error(&shown, e))?;
            for row in rows {
                each(&mut MysqlRow(row.map_err(|e| mysql_error(&shown, e))?))?;
            }
        } else {
            let rows = self
                .conn
                .exec_iter(sql, params(cells))
                .map_err(|e| mysql_error(&shown, e))?;
            for row in rows {
                each(&mut MysqlRow(row.map_err(|e| mysql_error(&shown, e))?))?;
            }
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<()> {
        self.conn
            .query_drop("START TRANSACTION")
            .map_err(|e| self.err(e))
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.query_drop("COMMIT").map_err(|e| self.err(e))
    }

    fn rollback(&mut self) -> Result<()> {
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
            .min(self.timeouts.read.as_secs() as i64 - 1)
            .max(0);
        // A run killed a moment ago leaves its session, and so its lock, on the server
        // until the server notices the client is gone (it finishes the statement in flight
        // and rolls back first). Waiting briefly lets the next run take over then, instead
        // of exiting 75 after every kill (issue 15.5); a live holder still means "busy".
        let got: Option<Option<i64>> = self
            .conn
            .exec_first("SELECT GET_LOCK(?, ?)", (&lock, wait))
            .map_err(|e| self.err(e))?;
        match got.flatten() {
            Some(1) => {
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

    fn apply_schema_statement(&mut self, stmt: &str) -> Result<()> {
        let stmt = match &self.nopad {
            Some(c) => stmt.replace(SCHEMA_COLLATION, &format!("COLLATE={c}")),
            None => stmt.to_string(),
        };
        self.conn.query_drop(&stmt).map_err(|e| self.err(e))
    }

    fn connect_reader(&self) -> Result<Option<MysqlBackend>> {
        let conn = Conn::new(self.opts.clone())
            .map_err(|e| connect_error(&self.shown, &self.database, &self.timeouts, e))?;
        let mut b = MysqlBackend {
            conn,
            shown: self.shown.clone(),
            database: self.database.clone(),
            locks: Vec::new(),
            nopad: self.nopad.clone(),
            timeouts: self.timeouts,
            opts: self.opts.clone(),
            statement_bytes: self.statement_bytes,
            local_infile: self.local_infile,
        };
        b.conn
            .query_drop("SET SESSION TRANSACTION READ ONLY")
            .map_err(|e| b.err(e))?;
        Ok(Some(b))
    }
}

impl Drop for MysqlBackend {
    fn drop(&mut self) {
        // Closing the connection frees its locks, but the server does that asynchronously;
        // releasing them here means a process that starts right after this one finds them free.
        for lock in std::mem::take(&mut self.locks) {
            let _ = self.conn.exec_drop("DO RELEASE_LOCK(?)", (&lock,));
        }
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

/// The error of a wait that ran out (a frozen or unreachable server), naming the database
/// and the setting that bounds the wait; `None` for any other failure.
fn timed_out(shown: &str, t: &Timeouts, e: &mysql::Error) -> Option<Error> {
    let io = match e {
        mysql::Error::IoError(io) => io,
        // The packet codec wraps the socket's error; its source is the io::Error.
        mysql::Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|s| s.downcast_ref::<std::io::Error>())?
        }
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => {
            return Some(Error::db(format!(
                "cannot connect to MySQL database {shown} within {} s (APR_MYSQL_CONNECT_TIMEOUT_SECS); \
                 check that the server is running and reachable",
                t.connect.as_secs()
            )));
        }
        _ => return None,
    };
    if !matches!(
        io.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        return None;
    }
    Some(Error::db(format!(
        "MySQL database {shown} did not answer within {} s (APR_MYSQL_READ_TIMEOUT_SECS); \
         check that the server is running and not stalled, then run again (nothing \
         uncommitted was kept)",
        t.read.as_secs()
    )))
}

/// One-line, password-free message for a failed connection.
fn connect_error(shown: &str, database: &str, t: &Timeouts, e: mysql::Error) -> Error {
    if let Some(err) = timed_out(shown, t, &e) {
        return err;
    }
    match &e {
        mysql::Error::MySqlError(m) if m.code == 1049 => Error::config(format!(
            "MySQL database '{database}' does not exist at {shown}; create it \
             (CREATE DATABASE `{database}` CHARACTER SET utf8mb4) or fix APR_DATABASE_URL"
        )),
        mysql::Error::MySqlError(m) if m.code == 1045 || m.code == 1044 => Error::config(format!(
            "MySQL refused the login for {shown}: {}; check the user and password in APR_DATABASE_URL",
            crate::error::one_line(&m.message)
        )),
        mysql::Error::IoError(io) => Error::db(format!(
            "cannot connect to MySQL at {shown}: {}; check that the server is running and the \
             host and port in APR_DATABASE_URL",
            one_line(&io.to_string())
        )),
        _ => mysql_error(shown, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_come_from_the_url_and_leave_it_to_the_driver() {
        let (url, t) = split_timeouts("mysql://u:p@h:3306/db").unwrap();
        assert_eq!(
            (url.as_str(), t),
            ("mysql://u:p@h:3306/db", Timeouts::default())
        );
        let (url, t) = split_timeouts(
            "mysql://u@h/db?read_timeout=5&prefer_socket=false&connect_timeout=2&write_timeout=7",
        )
        .unwrap();
        assert_eq!(url, "mysql://u@h/db?prefer_socket=false");
        assert_eq!(
            (t.connect.as_secs(), t.read.as_secs(), t.write.as_secs()),
            (2, 5, 7)
        );
        let e = split_timeouts("mysql://u@h/db?read_timeout=0").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("APR_MYSQL_READ_TIMEOUT_SECS"), "{e}");
        assert_eq!(
            with_param("mysql://u@h/db", "read_timeout", "5"),
            "mysql://u@h/db?read_timeout=5"
        );
        assert_eq!(
            with_param("mysql://u@h/db?read_timeout=9", "read_timeout", "5"),
            "mysql://u@h/db?read_timeout=9"
        );
        assert_eq!(
            with_param("mysql://u@h/db?x=1", "write_timeout", "5"),
            "mysql://u@h/db?x=1&write_timeout=5"
        );
    }

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
    fn load_data_rows_escape_what_ends_a_field_or_line() {
        let mut out = Vec::new();
        write_tsv_row(
            &mut out,
            &[
                Cell::Int(-7),
                Cell::Null,
                Cell::Text(""),
                Cell::Text("a\tb\nc\\d\re\0f|é"),
            ],
        );
        assert_eq!(out, "-7\t\\N\t\ta\\tb\\nc\\\\d\\re\\0f|é\n".as_bytes());
    }

    #[test]
    fn multi_row_placeholders() {
        assert_eq!(row_placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
    }

    #[test]
    fn lost_connections_are_one_line_naming_the_database() {
        let io = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let msg = mysql_error("mysql://u:***@h:3306/apr", io).to_string();
        assert!(
            msg.starts_with("lost the connection to MySQL database mysql://u:***@h:3306/apr"),
            "{msg}"
        );
        assert!(!msg.contains("IoError") && !msg.contains('{'), "{msg}");
    }
}
