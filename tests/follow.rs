//! The loaders that follow (SPEC §13, issue 22): `parse-queue-log --follow` on a growing
//! queue_log (appends, a rotation, a copytruncate) loads what a single run of the whole
//! file loads; SIGKILLed at seeded points and restarted, it still does (SQLite and
//! MariaDB); a cron `collect` and `aggregate` run while it follows; SIGTERM ends it with
//! exit 0. `collect --every` runs its tick in a loop on one login token, across a token
//! expiry. Every wait is a bounded poll; no duration is asserted.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::chaos::{Backend, kill_count, schedule};
use support::cron::run_as_cron;
use support::fake_platform::*;
use support::files::{append, file_lines};
use support::rows::{Db, assert_same_dump, canonical_dump, events_unordered};

const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
const REPLAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay");
/// The replay's local hours start at :30 UTC.
const ZONE: &str = "Asia/Kolkata";
/// The replay's first hour.
const REPLAY_FROM: &str = "1755678600";

/// `apr ARGS` on `db` with nothing inherited but what the test states.
fn apr(db: &Db, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", db.url())
        .env("APR_TIMEZONE", ZONE)
        .args(args);
    cmd
}

/// Runs `cmd` to its end; panics with its stderr unless it succeeded.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn time_of(line: &[u8]) -> i64 {
    let end = line.iter().position(|b| *b == b'|').unwrap();
    std::str::from_utf8(&line[..end]).unwrap().parse().unwrap()
}

/// A follower of `file` on `db`, its stderr kept in `stderr`.
fn follower(db: &Db, file: &Path, stderr: &Path) -> Child {
    apr(
        db,
        &[
            "parse-queue-log",
            "--follow",
            "--interval",
            "1s",
            "--chunk-lines",
            "5",
            "--agents",
            AGENTS,
            &file.display().to_string(),
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(stderr).unwrap())
    .spawn()
    .expect("spawn apr")
}

/// Polls `done` every 20 ms; panics naming `what` when it has not held within two minutes
/// (a bound for a hung follower, not a measured duration).
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the follower loaded the lines up to `line` (its time stored in queue_log).
fn wait_loaded(db: &Db, child: &mut Child, line: &[u8]) {
    let t = time_of(line);
    let mut poll = db.poller();
    wait_for(&format!("the line at {t} loaded"), || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the follower ended early"
        );
        poll.count(&format!("SELECT COUNT(*) FROM queue_log WHERE time >= {t}"))
            .is_some_and(|n| n > 0)
    });
}

/// Sends SIGTERM and expects exit 0.
fn terminate(mut child: Child, stderr: &Path) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ended the follower with {status:?}: {}",
        std::fs::read_to_string(stderr).unwrap_or_default()
    );
}

/// The database a single `parse-queue-log` of the whole fixture at `file` gives.
fn single_run(db: &Db, file: &Path) -> Vec<(String, Vec<String>)> {
    std::fs::write(file, file_lines(QUEUE_LOG).concat()).unwrap();
    run(&mut apr(
        db,
        &[
            "parse-queue-log",
            "--agents",
            AGENTS,
            &file.display().to_string(),
        ],
    ));
    canonical_dump(db)
}

/// A dump without the per-file cursors and the file names of rejected lines: the single
/// run read another file than the follower's rotated ones.
fn without_cursors(dump: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    dump.into_iter()
        .map(|(t, rows)| {
            let rows = match t.as_str() {
                "etl_state" => rows
                    .into_iter()
                    .filter(|r| !r.starts_with("queue_log.cursor"))
                    .collect(),
                // file|line_no|...: a copytruncate starts the line numbers again.
                "queue_log_rejects" => rows
                    .into_iter()
                    .map(|r| r.splitn(3, '|').nth(2).unwrap().to_string())
                    .collect(),
                _ => rows,
            };
            (t, rows)
        })
        .collect()
}

#[test]
fn a_follower_loads_appends_a_rotation_and_a_copytruncate_as_one_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let all = file_lines(QUEUE_LOG);
    let want = {
        let db = Db::Sqlite(dir.path().join("want.db"));
        without_cursors(single_run(&db, &dir.path().join("whole")))
    };
    let db = Db::Sqlite(dir.path().join("apr.db"));
    let live = dir.path().join("queue_log");
    let rotated = dir.path().join("queue_log.1");
    let stderr = dir.path().join("stderr");
    std::fs::write(&live, all[..150].concat()).unwrap();
    let mut child = follower(&db, &live, &stderr);
    wait_loaded(&db, &mut child, &all[149]);
    // Appended lines, the last one first without its line end (it waits for the end).
    append(&live, &all[150..250].concat());
    let (line, end) = all[250].split_at(all[250].len() - 1);
    append(&live, line);
    wait_loaded(&db, &mut child, &all[249]);
    append(&live, end);
    wait_loaded(&db, &mut child, &all[250]);
    // Rotation: renamed, a late line still written to the old file, then a new file.
    std::fs::rename(&live, &rotated).unwrap();
    append(&rotated, &all[251..270].concat());
    std::fs::write(&live, all[270..400].concat()).unwrap();
    wait_loaded(&db, &mut child, &all[399]);
    // copytruncate: copied aside, truncated in place (same inode), written again.
    std::fs::copy(&live, &rotated).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&live)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&live, &all[400..].concat());
    wait_loaded(&db, &mut child, all.last().unwrap());
    terminate(child, &stderr);
    assert_same_dump(
        &without_cursors(canonical_dump(&db)),
        &want,
        "followed through a rotation and a copytruncate",
    );
}

/// SIGKILLs a follower of a growing file at seeded points (progress: queue_log rows
/// committed), restarts it, and compares every table with a single run's.
fn follower_kills(mut backend: Backend, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let all = file_lines(QUEUE_LOG);
    let file = dir.path().join("queue_log");
    let stderr = dir.path().join("stderr");
    let want = single_run(&backend.fresh(), &file);
    let total = want
        .iter()
        .find(|(t, _)| t == "queue_log")
        .map(|(_, rows)| rows.len() as u64)
        .unwrap();
    for point in schedule(seed, kill_count(), 10, total * 4 / 5) {
        let what = format!("follower killed after {point} of {total} lines (seed {seed})");
        let db = backend.fresh();
        // Rewritten in place: the cursor names the same file (path and inode) as the
        // single run's.
        std::fs::write(&file, all[..100].concat()).unwrap();
        let mut child = follower(&db, &file, &stderr);
        let mut poll = db.poller();
        let mut next = 100;
        loop {
            assert!(child.try_wait().unwrap().is_none(), "{what}: it ended");
            if poll
                .count("SELECT COUNT(*) FROM queue_log")
                .is_some_and(|n| n as u64 >= point)
            {
                break;
            }
            if next < all.len() {
                let to = (next + 10).min(all.len());
                append(&file, &all[next..to].concat());
                next = to;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        append(&file, &all[next..].concat());
        let mut child = follower(&db, &file, &stderr);
        wait_loaded(&db, &mut child, all.last().unwrap());
        terminate(child, &stderr);
        assert_same_dump(&canonical_dump(&db), &want, &what);
    }
}

#[test]
fn sqlite_follower_killed_then_restarted_equals_a_single_run() {
    follower_kills(Backend::sqlite(), 2201);
}

#[test]
fn mysql_follower_killed_then_restarted_equals_a_single_run() {
    follower_kills(Backend::mysql(), 2202);
}

#[test]
fn cron_collect_and_aggregate_run_while_a_follower_follows() {
    let dir = tempfile::tempdir().unwrap();
    let all = file_lines(QUEUE_LOG);
    let file = dir.path().join("queue_log");
    let stderr = dir.path().join("stderr");
    let collect = |db: &Db| {
        let mut cmd = apr(db, &["collect", "--source", REPLAY, "--since", REPLAY_FROM]);
        cmd.stdin(Stdio::null());
        cmd
    };
    // Wanted: the whole file, then the replay, then an aggregation, one after another.
    let want_db = Db::Sqlite(dir.path().join("want.db"));
    single_run(&want_db, &file);
    run(&mut collect(&want_db));
    run(&mut apr(&want_db, &["aggregate"]));
    let want = events_unordered(canonical_dump(&want_db));

    let db = Db::Sqlite(dir.path().join("apr.db"));
    std::fs::write(&file, all[..100].concat()).unwrap();
    let mut child = follower(&db, &file, &stderr);
    wait_loaded(&db, &mut child, &all[99]);
    let mut next = 100;
    let mut cron_runs = 0;
    while next < all.len() {
        let to = (next + 60).min(all.len());
        append(&file, &all[next..to].concat());
        next = to;
        // A cron run right after lines were written: it meets the follower's batch.
        if cron_runs < 3 {
            run_as_cron(&mut collect(&db));
            run_as_cron(&mut apr(&db, &["aggregate"]));
            cron_runs += 1;
        }
    }
    wait_loaded(&db, &mut child, all.last().unwrap());
    assert!(
        child.try_wait().unwrap().is_none(),
        "the follower gave up while cron held the lock"
    );
    terminate(child, &stderr);
    // The cron runs and the follower interleaved; nothing is lost or doubled.
    run(&mut apr(&db, &["aggregate"]));
    assert_same_dump(
        &events_unordered(canonical_dump(&db)),
        &want,
        "cron runs between the follower's batches",
    );
}

#[test]
fn collect_every_reuses_its_login_across_ticks_and_a_token_expiry() {
    let now = chrono::Utc::now().timestamp();
    let fake = FakePlatform::start(generate(5, now - 2 * 3600, now + 3600));
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("apr.db"));
    let stderr = dir.path().join("stderr");
    let mut child = apr(&db, &["collect", "--every", "1s", "-v"])
        .env("APR_API_BASE", &fake.base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    // A tick's -v summary line ends in its seconds.
    let ticks = || {
        std::fs::read_to_string(&stderr)
            .unwrap()
            .matches("collect: ")
            .count()
    };
    wait_for("three ticks", || ticks() >= 3);
    assert_eq!(fake.logins(), 1, "each tick logged in again");
    // The platform expires every token: the next tick logs in once more, and keeps going.
    fake.set_faults(vec![Fault::new(
        Endpoint::Events,
        1,
        FaultKind::ExpireTokens,
    )]);
    let before = ticks();
    wait_for("three ticks after the expiry", || ticks() >= before + 3);
    assert_eq!(fake.logins(), 2, "a login per expiry");
    assert!(child.try_wait().unwrap().is_none(), "collect --every ended");
    terminate(child, &stderr);
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(!log.contains("error:"), "{log}");
    let watermark =
        db.rows("SELECT state_value FROM etl_state WHERE state_key = 'collect.events_until'");
    assert_eq!(watermark.len(), 1);
}

#[test]
fn follow_refuses_stdin_and_a_zero_interval() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("apr.db"));
    let out = apr(&db, &["parse-queue-log", "--follow", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--follow reads files"));
    let out = apr(
        &db,
        &["parse-queue-log", "--follow", "--interval", "0s", QUEUE_LOG],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval"));
    assert!(!dir.path().join("apr.db").exists());
}
