//! `apr status` (SPEC §12) through the real binary: read-only (a missing database is not
//! created, a database the user may only read works and is left byte for byte), the
//! queue_log cursor against its file, row counts and spans, the not-available reasons of
//! the last 7 days of data with their categories, JSON, and the `--max-age` check (the
//! loaders' last success and the data's age).

use std::path::{Path, PathBuf};

use apr::model::LoadBatch;
use apr::model::{AgentEvent, EventSource};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use serde_json::Value;

mod support;
use support::rows::apr;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A database loaded from a copy of the example queue_log, and that copy.
fn queue_db(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("apr.db");
    let log = dir.join("queue_log");
    std::fs::copy(root().join("examples/queue_log"), &log).unwrap();
    apr()
        .env("APR_DATABASE_URL", &db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["-q", "parse-queue-log", "--agents"])
        .arg(root().join("examples/queue-agents.toml"))
        .arg(&log)
        .assert()
        .success();
    (db, log)
}

fn status_json(db: &Path) -> Value {
    let out = apr()
        .env("APR_DATABASE_URL", db)
        .args(["status", "--format", "json"])
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn table<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
}

#[test]
fn a_missing_database_is_an_error_and_stays_missing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let out = apr()
        .env("APR_DATABASE_URL", &db)
        .arg("status")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(
        err.trim(),
        format!(
            "error: database sqlite://{} does not exist; load data first with apr init-load, apr collect or apr parse-queue-log",
            db.display()
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn cursors_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = queue_db(dir.path());
    let size = std::fs::metadata(&log).unwrap().len();
    let s = status_json(&db);
    assert_eq!(s["zone"], "Asia/Dubai");
    assert_eq!(s["schema_version"], apr::store::SCHEMA_VERSION.to_string());
    assert_eq!(s["queue_log_gaps"], serde_json::json!([]));
    let f = &s["queue_log_files"][0];
    assert_eq!(f["path"], log.display().to_string());
    assert_eq!(f["offset"], size);
    assert_eq!(f["size"], size);
    assert_eq!(f["behind_bytes"], 0);
    assert_eq!(f["lines"], 633);
    assert!(f["last_load"]["age_secs"].as_i64().unwrap() < 3600);
    assert_eq!(table(&s, "queue_log")["rows"], 631);
    assert_eq!(table(&s, "queue_calls")["rows"], 188);
    assert_eq!(table(&s, "queue_log")["from"], "2025-09-07T07:58:00+04:00");
    // One "data until" per source (or one shared value before schema version 2).
    assert!(
        s["data_until"]["queue_log"]["at"].is_string() || s["data_until"]["all"]["at"].is_string(),
        "{s}"
    );
    assert!(s["pending_aggregation"].is_null());

    // New lines in the file: the cursor is behind by exactly their bytes.
    let extra = "1757260900|NONE|sales|PJSIP/201|UNPAUSE|\n";
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(extra.as_bytes())
        .unwrap();
    let s = status_json(&db);
    assert_eq!(s["queue_log_files"][0]["behind_bytes"], extra.len());

    // The text form says the same.
    let out = apr()
        .env("APR_DATABASE_URL", &db)
        .arg("status")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains(&format!("behind by {} bytes", extra.len())),
        "{text}"
    );
    assert!(
        text.contains("queue_calls") && text.contains("188 rows"),
        "{text}"
    );
}

#[test]
fn read_only_for_a_user_who_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _log) = queue_db(dir.path());
    let listing = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.display().to_string(), std::fs::read(&p).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(dir.path());
    // Readable by everyone, writable by root only; status runs as nobody.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("apr");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .arg("status")
        .env("APR_DATABASE_URL", &db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("queue_log"));
    assert_eq!(listing(dir.path()), before, "status changed a file");
}

/// Every reason of the last 7 days of the data is listed with the category it went to, so
/// a supervisor can check the mapping; the week ends at the newest event, not the clock.
#[test]
fn reasons_of_the_last_week_of_data_with_their_categories() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    // A database whose data ended long ago still shows its last week.
    let newest = 1_757_260_800;
    let event = |ts: i64, state: &str| AgentEvent {
        ext: "201".into(),
        ts,
        event: "agent_not_avail_state".into(),
        enabled: true,
        state: state.into(),
        user_id: "u1".into(),
        username: "Agent".into(),
    };
    let events = [
        event(newest - 8 * 86_400, "Old mystery"),
        event(newest - 7200, "Mystery errand"),
        event(newest - 5400, "Team Huddle"),
        event(newest - 3600, "Mystery errand"),
        event(newest, "Tea Break"),
    ];
    {
        let mut store = SqliteStore::open(&db).unwrap();
        store.set_meta("timezone", "UTC").unwrap();
        store
            .load(&LoadBatch {
                events: &events,
                source: EventSource::Api,
                data_until: Some(newest),
                ..Default::default()
            })
            .unwrap();
    }
    let s = status_json(&db);
    let listed: Vec<(String, String, u64)> = s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["category"].as_str().unwrap().to_string(),
                r["starts"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("Tea Break", "tea", 1),
        ("Mystery errand", "other", 2),
        ("Team Huddle", "other", 1),
    ];
    assert_eq!(
        listed,
        want.map(|(r, c, n)| (r.to_string(), c.to_string(), n)),
        "{s}"
    );
    let other: Vec<&str> = s["other_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(other, ["Mystery errand", "Team Huddle"]);
    // Loaded but not aggregated: the range waits for aggregation.
    assert!(s["pending_aggregation"]["from"].is_string(), "{s}");
    let out = apr()
        .env("APR_DATABASE_URL", &db)
        .arg("status")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("  'Team Huddle' -> other: 1 start, last 2025-09-07 14:30:00"),
        "{text}"
    );
    assert!(text.contains("  'Tea Break' -> tea: 1 start"), "{text}");
}

/// A queue_log of `n` pause/unpause lines, one a minute up to `last` (epoch seconds).
fn queue_log_ending(path: &Path, last: i64, n: i64) {
    let lines: String = (0..n)
        .map(|i| {
            let event = if i % 2 == 0 {
                "PAUSE|Lunch"
            } else {
                "UNPAUSE|"
            };
            format!("{}|NONE|sales|PJSIP/201|{event}\n", last - (n - 1 - i) * 60)
        })
        .collect();
    std::fs::write(path, lines).unwrap();
}

fn max_age_30m(db: &Path) -> (i32, String, String) {
    let out = apr()
        .env("APR_DATABASE_URL", db)
        .args(["status", "--max-age", "30m"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn max_age_is_a_monitoring_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    let log = dir.path().join("queue_log");
    queue_log_ending(&log, chrono::Utc::now().timestamp() - 120, 6);
    apr()
        .env("APR_DATABASE_URL", &db)
        .env("APR_TIMEZONE", "UTC")
        .args(["-q", "parse-queue-log"])
        .arg(&log)
        .assert()
        .success();
    let (code, line, _) = max_age_30m(&db);
    assert_eq!(code, 0);
    assert!(line.starts_with("ok: last queue_log load"), "{line}");
    assert!(line.contains(", queue_log data until "), "{line}");
    assert_eq!(line.lines().count(), 1);
    apr()
        .env("APR_DATABASE_URL", &db)
        .args(["-q", "status", "--max-age", "30m"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    // Two hours without a load.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE etl_state SET updated_at = updated_at - 7200", [])
        .unwrap();
    let out = apr()
        .env("APR_DATABASE_URL", &db)
        .args(["-q", "status", "--max-age", "30m"])
        .assert()
        .code(1)
        .stdout("");
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the last successful queue_log load was")
            && err.contains("2h 00m ago")
            && err.contains("--max-age 30m"),
        "{err}"
    );
    apr()
        .env("APR_DATABASE_URL", &db)
        .args(["status", "--max-age", "soon"])
        .assert()
        .code(2);
}

/// Issue 28: a load that just ran used to make old data look fresh.
#[test]
fn max_age_fails_on_old_data_that_was_loaded_just_now() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _log) = queue_db(dir.path());
    let (code, out, err) = max_age_30m(&db);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the newest queue_log data is from 2025-09-07 ")
            && err.contains("older than --max-age 30m, although it was loaded "),
        "{err}"
    );
}

#[test]
fn a_rotation_gap_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = queue_db(dir.path());
    // Rotated away and gone: the new file starts afresh, the old one's tail is lost.
    // The new file is made while the old one exists, so it cannot reuse its inode.
    let new = log.with_extension("new");
    std::fs::write(&new, "1757260900|NONE|sales|PJSIP/201|UNPAUSE|\n").unwrap();
    std::fs::remove_file(&log).unwrap();
    std::fs::rename(&new, &log).unwrap();
    apr()
        .env("APR_DATABASE_URL", &db)
        .args(["parse-queue-log"])
        .arg(&log)
        .assert()
        .success();
    let s = status_json(&db);
    let gaps = s["queue_log_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{s}");
    assert_eq!(gaps[0]["after_line"], 633);
    let out = apr()
        .env("APR_DATABASE_URL", &db)
        .arg("status")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("lost the lines after its line 633 to rotation"),
        "{text}"
    );
}
