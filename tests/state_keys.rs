//! A corrupt `etl_state` value is an error naming its key, through the real binary: `apr
//! status` once showed a corrupt queue_log cursor as offset 0, and `apr aggregate` once took
//! a prune boundary that did not parse for no boundary at all.

use std::path::Path;

mod support;
use support::rows::apr;

/// An empty apr database in `dir` (`apr.db`, the default) holding `state` in `etl_state`.
fn database_with_state(dir: &Path, state: &[(&str, &str)]) {
    apr()
        .current_dir(dir)
        .args(["--timezone", "UTC", "aggregate"])
        .assert()
        .success();
    let db = rusqlite::Connection::open(dir.join("apr.db")).unwrap();
    for (key, value) in state {
        db.execute(
            "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES (?1, ?2, 0)",
            [key, value],
        )
        .unwrap();
    }
}

/// Runs apr in `dir`, expecting exit 1 and one line on stderr, naming the database and
/// `key`.
fn fails_naming(dir: &Path, args: &[&str], key: &str) {
    let out = apr().current_dir(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: database sqlite://apr.db: etl_state '{key}' "
        )),
        "{stderr}"
    );
}

#[test]
fn status_names_a_corrupt_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let key = "queue_log.cursor:/var/log/asterisk/queue_log";
    database_with_state(dir.path(), &[(key, r#"{"offset":"x"}"#)]);
    fails_naming(dir.path(), &["status"], key);
}

#[test]
fn aggregate_names_a_corrupt_prune_boundary() {
    let dir = tempfile::tempdir().unwrap();
    // Data until a day after the range, so that the range is aggregated.
    database_with_state(
        dir.path(),
        &[
            ("data_until.api", "1756771200"),
            ("prune.before", "2025-09-01"),
        ],
    );
    fails_naming(
        dir.path(),
        &["aggregate", "--from", "2025-08-01", "--to", "2025-08-02"],
        "prune.before",
    );
}
