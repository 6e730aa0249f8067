//! The same replay pipeline on a real MariaDB and a real PostgreSQL (a scratch database per
//! test, dropped after): identical summary rows and byte-identical reports to the SQLite
//! run, and idempotent re-runs.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use support::rows::sqlite_rows;
use support::server::Scratch;

on_servers!(
    builds_the_same_rows_and_the_same_report_as_sqlite,
    rerunning_changes_nothing,
);

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay")
}

fn apr(dir: &Path, db_url: &str) -> Command {
    let mut cmd = support::rows::apr();
    cmd.current_dir(dir).env("APR_DATABASE_URL", db_url);
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

fn sqlite_activity(db: &Path) -> Vec<String> {
    sqlite_rows(db, ACTIVITY)
}

fn builds_the_same_rows_and_the_same_report_as_sqlite(scratch: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("apr.db");
    let sqlite_report = load_and_report(dir.path(), sqlite.to_str().unwrap());

    let server_report = load_and_report(dir.path(), scratch.url());
    assert_eq!(
        String::from_utf8(server_report).unwrap(),
        String::from_utf8(sqlite_report).unwrap()
    );
    let rows = scratch.rows(ACTIVITY);
    assert_eq!(rows.len(), 331);
    assert_eq!(rows, sqlite_activity(&sqlite));
}

fn rerunning_changes_nothing(scratch: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    load_and_report(dir.path(), scratch.url());
    let first = scratch.rows(ACTIVITY);
    load_and_report(dir.path(), scratch.url());
    apr(dir.path(), scratch.url())
        .args(["aggregate", "--rebuild"])
        .assert()
        .success();
    assert_eq!(scratch.rows(ACTIVITY), first);
    // Duplicates were filtered before inserting, so no ids were burnt (MySQL's
    // AUTO_INCREMENT and PostgreSQL's identity both spend one on an ignored row).
    assert_eq!(
        scratch.rows("SELECT COUNT(*), MAX(id) FROM agent_events"),
        ["6802|6802"]
    );
}
