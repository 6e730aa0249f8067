//! The same replay pipeline on a real MariaDB (a scratch database per test, dropped after):
//! identical summary rows and byte-identical reports to the SQLite run, and idempotent
//! re-runs.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use mysql::prelude::Queryable;
use support::mysql::ScratchMysql;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay")
}

fn apr(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::cargo_bin("apr").unwrap();
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("APR_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("APR_DATABASE_URL", db_url);
    cmd
}

fn load_and_report(dir: &Path, db_url: &str) -> Vec<u8> {
    apr(dir, db_url)
        .args([
            "--timezone",
            "Asia/Kolkata",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(example())
        .assert()
        .success();
    let out = apr(dir, db_url)
        .args(["report", "--start-date", "2025-08-20", "--extended"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const ACTIVITY: &str = "SELECT agent_ext, report_hour, report_hour_local, agent_name, available_secs, \
    idle_secs, talk_secs, wrap_up_secs, hold_secs, lunch_secs, other_secs, login_secs, logoff_secs, \
    unaccounted_secs, idle_count, notavail_count, total_calls, answered_calls, covered_secs, complete, \
    event_details FROM agent_activity ORDER BY report_hour, agent_ext";

fn sqlite_rows(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(ACTIVITY).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
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

fn mysql_rows(url: &str) -> Vec<String> {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    conn.query_map(ACTIVITY, |row: mysql::Row| {
        (0..row.len())
            .map(|i| match row.as_ref(i).unwrap() {
                mysql::Value::Int(v) => v.to_string(),
                mysql::Value::UInt(v) => v.to_string(),
                mysql::Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    })
    .unwrap()
}

#[test]
fn mariadb_and_sqlite_build_the_same_rows_and_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("apr.db");
    let sqlite_report = load_and_report(dir.path(), sqlite.to_str().unwrap());

    let scratch = ScratchMysql::new();
    let mysql_report = load_and_report(dir.path(), scratch.url());
    assert_eq!(
        String::from_utf8(mysql_report).unwrap(),
        String::from_utf8(sqlite_report).unwrap()
    );
    let rows = mysql_rows(scratch.url());
    assert_eq!(rows.len(), 331);
    assert_eq!(rows, sqlite_rows(&sqlite));
}

#[test]
fn rerunning_on_mariadb_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = ScratchMysql::new();
    load_and_report(dir.path(), scratch.url());
    let first = mysql_rows(scratch.url());
    load_and_report(dir.path(), scratch.url());
    apr(dir.path(), scratch.url())
        .args(["aggregate", "--rebuild"])
        .assert()
        .success();
    assert_eq!(mysql_rows(scratch.url()), first);
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(scratch.url()).unwrap()).unwrap();
    let (events, max_id): (u64, u64) = conn
        .query_first("SELECT COUNT(*), MAX(id) FROM agent_events")
        .unwrap()
        .unwrap();
    assert_eq!(events, 6802);
    // Duplicates were filtered before inserting, so no AUTO_INCREMENT ids were burnt.
    assert_eq!(max_id, 6802);
}
