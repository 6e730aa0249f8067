//! Far-away timestamps (issue 15.2), on SQLite and MariaDB: a queue_log holding a millisecond
//! epoch, a year-10000 time, the largest i64 and a zero loads its good lines and rejects
//! those with their reasons; `aggregate`, `aggregate --rebuild` and a later
//! `parse-queue-log` then stay bounded (asserted by the rows and hours they produce; each
//! run also has a time limit so that a regression fails instead of eating the machine).

mod support;

use std::path::Path;
use std::time::Duration;

use support::mysql::ScratchMysql;
use support::rows::{mysql_rows, sqlite_rows};

/// 2025-09-07 17:00 in Asia/Dubai.
const T0: i64 = 1_757_250_000;

fn poisoned() -> String {
    [
        format!("{T0}|NONE|q1|PJSIP/201|ADDMEMBER|"),
        format!("{}|c1|q1|NONE|ENTERQUEUE||0501234567|1", T0 + 60),
        format!("{}|c1|q1|PJSIP/201|CONNECT|5|c1.1|3", T0 + 65),
        format!("{}|c1|q1|PJSIP/201|COMPLETECALLER|5|135|1", T0 + 200),
        // The issue's lines: a millisecond epoch, year 10000, the largest i64, and a zero.
        "1757300000000|NONE|NONE|PJSIP/201|PAUSE|lunch".to_string(),
        "253402300800|NONE|NONE|PJSIP/201|PAUSE|lunch".to_string(),
        "9999-12-31 23:59:59|NONE|NONE|PJSIP/201|UNPAUSE|".to_string(),
        "9223372036854775807|c2|q1|NONE|ENTERQUEUE||0509999999|1".to_string(),
        "0|c3|q1|NONE|ENTERQUEUE||0508888888|1".to_string(),
    ]
    .join("\n")
        + "\n"
}

fn run(url: &str, dir: &Path, args: &[&str]) -> String {
    let out = support::rows::apr()
        .current_dir(dir)
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The whole scenario on one database; `rows` queries it.
fn far_away_times_stay_out(url: &str, rows: &dyn Fn(&str) -> Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    std::fs::write(&file, poisoned()).unwrap();
    let file = file.to_str().unwrap();

    let out = run(url, dir.path(), &["parse-queue-log", file]);
    assert!(
        out.starts_with("9 lines read, 4 loaded, 5 rejected, 1 call,"),
        "{out}"
    );
    let reasons = rows("SELECT line_no, reason FROM queue_log_rejects ORDER BY line_no");
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons[0].starts_with("5|time 1757300000000 looks like epoch milliseconds"),
        "{reasons:?}"
    );
    for (i, line_no) in [(1, 6), (2, 7), (3, 8)] {
        assert!(
            reasons[i].starts_with(&format!("{line_no}|time "))
                && reasons[i].contains("more than a day after"),
            "{reasons:?}"
        );
    }
    assert!(reasons[4].contains("before 2000-01-01"), "{reasons:?}");

    let bounded = || {
        assert_eq!(
            rows("SELECT callid, enter_time FROM queue_calls"),
            [format!("c1|{}", T0 + 60)]
        );
        assert_eq!(
            rows("SELECT MIN(time), MAX(time), COUNT(*) FROM queue_log"),
            [format!("{T0}|{}|4", T0 + 200)]
        );
        assert_eq!(
            rows("SELECT state_value FROM etl_state WHERE state_key = 'data_until.queue_log'"),
            [(T0 + 200).to_string()]
        );
        // One agent in one hour: nothing was walked towards a far-away instant.
        assert_eq!(
            rows("SELECT agent_ext, report_hour FROM agent_activity"),
            [format!("201|{T0}")]
        );
    };
    bounded();
    run(url, dir.path(), &["aggregate"]);
    bounded();
    run(url, dir.path(), &["aggregate", "--rebuild"]);
    bounded();

    // A later file, poisoned again, with one good line in the next hour.
    let later = dir.path().join("queue_log.later");
    std::fs::write(
        &later,
        format!(
            "{}|NONE|q1|PJSIP/201|PAUSE|lunch\n1757300000000|NONE|NONE|PJSIP/201|UNPAUSE|\n",
            T0 + 3700
        ),
    )
    .unwrap();
    let out = run(
        url,
        dir.path(),
        &["parse-queue-log", later.to_str().unwrap()],
    );
    assert!(
        out.starts_with("2 lines read, 1 loaded, 1 rejected, 0 calls,"),
        "{out}"
    );
    assert_eq!(
        rows("SELECT agent_ext, report_hour FROM agent_activity ORDER BY report_hour"),
        [format!("201|{T0}"), format!("201|{}", T0 + 3600)]
    );
}

#[test]
fn far_away_queue_log_times_are_rejected_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let url = format!("sqlite://{}", db.display());
    far_away_times_stay_out(&url, &|sql| sqlite_rows(&db, sql));
}

#[test]
fn far_away_queue_log_times_are_rejected_on_mariadb() {
    let scratch = ScratchMysql::new();
    let url = scratch.url().to_string();
    far_away_times_stay_out(&url, &|sql| mysql_rows(&url, sql));
}

#[test]
fn far_away_queue_log_times_are_rejected_on_postgres() {
    let scratch = support::postgres::ScratchPostgres::new();
    let url = scratch.url().to_string();
    far_away_times_stay_out(&url, &|sql| support::rows::postgres_rows(&url, sql));
}

/// The same guard on a replay directory: an event at the largest i64 or in milliseconds
/// neither becomes "now" nor reaches the database, and `--until` far away is a usage error.
#[test]
fn far_away_replay_events_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let replay = dir.path().join("replay");
    std::fs::create_dir_all(replay.join("events")).unwrap();
    std::fs::write(
        replay.join("events/a.json"),
        format!(
            r#"[{{"event":"agent_idle","enabled":true,"ext":"201","Timestamp":{}}},
               {{"event":"agent_idle","enabled":false,"ext":"201","Timestamp":"9223372036854775807"}},
               {{"event":"agent_idle","enabled":false,"ext":"202","Timestamp":0}}]"#,
            T0 + 100
        ),
    )
    .unwrap();
    let db = dir.path().join("r.db");
    let url = format!("sqlite://{}", db.display());
    let replay = replay.to_str().unwrap();
    run(&url, dir.path(), &["collect", "--source", replay]);
    let rows = |sql: &str| sqlite_rows(&db, sql);
    assert_eq!(
        rows("SELECT ext, ts_epoch FROM agent_events"),
        [format!("201|{}", T0 + 100)]
    );
    assert_eq!(
        rows("SELECT state_value FROM etl_state WHERE state_key = 'data_until.api'"),
        [(T0 + 100).to_string()]
    );
    assert_eq!(rows("SELECT COUNT(*) FROM agent_activity"), ["1"]);
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", &url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["collect", "--source", replay, "--until", "253402300800"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --until: time 253402300800") && err.lines().count() == 1,
        "{err}"
    );
}

/// Lines with values longer than their columns (issue 15.3): a key too long (a member
/// `PJSIP/` + 70 digits, a 200-character call id or pause reason) is a rejected line with
/// that reason; a long caller number is cut to its column. SQLite and MariaDB then hold the
/// same rows, where MariaDB used to fail the whole file with "Data too long".
fn overlong_dumps(url: &str, rows: &dyn Fn(&str) -> Vec<String>) -> [Vec<String>; 5] {
    let member = format!("PJSIP/{}", "9".repeat(70));
    let text = [
        format!("{T0}|NONE|q1|PJSIP/201|ADDMEMBER|"),
        format!("{}|NONE|q1|{member}|ADDMEMBER|", T0 + 10),
        format!("{}|NONE|q1|PJSIP/201|PAUSE|{}", T0 + 20, "r".repeat(200)),
        format!("{}|{}|q1|NONE|ENTERQUEUE||0501|1", T0 + 30, "c".repeat(200)),
        format!("{}|c1|q1|NONE|ENTERQUEUE||{}|1", T0 + 40, "5".repeat(300)),
        format!("{}|c1|q1|PJSIP/201|CONNECT|20|c1.1|2", T0 + 60),
        format!("{}|c1|q1|PJSIP/201|COMPLETECALLER|20|140|1", T0 + 200),
    ]
    .join("\n")
        + "\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    std::fs::write(&file, &text).unwrap();
    let out = run(
        url,
        dir.path(),
        &["parse-queue-log", file.to_str().unwrap()],
    );
    assert!(
        out.starts_with("7 lines read, 4 loaded, 3 rejected, 1 call,"),
        "{out}"
    );
    [
        "SELECT line_no, reason FROM queue_log_rejects ORDER BY line_no",
        "SELECT time, callid, agent, event, data1, data2 FROM queue_log ORDER BY time",
        "SELECT callid, queuename, enter_time, caller_number, outcome, agent, wait_secs, talk_secs FROM queue_calls",
        "SELECT ext, ts_epoch, event, enabled, state FROM agent_events ORDER BY ts_epoch, event, enabled",
        "SELECT agent_ext, report_hour, talk_secs FROM agent_activity",
    ]
    .map(rows)
}

/// [`overlong_dumps`] on SQLite.
fn overlong_on_sqlite() -> [Vec<String>; 5] {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    overlong_dumps(&format!("sqlite://{}", db.display()), &|q| {
        sqlite_rows(&db, q)
    })
}

#[test]
fn overlong_values_are_rejected_or_cut_on_sqlite() {
    let sqlite = overlong_on_sqlite();
    let reasons = &sqlite[0];
    assert!(
        reasons[0].starts_with("2|ext '999") && reasons[0].contains("agent_events.ext"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("3|state 'rrr"), "{reasons:?}");
    assert!(reasons[2].starts_with("4|callid 'ccc"), "{reasons:?}");
    assert_eq!(
        sqlite[2],
        [format!(
            "c1|q1|{}|{}|ANSWERED|201|20|140",
            T0 + 40,
            "5".repeat(128)
        )]
    );
}

#[test]
fn overlong_values_are_rejected_or_cut_on_mariadb_as_on_sqlite() {
    let scratch = ScratchMysql::new();
    let url = scratch.url().to_string();
    let mariadb = overlong_dumps(&url, &|q| mysql_rows(&url, q));
    assert_eq!(mariadb, overlong_on_sqlite());
}

#[test]
fn overlong_values_are_rejected_or_cut_on_postgres_as_on_sqlite() {
    let scratch = support::postgres::ScratchPostgres::new();
    let url = scratch.url().to_string();
    let postgres = overlong_dumps(&url, &|q| support::rows::postgres_rows(&url, q));
    assert_eq!(postgres, overlong_on_sqlite());
}
