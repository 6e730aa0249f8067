//! The small trait each backend implements: run a statement, insert many rows, stream a
//! query's rows, begin/commit/roll back, take a named lock. Everything above it (the load
//! workflows, the schema contract, the queries) is written once in [`super::db`]; the
//! backends hold only their dialect, binding and error mapping.

use std::path::Path;

use super::table::Table;
use super::value::{Cell, RowRead};
use crate::error::Result;
use crate::model::ClusterState;

/// What differs in the SQL text of the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Mysql,
    Postgres,
}

impl Dialect {
    /// The backend's name, as `status` shows it and `Store::backend` returns it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Mysql => "mysql",
            Dialect::Postgres => "postgres",
        }
    }

    /// `INSERT` that skips rows whose key is already stored, and the tail that goes after
    /// its `VALUES` (PostgreSQL says it there).
    pub fn insert_ignore(self, table: &Table) -> (String, &'static str) {
        let (verb, tail) = match self {
            Dialect::Sqlite => ("INSERT OR IGNORE INTO", ""),
            Dialect::Mysql => ("INSERT IGNORE INTO", ""),
            Dialect::Postgres => ("INSERT INTO", "ON CONFLICT DO NOTHING"),
        };
        (
            format!("{verb} {} ({})", table.name, table.column_list()),
            tail,
        )
    }

    /// `INSERT` of the table's columns, and the tail that makes it overwrite a row with the
    /// same key.
    pub fn upsert(self, table: &Table) -> (String, String) {
        let head = format!("INSERT INTO {} ({})", table.name, table.column_list());
        let rest = table
            .columns
            .iter()
            .map(|c| c.name)
            .filter(|c| !table.key.contains(c));
        let tail = match self {
            Dialect::Sqlite | Dialect::Postgres => {
                let sets: Vec<String> = rest.map(|c| format!("{c} = excluded.{c}")).collect();
                format!(
                    "ON CONFLICT({}) DO UPDATE SET {}",
                    table.key.join(", "),
                    sets.join(", ")
                )
            }
            Dialect::Mysql => {
                let sets: Vec<String> = rest.map(|c| format!("{c} = VALUES({c})")).collect();
                format!("ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
        };
        (head, tail)
    }

    /// Appended to a read inside a write transaction so that concurrent read-modify-write of
    /// the same row serializes (SQLite's write transactions already do).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Mysql | Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Whether an ignored insert still spends an auto-increment id (MySQL does, and so does
    /// a PostgreSQL identity, drawn before the conflict is seen); the load workflow then
    /// removes stored rows before inserting, so ids stay dense and in order.
    /// Whether the bulk path ([`Backend::insert_new_rows`]) pays off for a few rows too
    /// (PostgreSQL's `COPY` costs two statements more; MySQL's `LOAD DATA` a file transfer
    /// set-up, worth it only for a queue_log chunk's hundreds of thousands of rows).
    pub fn bulk_pays_for_few_rows(self) -> bool {
        self == Dialect::Postgres
    }

    pub fn ignored_rows_spend_ids(self) -> bool {
        self != Dialect::Sqlite
    }

    /// After rows of `table` were written with their ids given (init-load's copy), the
    /// statement that moves the id generator past them, where the database needs one
    /// (PostgreSQL's identity does not follow given values; SQLite's and MySQL's do).
    pub fn after_given_ids(self, table: &Table) -> Option<String> {
        (self == Dialect::Postgres && table.has_id).then(|| {
            format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                table.name
            )
        })
    }

    /// The names of the tables in the database.
    pub fn list_tables(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Dialect::Mysql => {
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            }
            Dialect::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
            }
        }
    }
}

/// A connection to one database.
pub trait Backend: Send {
    fn dialect(&self) -> Dialect;
    /// The database as shown to people: a path, or a URL without its password.
    fn shown(&self) -> &str;
    /// What the database was given as (the caller's setting), named in messages that tell
    /// where to point instead.
    fn named(&self) -> &'static str;
    /// Runs one statement; returns the affected rows.
    fn exec(&mut self, sql: &str, params: &[Cell<'_>]) -> Result<u64>;
    /// Runs `{head} VALUES (..), (..) {tail}` for every row, in as few statements as the
    /// backend likes; `affected` gets the affected count of each statement.
    fn insert_rows<'c>(
        &mut self,
        head: &str,
        tail: &str,
        cols: usize,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()>;
    /// Inserts rows of `table` that the caller found missing, skipping any that a
    /// concurrent writer stored meanwhile (the ignoring insert), by the backend's bulk path
    /// when it has a cheaper one than [`Backend::insert_rows`]; `affected` gets the count of
    /// rows inserted.
    fn insert_new_rows<'c>(
        &mut self,
        table: &Table,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        insert_ignoring(self, table, rows, affected)
    }
    /// Writes `rows` of `table`, replacing a stored row of the same key when `replace` (an
    /// upsert), else as plain inserts, by the backend's bulk path when it has a cheaper one
    /// than [`Backend::insert_rows`].
    fn write_rows<'c>(
        &mut self,
        table: &Table,
        replace: bool,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let (head, tail) = if replace {
            self.dialect().upsert(table)
        } else {
            (
                format!("INSERT INTO {} ({})", table.name, table.column_list()),
                String::new(),
            )
        };
        self.insert_rows(&head, &tail, table.columns.len(), rows, affected)
    }
    /// Streams the rows of a query.
    fn query(
        &mut self,
        sql: &str,
        params: &[Cell<'_>],
        each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
    ) -> Result<()>;
    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// Takes the named exclusive lock for as long as this connection lives.
    fn try_lock(&mut self, name: &str) -> Result<bool>;
    /// The node's place in its cluster when the server is a node of one (a MariaDB Galera
    /// cluster), else `None`.
    fn cluster_state(&mut self) -> Result<Option<ClusterState>> {
        Ok(None)
    }
    /// Runs one statement of `schema.sql` (the backend may adapt it, e.g. MySQL's collation).
    fn apply_schema_statement(&mut self, stmt: &str) -> Result<()>;
    /// A second, read-only connection to the same database, for a reader that runs beside
    /// this connection's writes; `None` where the database cannot have one (a scratch file
    /// this connection holds exclusively).
    fn connect_reader(&self) -> Result<Option<Self>>
    where
        Self: Sized;
    /// A read-only connection to init-load's staging database (an SQLite file at
    /// `staging`), for a database that copies the staged rows over through it; `None` where
    /// the database attaches the file itself (SQLite).
    fn staging_reader(&self, staging: &Path) -> Result<Option<Box<dyn Backend>>>;
}

/// The portable [`Backend::insert_new_rows`]: multi-row ignoring inserts.
pub fn insert_ignoring<'c, B: Backend + ?Sized>(
    b: &mut B,
    table: &Table,
    rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
    affected: &mut dyn FnMut(u64),
) -> Result<()> {
    let (head, tail) = b.dialect().insert_ignore(table);
    b.insert_rows(&head, tail, table.columns.len(), rows, affected)
}

/// Most values named in one `IN (...)` list (or `OR`ed key pairs) of a statement.
pub const IN_LIST_MAX: usize = 500;

/// `?, ?, ...` for `n` parameters.
pub fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
pub fn in_tx<B: Backend + ?Sized, T>(b: &mut B, f: impl FnOnce(&mut B) -> Result<T>) -> Result<T> {
    b.begin()?;
    match f(b) {
        Ok(v) => {
            b.commit()?;
            Ok(v)
        }
        Err(e) => {
            let _ = b.rollback();
            Err(e)
        }
    }
}

/// The first column of the first row, as an integer (`None` for no row or NULL).
pub fn query_int<B: Backend + ?Sized>(
    b: &mut B,
    sql: &str,
    params: &[Cell<'_>],
) -> Result<Option<i64>> {
    let mut out = None;
    b.query(sql, params, &mut |r| {
        if out.is_none() {
            out = r.opt_int(0)?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// The first column of the first row, as text.
pub fn query_text<B: Backend + ?Sized>(
    b: &mut B,
    sql: &str,
    params: &[Cell<'_>],
) -> Result<Option<String>> {
    let mut out = None;
    b.query(sql, params, &mut |r| {
        if out.is_none() {
            out = Some(r.text(0)?);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The count (0 or 1) of `queue_calls` columns named as its one parameter.
pub fn queue_calls_column_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM pragma_table_info('queue_calls') WHERE name = ?",
        Dialect::Mysql => {
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
             AND table_name = 'queue_calls' AND column_name = ?"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'queue_calls' AND column_name = ?"
        }
    }
}
