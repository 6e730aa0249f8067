//! The SQLite backend (rusqlite, bundled): binding of cells, cached prepared multi-row
//! statements (up to [`ROWS_PER_STATEMENT`] rows each), WAL journal and file locks beside
//! the database. The mapping of SQLite errors is in `error`, reading a database without
//! its shared index in `immutable`.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::contract;
use super::db::Db;
use super::schema::sqlite_statement;
use super::sql::{Backend, Dialect, placeholders};
use super::traits::BeforeWrite;
use super::value::{Cell, RowRead};
use crate::error::{Error, Result};

mod error;
pub mod file;
mod immutable;

pub use error::is_disk_full;
use error::{cannot_open_cause, sqlite_error, wal_not_applied};
use file::SqliteFile;
use immutable::{FileState, FileSystem, Unwritable, check_unchanged, immutable_uri};

/// Rows per multi-row `INSERT` (fewer when the columns would pass SQLite's variable limit).
const ROWS_PER_STATEMENT: usize = 256;
/// SQLite's limit on `?` parameters per statement (32,766 since 3.32; bundled is newer).
const SQLITE_MAX_VARIABLES: usize = 32_766;

/// apr's tables in an SQLite file.
pub type SqliteStore = Db<SqliteBackend>;

/// One connection to an SQLite file.
pub struct SqliteBackend {
    pub(crate) conn: Connection,
    path: PathBuf,
    shown: String,
    /// What the file was given as, named in messages that tell where to point instead.
    named: &'static str,
    /// Lock files held (see [`Backend::try_lock`]); released when the store is dropped.
    locks: Vec<std::fs::File>,
    /// Whether other connections may read the file while this one writes (WAL; not a
    /// scratch file, see [`SqliteStore::open_scratch`]).
    shared: bool,
    /// Set when the file is read as immutable: what it looked like then, and why it is read
    /// so. SQLite trusts such a file never to change, so every read checks that it did not
    /// (see [`FileState`]).
    immutable: Option<(FileState, Unwritable)>,
}

/// Cells bind borrowed: no copy of the text per row.
impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Cell::Int(n) => ToSqlOutput::Owned(Value::Integer(*n)),
            Cell::Null => ToSqlOutput::Owned(Value::Null),
            Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// A result row, and what its database was given as.
struct SqliteRow<'r, 's>(&'r rusqlite::Row<'s>, &'static str);

impl SqliteRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T> {
        // A row knows what its file was given as but not the file: a value of an
        // unexpected type is reported as "the SQLite database", as it always was.
        self.0
            .get(i)
            .map_err(|e| sqlite_error("the SQLite database", self.1, e))
    }
}

impl RowRead for SqliteRow<'_, '_> {
    fn int(&mut self, i: usize) -> Result<i64> {
        self.get(i)
    }
    fn opt_int(&mut self, i: usize) -> Result<Option<i64>> {
        self.get(i)
    }
    fn text(&mut self, i: usize) -> Result<String> {
        self.get(i)
    }
}

impl SqliteBackend {
    fn connect(path: &Path, named: &'static str, flags: OpenFlags) -> Result<SqliteBackend> {
        let shown = format!("sqlite://{}", path.display());
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| sqlite_error(&shown, named, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| sqlite_error(&shown, named, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteBackend {
            conn,
            path: path.to_path_buf(),
            shown,
            named,
            locks: Vec::new(),
            shared: true,
            immutable: None,
        })
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        sqlite_error(&self.shown, self.named, e)
    }

    /// Reads `path` as an immutable file, remembering what it looked like: every read
    /// fails once it changes ([`check_unchanged`]). A non-empty `-wal` is refused at once:
    /// it holds committed transactions that an immutable read would silently miss.
    fn connect_immutable(
        path: &Path,
        named: &'static str,
        why: Unwritable,
    ) -> Result<SqliteBackend> {
        let opened = FileState::of(path)
            .map_err(|e| Error::io(format!("cannot read database {}", path.display()), e))?;
        if opened.wal_holds_commits() {
            return Err(wal_not_applied(path, why));
        }
        let mut b = SqliteBackend::connect(
            Path::new(&immutable_uri(path)),
            named,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        b.path = path.to_path_buf();
        b.shown = format!("sqlite://{}", path.display());
        b.immutable = Some((opened, why));
        Ok(b)
    }
}

impl Db<SqliteBackend> {
    /// Opens or creates the file for writing, under the contract of SPEC §9, in WAL mode.
    pub fn open(file: impl Into<SqliteFile>) -> Result<SqliteStore> {
        Self::open_checked(file, &mut |_, _| Ok(()))
    }

    /// [`Self::open`], running `before` ([`BeforeWrite`]) before the schema is
    /// created or upgraded and before the file is switched to WAL.
    pub fn open_checked(
        file: impl Into<SqliteFile>,
        before: &mut BeforeWrite<'_>,
    ) -> Result<SqliteStore> {
        Self::open_with(
            &file.into(),
            before,
            &[
                ("journal_mode", "WAL"),
                ("synchronous", "NORMAL"),
                ("temp_store", "MEMORY"),
            ],
        )
    }

    /// Creates a scratch file that only this connection uses and that is thrown away
    /// unless it completes: `init-load`'s staging. Nothing in it needs to survive a crash or
    /// a failed statement: any error ends the run, the file is deleted (a killed run's file
    /// by the next run), and the operator's database is only touched by the swap. So it has
    /// no journal and no `fsync`s: each page is written once, where the WAL writes it to the
    /// log and again at the checkpoint (measured in `BENCHMARKS.md`: the staged load costs
    /// less CPU than a direct one). Other connections cannot read it while it is written
    /// (a rollback-journal file would block its writer), so it offers no second reader.
    pub fn open_scratch(file: impl Into<SqliteFile>) -> Result<SqliteStore> {
        let mut store = Self::open_with(
            &file.into(),
            &mut |_, _| Ok(()),
            &[
                ("journal_mode", "OFF"),
                ("synchronous", "OFF"),
                ("temp_store", "MEMORY"),
            ],
        )?;
        store.b.shared = false;
        Ok(store)
    }

    fn open_with(
        file: &SqliteFile,
        before: &mut BeforeWrite<'_>,
        pragmas: &[(&str, &str)],
    ) -> Result<SqliteStore> {
        let (path, named) = (file.path.as_path(), file.named);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            return Err(Error::config(format!(
                "database directory '{}' does not exist; create it or point {named} elsewhere",
                dir.display()
            )));
        }
        let mut db = Db::new(SqliteBackend::connect(
            path,
            named,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?);
        // The contract first: a database that is not apr's is not even switched to WAL, and
        // the command's own refusals come before anything is written.
        let holds = contract::holds_apr(&mut db.b)?;
        before(&mut db, holds)?;
        contract::prepare_for_write(&mut db.b)?;
        let b = &mut db.b;
        for &(pragma, value) in pragmas {
            b.conn
                .pragma_update(None, pragma, value)
                .map_err(|e| b.err(e))?;
        }
        Ok(db)
    }

    /// Opens an existing file read-only: never creates the file, a table or a row, and
    /// needs no write access to the file or its directory. A missing file, or one without
    /// apr's tables, is a configuration error (exit 2).
    pub fn open_read_only(file: impl Into<SqliteFile>) -> Result<SqliteStore> {
        let file = file.into();
        if !file.path.exists() {
            return Err(Error::config(format!(
                "database {} does not exist; {}",
                file.shown(),
                contract::LOAD_FIRST
            )));
        }
        let shown = file.shown();
        Self::open_existing(file)?.ok_or_else(|| contract::no_data(&shown))
    }

    /// The file read-only when it exists and holds apr's tables, else `None`.
    pub fn open_existing(file: impl Into<SqliteFile>) -> Result<Option<SqliteStore>> {
        let file = file.into();
        let (path, named) = (file.path.as_path(), file.named);
        if !path.exists() {
            return Ok(None);
        }
        let mut b = SqliteBackend::connect(
            path,
            named,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| cannot_open_cause(path, &file.shown(), FileSystem::of(path)).unwrap_or(e))?;
        let probe = b
            .conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()));
        if let Err(rusqlite::Error::SqliteFailure(f, _)) = &probe {
            let no_shared_index = matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_READONLY_DIRECTORY | rusqlite::ffi::SQLITE_READONLY_CANTINIT
            );
            let cannot_open = f.code == rusqlite::ErrorCode::CannotOpen;
            let file_system = FileSystem::of(path);
            if (no_shared_index || cannot_open) && file_system.is_some_and(|fs| fs.read_only) {
                // A WAL database on a read-only mount (a backup, a replica): SQLite cannot
                // create its -shm file, and no process can write the file through this
                // mount, so it is read as an immutable file. Should the mount be made
                // writable and a writer start, the check of every read sees it.
                b = SqliteBackend::connect_immutable(path, named, Unwritable::FileSystem)?;
                tracing::info!(
                    "database {} is on a read-only file system: read as an immutable file \
                     (no process can write it there)",
                    b.shown
                );
            } else if no_shared_index {
                // A WAL database without its -shm file, in a directory this user cannot
                // write: SQLite cannot make the shared index. No writer has the database
                // open (the last one to close removes that file), so read it as an
                // immutable file. While a writer runs, its -shm exists and the read-only
                // open above uses it. A writer that starts later is seen by the check of
                // every read (`FileState`).
                b = SqliteBackend::connect_immutable(path, named, Unwritable::Directory)?;
            } else if cannot_open
                && let Some(cause) = cannot_open_cause(path, &b.shown, file_system)
            {
                return Err(cause);
            }
        }
        b.conn
            .pragma_update(None, "query_only", "ON")
            .map_err(|e| b.err(e))?;
        Ok(contract::holds_apr(&mut b)?.then(|| Db::new(b)))
    }
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn shown(&self) -> &str {
        &self.shown
    }

    fn named(&self) -> &'static str {
        self.named
    }

    fn exec(&mut self, sql: &str, params: &[Cell<'_>]) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(params.iter())))
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn insert_rows<'c>(
        &mut self,
        head: &str,
        tail: &str,
        cols: usize,
        rows: &mut dyn Iterator<Item = Vec<Cell<'c>>>,
        affected: &mut dyn FnMut(u64),
    ) -> Result<()> {
        // Multi-row statements: SQLite's per-statement work (bind, step, reset) is paid once
        // per ROWS_PER_STATEMENT rows instead of once per row.
        let per_stmt = (SQLITE_MAX_VARIABLES / cols.max(1)).clamp(1, ROWS_PER_STATEMENT);
        let mut cells: Vec<Cell<'c>> = Vec::with_capacity(per_stmt * cols);
        let mut n = 0;
        let conn = &self.conn;
        let one = format!("({})", placeholders(cols));
        let sql_of =
            |n: usize| format!("{head} VALUES {} {tail}", vec![one.as_str(); n].join(", "));
        // The full-size statement's text is built once per call, not per statement.
        let full = sql_of(per_stmt);
        let mut flush = |cells: &mut Vec<Cell<'c>>, n: usize| -> rusqlite::Result<()> {
            let params = rusqlite::params_from_iter(cells.iter());
            // The full-size statement is cached (used batch after batch); a shorter one (a
            // call's last rows) is rarely seen again and is finalized at once: a compiled
            // statement of thousands of values takes megabytes, and the cache holds 64.
            let changed = if n == per_stmt {
                conn.prepare_cached(&full)?.execute(params)?
            } else {
                conn.prepare(&sql_of(n))?.execute(params)?
            };
            cells.clear();
            affected(changed as u64);
            Ok(())
        };
        let result = (|| {
            for row in rows {
                cells.extend(row);
                n += 1;
                if n == per_stmt {
                    flush(&mut cells, n)?;
                    n = 0;
                }
            }
            if n > 0 {
                flush(&mut cells, n)?;
            }
            Ok(())
        })();
        result.map_err(|e| self.err(e))
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Cell<'_>],
        each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
    ) -> Result<()> {
        let (shown, named) = (self.shown.clone(), self.named);
        // An immutable read is checked before, during (every CHECK_EVERY rows, so that a
        // streamed report stops soon) and after: a caller never gets a success built from
        // pages of a file that changed underneath.
        const CHECK_EVERY: usize = 4096;
        check_unchanged(&self.path, &shown, &self.immutable)?;
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sqlite_error(&shown, named, e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| sqlite_error(&shown, named, e))?;
        let mut n = 0usize;
        while let Some(row) = rows.next().map_err(|e| sqlite_error(&shown, named, e))? {
            n += 1;
            if n.is_multiple_of(CHECK_EVERY) {
                check_unchanged(&self.path, &shown, &self.immutable)?;
            }
            each(&mut SqliteRow(row, named))?;
        }
        check_unchanged(&self.path, &shown, &self.immutable)
    }

    fn begin(&mut self) -> Result<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    fn rollback(&mut self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK").map_err(|e| self.err(e))
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

    fn apply_schema_statement(&mut self, stmt: &str) -> Result<()> {
        let stmt = sqlite_statement(stmt);
        self.conn.execute_batch(&stmt).map_err(|e| self.err(e))
    }

    fn connect_reader(&self) -> Result<Option<SqliteBackend>> {
        if !self.shared {
            return Ok(None);
        }
        let b = SqliteBackend::connect(
            &self.path,
            self.named,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        b.conn
            .pragma_update(None, "query_only", "ON")
            .map_err(|e| b.err(e))?;
        Ok(Some(b))
    }

    fn staging_reader(&self, _staging: &Path) -> Result<Option<Box<dyn Backend>>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActivityFilter;
    use crate::store::Store;
    use crate::store::db::activity_query;

    /// A database with one `etl_state` value, closed (no -wal or -shm left), and a reader of
    /// it opened as immutable, the way a user who cannot write the directory reads it.
    fn immutable_reader(dir: &Path) -> (PathBuf, SqliteStore) {
        let path = dir.join("r.db");
        let mut w = SqliteStore::open(&path).unwrap();
        w.set_state("k", "1").unwrap();
        drop(w);
        let mut r =
            Db::new(SqliteBackend::connect_immutable(&path, "URL", Unwritable::Directory).unwrap());
        assert_eq!(r.state("k").unwrap().as_deref(), Some("1"));
        (path, r)
    }

    fn assert_changed(e: Error) {
        let msg = e.to_string();
        assert!(
            msg.contains("changed while it was read") && msg.contains("run again"),
            "{msg}"
        );
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }

    #[test]
    fn an_immutable_reader_refuses_to_read_once_a_writer_started() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut r) = immutable_reader(dir.path());
        // A writer opens the file (its -wal and -shm appear) and commits.
        let mut w = SqliteStore::open(&path).unwrap();
        w.set_state("k", "2").unwrap();
        assert_changed(r.state("k").unwrap_err());
        assert_changed(r.ping().unwrap_err());
        // Still refused once the writer is gone: the file is not the one that was opened.
        drop(w);
        assert_changed(r.state("k").unwrap_err());
        // A new reader sees the new value.
        let mut again =
            Db::new(SqliteBackend::connect_immutable(&path, "URL", Unwritable::Directory).unwrap());
        assert_eq!(again.state("k").unwrap().as_deref(), Some("2"));
    }

    #[test]
    fn an_immutable_reader_sees_a_writer_that_only_opened_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut r) = immutable_reader(dir.path());
        let w = SqliteStore::open(&path).unwrap();
        assert_changed(r.state("k").unwrap_err());
        drop(w);
    }

    #[test]
    fn a_change_under_a_read_only_mount_says_the_mount_was_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let (path, r) = immutable_reader(dir.path());
        drop(r);
        // As if the mount had been made writable again and a writer had started.
        let mut r = Db::new(
            SqliteBackend::connect_immutable(&path, "URL", Unwritable::FileSystem).unwrap(),
        );
        let w = SqliteStore::open(&path).unwrap();
        let e = r.state("k").unwrap_err();
        assert!(
            e.to_string()
                .contains("(its file system was mounted read-only); the read was abandoned"),
            "{e}"
        );
        drop(w);
    }

    #[test]
    fn an_immutable_open_refuses_a_write_ahead_log_it_would_miss() {
        let dir = tempfile::tempdir().unwrap();
        let (path, r) = immutable_reader(dir.path());
        drop(r);
        // A writer that committed and is still open: its commit is only in the -wal.
        let mut w = SqliteStore::open(&path).unwrap();
        w.set_state("k", "2").unwrap();
        let e = SqliteBackend::connect_immutable(&path, "URL", Unwritable::Directory)
            .err()
            .unwrap();
        assert!(e.to_string().contains("write-ahead log"), "{e}");
        drop(w);
    }

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
            let (sql, cells) = activity_query(&filter, Dialect::Sqlite);
            let mut stmt = store
                .b
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

    #[test]
    fn messages_name_what_the_file_was_given_as() {
        let dir = tempfile::tempdir().unwrap();
        let named = |path: PathBuf| SqliteFile {
            path,
            named: "DB_SETTING",
        };
        let missing_dir = dir.path().join("no").join("x.db");
        let e = SqliteStore::open(named(missing_dir.clone())).err().unwrap();
        assert!(
            e.to_string()
                .ends_with("create it or point DB_SETTING elsewhere"),
            "{e}"
        );
        let e = SqliteStore::open(&missing_dir).err().unwrap();
        assert!(
            e.to_string().ends_with("point the database path elsewhere"),
            "{e}"
        );
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = SqliteStore::open(named(junk)).err().unwrap();
        assert!(
            e.to_string().contains("point DB_SETTING at apr's database"),
            "{e}"
        );
        let foreign = dir.path().join("foreign.db");
        rusqlite::Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE agents (x)")
            .unwrap();
        let e = SqliteStore::open_read_only(named(foreign)).err().unwrap();
        assert!(
            e.to_string()
                .ends_with("point DB_SETTING at a database of its own"),
            "{e}"
        );
    }
}
