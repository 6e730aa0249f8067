//! Database contents as comparable text, for the tests that check "same database" (after a
//! re-run, a kill, a fault, or on the other backend): every row of a query as one string,
//! values joined by `|`, rendered alike on SQLite, MySQL and PostgreSQL.

use std::path::Path;

use mysql::prelude::Queryable;

/// The rows of `sql` on the SQLite database at `db`.
pub fn sqlite_rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(v) => v.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The rows of `sql` on the MySQL/MariaDB database at `url`, rendered as [`sqlite_rows`].
pub fn mysql_rows(url: &str, sql: &str) -> Vec<String> {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    conn.query_map(sql, |row: mysql::Row| {
        row.unwrap()
            .into_iter()
            .map(|v| match v {
                mysql::Value::NULL => "NULL".to_string(),
                mysql::Value::Int(v) => v.to_string(),
                mysql::Value::UInt(v) => v.to_string(),
                mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    })
    .unwrap()
}

/// The rows of `sql` on the PostgreSQL database at `url`, rendered as [`sqlite_rows`].
pub fn postgres_rows(url: &str, sql: &str) -> Vec<String> {
    let url = url.split('?').next().unwrap_or(url);
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .simple_query(sql)
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

/// The `apr` binary with no `APR_*` setting inherited from the environment running the
/// tests, so each test states its own configuration.
pub fn apr() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("apr").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("APR_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A database a test inspects: an SQLite file, a MySQL/MariaDB URL or a PostgreSQL URL.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(std::path::PathBuf),
    Mysql(String),
    Postgres(String),
}

impl Db {
    /// The `APR_DATABASE_URL` of this database.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite://{}", p.display()),
            Db::Mysql(u) | Db::Postgres(u) => u.clone(),
        }
    }

    /// The rows of `sql`, rendered alike on every backend.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Sqlite(p) => sqlite_rows(p, sql),
            Db::Mysql(u) => mysql_rows(u, sql),
            Db::Postgres(u) => postgres_rows(u, sql),
        }
    }

    /// `name` quoted as an identifier in this database's SQL.
    fn quoted(&self, name: &str) -> String {
        match self {
            Db::Postgres(_) => format!("\"{name}\""),
            _ => format!("`{name}`"),
        }
    }

    /// A poller of this database, for watching another process write it.
    pub fn poller(&self) -> Poller {
        Poller {
            db: self.clone(),
            sqlite: None,
            mysql: None,
            postgres: None,
        }
    }

    /// apr's tables (and any other table in the database), by name.
    pub fn tables(&self) -> Vec<String> {
        let mut names = match self {
            Db::Sqlite(p) if !p.exists() => Vec::new(),
            Db::Sqlite(_) => self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ),
            Db::Mysql(_) => self.rows(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            ),
            Db::Postgres(_) => self.rows(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
            ),
        };
        names.sort();
        names
    }

    fn columns(&self, table: &str) -> Vec<String> {
        match self {
            Db::Sqlite(_) => self.rows(&format!("SELECT name FROM pragma_table_info('{table}')")),
            Db::Mysql(_) => self.rows(&format!(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
            )),
            Db::Postgres(_) => self.rows(&format!(
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
            )),
        }
    }
}

/// Columns that hold the wall-clock time of a load, not data.
const VOLATILE_COLUMNS: [&str; 3] = ["loaded_at", "fetched_at", "updated_at"];

/// Every table of the database as comparable text, for "same database" after a kill, a
/// fault or an overlap: `(table, rows)` per table by name, with
/// - the load-time columns ([`VOLATILE_COLUMNS`]) left out, and the `api_token` table's
///   content and `etl_state`'s `collect.last_run` (wall-clock facts of a run) reduced to
///   their presence, and `apr_meta`'s MySQL write lease (a killed run's lock) left out;
/// - a surrogate `id` (load order, SPEC §5.1) replaced by the row's rank in `id` order, so
///   that MySQL's `AUTO_INCREMENT`, which burns ids in a rolled-back transaction, compares
///   equal when the order is the same;
/// - other tables' rows sorted as text, so both backends' collations compare alike.
///
/// A leftover table (a shadow or staging table) shows up as a table of its own.
pub fn canonical_dump(db: &Db) -> Vec<(String, Vec<String>)> {
    db.tables()
        .into_iter()
        .map(|table| {
            let columns = db.columns(&table);
            let has_id = columns.iter().any(|c| c == "id");
            let kept: Vec<&str> = columns
                .iter()
                .map(String::as_str)
                .filter(|c| *c != "id" && !VOLATILE_COLUMNS.contains(c))
                .collect();
            let rows = if table == "api_token" {
                db.rows("SELECT COUNT(*) FROM api_token")
            } else {
                let order = if has_id { " ORDER BY id" } else { "" };
                // apr_meta without the MySQL write lease a killed run leaves until it
                // expires: the lock (as SQLite's lock file beside the database), not data.
                let filter = match table.as_str() {
                    "etl_state" => " WHERE state_key <> 'collect.last_run'",
                    "apr_meta" => " WHERE meta_key NOT LIKE 'lease.%'",
                    _ => "",
                };
                let mut rows = db.rows(&format!(
                    "SELECT {} FROM {table}{filter}{order}",
                    kept.iter()
                        .map(|c| db.quoted(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if !has_id {
                    rows.sort();
                }
                rows
            };
            (table, rows)
        })
        .collect()
}

/// Asserts two canonical dumps are equal, naming the first table and row that differ
/// instead of printing both databases.
pub fn assert_same_dump(got: &[(String, Vec<String>)], want: &[(String, Vec<String>)], what: &str) {
    let names = |d: &[(String, Vec<String>)]| d.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: tables differ");
    for ((table, g), (_, w)) in got.iter().zip(want) {
        if g == w {
            continue;
        }
        let i = g
            .iter()
            .zip(w)
            .position(|(a, b)| a != b)
            .unwrap_or(g.len().min(w.len()));
        panic!(
            "{what}: table {table} differs: {} rows vs {} expected; first difference at row {i}:\n  got  {:?}\n  want {:?}",
            g.len(),
            w.len(),
            g.get(i),
            w.get(i)
        );
    }
}

/// Reads single integers from a database another process is writing, on one connection
/// opened once the database is there (a connection per poll would exhaust the loopback's
/// ports against MySQL within a minute).
pub struct Poller {
    db: Db,
    sqlite: Option<rusqlite::Connection>,
    mysql: Option<mysql::Conn>,
    postgres: Option<postgres::Client>,
}

impl Poller {
    /// The single integer `sql` returns, or `None` when the database, the table or the row
    /// is not there (yet).
    pub fn count(&mut self, sql: &str) -> Option<i64> {
        match &self.db {
            Db::Postgres(u) => {
                if self.postgres.is_none() {
                    let u = u.split('?').next().unwrap_or(u);
                    self.postgres = postgres::Client::connect(u, postgres::NoTls).ok();
                }
                let row = self.postgres.as_mut()?.query_one(sql, &[]).ok()?;
                row.try_get::<_, Option<i64>>(0).ok()?
            }
            Db::Sqlite(p) => {
                if self.sqlite.is_none() {
                    if !p.exists() {
                        return None;
                    }
                    self.sqlite = rusqlite::Connection::open_with_flags(
                        p,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )
                    .ok();
                }
                self.sqlite
                    .as_ref()?
                    .query_row(sql, [], |r| r.get::<_, i64>(0))
                    .ok()
            }
            Db::Mysql(u) => {
                if self.mysql.is_none() {
                    self.mysql = mysql::Conn::new(mysql::Opts::from_url(u).ok()?).ok();
                }
                self.mysql.as_mut()?.query_first::<i64, _>(sql).ok()?
            }
        }
    }
}

/// A dump with `agent_events`' rows sorted (the dump leaves their ids out): where loads
/// interleave (a follower beside cron), the load order changes and the rows do not.
pub fn events_unordered(dump: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    dump.into_iter()
        .map(|(t, mut rows)| {
            if t == "agent_events" {
                rows.sort();
            }
            (t, rows)
        })
        .collect()
}
