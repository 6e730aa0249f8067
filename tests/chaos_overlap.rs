//! The overlap column of the reliability matrix (issue 13, SPEC §7.2): waves of concurrent
//! `collect` runs and `aggregate --rebuild` against one database while readers (`apr
//! report` and `apr serve`) read it. Every writer exits 0 or 75 (the write lock), at least
//! one per wave gets it, nothing deadlocks, every row a reader sees keeps the §5.2
//! invariant and equals that hour's row before or after the wave (never a half-written
//! hour), and the database ends equal, table by table, to one uninterrupted run's.
//!
//! One wave of 4 collects by default; 5 waves of 10 collects and 2 rebuilds with
//! `APR_TEST_HEAVY=1`. On SQLite, and on MariaDB.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::chaos::heavy;
use support::fake_platform::*;
use support::mysql::ScratchMysql;
use support::rows::{Db, assert_same_dump, canonical_dump};

/// 2025-09-06 18:30 UTC = 2025-09-07 00:00 in Asia/Kolkata.
const FROM: i64 = 1_757_183_400;
const HOUR: i64 = 3600;
const DAY: &str = "2025-09-07";

fn apr(db: &Db, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", db.url())
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .args(args);
    cmd
}

fn collect(db: &Db, fake: &FakePlatform, args: &[&str]) -> Command {
    let mut cmd = apr(db, &[&["collect"], args].concat());
    cmd.env("APR_API_BASE", &fake.base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .env("APR_API_PAGE_SIZE", "50");
    cmd
}

fn run(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One report row, keyed by hour and extension.
type Rows = BTreeMap<(String, String), Value>;

fn secs(v: &Value) -> i64 {
    v.as_i64().expect("a duration in seconds")
}

/// Parses a JSON report and checks SPEC §5.2's invariant on every row: the buckets add up
/// to the whole hour for a complete one, and to no more than it for the hour in progress.
fn rows_of(json: &[u8], who: &str) -> Rows {
    let rows: Vec<Value> = serde_json::from_slice(json).unwrap_or_else(|e| {
        panic!(
            "{who}: not a JSON report ({e}): {}",
            String::from_utf8_lossy(json)
        )
    });
    rows.into_iter()
        .map(|r| {
            let sum: i64 = [
                "available_secs",
                "productive_secs",
                "non_productive_secs",
                "login_secs",
                "logoff_secs",
                "dnd_secs",
                "unaccounted_secs",
            ]
            .iter()
            .map(|k| secs(&r[*k]))
            .sum();
            if r["complete"] == true {
                assert_eq!(sum, 3600, "{who}: a complete hour's buckets: {r}");
            } else {
                assert!(sum <= 3600, "{who}: the hour in progress: {r}");
            }
            let key = (
                r["start"].as_str().unwrap().to_string(),
                r["ext"].as_str().unwrap().to_string(),
            );
            (key, r)
        })
        .collect()
}

const REPORT: [&str; 6] = [
    "report",
    "--start-date",
    DAY,
    "--format",
    "json",
    "--extended",
];

fn report(db: &Db) -> Rows {
    let out = apr(db, &REPORT).output().unwrap();
    assert!(
        out.status.success(),
        "report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    rows_of(&out.stdout, "report")
}

/// `apr serve` on the database, and its address.
fn serve(db: &Db) -> (Child, String) {
    let mut child = apr(db, &["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .expect("the bound address")
        .to_string();
    (child, addr)
}

/// The report's JSON over HTTP/1.0 (the body ends with the connection).
fn http_report(addr: &str) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET /api/report?startDate={DAY}&format=json&extended=true HTTP/1.0\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    buf[split + 4..].to_vec()
}

/// Waits for every child, failing (and killing the rest) if one is still running after
/// two minutes: a deadlock.
fn wait_all(children: Vec<(String, Child)>) -> Vec<(String, i32)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut children = children;
    let mut done = Vec::new();
    while !children.is_empty() {
        let mut i = 0;
        while i < children.len() {
            if let Some(status) = children[i].1.try_wait().unwrap() {
                let (name, _) = children.remove(i);
                done.push((name, status.code().unwrap_or(-1)));
            } else {
                i += 1;
            }
        }
        if Instant::now() > deadline {
            let names: Vec<String> = children.iter().map(|c| c.0.clone()).collect();
            for (_, c) in &mut children {
                let _ = c.kill();
            }
            panic!("deadlock: still running after 120 s: {names:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done
}

fn overlap_waves(db: Db, reference: Db) {
    let (waves, collects, rebuilds) = if heavy() { (5, 10, 2) } else { (1, 4, 1) };
    let fake = FakePlatform::start(generate(12, FROM - HOUR, FROM + 12 * HOUR));
    fake.set_align_offset(Some(19_800));
    let until = |w: i64| (FROM + 3 * HOUR + w * 1800).to_string();
    run(collect(
        &db,
        &fake,
        &["--since", &FROM.to_string(), "--until", &until(0)],
    ));
    let (mut server, addr) = serve(&db);

    for w in 1..=waves {
        let before = report(&db);
        // Readers: the CLI and the HTTP server in turns, until the writers are done.
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let stop = stop.clone();
                let db = db.clone();
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        seen.push(if r == 0 {
                            report(&db)
                        } else {
                            rows_of(&http_report(&addr), "serve")
                        });
                    }
                    seen
                })
            })
            .collect();
        let u = until(w as i64);
        let mut writers = Vec::new();
        for i in 0..collects {
            let child = collect(&db, &fake, &["--until", &u])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            writers.push((format!("collect #{i}"), child));
            if i < rebuilds {
                let child = apr(&db, &["aggregate", "--rebuild"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                writers.push((format!("aggregate --rebuild #{i}"), child));
            }
        }
        let codes = wait_all(writers);
        stop.store(true, Ordering::Relaxed);
        let seen: Vec<Rows> = readers
            .into_iter()
            .flat_map(|r| r.join().expect("a reader failed"))
            .collect();
        for (name, code) in &codes {
            assert!(*code == 0 || *code == 75, "wave {w}: {name} exited {code}");
        }
        assert!(
            codes.iter().any(|(_, c)| *c == 0),
            "wave {w}: no writer got the lock: {codes:?}"
        );
        let after = report(&db);
        let mut torn = BTreeSet::new();
        for rows in &seen {
            for (key, row) in rows {
                if before.get(key) != Some(row) && after.get(key) != Some(row) {
                    torn.insert(format!("{key:?}: {row}"));
                }
            }
        }
        assert!(
            torn.is_empty(),
            "wave {w}: {} of {} snapshots show rows of neither state: {:?}",
            torn.len(),
            seen.len(),
            torn.iter().take(3).collect::<Vec<_>>()
        );
        assert!(!seen.is_empty(), "wave {w}: the readers read nothing");
        // When a rebuild won the lock, the wave's collect is still to do.
        run(collect(&db, &fake, &["--until", &u]));
    }
    let _ = server.kill();
    let _ = server.wait();

    // The same data by one uninterrupted run per step, on a fresh database.
    run(collect(
        &reference,
        &fake,
        &["--since", &FROM.to_string(), "--until", &until(0)],
    ));
    run(collect(
        &reference,
        &fake,
        &["--until", &until(waves as i64)],
    ));
    assert_same_dump(
        &canonical_dump(&db),
        &canonical_dump(&reference),
        "after the waves",
    );
}

#[test]
fn sqlite_overlapping_writers_and_readers() {
    let dir = tempfile::tempdir().unwrap();
    overlap_waves(
        Db::Sqlite(dir.path().join("apr.db")),
        Db::Sqlite(dir.path().join("ref.db")),
    );
}

#[test]
fn mysql_overlapping_writers_and_readers() {
    let (a, b) = (ScratchMysql::new(), ScratchMysql::new());
    overlap_waves(Db::Mysql(a.url().into()), Db::Mysql(b.url().into()));
}

#[test]
fn postgres_overlapping_writers_and_readers() {
    let (a, b) = (
        support::postgres::ScratchPostgres::new(),
        support::postgres::ScratchPostgres::new(),
    );
    overlap_waves(Db::Postgres(a.url().into()), Db::Postgres(b.url().into()));
}
