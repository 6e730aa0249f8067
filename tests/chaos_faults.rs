//! The fault column of the reliability matrix (issue 13) beyond tests/collect.rs (which
//! runs every fault kind of the fake platform on SQLite): the same faults on MariaDB, slow
//! responses, malformed fields in valid JSON, the platform killed mid-run, a full file
//! system (a small tmpfs, where the test may mount one) and a second MariaDB server killed
//! mid-run and restarted. A
//! failing run says so in one line and leaves the database as it was; the next good run
//! converges to an uninterrupted run's.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::chaos::Backend;
use support::fake_platform::*;
use support::mariadb::Mariadb;
use support::mount::Tmpfs;
use support::rows::{Db, assert_same_dump, canonical_dump};

/// 2025-09-06 18:30 UTC = 2025-09-07 00:00 in Asia/Kolkata.
const FROM: i64 = 1_757_183_400;
const HOUR: i64 = 3600;

fn platform() -> FakePlatform {
    let fake = FakePlatform::start(generate(6, FROM - HOUR, FROM + 4 * HOUR));
    fake.set_align_offset(Some(19_800));
    fake
}

/// `collect` of three hours from `base`.
fn collect(db: &Db, base: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", db.url())
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .env("APR_API_BASE", base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .env("APR_API_PAGE_SIZE", "20")
        .env("APR_API_TIMEOUT_SECS", "0.5")
        .env("APR_API_MAX_RETRIES", "2")
        .env("APR_API_RETRY_BASE_MS", "1")
        .args([
            "collect",
            "--since",
            &FROM.to_string(),
            "--until",
            &(FROM + 3 * HOUR).to_string(),
        ]);
    cmd
}

/// Runs `cmd`; `Ok` on success, else `Err(stderr)` after checking it is one `error:` line
/// without a debug dump.
fn outcome(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        return Ok(());
    }
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{:?}: {err}",
        out.status
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for dump in ["Error {", "Error(", "CodecError", "IoError"] {
        assert!(!err.contains(dump), "a debug dump: {err}");
    }
    Err(err)
}

fn ok(cmd: &mut Command) {
    if let Err(e) = outcome(cmd) {
        panic!("{e}");
    }
}

fn faults_on(mut backend: Backend) {
    let fake = platform();
    let reference = backend.fresh();
    ok(&mut collect(&reference, &fake.base));
    let want = canonical_dump(&reference);
    let kinds = [
        FaultKind::Status(503),
        FaultKind::RetryAfter(429, 0),
        FaultKind::Stall(Duration::from_secs(3)),
        FaultKind::Drop,
        FaultKind::Truncate,
        FaultKind::ExpireTokens,
        FaultKind::Slow(Duration::from_millis(300)),
    ];
    for kind in kinds {
        for endpoint in [Endpoint::Login, Endpoint::Events, Endpoint::Stats] {
            // Not twice in a row: a second 401 right after a fresh login is an error.
            fake.set_faults(vec![
                Fault::new(endpoint, 1, kind),
                Fault::new(endpoint, 3, kind),
            ]);
            let db = backend.fresh();
            ok(&mut collect(&db, &fake.base));
            assert_same_dump(
                &canonical_dump(&db),
                &want,
                &format!("{kind:?} on {endpoint:?}"),
            );
        }
    }
    // Faults past the retry budget fail the run in one line; the next run converges.
    let db = backend.fresh();
    ok(&mut collect(&db, &fake.base));
    for endpoint in [Endpoint::Events, Endpoint::Stats] {
        fake.set_faults(
            (1..=3)
                .map(|n| Fault::new(endpoint, n, FaultKind::Drop))
                .collect(),
        );
        let before = canonical_dump(&db);
        let e = outcome(&mut collect(&db, &fake.base)).expect_err("a spent budget fails");
        assert!(e.contains("/api/v2/"), "names the endpoint: {e}");
        assert_same_dump(
            &canonical_dump(&db),
            &before,
            "a failed run changes nothing",
        );
        fake.set_faults(Vec::new());
        ok(&mut collect(&db, &fake.base));
        assert_same_dump(&canonical_dump(&db), &want, "the run after the failure");
    }
}

#[test]
fn sqlite_platform_faults_and_slow_responses_load_what_a_clean_run_loads() {
    faults_on(Backend::sqlite());
}

#[test]
fn mysql_platform_faults_and_slow_responses_load_what_a_clean_run_loads() {
    faults_on(Backend::mysql());
}

#[test]
fn postgres_platform_faults_and_slow_responses_load_what_a_clean_run_loads() {
    faults_on(Backend::postgres());
}

// ---------------------------------------------------------------------------------------
// Malformed fields in valid JSON.

fn each(page: &mut [Value], f: impl Fn(&mut serde_json::Map<String, Value>)) {
    for e in page.iter_mut() {
        f(e.as_object_mut().unwrap());
    }
}

const MANGLES: [(&str, Mangle); 7] = [
    ("timestamps as strings", |p| {
        each(p, |e| {
            let t = e["Timestamp"].to_string();
            e.insert("Timestamp".into(), Value::String(t));
        })
    }),
    ("enabled as a string", |p| {
        each(p, |e| {
            e.insert("enabled".into(), json!("true"));
        })
    }),
    ("null names and states", |p| {
        each(p, |e| {
            e.insert("username".into(), Value::Null);
            e.insert("state".into(), Value::Null);
        })
    }),
    ("null timestamps", |p| {
        each(p, |e| {
            e.insert("Timestamp".into(), Value::Null);
        })
    }),
    ("unknown events", |p| {
        let extra: Vec<Value> = p
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e["event"] = json!("agent_teleport");
                e
            })
            .collect();
        p.extend(extra);
    }),
    ("1 MB names", |p| {
        each(p, |e| {
            e.insert("username".into(), json!("N".repeat(1 << 20)));
        })
    }),
    ("every event twice", |p| {
        let copy = p.clone();
        p.extend(copy);
    }),
];

fn malformed_on(mut backend: Backend) {
    let fake = platform();
    let reference = backend.fresh();
    ok(&mut collect(&reference, &fake.base));
    let want = canonical_dump(&reference);
    let buckets = |db: &Db| {
        db.rows(
            "SELECT agent_ext, report_hour, available_secs, productive_secs, non_productive_secs, \
             login_secs, logoff_secs, dnd_secs, unaccounted_secs, covered_secs \
             FROM agent_activity ORDER BY agent_ext, report_hour",
        )
    };
    for (name, mangle) in MANGLES {
        let db = backend.fresh();
        fake.set_mangle(Some(mangle));
        let result = outcome(&mut collect(&db, &fake.base));
        fake.set_mangle(None);
        match name {
            // Repeats are loaded once; unknown events change no bucket.
            "every event twice" => {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_same_dump(&canonical_dump(&db), &want, name);
            }
            "unknown events" => {
                assert!(result.is_ok(), "{name}: {result:?}");
                assert_eq!(buckets(&db), buckets(&reference), "{name}");
            }
            // Anything else may be refused (in one line, nothing kept) or read leniently;
            // either way the buckets hold the invariant and a clean run still loads.
            _ => {
                if result.is_err() {
                    assert!(
                        db.rows("SELECT COUNT(*) FROM agent_events") == ["0"],
                        "{name}: a refused page left events behind"
                    );
                }
                for row in db.rows(
                    "SELECT available_secs + productive_secs + non_productive_secs + login_secs \
                     + logoff_secs + dnd_secs + unaccounted_secs - covered_secs FROM agent_activity",
                ) {
                    assert_eq!(row, "0", "{name}: bucket invariant");
                }
                ok(&mut collect(&db, &fake.base));
                if result.is_err() {
                    assert_same_dump(&canonical_dump(&db), &want, name);
                }
            }
        }
    }
}

#[test]
fn sqlite_malformed_fields_in_valid_json() {
    malformed_on(Backend::sqlite());
}

#[test]
fn mysql_malformed_fields_in_valid_json() {
    malformed_on(Backend::mysql());
}

#[test]
fn postgres_malformed_fields_in_valid_json() {
    malformed_on(Backend::postgres());
}

// ---------------------------------------------------------------------------------------
// The platform killed mid-run.

/// Waits until `child` waits for the request `fake` holds; panics with `ended` if it exits
/// first.
fn wait_for_hold(fake: &FakePlatform, child: &mut Child, ended: &str) {
    let started = Instant::now();
    while !fake.holding() {
        assert!(child.try_wait().unwrap().is_none(), "{ended}");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn platform_killed_on(mut backend: Backend) {
    let reference = backend.fresh();
    {
        let fake = platform();
        ok(&mut collect(&reference, &fake.base));
    }
    let want = canonical_dump(&reference);
    let db = backend.fresh();
    let fake = platform();
    let base = fake.base.clone();
    // The sixth page is never answered: the platform dies while collect waits for it.
    fake.hold(&[Endpoint::Events], 6);
    let mut child = collect(&db, &base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut child, "collect ended before the platform died");
    drop(fake);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The platform comes back (elsewhere); the next run converges.
    let fake = platform();
    ok(&mut collect(&db, &fake.base));
    assert_same_dump(&canonical_dump(&db), &want, "after the platform came back");
}

#[test]
fn sqlite_platform_killed_mid_run_then_back() {
    platform_killed_on(Backend::sqlite());
}

#[test]
fn mysql_platform_killed_mid_run_then_back() {
    platform_killed_on(Backend::mysql());
}

#[test]
fn postgres_platform_killed_mid_run_then_back() {
    platform_killed_on(Backend::postgres());
}

// ---------------------------------------------------------------------------------------
// A full file system.

const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");

fn parse(db: &Path, file: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .env("APR_DATABASE_URL", db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["parse-queue-log", "--agents", AGENTS, file]);
    cmd
}

/// Bytes left free for a load of 40-line chunks to commit a few and then fill the disk.
const ROOM_FOR_A_FEW_CHUNKS: u64 = 96 * 1024;

/// The line up to which a full disk's message says the run committed.
fn line_committed(e: &str) -> u64 {
    let (_, after) = e
        .split_once(" committed, up to line ")
        .unwrap_or_else(|| panic!("says what was committed: {e}"));
    assert!(
        after.ends_with(&format!(
            " of {QUEUE_LOG}; the next run continues from there)\n"
        )),
        "{e}"
    );
    after.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_full_file_system_fails_cleanly_and_the_next_run_converges() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.db");
    ok(&mut parse(&reference, QUEUE_LOG));
    let want = canonical_dump(&Db::Sqlite(reference));
    let mnt = dir.path().join("small");
    let _mount = Tmpfs::mount(&mnt, "size=4m");
    let db = mnt.join("apr.db");
    // The schema and the first lines fit; then only a few KiB are left.
    let head: Vec<u8> = std::fs::read(QUEUE_LOG)
        .unwrap()
        .split_inclusive(|b| *b == b'\n')
        .take(20)
        .flatten()
        .copied()
        .collect();
    let first = dir.path().join("first");
    std::fs::write(&first, &head).unwrap();
    ok(&mut parse(&db, first.to_str().unwrap()));
    let filler = mnt.join("filler");
    let free = || {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&mnt)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    // Read before the disk fills: opening a WAL database sizes its shared-memory file, which
    // a full file system refuses.
    let before = canonical_dump(&Db::Sqlite(db.clone()));
    std::fs::write(&filler, vec![0u8; (free() - 8192) as usize]).unwrap();
    let e = outcome(&mut parse(&db, QUEUE_LOG)).expect_err("a full disk fails the run");
    assert!(
        e.contains(&db.display().to_string()),
        "names the database: {e}"
    );
    std::fs::remove_file(&filler).unwrap();
    assert_same_dump(
        &canonical_dump(&Db::Sqlite(db.clone())),
        &before,
        "a failed run on a full disk",
    );
    assert_eq!(
        support::rows::sqlite_rows(&db, "PRAGMA integrity_check"),
        ["ok"]
    );
    // Room for the first chunks of 40 lines but not for all of them: the message tells
    // how far the run committed, and the re-run continues from there.
    std::fs::write(
        &filler,
        vec![0u8; (free() - ROOM_FOR_A_FEW_CHUNKS) as usize],
    )
    .unwrap();
    let e = outcome(parse(&db, QUEUE_LOG).args(["--chunk-lines", "40"]))
        .expect_err("a disk that fills mid-load fails the run");
    let committed = line_committed(&e);
    assert_eq!(committed % 40, 0, "a chunk ends there: {e}");
    std::fs::remove_file(&filler).unwrap();
    let cursor = support::rows::sqlite_rows(
        &db,
        &format!(
            "SELECT state_value FROM etl_state WHERE state_key = 'queue_log.cursor:{QUEUE_LOG}'"
        ),
    );
    assert!(
        cursor[0].contains(&format!("\"line_no\":{committed}")),
        "the cursor is where the message says: {cursor:?}, {e}"
    );
    ok(&mut parse(&db, QUEUE_LOG));
    let got: Vec<_> = canonical_dump(&Db::Sqlite(db.clone()))
        .into_iter()
        .filter(|(t, _)| t != "etl_state" && t != "queue_log_rejects")
        .collect();
    let want: Vec<_> = want
        .into_iter()
        .filter(|(t, _)| t != "etl_state" && t != "queue_log_rejects")
        .collect();
    assert_same_dump(&got, &want, "after space came back");
}

// ---------------------------------------------------------------------------------------
// A second MariaDB server, killed mid-run and restarted.

#[test]
fn a_mariadb_server_killed_mid_run_then_restarted_converges() {
    let mut server = Mariadb::install(&[]);
    let port = server.port();
    for db in ["apr", "apr_ref"] {
        server.create_database(db);
    }
    let fake = platform();
    let reference = Db::Mysql(server.url("apr_ref"));
    ok(&mut collect(&reference, &fake.base));
    let want = canonical_dump(&reference);

    let db = Db::Mysql(server.url("apr"));
    fake.clear_seen();
    // The fifth page waits until the server is dead: collect is provably mid-run then.
    fake.hold(&[Endpoint::Events], 5);
    let mut child = collect(&db, &fake.base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut child, "collect ended before the server died");
    server.kill();
    fake.release();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for dump in ["Error {", "CodecError", "IoError", "Broken pipe"] {
        assert!(!err.contains(dump), "a debug dump: {err}");
    }
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "names the database: {err}"
    );

    // Restarted on the same data directory (InnoDB recovers), the next run converges.
    server.restart();
    ok(&mut collect(&db, &fake.base));
    assert_same_dump(&canonical_dump(&db), &want, "after MariaDB came back");
}

/// Raw lines go to MariaDB by `LOAD DATA LOCAL INFILE`; a server that refuses local files
/// (`--local-infile=0`) gets multi-row inserts instead. Both store the same rows, fields
/// with tabs, backslashes and line-ending bytes included, and a re-run changes neither.
#[test]
fn queue_log_loads_the_same_into_a_server_that_refuses_local_infile() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    // The example holds invalid UTF-8 too (stored lossily); bytes only.
    let mut text = std::fs::read(QUEUE_LOG).unwrap();
    // Bytes LOAD DATA's text format must escape, in fields apr stores verbatim.
    text.extend_from_slice(
        b"1757300000|NONE|sales|PJSIP/1001|PAUSE|tab\there|back\\slash\\N|cr\rx|\\\n",
    );
    text.extend_from_slice(b"1757300001|NONE|sales|PJSIP/1001|UNPAUSE|\\|\\N||\n");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();

    let mut scratch = support::mysql::ScratchMysql::new();
    let infile: (String, String) = {
        use mysql::prelude::Queryable;
        scratch
            .admin()
            .query_first("SHOW GLOBAL VARIABLES LIKE 'local_infile'")
            .unwrap()
            .unwrap()
    };
    assert_eq!(infile.1, "ON", "the shared server allows LOAD DATA LOCAL");
    let bulk = Db::Mysql(scratch.url().to_string());

    let server = Mariadb::install(&["--local-infile=0"]);
    {
        use mysql::prelude::Queryable;
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&server.url("")).unwrap()).unwrap();
        let refused = c.query_drop("LOAD DATA LOCAL INFILE 'x' INTO TABLE mysql.user");
        assert!(
            matches!(&refused, Err(mysql::Error::MySqlError(e)) if [1148, 4166].contains(&e.code)),
            "the second server refuses local files: {refused:?}"
        );
    }
    server.create_database("apr");
    let inserts = Db::Mysql(server.url("apr"));

    for db in [&bulk, &inserts] {
        ok(parse_into(db, file).env("APR_TIMEZONE", "Asia/Dubai"));
    }
    let want = canonical_dump(&inserts);
    let stored = want.iter().find(|(t, _)| t == "queue_log").unwrap();
    assert!(
        stored.1.iter().any(|r| r.contains("tab\there")),
        "the special line is stored: {:?}",
        stored.1.last()
    );
    assert_same_dump(&canonical_dump(&bulk), &want, "LOAD DATA against inserts");
    // A second run reads nothing new (cursor); forgetting the cursors re-reads every line,
    // which changes nothing on either path.
    for db in [&bulk, &inserts] {
        use mysql::prelude::Queryable;
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&db.url()).unwrap()).unwrap();
        c.query_drop("DELETE FROM etl_state WHERE state_key LIKE 'queue_log.cursor:%'")
            .unwrap();
        ok(parse_into(db, file).env("APR_TIMEZONE", "Asia/Dubai"));
    }
    let after = canonical_dump(&inserts);
    let without_cursors = |d: &[(String, Vec<String>)]| -> Vec<(String, Vec<String>)> {
        d.iter()
            .filter(|(t, _)| t != "etl_state")
            .cloned()
            .collect()
    };
    assert_same_dump(
        &without_cursors(&after),
        &without_cursors(&want),
        "re-read, inserts",
    );
    assert_same_dump(
        &without_cursors(&canonical_dump(&bulk)),
        &without_cursors(&want),
        "re-read, LOAD DATA",
    );
}

fn parse_into(db: &Db, file: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear().env("APR_DATABASE_URL", db.url()).args([
        "parse-queue-log",
        "--agents",
        AGENTS,
        file,
    ]);
    cmd
}
