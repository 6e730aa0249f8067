//! Database contents as comparable text, for the tests that check "same database" (after a
//! re-run, a kill, a fault, or on the other backend): every row of a query as one string,
//! values joined by `|`, rendered alike on SQLite and MySQL.

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
