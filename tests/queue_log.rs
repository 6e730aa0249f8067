//! `apr parse-queue-log` end to end against a temporary SQLite database: the example
//! queue_log loads with its damaged lines rejected; re-reading, reading in small chunks,
//! reading incrementally as the file grows, from stdin and from gzip all give the same
//! database.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod support;
use support::files::{append, parts_at_line_ends};
use support::rows::sqlite_rows;
use support::unended::{
    self, PAUSE_AT_10_10, call_without_end, load_utc, paused_at_10_10, talk_paused_at_10_10,
};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");

fn apr(db: &Path) -> Command {
    let mut c = support::rows::apr();
    c.env("APR_TIMEZONE", "Asia/Dubai")
        .arg("--database-url")
        .arg(db);
    c
}

fn load(db: &Path, files: &[&str], extra: &[&str]) -> String {
    let out = apr(db)
        .arg("parse-queue-log")
        .arg("--agents")
        .arg(AGENTS)
        .args(extra)
        .args(files)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The derived tables and raw lines, without load-time columns.
fn dump(db: &Path) -> Vec<String> {
    let queries = [
        "SELECT time, line_hash, callid, queuename, agent, event, data1, data2, data3, data4, data5 FROM queue_log ORDER BY time, line_hash",
        "SELECT * FROM queue_calls ORDER BY enter_time, callid, queuename",
        // Line numbers restart in a new file after rotation; they are checked apart.
        "SELECT line_hash, reason, line FROM queue_log_rejects ORDER BY line_hash",
        "SELECT ext, ts_epoch, event, enabled, state, username, source FROM agent_events ORDER BY id",
        "SELECT ext, hour_start, name, total_calls, answered_calls, source FROM users_calls ORDER BY hour_start, ext",
        "SELECT * FROM agent_activity ORDER BY report_hour, agent_ext",
        "SELECT state_value FROM queue_log_state WHERE state_key = 'queue_log.derive_state'",
    ];
    let mut out = Vec::new();
    for q in queries {
        out.extend(sqlite_rows(db, q));
        out.push(format!("-- end of {q}"));
    }
    out
}

/// Equal dumps, or a failure naming the first row that differs.
fn assert_same(got: &[String], want: &[String]) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "databases differ at row {i}:\n got: {:?}\nwant: {:?}",
            got.get(i).map(|s| &s[..s.len().min(400)]),
            want.get(i).map(|s| &s[..s.len().min(400)])
        );
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn example_bytes() -> Vec<u8> {
    std::fs::read(EXAMPLE).unwrap()
}

fn reference() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ref.db");
    load(&db, &[EXAMPLE], &[]);
    (dir, db)
}

#[test]
fn example_loads_and_rereading_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let first = load(&db, &[EXAMPLE], &[]);
    assert!(
        first.starts_with("633 lines read, 631 loaded, 2 rejected, 188 calls,"),
        "{first}"
    );
    assert!(first.contains("queue_log_rejects"), "{first}");
    let before = dump(&db);
    let again = load(&db, &[EXAMPLE], &[]);
    assert!(
        again.starts_with("0 lines read, 0 loaded, 0 rejected, 0 calls,"),
        "{again}"
    );
    assert_same(&dump(&db), &before);

    // Outcomes of the sample day, including the call cut by the restart.
    let outcomes: Vec<(String, i64)> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT outcome, COUNT(*) FROM queue_calls GROUP BY outcome ORDER BY outcome")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let names: Vec<&str> = outcomes.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        [
            "ABANDON",
            "ANSWERED",
            "EXITEMPTY",
            "EXITWITHKEY",
            "INCOMPLETE",
            "TIMEOUT",
            "TRANSFER"
        ]
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM queue_calls WHERE outcome = 'ANSWERED' AND talk_secs IS NULL"
        ),
        1,
        "the call connected when Asterisk restarted has an unknown talk time"
    );
    assert_eq!(
        count(
            &db,
            "SELECT SUM(line_no) FROM queue_log_rejects WHERE file LIKE '%examples/queue_log'"
        ),
        211 + 422
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM agent_events WHERE ext = '204'"),
        count(
            &db,
            "SELECT COUNT(*) FROM agent_events WHERE username = 'John Doe'"
        ),
        "the alias table maps the member name to its extension"
    );
    assert!(count(&db, "SELECT COUNT(*) FROM agent_activity") > 0);
    // Invalid UTF-8 in a caller name is kept lossily, not rejected.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM queue_calls WHERE caller_name = 'Jos\u{fffd} Garc\u{fffd}a'"
        ),
        1
    );
}

#[test]
fn small_chunks_give_the_same_database() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chunks.db");
    load(&db, &[EXAMPLE], &["--chunk-lines", "7"]);
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn growing_file_read_incrementally_gives_the_same_database() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("grow.db");
    let log = dir.path().join("queue_log");
    let bytes = example_bytes();
    // Three runs: cut mid-line each time, as Asterisk may be writing when cron fires.
    let cuts = [bytes.len() / 3 + 5, 2 * bytes.len() / 3 + 11, bytes.len()];
    let mut f = std::fs::File::create(&log).unwrap();
    let mut done = 0;
    for cut in cuts {
        f.write_all(&bytes[done..cut]).unwrap();
        f.flush().unwrap();
        done = cut;
        load(&db, &[log.to_str().unwrap()], &[]);
    }
    // Reject rows name the file as given; the rest must match.
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn rotation_finishes_the_old_file_first() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rot.db");
    let log = dir.path().join("queue_log");
    let bytes = example_bytes();
    let half = bytes[..bytes.len() / 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let first_read = half / 2;
    std::fs::write(&log, &bytes[..first_read]).unwrap();
    load(&db, &[log.to_str().unwrap()], &[]);
    // More lines, then logrotate: queue_log → queue_log.1, a new queue_log.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&bytes[first_read..half]).unwrap();
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    std::fs::write(&log, &bytes[half..]).unwrap();
    load(&db, &[log.to_str().unwrap()], &[]);
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn stdin_and_gzip_give_the_same_database() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stdin.db");
    apr(&db)
        .args(["parse-queue-log", "--agents", AGENTS, "-"])
        .write_stdin(example_bytes())
        .assert()
        .success();
    assert_same(&dump(&db), &dump(&reference));

    // Two gzip members, as logrotate's delaycompress + compress of appended data writes.
    let gz = dir.path().join("queue_log.1.gz");
    let bytes = example_bytes();
    let mid = bytes.len() / 2;
    let mut out = Vec::new();
    for part in [&bytes[..mid], &bytes[mid..]] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part).unwrap();
        out.extend(enc.finish().unwrap());
    }
    std::fs::write(&gz, out).unwrap();
    let db2 = dir.path().join("gz.db");
    load(&db2, &[gz.to_str().unwrap()], &[]);
    assert_same(&dump(&db2), &dump(&reference));
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dry.db");
    let out = load(&db, &[EXAMPLE], &["--dry-run"]);
    assert!(
        out.starts_with("dry run: 633 lines read, 631 loaded, 2 rejected, 188 calls,"),
        "{out}"
    );
    assert!(!db.exists(), "a dry run creates no database");
    load(&db, &[EXAMPLE], &[]);
    let before = dump(&db);
    let out = load(&db, &[EXAMPLE], &["--dry-run"]);
    assert!(out.starts_with("dry run: 0 lines read"), "{out}");
    assert_same(&dump(&db), &before);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let missing = apr(&db)
        .args(["parse-queue-log", "/nonexistent/queue_log"])
        .assert()
        .code(2);
    let err = String::from_utf8(missing.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("error: queue_log file '/nonexistent/queue_log' does not exist"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let agents = dir.path().join("agents.toml");
    std::fs::write(&agents, "[agents]\nbroken = [1, 2]\n").unwrap();
    let bad = apr(&db)
        .args(["parse-queue-log", "--agents"])
        .arg(&agents)
        .arg(EXAMPLE)
        .assert()
        .code(2);
    let err = String::from_utf8(bad.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("agents.toml") && err.contains("expected"),
        "{err}"
    );

    let carry = apr(&db)
        .args(["parse-queue-log", "--max-carry", "forever", EXAMPLE])
        .assert()
        .code(2);
    let err = String::from_utf8(carry.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("--max-carry"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!db.exists(), "a refused run created the database");
}

/// Issue 28: 20 KB of random bytes loaded as rejects with exit 0 and a cursor, and the
/// monitoring check then answered `ok`.
#[test]
fn random_bytes_are_not_a_queue_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let junk = dir.path().join("junk");
    // A fixed xorshift stream: the same 20 KB every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..20 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect();
    std::fs::write(&junk, &bytes).unwrap();
    let newline_ended = bytes.iter().filter(|b| **b == b'\n').count();
    for dry in [&["--dry-run"][..], &[]] {
        let out = apr(&db)
            .arg("parse-queue-log")
            .args(dry)
            .arg(&junk)
            .assert()
            .code(2)
            .stdout("");
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        let prefix = format!("error: {} is not a queue_log (", junk.display());
        let rest = err.trim_end().strip_prefix(&prefix).expect(&err);
        let (read, tail) = rest.split_once(' ').unwrap();
        let read: usize = read.parse().expect(&err);
        assert!(read > 5 && read <= newline_ended, "{err}");
        assert_eq!(
            tail,
            "lines read, none parsed; expected TIME|CALLID|QUEUE|AGENT|EVENT|...)"
        );
    }
    // Issue 28: a first run refused leaves no database (SPEC §9).
    assert!(!db.exists(), "a refused first run created the database");
    // On a database that exists: no cursor, no reject, no line; the next run sees the file
    // afresh.
    drop(apr::store::open(&apr::store::DatabaseUrl::sqlite(db.clone())).unwrap());
    apr(&db).arg("parse-queue-log").arg(&junk).assert().code(2);
    for table in ["etl_state", "queue_log_rejects", "queue_log"] {
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

/// A few damaged lines, or lines that parse but fall outside the time bounds, are a
/// queue_log with bad lines: each is rejected with its reason, as before.
#[test]
fn damaged_lines_of_a_queue_log_are_still_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let few = dir.path().join("few");
    std::fs::write(&few, "garbage\nmore garbage\n\u{1}\u{2}\nnot|a|line\n").unwrap();
    let out = load(&db, &[few.to_str().unwrap()], &[]);
    assert!(
        out.starts_with("4 lines read, 0 loaded, 4 rejected"),
        "{out}"
    );
    let millis = dir.path().join("millis");
    let lines: String = (0..6)
        .map(|i| {
            format!(
                "{}|NONE|sales|PJSIP/201|UNPAUSE|\n",
                1_757_217_480_000i64 + i
            )
        })
        .collect();
    std::fs::write(&millis, lines).unwrap();
    let out = load(&db, &[millis.to_str().unwrap()], &[]);
    assert!(
        out.starts_with("6 lines read, 0 loaded, 6 rejected"),
        "{out}"
    );
}

fn report(db: &Path, args: &[&str]) -> String {
    let out = apr(db)
        .args(["report", "--start-date", "2025-09-07"])
        .args(args)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn golden_agent_and_queue_reports_of_the_example_day() {
    let (_d, db) = reference();
    insta::assert_snapshot!("queue_log_agents_2025_09_07", report(&db, &[]));
    insta::assert_snapshot!(
        "queue_log_queues_2025_09_07",
        report(&db, &["--kind", "queues"])
    );
    insta::assert_snapshot!(
        "queue_log_queues_2025_09_07_json",
        report(&db, &["--kind", "queues", "--format", "json"])
    );
    insta::assert_snapshot!(
        "queue_log_queues_noon_options",
        report(
            &db,
            &[
                "--kind",
                "queues",
                "--start-time",
                "12:00",
                "--end-time",
                "13:00",
                "--sl-secs",
                "30",
                "--sl-basis",
                "answered",
                "--short-abandon-secs",
                "30",
            ]
        )
    );
}

#[test]
fn golden_queue_periods_and_call_list_of_the_example_day() {
    let (_d, db) = reference();
    let by_day = report(&db, &["--kind", "queues", "--by", "day", "--totals"]);
    insta::assert_snapshot!("queue_log_queues_by_day_totals", by_day);
    insta::assert_snapshot!(
        "queue_log_calls_sales_abandoned",
        report(
            &db,
            &[
                "--kind",
                "calls",
                "--queue",
                "sales",
                "--outcome",
                "abandon,timeout"
            ]
        )
    );
    // The day's row sums the hourly rows: offered of the hours add up to the day's.
    let hourly = report(&db, &["--kind", "queues", "--format", "json"]);
    let hourly: Vec<serde_json::Value> = serde_json::from_str(&hourly).unwrap();
    let daily = report(
        &db,
        &[
            "--kind", "queues", "--by", "day", "--totals", "--format", "json",
        ],
    );
    let daily: Vec<serde_json::Value> = serde_json::from_str(&daily).unwrap();
    for q in ["billing", "sales", "support", "TOTAL"] {
        let day = daily.iter().find(|r| r["queue"] == q).unwrap();
        for key in [
            "offered",
            "answered",
            "abandoned",
            "timeouts",
            "transferred",
        ] {
            let sum: i64 = hourly
                .iter()
                .filter(|r| q == "TOTAL" || r["queue"] == q)
                .map(|r| r[key].as_i64().unwrap())
                .sum();
            assert_eq!(day[key].as_i64().unwrap(), sum, "{q} {key}");
        }
        let max: i64 = hourly
            .iter()
            .filter(|r| q == "TOTAL" || r["queue"] == q)
            .map(|r| r["max_wait_secs"].as_i64().unwrap())
            .max()
            .unwrap();
        assert_eq!(day["max_wait_secs"].as_i64().unwrap(), max, "{q}");
    }
    // The HTML queue report: calls and service level charts, the CSV's rows in its table.
    let html = report(&db, &["--kind", "queues", "--format", "html"]);
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("Service level per hour (%)"));
    assert!(!html.contains("http:") && !html.contains("<script"));
    let csv = report(&db, &["--kind", "queues"]);
    assert_eq!(
        html.matches("<tr>").count(),
        csv.lines().count(),
        "the header row and one table row per CSV record"
    );
    // The call list: one row per stint, each filter applied.
    let calls = report(&db, &["--kind", "calls", "--format", "json"]);
    let calls: Vec<serde_json::Value> = serde_json::from_str(&calls).unwrap();
    let offered: i64 = hourly.iter().map(|r| r["offered"].as_i64().unwrap()).sum();
    assert_eq!(calls.len() as i64, offered);
    let times: Vec<&str> = calls
        .iter()
        .map(|c| c["enter_time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "ordered by entry");
    let agent = calls
        .iter()
        .find_map(|c| c["agent"].as_str().filter(|a| !a.is_empty()))
        .unwrap()
        .to_string();
    let mine = report(
        &db,
        &["--kind", "calls", "--ext", &agent, "--format", "json"],
    );
    let mine: Vec<serde_json::Value> = serde_json::from_str(&mine).unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|c| c["agent"] == agent.as_str()));
    assert_eq!(
        mine.len(),
        calls
            .iter()
            .filter(|c| c["agent"] == agent.as_str())
            .count()
    );
}

#[test]
fn queue_report_refuses_agent_only_arguments() {
    let (_d, db) = reference();
    let out = apr(&db)
        .args([
            "report",
            "--start-date",
            "2025-09-07",
            "--kind",
            "queues",
            "--ext",
            "201",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("error: --ext applies to the agent report only"),
        "{err}"
    );
    let out = apr(&db)
        .args([
            "report",
            "--start-date",
            "2025-09-07",
            "--kind",
            "queues",
            "--sl-basis",
            "x",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("--sl-basis 'x'"), "{err}");
}

#[tokio::test]
async fn serve_once_gives_the_queue_report_bytes() {
    let (_d, db) = reference();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("apr"))
        .env_remove("APR_SERVE_TOKEN")
        .env_remove("APR_CORS_ORIGINS")
        .env("APR_TIMEZONE", "Asia/Dubai")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args(["serve-once", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!(
            "http://{addr}/api/report?startDate=2025-09-07&kind=queues&format=json"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(body, report(&db, &["--kind", "queues", "--format", "json"]));
}

/// The example cut at line boundaries into `n` nearly equal parts.
fn example_parts(n: usize) -> Vec<Vec<u8>> {
    parts_at_line_ends(&example_bytes(), n)
}

fn gzip(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    let mut gz = path.as_os_str().to_owned();
    gz.push(".gz");
    std::fs::write(gz, enc.finish().unwrap()).unwrap();
    std::fs::remove_file(path).unwrap();
}

#[test]
fn rotated_twice_between_runs_reads_the_middle_file() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("twice.db");
    let log = dir.path().join("queue_log");
    let p = example_parts(4);
    append(&log, &p[0]);
    load(&db, &[log.to_str().unwrap()], &[]);
    // Two logrotate runs (the second compresses) with apr stopped in between.
    append(&log, &p[1]);
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    append(&log, &p[2]);
    std::fs::rename(
        dir.path().join("queue_log.1"),
        dir.path().join("queue_log.2"),
    )
    .unwrap();
    gzip(&dir.path().join("queue_log.2"));
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    append(&log, &p[3]);
    load(&db, &[log.to_str().unwrap()], &[]);
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn dateext_rotation_reads_every_newer_file_in_order() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dateext.db");
    let log = dir.path().join("queue_log");
    let p = example_parts(4);
    append(&log, &p[0]);
    load(&db, &[log.to_str().unwrap()], &[]);
    append(&log, &p[1]);
    std::fs::rename(&log, dir.path().join("queue_log-20250906")).unwrap();
    gzip(&dir.path().join("queue_log-20250906"));
    append(&log, &p[2]);
    std::fs::rename(&log, dir.path().join("queue_log-20250907")).unwrap();
    append(&log, &p[3]);
    // An older rotation that was read long ago stays untouched.
    std::fs::write(dir.path().join("queue_log-20250801"), b"").unwrap();
    load(&db, &[log.to_str().unwrap()], &[]);
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn copytruncate_finishes_the_copy_then_reads_the_file_again() {
    let (_d, reference) = reference();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("copytruncate.db");
    let log = dir.path().join("queue_log");
    let p = example_parts(3);
    append(&log, &p[0]);
    load(&db, &[log.to_str().unwrap()], &[]);
    append(&log, &p[1]);
    std::fs::copy(&log, dir.path().join("queue_log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &p[2]);
    load(&db, &[log.to_str().unwrap()], &[]);
    assert_same(&dump(&db), &dump(&reference));
}

#[test]
fn a_lost_rotated_file_is_a_warning_and_a_recorded_gap() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gap.db");
    let log = dir.path().join("queue_log");
    let p = example_parts(4);
    append(&log, &p[0]);
    load(&db, &[log.to_str().unwrap()], &[]);
    // Rotated three times with `rotate 1`: the file read before is gone.
    append(&log, &p[1]);
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    append(&log, &p[2]);
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    append(&log, &p[3]);
    let run = || {
        let out = apr(&db)
            .args(["parse-queue-log", "--agents", AGENTS])
            .arg(&log)
            .assert()
            .success();
        String::from_utf8(out.get_output().stderr.clone()).unwrap()
    };
    let err = run();
    let warning: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(
        warning[0].contains("queue_log' was rotated and the file read up to its line")
            && warning[0].contains("queue_log.1"),
        "{err}"
    );
    let gaps = sqlite_rows(
        &db,
        "SELECT COUNT(*) FROM etl_state WHERE state_key LIKE 'queue_log.gap:%'",
    );
    assert_eq!(gaps, ["1"]);
    // The newer files were read: the last part's lines are stored, the lost part's are not.
    let last_line = String::from_utf8_lossy(&p[3])
        .lines()
        .last()
        .unwrap()
        .to_string();
    let lost_line = String::from_utf8_lossy(&p[1])
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let stored = |line: &str| {
        let time: i64 = line.split('|').next().unwrap().parse().unwrap();
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM queue_log WHERE time = {time} AND event = '{}'",
                line.split('|').nth(4).unwrap()
            ),
        )
    };
    assert!(stored(&last_line) > 0);
    assert_eq!(stored(&lost_line), 0);
    // A run after it reads nothing and warns no more.
    let err = run();
    assert!(!err.contains("warning:"), "{err}");
}

#[test]
fn empty_and_overlong_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("long.db");
    let gz = dir.path().join("queue_log.1.gz");
    // Five million newlines (compressed to a few kilobytes), a 3 MiB line, then a good line.
    let mut raw = vec![b'\n'; 5_000_000];
    raw.extend_from_slice(b"1757217480|NONE|sales|PJSIP/201|PAUSE|");
    raw.extend(std::iter::repeat_n(b'x', 3 << 20));
    raw.extend_from_slice(b"\n1757217481|NONE|sales|PJSIP/201|ADDMEMBER|\n");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = load(&db, &[gz.to_str().unwrap()], &[]);
    assert!(
        out.starts_with("2 lines read, 1 loaded, 1 rejected, 0 calls,")
            && out.contains(", 5000000 empty lines skipped in "),
        "{out}"
    );
    let rejects = sqlite_rows(
        &db,
        "SELECT line_no, reason, length(line) FROM queue_log_rejects",
    );
    assert_eq!(
        rejects,
        [
            "5000001|line of 3145766 bytes is longer than the 1 MiB limit; its first 1024 bytes are kept|1024"
        ]
    );
}

#[test]
fn a_call_without_its_end_talks_until_its_stint_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    unended::check_talk_until_the_stint_is_closed(&sqlite_url(&dir));
}

#[test]
fn a_pause_after_a_call_without_its_end_ends_its_talk() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    load_utc(&url, &call_without_end(&[PAUSE_AT_10_10]), &[]);
    assert_eq!(talk_paused_at_10_10(&url), paused_at_10_10());
}

#[test]
fn a_realtime_export_with_utc_offsets_reads_the_same_instants() {
    let dir = tempfile::tempdir().unwrap();
    let epochs = dir.path().join("epochs.db");
    load_utc(
        &format!("sqlite://{}", epochs.display()),
        &call_without_end(&[PAUSE_AT_10_10]),
        &[],
    );
    let offsets = tempfile::tempdir().unwrap();
    let exported = offsets.path().join("exported.db");
    let exported_url = format!("sqlite://{}", exported.display());
    // The same instants as PostgreSQL prints a timestamptz, in several offsets.
    load_utc(
        &exported_url,
        "2014-07-03 10:00:00.992026+00|c1|q|NONE|ENTERQUEUE||555|1\n\
         2014-07-03 15:30:10+05:30|c1|q|SIP/448|CONNECT|10|c1.1|2\n\
         2014-07-03 07:10:00.5-03|NONE|q|SIP/448|PAUSE|Tea\n\
         2014-07-04T12:00:00Z|NONE|NONE|NONE|CONFIGRELOAD|\n",
        &[],
    );
    for q in [
        "SELECT time, callid, event FROM queue_log ORDER BY time, event",
        "SELECT * FROM queue_calls",
        "SELECT ext, ts_epoch, event, enabled, state FROM agent_events ORDER BY id",
    ] {
        assert_eq!(sqlite_rows(&exported, q), sqlite_rows(&epochs, q), "{q}");
    }
    assert_eq!(talk_paused_at_10_10(&exported_url), paused_at_10_10());
}

#[test]
fn max_carry_keeps_a_quiet_queue_log_agent_logged_in() {
    let (long, default) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    unended::check_max_carry(&sqlite_url(&long), &sqlite_url(&default));
}

/// A new database's URL in `dir`.
fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("apr.db").display())
}

const NAMED_AGENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/queue-agents-named.toml"
);

/// `apr parse-queue-log --agents NAMED_AGENTS FILE`, which must succeed; its stdout.
fn load_named(db: &Path, file: &Path) -> String {
    let out = apr(db)
        .args(["parse-queue-log", "--agents", NAMED_AGENTS])
        .arg(file)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The distinct `(Ext, Name)` pairs of the agent report's rows.
fn ext_names(report: &str) -> Vec<(String, String)> {
    let mut rows = csv::Reader::from_reader(report.as_bytes());
    let mut pairs: Vec<(String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[4].to_string(), r[5].to_string())
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

#[test]
fn display_names_from_the_agents_file_are_what_reports_show() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue_log");
    let db = dir.path().join("named.db");
    std::fs::copy(EXAMPLE, &log).unwrap();
    load_named(&db, &log);
    let agents = report(&db, &[]);
    let want = [
        ("201", "Reception 1"),
        ("202", "Billing 2"),
        // Named by its extension: the Local/203@from-queue/n lines show it.
        ("203", "Sales 3"),
        // The alias form names no one: the member name on the call lines stays.
        ("204", "John Doe"),
        ("205", "Agent/205"),
    ]
    .map(|(e, n)| (e.to_string(), n.to_string()));
    assert_eq!(ext_names(&agents), want);
    // Everything else is the report of the example's agents file.
    let (_d, reference) = reference();
    let plain = report(&reference, &[]);
    let renamed = [
        ("PJSIP/201", "Reception 1"),
        ("SIP/202", "Billing 2"),
        ("Local/203@from-queue/n", "Sales 3"),
    ]
    .iter()
    .fold(plain, |r, (from, to)| {
        r.replace(&format!(",{from},"), &format!(",{to},"))
    });
    assert_eq!(agents, renamed);

    // Re-running reads nothing and changes no name.
    assert!(load_named(&db, &log).starts_with("0 lines read"));
    assert_eq!(report(&db, &[]), agents);
}

#[test]
fn display_names_hold_when_hours_are_recounted_from_stored_lines() {
    // Three runs as the file grows: each run recounts its hours' calls from the raw lines
    // stored by the runs before, whose agent fields are channels.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue_log");
    let whole = dir.path().join("whole.db");
    std::fs::copy(EXAMPLE, &log).unwrap();
    load_named(&whole, &log);
    let grown = dir.path().join("grown.db");
    std::fs::write(&log, b"").unwrap();
    for part in example_parts(3) {
        append(&log, &part);
        load_named(&grown, &log);
    }
    assert_eq!(report(&grown, &[]), report(&whole, &[]));
    assert_eq!(
        sqlite_rows(
            &grown,
            "SELECT stats_name, event_name FROM agents WHERE ext = '201'"
        ),
        sqlite_rows(&whole, "SELECT 'Reception 1', 'Reception 1'")
    );
    assert_eq!(
        sqlite_rows(&grown, "SELECT * FROM agents ORDER BY ext"),
        sqlite_rows(&whole, "SELECT * FROM agents ORDER BY ext")
    );
}

#[test]
fn names_added_later_rename_earlier_hours_when_they_are_aggregated_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue_log");
    let db = dir.path().join("later.db");
    let [first, second] = <[Vec<u8>; 2]>::try_from(example_parts(2)).unwrap();
    std::fs::write(&log, &first).unwrap();
    load(&db, &[log.to_str().unwrap()], &[]);
    append(&log, &second);
    load_named(&db, &log);
    let names = |db: &Path| ext_names(&report(db, &[]));
    // The hours aggregated before the names came keep the channel, the later ones show
    // the name (newer names win in the store).
    let mixed = names(&db);
    assert!(
        mixed.contains(&("201".into(), "PJSIP/201".into())),
        "{mixed:?}"
    );
    assert!(
        mixed.contains(&("201".into(), "Reception 1".into())),
        "{mixed:?}"
    );
    apr(&db).args(["aggregate", "--rebuild"]).assert().success();
    let whole = dir.path().join("whole.db");
    load_named(&whole, Path::new(EXAMPLE));
    assert_eq!(names(&db), names(&whole));
}
