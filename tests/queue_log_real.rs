//! Real Asterisk queue_log patterns (fixtures/queue_log, see its README) loaded by the real
//! binary into SQLite: each with its expected `queue_calls` rows and agent timeline.

use std::path::{Path, PathBuf};

mod support;
use support::rows::sqlite_rows;

fn fixture(name: &str) -> String {
    format!("{}/fixtures/queue_log/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Loads `files` into a new database; returns it with stdout and stderr.
fn load(files: &[&str], extra: &[&str]) -> (tempfile::TempDir, PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("real.db");
    let out = support::rows::apr()
        .env("APR_TIMEZONE", "UTC")
        .arg("--database-url")
        .arg(&db)
        .arg("parse-queue-log")
        .args(extra)
        .args(files)
        .assert()
        .success();
    let o = out.get_output();
    (
        dir,
        db,
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}

fn stints(db: &Path) -> Vec<String> {
    sqlite_rows(
        db,
        "SELECT callid, queuename, enter_time, caller_number, outcome, agent, wait_secs, talk_secs, \
         ring_attempts, end_time FROM queue_calls ORDER BY enter_time, callid, queuename",
    )
}

fn timeline(db: &Path) -> Vec<String> {
    sqlite_rows(
        db,
        "SELECT ext, ts_epoch, event, enabled, state FROM agent_events ORDER BY ext, ts_epoch, id",
    )
}

#[test]
fn nul_bytes_before_a_line_are_stripped_and_the_restart_closes_the_calls() {
    let (_d, db, out, _) = load(&[&fixture("nul_after_unclean_shutdown")], &[]);
    assert!(
        out.starts_with("9 lines read, 8 loaded, 1 rejected, 3 calls,")
            && out.contains(", 2 repaired (leading NUL bytes), 2 empty lines skipped in "),
        "{out}"
    );
    assert_eq!(
        stints(&db),
        [
            // Cut by the restart before it connected.
            "1665492650.1|q1|1665492650|5551000|INCOMPLETE||NULL|NULL|0|NULL",
            // Connected when Asterisk went down: answered, talk unknown.
            "1665492660.2|q1|1665492660|5551001|ANSWERED|201|5|NULL|1|NULL",
            "1665492800.1|q1|1665492800|5551002|ANSWERED|201|10|90|1|1665492900",
        ]
    );
    assert_eq!(
        timeline(&db),
        [
            "201|1665492600|agent_idle|1|available",
            "201|1665492665|agent_on_call|1|none",
            "201|1665492726|agent_on_call|0|none",
            "201|1665492726|agent_idle|1|available",
            "201|1665492810|agent_on_call|1|none",
            "201|1665492900|agent_on_call|0|none",
            "201|1665492900|agent_idle|1|available",
        ]
    );
    // The line that is still garbage is rejected without its NULs; empty lines are not stored.
    assert_eq!(
        sqlite_rows(&db, "SELECT line_no, line FROM queue_log_rejects"),
        ["7|garbage"]
    );
    assert_eq!(
        sqlite_rows(
            &db,
            "SELECT COUNT(*) FROM queue_log WHERE event = 'QUEUESTART'"
        ),
        ["1"]
    );
}

#[test]
fn attended_transfer_with_swapped_call_ids_ends_the_right_stints() {
    let (_d, db, _, _) = load(&[&fixture("attended_transfer_swapped_ids")], &[]);
    assert_eq!(
        stints(&db),
        [
            "1717397243.239826|1501|1717397259|5550100|TRANSFER|7009|12|120|1|1717397391",
            "1717397390.239830|1509|1717397390|7009|ANSWERED|7051|7|173|1|1717397570",
        ]
    );
    assert_eq!(
        timeline(&db),
        [
            "7009|1717397200|agent_idle|1|available",
            "7009|1717397271|agent_on_call|1|none",
            "7009|1717397391|agent_on_call|0|none",
            "7009|1717397391|agent_idle|1|available",
            "7051|1717397201|agent_idle|1|available",
            "7051|1717397397|agent_on_call|1|none",
            "7051|1717397570|agent_on_call|0|none",
            "7051|1717397570|agent_idle|1|available",
        ]
    );
    // Read in chunks of one line (the link crosses chunks and runs): the same rows.
    let (_d2, db2, _, _) = load(
        &[&fixture("attended_transfer_swapped_ids")],
        &["--chunk-lines", "1"],
    );
    assert_eq!(stints(&db2), stints(&db));
    assert_eq!(timeline(&db2), timeline(&db));
}

#[test]
fn blind_transfer_into_another_queue_keeps_the_caller_id() {
    let (_d, db, _, _) = load(&[&fixture("blind_transfer")], &[]);
    assert_eq!(
        stints(&db),
        [
            "1717400100.500|1501|1717400100|5550200|TRANSFER|7009|10|60|1|1717400170",
            "1717400100.500|1509|1717400171|5550200|ANSWERED|7051|9|120|1|1717400300",
        ]
    );
    assert_eq!(
        timeline(&db),
        [
            "7009|1717400000|agent_idle|1|available",
            "7009|1717400110|agent_on_call|1|none",
            "7009|1717400170|agent_on_call|0|none",
            "7009|1717400170|agent_idle|1|available",
            "7051|1717400001|agent_idle|1|available",
            "7051|1717400180|agent_on_call|1|none",
            "7051|1717400300|agent_on_call|0|none",
            "7051|1717400300|agent_idle|1|available",
        ]
    );
}

#[test]
fn one_agent_under_two_names_is_named_once_and_never_guessed() {
    let file = fixture("member_name_and_interface");
    let (_d, db, _, err) = load(&[&file], &[]);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("note: agent names"))
            .collect::<Vec<_>>(),
        [
            "note: agent names seen only on call lines: Sathish; map them to extensions in an agents file, see examples/queue-agents.toml"
        ]
    );
    // Not linked: the interface has the membership, the name the call and the pause.
    assert_eq!(
        timeline(&db),
        [
            "1001|1757300000|agent_idle|1|available",
            "1001|1757300500|agent_not_avail_state|1|Logoff",
            "Sathish|1757300110|agent_on_call|1|none",
            "Sathish|1757300200|agent_on_call|0|none",
            "Sathish|1757300200|agent_idle|1|available",
            "Sathish|1757300300|agent_not_avail_state|1|Break",
            "Sathish|1757300400|agent_idle|1|available",
        ]
    );
    assert_eq!(
        stints(&db),
        ["1757300100.10|ventas|1757300100|5551234|ANSWERED|Sathish|10|90|1|1757300200"]
    );

    // With the agents file the operator writes, one agent and no note.
    let agents = _d.path().join("agents.toml");
    std::fs::write(&agents, "[agents]\nSathish = \"1001\"\n").unwrap();
    let (_d2, db2, _, err) = load(&[&file], &["--agents", agents.to_str().unwrap()]);
    assert!(!err.contains("note: agent names"), "{err}");
    assert_eq!(
        timeline(&db2),
        [
            "1001|1757300000|agent_idle|1|available",
            "1001|1757300110|agent_on_call|1|none",
            "1001|1757300200|agent_on_call|0|none",
            "1001|1757300200|agent_idle|1|available",
            "1001|1757300300|agent_not_avail_state|1|Break",
            "1001|1757300400|agent_idle|1|available",
            "1001|1757300500|agent_not_avail_state|1|Logoff",
        ]
    );
    assert_eq!(
        stints(&db2),
        ["1757300100.10|ventas|1757300100|5551234|ANSWERED|1001|10|90|1|1757300200"]
    );
}
