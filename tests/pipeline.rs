//! The replay pipeline end to end through the real binary on SQLite: init-load of the
//! bundled example, the bucket invariant on every row, idempotent re-runs, the write lock,
//! and the refusals (no terminal, zone mismatch, bad input). Kills are in chaos_kills.rs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use rusqlite::Connection;

mod support;
use support::rows::sqlite_rows;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay")
}

/// `apr` in an empty working directory (no `.env`), with no APR_* from the environment.
fn apr(dir: &Path) -> Command {
    let mut cmd = support::rows::apr();
    cmd.current_dir(dir);
    cmd.env("APR_DATABASE_URL", dir.join("apr.db"));
    cmd
}

fn init_load(dir: &Path) -> assert_cmd::assert::Assert {
    apr(dir)
        .args([
            "--timezone",
            "Asia/Kolkata",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(example())
        .assert()
}

/// Everything a load or aggregation decides, without wall-clock columns.
fn dump(db: &Path) -> String {
    let mut out = String::new();
    for sql in [
        "SELECT id, ext, ts_epoch, event, enabled, state, user_id, username, source FROM agent_events ORDER BY id",
        "SELECT ext, hour_start, name, total_calls, answered_calls, talked_time, tags FROM users_calls ORDER BY ext, hour_start",
        "SELECT * FROM agent_activity ORDER BY report_hour, agent_ext",
        "SELECT state_key, state_value FROM etl_state ORDER BY state_key",
        "SELECT * FROM agents ORDER BY ext",
    ] {
        for row in sqlite_rows(db, sql) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

fn scalar(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn init_load_of_the_example_fills_every_hour_and_every_second() {
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path())
        .success()
        .stdout(predicates::str::contains("loaded 6809 events (6802 new)"))
        .stderr(predicates::str::contains("'Not Available'"));
    let db = dir.path().join("apr.db");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM agent_events"), 6802);
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT agent_ext) FROM agent_activity"),
        60
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(DISTINCT report_hour) FROM agent_activity"
        ),
        6
    );
    let broken = scalar(
        &db,
        "SELECT COUNT(*) FROM agent_activity WHERE available_secs + productive_secs + non_productive_secs \
         + login_secs + logoff_secs + dnd_secs + unaccounted_secs != covered_secs \
         OR available_secs != idle_secs + talk_secs + wrap_up_secs + hold_secs \
         OR productive_secs != meeting_secs + training_secs + chat_secs + tickets_secs + outbound_secs \
         OR non_productive_secs != lunch_secs + tea_secs + bio_secs + short_secs + other_secs",
    );
    assert_eq!(broken, 0);
    // Past hours are whole; the hour in progress ends at the newest event (19:27:09 IST).
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM agent_activity WHERE complete = 1 AND covered_secs != 3600"
        ),
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT MAX(covered_secs) FROM agent_activity WHERE complete = 0"
        ),
        1_755_698_229 - 1_755_696_600
    );
    // Hours are Asia/Kolkata hours: they start at :30 UTC.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM agent_activity WHERE report_hour % 3600 != 1800"
        ),
        0
    );
    // Calls come from the hourly stats only.
    assert_eq!(
        scalar(&db, "SELECT SUM(total_calls) FROM agent_activity"),
        scalar(&db, "SELECT SUM(total_calls) FROM users_calls")
    );
}

/// Copies the example, swapping every adjacent same-agent, same-second pair "start of one
/// type, then end of another" into the tidy order "end, then start". Returns the swap count.
fn tidy_copy(to: &Path) -> usize {
    let mut swaps = 0;
    std::fs::create_dir_all(to.join("events")).unwrap();
    std::fs::create_dir_all(to.join("stats")).unwrap();
    for entry in std::fs::read_dir(example().join("stats")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join("stats").join(p.file_name().unwrap())).unwrap();
    }
    for entry in std::fs::read_dir(example().join("events")).unwrap() {
        let p = entry.unwrap().path();
        let mut page: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let events = page["events"].as_array_mut().unwrap();
        let mut i = 0;
        while i + 1 < events.len() {
            let (a, b) = (&events[i], &events[i + 1]);
            if a["ext"] == b["ext"]
                && a["Timestamp"] == b["Timestamp"]
                && a["enabled"] == true
                && b["enabled"] == false
                && a["event"] != b["event"]
            {
                events.swap(i, i + 1);
                swaps += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        std::fs::write(
            to.join("events").join(p.file_name().unwrap()),
            page.to_string(),
        )
        .unwrap();
    }
    swaps
}

fn buckets(db: &Path) -> Vec<Vec<i64>> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT report_hour, CAST(agent_ext AS INTEGER), idle_secs, talk_secs, wrap_up_secs, hold_secs, \
             login_secs, logoff_secs, lunch_secs, other_secs, unaccounted_secs, covered_secs \
             FROM agent_activity ORDER BY report_hour, agent_ext",
        )
        .unwrap();
    stmt.query_map([], |r| (0..12).map(|i| r.get::<_, i64>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_real_pages_same_second_quirk_loses_no_time() {
    // The platform lists a new state's start before the old state's end in the same second
    // (e.g. agent_on_call enabled:true, then agent_idle enabled:false). Loading the same
    // data in tidy order must give the same seconds in every bucket.
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path()).success();
    let tidy_dir = tempfile::tempdir().unwrap();
    let swaps = tidy_copy(&tidy_dir.path().join("replay"));
    assert!(swaps > 100, "the sample shows the quirk ({swaps} pairs)");
    apr(tidy_dir.path())
        .args([
            "--timezone",
            "Asia/Kolkata",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(tidy_dir.path().join("replay"))
        .assert()
        .success();
    let quirky = buckets(&dir.path().join("apr.db"));
    assert!(
        quirky.iter().map(|r| r[3]).sum::<i64>() > 0,
        "there is talk time"
    );
    assert_eq!(quirky, buckets(&tidy_dir.path().join("apr.db")));
}

#[test]
fn rerunning_init_load_and_aggregate_yields_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    init_load(dir.path()).success();
    let first = dump(&db);
    init_load(dir.path()).success();
    assert_eq!(dump(&db), first);
    apr(dir.path()).arg("aggregate").assert().success();
    assert_eq!(dump(&db), first);
    apr(dir.path())
        .args(["aggregate", "--rebuild"])
        .assert()
        .success();
    apr(dir.path())
        .args([
            "aggregate",
            "--from",
            "2025-08-20 15:00",
            "--to",
            "2025-08-20 17:00",
        ])
        .assert()
        .success();
    assert_eq!(dump(&db), first);
}

#[test]
fn without_a_terminal_or_yes_init_load_refuses_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path()).success();
    let before = dump(&dir.path().join("apr.db"));
    apr(dir.path())
        .args(["init-load", "--source"])
        .arg(example())
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("type YES, or pass --yes"));
    assert_eq!(dump(&dir.path().join("apr.db")), before);
}

#[test]
fn a_different_zone_is_refused_until_rebuilt_with_an_explicit_flag() {
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path()).success();
    let db = dir.path().join("apr.db");
    let before = dump(&db);
    apr(dir.path())
        .env("APR_TIMEZONE", "Asia/Dubai")
        .arg("aggregate")
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("Asia/Kolkata").and(predicates::str::contains("Asia/Dubai")),
        );
    assert_eq!(dump(&db), before);
    apr(dir.path())
        .args(["aggregate", "--rebuild", "--timezone", "Asia/Dubai"])
        .assert()
        .success();
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM agent_activity WHERE report_hour % 3600 != 0"
        ),
        0
    );
}

#[test]
fn a_second_writer_exits_75_while_the_lock_is_held() {
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path()).success();
    let mut holder = apr::store::sqlite::SqliteStore::open(&dir.path().join("apr.db")).unwrap();
    assert!(apr::store::Store::try_lock(&mut holder, "write").unwrap());
    apr(dir.path())
        .arg("aggregate")
        .assert()
        .code(75)
        .stderr(predicates::str::contains("another apr collect is running"));
    drop(holder);
    apr(dir.path()).arg("aggregate").assert().success();
}

#[test]
fn bad_input_is_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["init-load", "--yes", "--source", "/nonexistent"],
            "is not a directory",
        ),
        (
            vec!["aggregate", "--from", "yesterday"],
            "--from 'yesterday'",
        ),
        (vec!["aggregate", "--max-carry", "forever"], "--max-carry"),
        (vec!["--timezone", "Mars/Base", "aggregate"], "Mars/Base"),
    ] {
        let out = apr(dir.path()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    let out = apr(dir.path())
        .env("APR_DATABASE_URL", "postgres://u:secret@h/db")
        .arg("aggregate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
}

#[test]
fn a_misaligned_stats_file_is_rejected_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("replay");
    std::fs::create_dir_all(src.join("events")).unwrap();
    std::fs::create_dir_all(src.join("stats")).unwrap();
    std::fs::copy(
        example().join("events/page-0001.json"),
        src.join("events/page-0001.json"),
    )
    .unwrap();
    // An hour aligned in UTC is not an hour in Asia/Kolkata.
    std::fs::write(src.join("stats/1755680400-1755684000.json"), "{}").unwrap();
    apr(dir.path())
        .args([
            "--timezone",
            "Asia/Kolkata",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(&src)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("1755680400-1755684000.json"));
}

/// Runs `apr init-load` on a real pseudo-terminal (util-linux `script`), typing `answer`.
fn init_load_typing(dir: &Path, answer: &str) -> std::process::Output {
    let apr_bin = assert_cmd::cargo::cargo_bin("apr");
    let command = format!(
        "{} --timezone Asia/Kolkata init-load --source {}",
        apr_bin.display(),
        example().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("APR_DATABASE_URL", dir.join("apr.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    use std::io::Write as _;
    // Typed after the prompt has had time to appear; the terminal buffers it either way.
    std::thread::sleep(Duration::from_millis(300));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\r").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn at_the_prompt_anything_but_yes_aborts_and_yes_proceeds() {
    let dir = tempfile::tempdir().unwrap();
    init_load(dir.path()).success();
    let db = dir.path().join("apr.db");
    let before = dump(&db);
    // Make the reload observable: drop the summary so only a real init-load rebuilds it.
    Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM agent_activity", [])
        .unwrap();
    let emptied = dump(&db);
    for answer in ["no", "yes", ""] {
        let out = init_load_typing(dir.path(), answer);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{answer:?}: {text}");
        assert!(text.contains("Type YES to continue"), "{answer:?}: {text}");
        assert!(
            text.contains("aborted: nothing was changed"),
            "{answer:?}: {text}"
        );
        assert_eq!(dump(&db), emptied, "{answer:?} touched the database");
    }
    let out = init_load_typing(dir.path(), "YES");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("loaded 6809 events"), "{text}");
    assert_eq!(dump(&db), before);
}
