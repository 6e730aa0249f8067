//! The kill column of the reliability matrix (issue 13, SPEC §4 and §9): each writing
//! command is SIGKILLed at seeded points of its run, each kill proven to land mid-run (the
//! process still running, and progress seen: the fake platform served that many requests,
//! that many queue_log lines were committed, or that many bytes were written), then run
//! again; every table of the database must equal an uninterrupted run's (a canonical dump,
//! not only the report). On SQLite, and on MariaDB with `APR_TEST_MYSQL=1`.
//!
//! 3 kills per command and backend by default, 20 with `APR_TEST_HEAVY=1`.

mod support;

use std::process::Command;

use support::chaos::{
    Backend, bytes_written_by, kill_at, kill_count, kill_when, schedule, try_kill_when, written,
};
use support::fake_platform::*;
use support::rows::{Db, assert_same_dump, canonical_dump};

const REPLAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay");
const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
/// 2025-09-06 18:30 UTC = 2025-09-07 00:00 in Asia/Kolkata.
const FROM: i64 = 1_757_183_400;
const HOUR: i64 = 3600;

/// `apr ARGS` on `db` with nothing inherited but what the test states.
fn apr(db: &Db, zone: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", db.url())
        .env("APR_TIMEZONE", zone)
        .args(args);
    cmd
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// init-load (replay directory: a deterministic backfill; progress = bytes written)

fn init_load_cmd(db: &Db) -> Command {
    apr(
        db,
        "Asia/Kolkata",
        &["init-load", "--yes", "--source", REPLAY],
    )
}

fn init_load_kills(mut backend: Backend, seed: u64) {
    let first = backend.fresh();
    let total = bytes_written_by(&mut init_load_cmd(&first));
    let want = canonical_dump(&first);
    // Every other kill lands on a fresh database, the rest on one that holds the data: a
    // killed init-load must leave either exactly what was there.
    let mut loaded = first;
    for (i, point) in schedule(seed, kill_count(), total / 20, total * 9 / 10)
        .into_iter()
        .enumerate()
    {
        let db = if i % 2 == 0 {
            backend.fresh()
        } else {
            loaded.clone()
        };
        let before = canonical_dump(&db);
        let what = format!("init-load killed after {point} of {total} bytes (seed {seed})");
        kill_at(
            || init_load_cmd(&db),
            &what,
            point,
            |pid, point| written(pid).is_some_and(|w| w >= point),
        );
        if !before.is_empty() {
            assert_same_dump(
                &canonical_dump(&db),
                &before,
                &format!("{what}: all or nothing"),
            );
        }
        run(&mut init_load_cmd(&db));
        assert_same_dump(&canonical_dump(&db), &want, &what);
        loaded = db;
    }
}

#[test]
fn sqlite_init_load_killed_then_rerun_equals_an_uninterrupted_run() {
    init_load_kills(Backend::sqlite(), 1301);
}

#[test]
fn mysql_init_load_killed_then_rerun_equals_an_uninterrupted_run() {
    if let Some(b) = Backend::mysql() {
        init_load_kills(b, 1302);
    }
}

// ---------------------------------------------------------------------------------------
// collect (the fake platform; progress = requests it served)

fn platform() -> FakePlatform {
    let fake = FakePlatform::start(generate(10, FROM - HOUR, FROM + 8 * HOUR));
    fake.set_align_offset(Some(19_800));
    fake
}

/// `collect --since FROM --until FROM+hours` from `fake`, 20 events a page.
fn collect_cmd(db: &Db, fake: &FakePlatform, hours: i64) -> Command {
    let mut cmd = apr(
        db,
        "Asia/Kolkata",
        &[
            "collect",
            "--since",
            &FROM.to_string(),
            "--until",
            &(FROM + hours * HOUR).to_string(),
        ],
    );
    cmd.env("APR_API_BASE", &fake.base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .env("APR_API_PAGE_SIZE", "20");
    cmd
}

fn data_requests(fake: &FakePlatform) -> u64 {
    (fake.count(Endpoint::Events) + fake.count(Endpoint::Stats)) as u64
}

fn collect_kills(mut backend: Backend, seed: u64) {
    let fake = platform();
    let first = backend.fresh();
    run(&mut collect_cmd(&first, &fake, 6));
    let total = data_requests(&fake);
    assert!(
        total > 20,
        "the run needs many requests to kill between: {total}"
    );
    let want = canonical_dump(&first);
    let mut converged = first;
    for (i, point) in schedule(seed, kill_count(), 1, total - 1)
        .into_iter()
        .enumerate()
    {
        let db = if i % 2 == 0 {
            backend.fresh()
        } else {
            converged.clone()
        };
        let what = format!("collect killed after {point} of {total} requests (seed {seed})");
        fake.clear_seen();
        kill_when(&mut collect_cmd(&db, &fake, 6), &what, |_| {
            data_requests(&fake) >= point
        });
        run(&mut collect_cmd(&db, &fake, 6));
        assert_same_dump(&canonical_dump(&db), &want, &what);
        converged = db;
    }
}

#[test]
fn sqlite_collect_killed_then_rerun_equals_an_uninterrupted_run() {
    collect_kills(Backend::sqlite(), 1303);
}

#[test]
fn mysql_collect_killed_then_rerun_equals_an_uninterrupted_run() {
    if let Some(b) = Backend::mysql() {
        collect_kills(b, 1304);
    }
}

// ---------------------------------------------------------------------------------------
// parse-queue-log (progress = queue_log lines committed: the file cursor moved)

fn parse_cmd(db: &Db) -> Command {
    apr(
        db,
        "Asia/Dubai",
        &[
            "parse-queue-log",
            "--chunk-lines",
            "5",
            "--agents",
            AGENTS,
            QUEUE_LOG,
        ],
    )
}

fn parse_kills(mut backend: Backend, seed: u64) {
    let first = backend.fresh();
    run(&mut parse_cmd(&first));
    let want = canonical_dump(&first);
    let lines = first
        .poller()
        .count("SELECT COUNT(*) FROM queue_log")
        .unwrap() as u64;
    for point in schedule(seed, kill_count(), 1, lines * 4 / 5) {
        // Always a fresh database: on a loaded one the cursor is at the end already. A
        // point the run outran (it can commit many chunks between two polls) is halved and
        // tried again on another fresh database, at most 4 times.
        let (mut db, mut at) = (backend.fresh(), point);
        let mut landed = false;
        for _ in 0..4 {
            let mut poll = db.poller();
            let what = format!("parse-queue-log killed after {at} of {lines} lines (seed {seed})");
            if try_kill_when(&mut parse_cmd(&db), &what, |_| {
                poll.count("SELECT COUNT(*) FROM queue_log")
                    .is_some_and(|n| n as u64 >= at)
            })
            .is_ok()
            {
                landed = true;
                break;
            }
            (db, at) = (backend.fresh(), at / 2);
        }
        let what = format!("parse-queue-log killed after {at} of {lines} lines (seed {seed})");
        assert!(landed, "{what}: four runs ended before their kill point");
        run(&mut parse_cmd(&db));
        assert_same_dump(&canonical_dump(&db), &want, &what);
    }
}

#[test]
fn sqlite_parse_queue_log_killed_then_rerun_equals_an_uninterrupted_run() {
    parse_kills(Backend::sqlite(), 1305);
}

#[test]
fn mysql_parse_queue_log_killed_then_rerun_equals_an_uninterrupted_run() {
    if let Some(b) = Backend::mysql() {
        parse_kills(b, 1306);
    }
}

// ---------------------------------------------------------------------------------------
// aggregate --rebuild (a day of 20 agents; progress = bytes written)

fn rebuild_cmd(db: &Db) -> Command {
    apr(db, "Asia/Kolkata", &["aggregate", "--rebuild"])
}

fn rebuild_kills(mut backend: Backend, seed: u64) {
    let fake = FakePlatform::start(generate(20, FROM - HOUR, FROM + 24 * HOUR));
    fake.set_align_offset(Some(19_800));
    let db = backend.fresh();
    run(collect_cmd(&db, &fake, 24).env("APR_API_PAGE_SIZE", "2000"));
    // The first rebuild writes more than the later ones (and SQLite's writes vary with its
    // WAL): the schedule's scale is the smaller of two later runs, its points in the first
    // 60 % of it.
    run(&mut rebuild_cmd(&db));
    let total =
        bytes_written_by(&mut rebuild_cmd(&db)).min(bytes_written_by(&mut rebuild_cmd(&db)));
    let want = canonical_dump(&db);
    for point in schedule(seed, kill_count(), total / 20, total * 6 / 10) {
        let what =
            format!("aggregate --rebuild killed after {point} of {total} bytes (seed {seed})");
        kill_at(
            || rebuild_cmd(&db),
            &what,
            point,
            |pid, point| written(pid).is_some_and(|w| w >= point),
        );
        run(&mut rebuild_cmd(&db));
        assert_same_dump(&canonical_dump(&db), &want, &what);
    }
}

#[test]
fn sqlite_aggregate_rebuild_killed_then_rerun_equals_an_uninterrupted_run() {
    rebuild_kills(Backend::sqlite(), 1307);
}

#[test]
fn mysql_aggregate_rebuild_killed_then_rerun_equals_an_uninterrupted_run() {
    if let Some(b) = Backend::mysql() {
        rebuild_kills(b, 1308);
    }
}
