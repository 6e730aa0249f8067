//! A database on a read-only file system (a backup's or a replica's mount): a WAL database
//! copied alone there is read as an immutable file, by `report`, `status` and `serve-once`;
//! when it truly cannot be opened (a `-wal` that was not checkpointed, no free inodes, no
//! permission) the message names the cause and the fix. Each test mounts a tmpfs (needs
//! root, as `scripts/test.sh` and CI run).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::mount::Tmpfs;

const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
/// The local day `examples/queue_log` covers in Asia/Dubai.
const DAY: &str = "2025-09-07";
const IMMUTABLE_NOTE: &str = "is on a read-only file system: read as an immutable file";

fn apr(db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir("/")
        .env("APR_DATABASE_URL", db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(args);
    cmd
}

fn succeeded(out: Output) -> (String, String) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

/// The one `error:` line of a failed run.
fn failed(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the run fails: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// A loaded database at `dir/ref.db`, closed by its writer (no `-wal` or `-shm` left), and
/// its report of [`DAY`].
fn loaded(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("ref.db");
    succeeded(
        apr(&db, &["parse-queue-log", "--agents", AGENTS, QUEUE_LOG])
            .output()
            .unwrap(),
    );
    assert!(!dir.join("ref.db-shm").exists(), "the writer cleaned up");
    let (report, _) = succeeded(apr(&db, &["report", "--start-date", DAY]).output().unwrap());
    (db, report)
}

/// `GET path` from `serve-once` on `db`: the status line and the body.
fn serve_once(db: &Path, path: &str) -> (String, String) {
    support::serve_once::get(apr(db, &[]), path)
}

#[test]
fn a_wal_database_copied_onto_a_read_only_mount_is_reported_from() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, report) = loaded(dir.path());
    let mnt = dir.path().join("replica");
    let mount = Tmpfs::mount(&mnt, "size=8m");
    let db = mnt.join("apr.db");
    std::fs::copy(&reference, &db).unwrap();
    mount.remount_read_only();

    let (got, err) = succeeded(apr(&db, &["report", "--start-date", DAY]).output().unwrap());
    assert_eq!(got, report);
    assert!(!err.contains(IMMUTABLE_NOTE), "said at -v only: {err}");
    let (got, err) = succeeded(
        apr(&db, &["-v", "report", "--start-date", DAY])
            .output()
            .unwrap(),
    );
    assert_eq!(got, report);
    assert_eq!(
        err.lines().filter(|l| l.contains(IMMUTABLE_NOTE)).count(),
        1,
        "one info line: {err}"
    );
    let (status, _) = succeeded(apr(&db, &["status"]).output().unwrap());
    let (reference_status, _) = succeeded(apr(&reference, &["status"]).output().unwrap());
    assert_eq!(
        status.replace(&db.display().to_string(), "DB"),
        reference_status.replace(&reference.display().to_string(), "DB")
    );
    let (code, body) = serve_once(&db, &format!("/api/report?startDate={DAY}"));
    assert!(code.contains("200"), "{code}: {body}");
    assert!(body.contains(report.lines().nth(1).unwrap()), "{body}");
    assert_eq!(
        std::fs::read_dir(&mnt).unwrap().count(),
        1,
        "nothing beside the database"
    );
}

#[test]
fn a_read_only_mount_with_a_write_ahead_log_not_checkpointed_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = loaded(dir.path());
    // A writer that committed and is still open: its commit is only in the -wal, copied
    // with the database as a careless backup would.
    let writer = rusqlite::Connection::open(&reference).unwrap();
    writer
        .execute_batch(
            "PRAGMA wal_autocheckpoint = 0; CREATE TABLE unapplied (n INTEGER); \
             INSERT INTO unapplied VALUES (1);",
        )
        .unwrap();
    let wal = dir.path().join("ref.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "a -wal to miss");
    let mnt = dir.path().join("replica");
    let mount = Tmpfs::mount(&mnt, "size=8m");
    let db = mnt.join("apr.db");
    std::fs::copy(&reference, &db).unwrap();
    std::fs::copy(&wal, mnt.join("apr.db-wal")).unwrap();
    drop(writer);
    mount.remount_read_only();

    for args in [&["report", "--start-date", DAY][..], &["status"]] {
        let err = failed(apr(&db, args).output().unwrap());
        assert!(
            err.contains(&format!("database sqlite://{}", db.display()))
                && err.contains("is on a read-only file system")
                && err.contains("was not checkpointed")
                && err.contains("copy both files to a writable disk"),
            "{err}"
        );
    }
}

#[test]
fn a_database_that_cannot_be_opened_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = loaded(dir.path());

    // No free inode for the -shm file beside the database.
    let mnt = dir.path().join("no-inodes");
    let _mount = Tmpfs::mount(&mnt, "size=8m,nr_inodes=8");
    let db = mnt.join("apr.db");
    std::fs::copy(&reference, &db).unwrap();
    for n in 0.. {
        if std::fs::write(mnt.join(format!("filler{n}")), b"").is_err() {
            break;
        }
    }
    let err = failed(apr(&db, &["report", "--start-date", DAY]).output().unwrap());
    assert!(
        err.contains("has no free inodes") && err.contains("`df -i`"),
        "{err}"
    );

    // A file this user may not read, on a read-only mount (root reads anything: the run is
    // that of user nobody).
    let mnt = dir.path().join("private");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mount = Tmpfs::mount(&mnt, "size=8m,mode=0755");
    let db = mnt.join("apr.db");
    std::fs::copy(&reference, &db).unwrap();
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    mount.remount_read_only();
    let inner = apr(&db, &["report", "--start-date", DAY]);
    let mut as_nobody = Command::new("/usr/bin/setpriv");
    as_nobody
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir("/");
    let err = failed(as_nobody.output().unwrap());
    assert!(
        err.contains("cannot be read by this user (permission denied)"),
        "{err}"
    );
}
