//! apr on a three-node MariaDB Galera cluster (SPEC §15, issue 25), with
//! `APR_TEST_GALERA=1` (set by `scripts/test.sh`): the write lease keeps two collectors on
//! two nodes from both running, and a holder stopped past its lease stops before its next
//! write once another node's collect took the lease over; a collect killed on node 1 (the process, then the node
//! itself) is finished by a collect on node 2 to the database a single server's run gives;
//! readers on node 3 see the old data or the new while init-load replaces it on node 1; a
//! follower on node 2 and cron collects on node 1 share the lease; transactions that lose
//! Galera's certification to writes on another node are retried, nothing lost or doubled.
//! Each test forms its own cluster ([`Galera::form`], one at a time). Every wait is a
//! bounded poll; no duration is asserted.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use support::cron::run_as_cron;
use support::fake_platform::*;
use support::files::{append, file_lines};
use support::galera::{self, Galera};
use support::mysql::ScratchMysql;
use support::rows::{Db, assert_same_dump, canonical_dump, events_unordered};

const REPLAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay");
const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
/// The replay's local hours start at :30 UTC.
const ZONE: &str = "Asia/Kolkata";
/// The replay's first hour.
const REPLAY_FROM: &str = "1755678600";
/// The fake platform's first hour (its local hours start at :30 UTC too).
const FROM: i64 = 1_757_183_400;
const HOUR: i64 = 3600;
/// The write lease's period in these tests: a killed holder on another node is waited out
/// this long.
const LEASE_SECS: &str = "3";

/// Whether to run; says why not when it does not.
fn galera_on() -> bool {
    if !galera::enabled() {
        eprintln!("skipped: set APR_TEST_GALERA=1 to run the Galera tests");
    }
    galera::enabled()
}

/// `apr ARGS` on `url` with nothing inherited but what the test states.
fn apr(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", ZONE)
        .env("APR_MYSQL_LEASE_SECS", LEASE_SECS)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// A collect from the fake platform at `base` of three hours.
fn platform_collect(url: &str, base: &str) -> Command {
    let mut cmd = apr(
        url,
        &[
            "collect",
            "--since",
            &FROM.to_string(),
            "--until",
            &(FROM + 3 * HOUR).to_string(),
        ],
    );
    cmd.env("APR_API_BASE", base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .env("APR_API_PAGE_SIZE", "20")
        .env("APR_API_TIMEOUT_SECS", "5")
        .env("APR_API_MAX_RETRIES", "2")
        .env("APR_API_RETRY_BASE_MS", "1");
    cmd
}

fn platform() -> FakePlatform {
    let fake = FakePlatform::start(generate(6, FROM - HOUR, FROM + 4 * HOUR));
    fake.set_align_offset(Some(19_800));
    fake
}

/// Runs `cmd` to its end; panics with its stderr unless it succeeded.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `done` every 20 ms; panics naming `what` when it has not held within two minutes
/// (a bound for a hung run, not a measured duration).
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

/// Waits until `child` waits for the request `fake` holds; panics if it exits first.
fn wait_for_hold(fake: &FakePlatform, child: &mut Child) {
    wait_for("the collect waits for the held page", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the collect ended before its page was held"
        );
        fake.holding()
    });
}

/// Sends `sig` (`-STOP`, `-CONT`) to `child`.
fn signal(child: &Child, sig: &str) {
    let sent = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {sig}");
}

/// The database a single server gives for `commands` run one after another.
fn single_server(commands: &mut dyn FnMut(&str)) -> Vec<(String, Vec<String>)> {
    let scratch = ScratchMysql::new();
    commands(scratch.url());
    canonical_dump(&Db::Mysql(scratch.url().to_string()))
}

#[test]
fn two_collects_at_once_on_two_nodes_one_runs_the_other_exits_75() {
    if !galera_on() {
        return;
    }
    let cluster = Galera::form();
    cluster.create_database("apr_two");
    let fake = platform();
    // The first collect holds the lease while it waits for its third page.
    fake.hold(&[Endpoint::Events], 3);
    let mut first = platform_collect(&cluster.url(0, "apr_two"), &fake.base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut first);
    let second = platform_collect(&cluster.url(1, "apr_two"), &fake.base)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(75), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("another apr collect is running"), "{err}");
    fake.release();
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Released on exit: a collect on the other node runs at once.
    run(&mut platform_collect(
        &cluster.url(1, "apr_two"),
        &fake.base,
    ));

    // A holder stopped longer than its lease: another node's collect takes the lease over
    // and runs; the first, continued, stops before its next write (exit 75) and the
    // database is the second's.
    let want = single_server(&mut |url| {
        let fake = platform();
        run(&mut platform_collect(url, &fake.base));
    });
    cluster.create_database("apr_lost");
    let fake = platform();
    fake.hold(&[Endpoint::Events], 3);
    let mut stalled = platform_collect(&cluster.url(0, "apr_lost"), &fake.base)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut stalled);
    signal(&stalled, "-STOP");
    run_as_cron(&mut platform_collect(
        &cluster.url(1, "apr_lost"),
        &fake.base,
    ));
    signal(&stalled, "-CONT");
    fake.release();
    let out = stalled.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("write lease expired"), "{err}");
    assert_same_dump(
        &canonical_dump(&Db::Mysql(cluster.url(2, "apr_lost"))),
        &want,
        "a holder that lost its lease, then the taker's complete run",
    );

    // status shows the node's place in the cluster.
    let status = run(&mut apr(&cluster.url(2, "apr_two"), &["status"]));
    assert!(
        status.contains("cluster:         Galera node, ready, 3 nodes in its component (Synced)"),
        "{status}"
    );
    let json = run(&mut apr(
        &cluster.url(2, "apr_two"),
        &["status", "--format", "json"],
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["cluster"],
        serde_json::json!({"ready": true, "size": 3, "state": "Synced"})
    );
}

#[test]
fn a_collect_killed_on_node_1_then_node_1_killed_is_finished_on_node_2() {
    if !galera_on() {
        return;
    }
    let want = single_server(&mut |url| {
        let fake = platform();
        run(&mut platform_collect(url, &fake.base));
    });
    let mut cluster = Galera::form();

    // 1. The process killed mid-window (SIGKILL while it waits for a page).
    cluster.create_database("apr_kill");
    let fake = platform();
    fake.hold(&[Endpoint::Events], 6);
    let mut child = platform_collect(&cluster.url(0, "apr_kill"), &fake.base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    fake.release();
    // Its lease holds node 2 back until it expires; then node 2's collect converges.
    run_as_cron(&mut platform_collect(
        &cluster.url(1, "apr_kill"),
        &fake.base,
    ));
    assert_same_dump(
        &canonical_dump(&Db::Mysql(cluster.url(1, "apr_kill"))),
        &want,
        "a collect killed on node 1, then one on node 2",
    );

    // 2. Node 1 itself killed while its collect waits for a page.
    cluster.create_database("apr_node");
    fake.hold(&[Endpoint::Events], 6);
    let mut child = platform_collect(&cluster.url(0, "apr_node"), &fake.base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_hold(&fake, &mut child);
    cluster.kill(0);
    fake.release();
    // The collect fails on its next write (its node is gone), or is killed by then.
    let _ = child.kill();
    child.wait().unwrap();
    run_as_cron(&mut platform_collect(
        &cluster.url(1, "apr_node"),
        &fake.base,
    ));
    assert_same_dump(
        &canonical_dump(&Db::Mysql(cluster.url(2, "apr_node"))),
        &want,
        "node 1 killed mid-collect, then a collect on node 2 (read on node 3)",
    );

    // 3. Node 2 killed too: node 3 alone is not a majority, not ready; commands there fail
    // with one line saying so.
    cluster.kill(1);
    wait_for("node 3 leaves the primary component", || {
        cluster.status(2, "wsrep_ready").as_deref() == Some("OFF")
    });
    for args in [&["status"][..], &["report", "--start-date", "2025-09-06"]] {
        let out = apr(&cluster.url(2, "apr_node"), args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("Galera node that is not ready"), "{err}");
    }
}

#[test]
fn readers_on_node_3_see_the_old_data_or_the_new_while_init_load_runs_on_node_1() {
    if !galera_on() {
        return;
    }
    let cluster = Galera::form();
    cluster.create_database("apr_swap");
    let (writer, reader) = (cluster.url(0, "apr_swap"), cluster.url(2, "apr_swap"));
    // The old data: the replay's first two hours.
    let until = (REPLAY_FROM.parse::<i64>().unwrap() + 2 * HOUR).to_string();
    run(&mut apr(
        &writer,
        &[
            "collect",
            "--source",
            REPLAY,
            "--since",
            REPLAY_FROM,
            "--until",
            &until,
        ],
    ));
    let report = |url: &str| run(&mut apr(url, &["report", "--start-date", "2025-08-20"]));
    let old = report(&reader);
    let done = Arc::new(AtomicBool::new(false));
    let readers = {
        let (done, reader) = (done.clone(), reader.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                seen.push(report(&reader));
            }
            seen
        })
    };
    run(&mut apr(
        &writer,
        &["init-load", "--yes", "--source", REPLAY],
    ));
    done.store(true, Ordering::SeqCst);
    let seen = readers.join().unwrap();
    let new = report(&reader);
    assert_ne!(old, new, "init-load changed nothing the report shows");
    assert!(!seen.is_empty());
    eprintln!(
        "galera: {} reports on node 3 during init-load: {} of the old data, {} of the new",
        seen.len(),
        seen.iter().filter(|r| **r == old).count(),
        seen.iter().filter(|r| **r == new).count()
    );
    for (i, got) in seen.iter().enumerate() {
        assert!(
            *got == old || *got == new,
            "report {i} on node 3 during init-load is neither the old data's nor the new's"
        );
    }
}

#[test]
fn a_follower_on_node_2_and_cron_collects_on_node_1_share_the_lease() {
    if !galera_on() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    let all = file_lines(QUEUE_LOG);
    let collect = |url: &str| {
        apr(
            url,
            &["collect", "--source", REPLAY, "--since", REPLAY_FROM],
        )
    };
    let parse = |url: &str, file: &Path| {
        apr(
            url,
            &[
                "parse-queue-log",
                "--agents",
                AGENTS,
                &file.display().to_string(),
            ],
        )
    };
    let want = events_unordered(single_server(&mut |url| {
        std::fs::write(&file, all.concat()).unwrap();
        run(&mut parse(url, &file));
        run(&mut collect(url));
        run(&mut apr(url, &["aggregate"]));
    }));
    let want: Vec<_> = want
        .into_iter()
        .map(|(t, rows)| (t.clone(), without_cursors(&t, rows)))
        .collect();

    let cluster = Galera::form();
    cluster.create_database("apr_follow");
    let (node1, node2) = (cluster.url(0, "apr_follow"), cluster.url(1, "apr_follow"));
    std::fs::write(&file, all[..100].concat()).unwrap();
    let stderr = dir.path().join("stderr");
    let mut follower = apr(
        &node2,
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
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&stderr).unwrap())
    .spawn()
    .unwrap();
    let db = Db::Mysql(node1.clone());
    let loaded_up_to = |line: &[u8], follower: &mut Child| {
        let t = std::str::from_utf8(&line[..line.iter().position(|b| *b == b'|').unwrap()])
            .unwrap()
            .to_string();
        let mut poll = db.poller();
        wait_for(&format!("the line at {t} loaded"), || {
            assert!(
                follower.try_wait().unwrap().is_none(),
                "the follower ended early: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
            poll.count(&format!("SELECT COUNT(*) FROM queue_log WHERE time >= {t}"))
                .is_some_and(|n| n > 0)
        });
    };
    loaded_up_to(&all[99], &mut follower);
    let mut next = 100;
    let mut cron_runs = 0;
    while next < all.len() {
        let to = (next + 60).min(all.len());
        append(&file, &all[next..to].concat());
        next = to;
        if cron_runs < 3 {
            run_as_cron(&mut collect(&node1));
            run_as_cron(&mut apr(&node1, &["aggregate"]));
            cron_runs += 1;
        }
    }
    loaded_up_to(all.last().unwrap(), &mut follower);
    let ok = Command::new("kill")
        .args(["-TERM", &follower.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(follower.wait().unwrap().success());
    run(&mut apr(&node1, &["aggregate"]));
    let got: Vec<_> = events_unordered(canonical_dump(&Db::Mysql(node2)))
        .into_iter()
        .map(|(t, rows)| (t.clone(), without_cursors(&t, rows)))
        .collect();
    assert_same_dump(&got, &want, "a follower on node 2 beside cron on node 1");
}

/// A table's rows without the per-file cursors (the reference read another file name).
fn without_cursors(table: &str, rows: Vec<String>) -> Vec<String> {
    match table {
        "etl_state" => rows
            .into_iter()
            .filter(|r| !r.starts_with("queue_log.cursor"))
            .collect(),
        _ => rows,
    }
}

/// `wsrep_local_cert_failures + wsrep_local_bf_aborts` of node `i`: local transactions
/// that lost to a write of another node.
fn conflicts(cluster: &Galera, i: usize) -> u64 {
    ["wsrep_local_cert_failures", "wsrep_local_bf_aborts"]
        .iter()
        .map(|s| cluster.status(i, s).unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn transactions_that_lose_certification_to_another_node_are_retried_whole() {
    if !galera_on() {
        return;
    }
    let commands = |url: &str| {
        run(&mut apr(
            url,
            &["collect", "--source", REPLAY, "--since", REPLAY_FROM],
        ));
        run(&mut apr(url, &["aggregate", "--rebuild"]));
    };
    let want = single_server(&mut |url| commands(url));
    let cluster = Galera::form();
    cluster.create_database("apr_cert");
    let node1 = cluster.url(0, "apr_cert");
    commands(&node1);
    // Another program on node 2 touches every etl_state row, which each of apr's load and
    // aggregation transactions writes too, 20 times a second: a transaction of apr's on
    // node 1 that holds such a row when the replicated write arrives is aborted by it (or
    // loses at certification). apr writes etl_state just before its COMMIT, so the window
    // is milliseconds: once a second (as first written) let 20 runs go by without a
    // conflict in the full suite. A transaction that lost is tried again after 25-50 ms,
    // six attempts in all, so every one still lands.
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (stop, mut conn) = (stop.clone(), cluster.conn(1));
        std::thread::spawn(move || {
            conn.query_drop("USE apr_cert").unwrap();
            while !stop.load(Ordering::SeqCst) {
                let _ = conn.query_drop("UPDATE etl_state SET updated_at = updated_at + 1");
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let before = conflicts(&cluster, 0);
    let mut runs = 0;
    while conflicts(&cluster, 0) == before {
        runs += 1;
        assert!(
            runs <= 20,
            "no transaction of apr's lost certification in 20 runs"
        );
        commands(&node1);
    }
    stop.store(true, Ordering::SeqCst);
    hammer.join().unwrap();
    assert_same_dump(
        &canonical_dump(&Db::Mysql(cluster.url(2, "apr_cert"))),
        &want,
        "after transactions retried on certification conflicts",
    );
}
