//! Every argument is checked before a database is opened for writing (SPEC §9): a refused
//! `apr aggregate` or `apr prune` exits 2 with one line and leaves no database and no write
//! lock behind.

use std::path::Path;

mod support;
use support::rows::apr;

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs apr in `dir` (its default database `apr.db` there) and asserts exit 2 with exactly
/// `message` on stderr.
fn refused(dir: &Path, args: &[&str], message: &str) {
    let out = apr().current_dir(dir).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: {message}\n"),
        "{args:?}"
    );
}

#[test]
fn aggregate_refuses_bad_instants_before_it_creates_a_database() {
    let time =
        "is not a time; expected epoch seconds, RFC 3339, or local 'YYYY-MM-DD[ HH:MM[:SS]]'";
    let cases: [(&[&str], String); 4] = [
        (
            &["aggregate", "--from", "junk"],
            format!("--from 'junk' {time}"),
        ),
        (
            &["aggregate", "--to", "junk"],
            format!("--to 'junk' {time}"),
        ),
        (
            &["aggregate", "--from", "2025-09-02", "--to", "2025-09-01"],
            "--to '2025-09-01' is not after --from '2025-09-02'; expected a later instant".into(),
        ),
        (
            &["aggregate", "--to", "2025-09-01", "--from", "2025-09-02"],
            "--to '2025-09-01' is not after --from '2025-09-02'; expected a later instant".into(),
        ),
    ];
    for (args, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        refused(dir.path(), args, &message);
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn prune_refuses_a_bad_date_before_it_opens_a_database() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        dir.path(),
        &["prune", "--yes", "--before", "junk"],
        "--before 'junk' is not a date; expected YYYY-MM-DD, e.g. 2025-09-07",
    );
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

#[test]
fn prune_refuses_a_future_date_without_taking_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    apr()
        .current_dir(dir.path())
        .args(["--timezone", "UTC", "aggregate"])
        .assert()
        .success();
    let lock = dir.path().join("apr.db.write.lock");
    std::fs::remove_file(&lock).unwrap();
    refused(
        dir.path(),
        &["prune", "--yes", "--before", "2999-01-01"],
        "--before 2999-01-01 00:00 is in the future; expected a past date",
    );
    assert!(!lock.exists(), "{:?}", listing(dir.path()));
}
