//! `apr parse-queue-log` on a real MariaDB and a real PostgreSQL (a scratch database per test,
//! dropped after): the example day gives the same stints and byte-identical agent and queue
//! reports as SQLite, in small chunks too, and re-reading changes nothing.

mod support;

use std::path::Path;

use assert_cmd::Command;
use support::files::{append, parts_at_line_ends};
use support::rows::sqlite_rows;
use support::server::Scratch;
use support::unended::{
    self, PAUSE_AT_10_10, call_without_end, load_utc, paused_at_10_10, talk_paused_at_10_10,
};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");

fn apr(db_url: &str) -> Command {
    let mut cmd = support::rows::apr();
    cmd.env("APR_DATABASE_URL", db_url)
        .env("APR_TIMEZONE", "Asia/Dubai");
    cmd
}

fn load(db_url: &str, extra: &[&str]) -> String {
    parse(db_url, extra, EXAMPLE)
}

/// `apr parse-queue-log --agents AGENTS EXTRA FILE`, which must succeed; its stdout.
fn parse(db_url: &str, extra: &[&str], file: &str) -> String {
    let out = apr(db_url)
        .args(["parse-queue-log", "--agents", AGENTS])
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn reports(db_url: &str) -> Vec<Vec<u8>> {
    [
        vec![],
        vec!["--kind", "queues"],
        vec!["--kind", "queues", "--format", "json"],
    ]
    .into_iter()
    .map(|args| {
        let out = apr(db_url)
            .args(["report", "--start-date", "2025-09-07"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    })
    .collect()
}

const STINTS: &str = "SELECT callid, queuename, enter_time, enter_hour_local, caller_name, \
    COALESCE(entry_position, -1), outcome, agent, COALESCE(wait_secs, -1), \
    COALESCE(talk_secs, -1), ring_attempts, COALESCE(end_time, -1) \
    FROM queue_calls ORDER BY enter_time, callid, queuename";

on_servers!(
    give_the_same_stints_and_reports_as_sqlite,
    many_calls_waiting_at_once_fit_the_carried_state,
    rotation_between_runs_gives_the_database_of_one_run,
    empty_lines_are_skipped_and_counted,
    a_call_without_its_end_talks_until_its_stint_is_closed,
    a_pause_after_a_call_without_its_end_ends_its_talk,
    max_carry_keeps_a_quiet_queue_log_agent_logged_in,
    display_names_from_the_agents_file_are_what_reports_show,
    a_file_that_is_not_a_queue_log_leaves_an_empty_database_empty,
);

fn sqlite_stints(db: &Path) -> Vec<String> {
    sqlite_rows(db, STINTS)
}

fn give_the_same_stints_and_reports_as_sqlite(scratch: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("q.db");
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    load(&sqlite_url, &[]);

    let summary = load(scratch.url(), &["--chunk-lines", "100"]);
    assert!(
        summary.starts_with("633 lines read, 631 loaded, 2 rejected, 188 calls,"),
        "{summary}"
    );
    let stints = scratch.rows(STINTS);
    assert_eq!(stints.len(), 188);
    assert_eq!(stints, sqlite_stints(&sqlite));
    assert_eq!(reports(scratch.url()), reports(&sqlite_url));

    // Re-reading the file, also through stdin (no cursor), changes nothing.
    let before = (stints, reports(scratch.url()));
    let again = load(scratch.url(), &[]);
    assert!(again.starts_with("0 lines read, 0 loaded"), "{again}");
    apr(scratch.url())
        .args(["parse-queue-log", "--agents", AGENTS, "-"])
        .write_stdin(std::fs::read(EXAMPLE).unwrap())
        .assert()
        .success()
        .stdout(predicates::str::starts_with(
            "633 lines read, 0 loaded, 2 rejected, 0 calls",
        ));
    assert_eq!((scratch.rows(STINTS), reports(scratch.url())), before);
    assert_eq!(scratch.rows("SELECT COUNT(*) FROM queue_log"), ["631"]);
}

fn many_calls_waiting_at_once_fit_the_carried_state(scratch: Scratch) {
    // 3,000 callers waiting when the file ends: the carried-over state is far beyond
    // 64 KB (MySQL's TEXT), and the next run must still find it.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue_log");
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{}|{}.{i}|sales|NONE|ENTERQUEUE||97150{i:07}|{}|Caller {i}\n",
            1_757_235_600 + i / 10,
            1_757_235_600 + i / 10,
            i % 50 + 1
        ));
    }
    std::fs::write(&log, &text).unwrap();
    let run = |url: &str| {
        apr(url)
            .args(["parse-queue-log"])
            .arg(&log)
            .assert()
            .success();
    };
    run(scratch.url());
    let len: u64 = scratch.rows(
        "SELECT LENGTH(state_value) FROM queue_log_state WHERE state_key = 'queue_log.derive_state'",
    )[0]
    .parse()
    .unwrap();
    assert!(len > 65_535, "{len}");
    // The callers abandon in the next run: the stints carried over end.
    let mut more = String::new();
    for i in 0..3000 {
        more.push_str(&format!(
            "{}|{}.{i}|sales|NONE|ABANDON|1|1|60\n",
            1_757_235_600 + 400 + i / 10,
            1_757_235_600 + i / 10
        ));
    }
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, more.as_bytes()).unwrap();
    run(scratch.url());
    assert_eq!(
        scratch
            .rows("SELECT COUNT(*) FROM queue_calls WHERE outcome = 'ABANDON' AND wait_secs = 60"),
        ["3000"]
    );
}

/// The example file cut at line ends into `n` parts.
fn example_parts(n: usize) -> Vec<Vec<u8>> {
    parts_at_line_ends(&std::fs::read(EXAMPLE).unwrap(), n)
}

fn load_file(db_url: &str, file: &Path) -> String {
    parse(db_url, &["--chunk-lines", "50"], file.to_str().unwrap())
}

fn rotation_between_runs_gives_the_database_of_one_run(scratch: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("q.db");
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    load(&sqlite_url, &[]);
    let log = dir.path().join("queue_log");
    let p = example_parts(3);
    append(&log, &p[0]);
    load_file(scratch.url(), &log);
    // More lines, then logrotate (queue_log → queue_log.1, a new queue_log): the next run
    // finishes the rotated file first, then reads the new one, which then grows.
    append(&log, &p[1]);
    std::fs::rename(&log, dir.path().join("queue_log.1")).unwrap();
    let cut = p[2][..p[2].len() / 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    std::fs::write(&log, &p[2][..cut]).unwrap();
    load_file(scratch.url(), &log);
    append(&log, &p[2][cut..]);
    load_file(scratch.url(), &log);
    assert_eq!(scratch.rows(STINTS), sqlite_stints(&sqlite));
    assert_eq!(reports(scratch.url()), reports(&sqlite_url));
    assert_eq!(scratch.rows("SELECT COUNT(*) FROM queue_log"), ["631"]);
}

fn empty_lines_are_skipped_and_counted(scratch: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("q.db");
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    load(&sqlite_url, &[]);
    // The example with an empty line after every line, and a run of 10,000 empty lines
    // (with a carriage return in some) in the middle.
    let bytes = std::fs::read(EXAMPLE).unwrap();
    let mut spaced = Vec::new();
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        spaced.extend_from_slice(line);
        spaced.push(b'\n');
        if i == 300 {
            for k in 0..10_000 {
                spaced.extend_from_slice(if k % 7 == 0 { b"\r\n" } else { b"\n" });
            }
        }
    }
    let log = dir.path().join("queue_log");
    std::fs::write(&log, &spaced).unwrap();
    let summary = load_file(scratch.url(), &log);
    assert!(
        summary.starts_with("633 lines read, 631 loaded, 2 rejected, 188 calls,"),
        "{summary}"
    );
    assert_eq!(scratch.rows(STINTS), sqlite_stints(&sqlite));
    assert_eq!(reports(scratch.url()), reports(&sqlite_url));
}

fn a_call_without_its_end_talks_until_its_stint_is_closed(scratch: Scratch) {
    unended::check_talk_until_the_stint_is_closed(scratch.url());
}

fn a_pause_after_a_call_without_its_end_ends_its_talk(scratch: Scratch) {
    load_utc(scratch.url(), &call_without_end(&[PAUSE_AT_10_10]), &[]);
    assert_eq!(talk_paused_at_10_10(scratch.url()), paused_at_10_10());
}

fn max_carry_keeps_a_quiet_queue_log_agent_logged_in(scratch: Scratch) {
    let default = scratch.another();
    unended::check_max_carry(scratch.url(), default.url());
}

const NAMED_AGENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/queue-agents-named.toml"
);

fn display_names_from_the_agents_file_are_what_reports_show(scratch: Scratch) {
    let named = |url: &str, extra: &[&str]| {
        apr(url)
            .args(["parse-queue-log", "--agents", NAMED_AGENTS])
            .args(extra)
            .arg(EXAMPLE)
            .assert()
            .success();
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("named.db");
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    named(&sqlite_url, &[]);
    // In small chunks: later chunks recount hours from lines stored by earlier ones.
    named(scratch.url(), &["--chunk-lines", "100"]);

    let got = reports(scratch.url());
    assert_eq!(got, reports(&sqlite_url));
    let agents = String::from_utf8(got[0].clone()).unwrap();
    for name in ["Reception 1", "Billing 2", "Sales 3"] {
        assert!(agents.contains(&format!(",{name},")), "{name}: {agents}");
    }
    for channel in ["PJSIP/201", "SIP/202", "Local/203@from-queue/n"] {
        assert!(!agents.contains(channel), "{channel}: {agents}");
    }
    let names = "SELECT ext, stats_name, event_name FROM agents ORDER BY ext";
    assert_eq!(scratch.rows(names), sqlite_rows(&sqlite, names));

    // Re-running changes no name.
    named(scratch.url(), &[]);
    assert_eq!(reports(scratch.url()), got);
}

/// Issue 28 (SPEC §9): a file that is not a queue_log, given to a first run on an empty
/// database, is refused before apr creates its tables: the database stays empty.
fn a_file_that_is_not_a_queue_log_leaves_an_empty_database_empty(db: Scratch) {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.txt");
    let lines: String = (1..=20).map(|i| format!("note {i}: call back\n")).collect();
    std::fs::write(&junk, lines).unwrap();
    let out = apr(db.url())
        .arg("parse-queue-log")
        .arg(&junk)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a queue_log"), "{err}");
    assert_eq!(
        db.db().tables(),
        Vec::<String>::new(),
        "a refused first run created tables"
    );
}
