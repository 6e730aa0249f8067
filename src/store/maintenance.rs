//! A plain connection to an existing apr database for the operating commands (SPEC §12):
//! `status` reads through it opened read-only, `prune` deletes through it in batches. It
//! never creates a database or applies the schema: a database that does not exist, or holds
//! no apr schema, is an error (exit 2). The statements are the portable subset both
//! backends run, with integer or text parameters.

use rusqlite::OpenFlags;

use super::{DatabaseUrl, redact_url};
use crate::error::{Error, Result};

/// `etl_state` key: the local midnight before which raw data was pruned. Hours before it
/// are never aggregated again (their events are gone).
pub const PRUNED_BEFORE: &str = "prune.before";

/// A statement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

/// A result cell: NULL, an integer or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Null => None,
        }
    }

    pub fn text(&self) -> Option<String> {
        match self {
            Value::Int(v) => Some(v.to_string()),
            Value::Text(t) => Some(t.clone()),
            Value::Null => None,
        }
    }
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Mysql(mysql::Conn),
}

/// A connection to an existing apr database.
pub struct Conn {
    inner: Inner,
    /// The URL for messages (password replaced).
    pub shown: String,
}

impl Conn {
    /// Opens an existing database; `read_only` opens SQLite read-only (no file, journal or
    /// table is created, and a file the user may only read is fine).
    pub fn open(url: &DatabaseUrl, read_only: bool) -> Result<Conn> {
        let mut conn = match url {
            DatabaseUrl::Sqlite(path) => {
                let shown = format!("sqlite://{}", path.display());
                if !path.is_file() {
                    return Err(Error::config(format!(
                        "database {shown} does not exist; load data first with apr init-load or apr collect"
                    )));
                }
                let flags = if read_only {
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
                } else {
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
                };
                let mut c = rusqlite::Connection::open_with_flags(path, flags)
                    .map_err(|e| Error::db(format!("cannot open {shown}: {e}")))?;
                if read_only && !readable(&c) && !wal_path(path).exists() {
                    // A WAL database needs its -shm file even to read; a user who cannot
                    // write the directory cannot create it. Without a -wal file every
                    // committed page is in the database file, which SQLite then reads as
                    // it is (immutable), still without writing anything.
                    c = open_immutable(path)
                        .map_err(|e| Error::db(format!("cannot open {shown}: {e}")))?;
                }
                c.busy_timeout(std::time::Duration::from_secs(30))?;
                Conn {
                    inner: Inner::Sqlite(c),
                    shown,
                }
            }
            DatabaseUrl::Mysql(u) => {
                let shown = redact_url(u);
                let opts = mysql::Opts::from_url(u).map_err(|_| {
                    Error::config(format!(
                        "APR_DATABASE_URL '{shown}' is not a valid MySQL URL; expected mysql://user:pass@host:port/db"
                    ))
                })?;
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)))
                    .init(vec!["SET NAMES utf8mb4"]);
                let c = mysql::Conn::new(opts).map_err(|e| {
                    Error::db(format!(
                        "cannot connect to {shown}: {}",
                        crate::error::one_line(&e.to_string())
                    ))
                })?;
                Conn {
                    inner: Inner::Mysql(c),
                    shown,
                }
            }
        };
        let has_schema = match conn.rows(
            "SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'",
            &[],
        ) {
            Ok(rows) => !rows.is_empty(),
            // No apr_meta table: not an apr database (yet).
            Err(e) if e.to_string().contains("apr_meta") => false,
            Err(e) => {
                return Err(Error::db(format!("cannot read {}: {e}", conn.shown)));
            }
        };
        if !has_schema {
            return Err(Error::config(format!(
                "database {} holds no apr data (no apr_meta schema_version); load data first with apr init-load or apr collect",
                conn.shown
            )));
        }
        Ok(conn)
    }

    pub fn backend(&self) -> &'static str {
        match self.inner {
            Inner::Sqlite(_) => "sqlite",
            Inner::Mysql(_) => "mysql",
        }
    }

    /// Every row of a query.
    pub fn rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Vec<Value>>> {
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let bound: Vec<rusqlite::types::Value> = params.iter().map(sqlite_param).collect();
                let rows = stmt.query_map(rusqlite::params_from_iter(bound), |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                                rusqlite::types::Value::Integer(v) => Value::Int(v),
                                rusqlite::types::Value::Text(t) => Value::Text(t),
                                rusqlite::types::Value::Real(f) => Value::Int(f as i64),
                                rusqlite::types::Value::Blob(b) => {
                                    Value::Text(String::from_utf8_lossy(&b).into_owned())
                                }
                                rusqlite::types::Value::Null => Value::Null,
                            })
                        })
                        .collect::<rusqlite::Result<Vec<Value>>>()
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Inner::Mysql(c) => {
                use mysql::prelude::Queryable;
                let bound: Vec<mysql::Value> = params.iter().map(mysql_param).collect();
                let rows: Vec<mysql::Row> = c.exec(sql, bound)?;
                Ok(rows
                    .into_iter()
                    .map(|row| {
                        row.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql::Value::NULL => Value::Null,
                                mysql::Value::Int(i) => Value::Int(i),
                                mysql::Value::UInt(u) => Value::Int(u as i64),
                                mysql::Value::Bytes(b) => {
                                    Value::Text(String::from_utf8_lossy(&b).into_owned())
                                }
                                other => Value::Text(format!("{other:?}")),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// The first column of the first row, as an integer (`None`: no row or NULL).
    pub fn int(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<i64>> {
        Ok(self
            .rows(sql, params)?
            .first()
            .and_then(|r| r.first())
            .and_then(Value::int))
    }

    /// Runs a statement; returns the rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        match &mut self.inner {
            Inner::Sqlite(c) => {
                let bound: Vec<rusqlite::types::Value> = params.iter().map(sqlite_param).collect();
                Ok(c.prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(bound))? as u64)
            }
            Inner::Mysql(c) => {
                use mysql::prelude::Queryable;
                let bound: Vec<mysql::Value> = params.iter().map(mysql_param).collect();
                c.exec_drop(sql, bound)?;
                Ok(c.affected_rows())
            }
        }
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let (begin, commit, rollback) = match self.inner {
            Inner::Sqlite(_) => ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"),
            Inner::Mysql(_) => ("START TRANSACTION", "COMMIT", "ROLLBACK"),
        };
        self.batch(begin)?;
        match f(self) {
            Ok(v) => {
                self.batch(commit)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.batch(rollback);
                Err(e)
            }
        }
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        match &mut self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Mysql(c) => {
                use mysql::prelude::Queryable;
                Ok(c.query_drop(sql)?)
            }
        }
    }

    /// Upserts an `etl_state` value (inside the caller's transaction, if any).
    pub fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        let now = super::now_epoch();
        let sql = match self.inner {
            Inner::Sqlite(_) => {
                "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT(state_key) DO UPDATE SET state_value = excluded.state_value, \
                 updated_at = excluded.updated_at"
            }
            Inner::Mysql(_) => {
                "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE state_value = VALUES(state_value), \
                 updated_at = VALUES(updated_at)"
            }
        };
        self.exec(
            sql,
            &[Param::Text(key), Param::Text(value), Param::Int(now)],
        )?;
        Ok(())
    }

    /// Bytes the SQLite file holds free for reuse (pages freed by deletes), `None` on MySQL.
    pub fn sqlite_free_bytes(&mut self) -> Result<Option<u64>> {
        if self.backend() != "sqlite" {
            return Ok(None);
        }
        let pages = self.int("PRAGMA freelist_count", &[])?.unwrap_or(0);
        let size = self.int("PRAGMA page_size", &[])?.unwrap_or(0);
        Ok(Some((pages * size) as u64))
    }
}

/// Whether the schema can be read through `c` (a read-only WAL database without its -shm
/// file cannot be).
fn readable(c: &rusqlite::Connection) -> bool {
    c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok()
}

fn wal_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    p.into()
}

/// Opens `path` read-only with SQLite's `immutable` flag (no locks, no -shm).
fn open_immutable(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const URI_PATH: &AsciiSet = &CONTROLS.add(b'?').add(b'#').add(b'%').add(b' ');
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let uri = format!(
        "file:{}?immutable=1",
        utf8_percent_encode(&abs.to_string_lossy(), URI_PATH)
    );
    rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn sqlite_param(p: &Param<'_>) -> rusqlite::types::Value {
    match p {
        Param::Int(v) => rusqlite::types::Value::Integer(*v),
        Param::Text(t) => rusqlite::types::Value::Text(t.to_string()),
    }
}

fn mysql_param(p: &Param<'_>) -> mysql::Value {
    match p {
        Param::Int(v) => mysql::Value::Int(*v),
        Param::Text(t) => mysql::Value::Bytes(t.as_bytes().to_vec()),
    }
}
