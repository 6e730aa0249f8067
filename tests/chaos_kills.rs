//! The kill column of the reliability matrix (issue 13, SPEC §4 and §9): each writing
//! command is SIGKILLed at seeded points of its run, each kill proven to land mid-run (the
//! process still running, and progress seen: the fake platform served that many requests,
//! that many queue_log lines were committed, or that many bytes were written), then run
//! again; every table of the database must equal an uninterrupted run's (a canonical dump,
//! not only the report). On SQLite, and on MariaDB.
//!
//! 3 kills per command and backend by default, 20 with `APR_TEST_HEAVY=1`.

mod support;

use std::process::Command;

use support::chaos::{
    Backend, bytes_written_by, kill_at, kill_fresh_at, kill_when, schedule, written,
};
use support::fake_platform::*;
use support::rows::{Db, Poller, assert_same_dump, canonical_dump};

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
    for (i, point) in schedule(seed, backend.kills(), total / 20, total * 9 / 10)
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
    init_load_kills(Backend::mysql(), 1302);
}

#[test]
fn postgres_init_load_killed_then_rerun_equals_an_uninterrupted_run() {
    init_load_kills(Backend::postgres(), 1312);
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
    collect_span_cmd(db, fake, FROM, FROM + hours * HOUR)
}

/// `collect --since SINCE --until UNTIL` from `fake`, 20 events a page.
fn collect_span_cmd(db: &Db, fake: &FakePlatform, since: i64, until: i64) -> Command {
    let mut cmd = apr(
        db,
        "Asia/Kolkata",
        &[
            "collect",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
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
    for (i, point) in schedule(seed, backend.kills(), 1, total - 1)
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
        // The next request waits unanswered, so the run is provably mid-window when the
        // signal lands.
        fake.hold(&[Endpoint::Events, Endpoint::Stats], point as usize + 1);
        kill_when(&mut collect_cmd(&db, &fake, 6), &what, |_| fake.holding());
        assert_eq!(
            data_requests(&fake),
            point,
            "{what}: answered before the kill"
        );
        fake.release();
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
    collect_kills(Backend::mysql(), 1304);
}

#[test]
fn postgres_collect_killed_then_rerun_equals_an_uninterrupted_run() {
    collect_kills(Backend::postgres(), 1314);
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
    for point in schedule(seed, backend.kills(), 1, lines * 4 / 5) {
        // Always a fresh database: on a loaded one the cursor is at the end already.
        let what = |at| format!("parse-queue-log killed after {at} of {lines} lines (seed {seed})");
        let (db, at) = kill_fresh_at(
            || backend.fresh(),
            parse_cmd,
            what,
            point,
            |poll, at| {
                poll.count("SELECT COUNT(*) FROM queue_log")
                    .is_some_and(|n| n as u64 >= at)
            },
        );
        run(&mut parse_cmd(&db));
        assert_same_dump(&canonical_dump(&db), &want, &what(at));
    }
}

#[test]
fn sqlite_parse_queue_log_killed_then_rerun_equals_an_uninterrupted_run() {
    parse_kills(Backend::sqlite(), 1305);
}

#[test]
fn mysql_parse_queue_log_killed_then_rerun_equals_an_uninterrupted_run() {
    parse_kills(Backend::mysql(), 1306);
}

#[test]
fn postgres_parse_queue_log_killed_then_rerun_equals_an_uninterrupted_run() {
    parse_kills(Backend::postgres(), 1316);
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
    for point in schedule(seed, backend.kills(), total / 20, total * 6 / 10) {
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
    rebuild_kills(Backend::mysql(), 1308);
}

#[test]
fn postgres_aggregate_rebuild_killed_then_rerun_equals_an_uninterrupted_run() {
    rebuild_kills(Backend::postgres(), 1318);
}

// ---------------------------------------------------------------------------------------
// prune (ten days of 10 agents and the example queue_log, pruned one hour of one table
// per transaction: about 500 of them; progress = hours of data gone)

/// `prune --before 2025-09-08` (Asia/Kolkata): every queue_log line and drill-down goes,
/// and the agent events before FROM (the carry day before the boundary stays).
fn prune_cmd(db: &Db) -> Command {
    apr(
        db,
        "Asia/Kolkata",
        &["prune", "--yes", "--before", "2025-09-08"],
    )
}

/// 2025-09-08 00:00 in Asia/Kolkata.
const PRUNE_BEFORE: i64 = FROM + 24 * HOUR;

/// Rows the prune of [`prune_cmd`] still has to delete or empty: agent events, queue_log
/// lines, drill-downs.
fn left_to_prune(db: &Db) -> [i64; 3] {
    let mut poll = db.poller();
    [
        format!("SELECT COUNT(*) FROM agent_events WHERE ts_epoch < {FROM}"),
        format!("SELECT COUNT(*) FROM queue_log WHERE time < {PRUNE_BEFORE}"),
        format!(
            "SELECT COUNT(*) FROM agent_activity WHERE report_hour < {PRUNE_BEFORE} \
             AND event_details <> '[]'"
        ),
    ]
    .map(|sql| poll.count(&sql).expect("apr's tables"))
}

/// Per table prune goes through, the first time it still has to prune (the start of its
/// next window), or the table's limit when it is done: an indexed lookup each.
fn prune_fronts(poll: &mut Poller) -> Option<[i64; 3]> {
    Some([
        poll.count(&format!(
            "SELECT COALESCE(MIN(ts_epoch), {FROM}) FROM agent_events WHERE ts_epoch < {FROM}"
        ))?,
        poll.count(&format!(
            "SELECT COALESCE(MIN(time), {PRUNE_BEFORE}) FROM queue_log WHERE time < {PRUNE_BEFORE}"
        ))?,
        poll.count(&format!(
            "SELECT COALESCE(MIN(report_hour), {PRUNE_BEFORE}) FROM agent_activity \
             WHERE report_hour < {PRUNE_BEFORE} AND event_details <> '[]'"
        ))?,
    ])
}

/// Hours of data prune has gone through since `start` (the fronts of the loaded database):
/// about its transactions so far, as each covers one hour of one table.
fn hours_pruned(start: &[i64; 3], now: &[i64; 3]) -> u64 {
    start
        .iter()
        .zip(now)
        .map(|(a, b)| ((b - a) / HOUR) as u64)
        .sum()
}

fn prune_kills(mut backend: Backend, seed: u64) {
    let fake = FakePlatform::start(generate(10, FROM - 10 * 24 * HOUR, FROM + 24 * HOUR));
    fake.set_align_offset(Some(19_800));
    let loaded = backend.fresh();
    run(
        collect_span_cmd(&loaded, &fake, FROM - 10 * 24 * HOUR, PRUNE_BEFORE)
            .env("APR_API_PAGE_SIZE", "2000"),
    );
    run(&mut apr(
        &loaded,
        "Asia/Kolkata",
        &["parse-queue-log", "--agents", AGENTS, QUEUE_LOG],
    ));
    let all = left_to_prune(&loaded);
    assert!(
        all.iter().all(|&n| n > 0),
        "something of each to prune: {all:?}"
    );
    let start = prune_fronts(&mut loaded.poller()).unwrap();
    let hours = hours_pruned(&start, &[FROM, PRUNE_BEFORE, PRUNE_BEFORE]);
    assert!(
        hours > 400,
        "prune needs many transactions to kill between: {hours}"
    );

    let uninterrupted = backend.copy(&loaded);
    run(&mut prune_cmd(&uninterrupted));
    let want = canonical_dump(&uninterrupted);
    assert_eq!(left_to_prune(&uninterrupted), [0; 3]);
    for point in schedule(seed, backend.kills(), 1, hours - 1) {
        // Each try on its own copy of the loaded database: a try the run outran pruned it.
        let what = |at| format!("prune killed after {at} of {hours} hours (seed {seed})");
        let (db, at) = kill_fresh_at(
            || backend.copy(&loaded),
            prune_cmd,
            what,
            point,
            |poll, at| prune_fronts(poll).is_some_and(|now| hours_pruned(&start, &now) >= at),
        );
        let what = what(at);
        // Killed having started: the boundary is recorded and rows are gone.
        assert_eq!(
            db.rows("SELECT state_value FROM etl_state WHERE state_key = 'prune.before'"),
            [PRUNE_BEFORE.to_string()],
            "{what}"
        );
        let left = left_to_prune(&db);
        assert!(
            left.iter().sum::<i64>() < all.iter().sum(),
            "{what}: nothing was pruned ({left:?} of {all:?} left)"
        );
        run(&mut prune_cmd(&db));
        assert_same_dump(&canonical_dump(&db), &want, &what);
    }
}

#[test]
fn sqlite_prune_killed_then_rerun_equals_an_uninterrupted_run() {
    prune_kills(Backend::sqlite(), 1309);
}

#[test]
fn mysql_prune_killed_then_rerun_equals_an_uninterrupted_run() {
    prune_kills(Backend::mysql(), 1310);
}

#[test]
fn postgres_prune_killed_then_rerun_equals_an_uninterrupted_run() {
    prune_kills(Backend::postgres(), 1320);
}
