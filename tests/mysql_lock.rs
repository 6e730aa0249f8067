//! The write lock on MariaDB after a kill (issue 15.5): a killed run's session can hold its
//! `GET_LOCK` on the server for a moment after the client died, and the next run used to
//! exit 75 then. Here a writer is SIGKILLed mid-load and the next one starts at once; and a
//! lingering session is stood in for by a connection that holds the lock for one more
//! second. Both next runs take over and finish. Needs the tests' MariaDB.

mod support;

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use support::mysql::ScratchMysql;

const APR: &str = env!("CARGO_BIN_EXE_apr");

/// A queue_log of `calls` answered calls (four lines each), all valid.
fn queue_log(calls: usize) -> String {
    let mut out = String::new();
    let t0 = 1_757_250_000i64;
    for i in 0..calls {
        let t = t0 + i as i64 * 3;
        let agent = 200 + i % 40;
        let _ = writeln!(out, "{t}|c{i}|q1|NONE|ENTERQUEUE||0501{i:06}|1");
        let _ = writeln!(out, "{}|c{i}|q1|PJSIP/{agent}|CONNECT|2|c{i}.1|1", t + 2);
        let _ = writeln!(
            out,
            "{}|c{i}|q1|PJSIP/{agent}|COMPLETECALLER|2|60|1",
            t + 62
        );
        let _ = writeln!(out, "{}|c{i}|q1|PJSIP/{agent}|RINGNOANSWER|1000", t + 1);
    }
    out
}

fn apr(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(APR);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("APR_")) {
        cmd.env_remove(k);
    }
    cmd.env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn run_to_end(url: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = apr(url, args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_next_writer_takes_over_right_after_a_kill() {
    let mut scratch = ScratchMysql::new();
    let url = scratch.url().to_string();
    let db = scratch.name().to_string();
    let lock = format!("apr.{db}.write");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    std::fs::write(&file, queue_log(5_000)).unwrap();
    let file = file.to_str().unwrap();

    // 1. A writer killed while it holds the lock, mid-load; the next starts at once.
    let mut writer = apr(&url, &["parse-queue-log", "--chunk-lines", "100", file])
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let admin = scratch.admin();
        let holder: Option<Option<i64>> = admin
            .exec_first("SELECT IS_USED_LOCK(?)", (&lock,))
            .unwrap();
        let loaded: Option<i64> = admin
            .query_first(format!("SELECT COUNT(*) FROM `{db}`.queue_log"))
            .unwrap_or(Some(0));
        if holder.flatten().is_some() && loaded.unwrap_or(0) > 0 {
            break;
        }
        assert!(
            writer.try_wait().unwrap().is_none(),
            "the writer ended before it could be killed mid-load; give it more lines"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never mid-load"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.kill().unwrap();
    let killed = writer.wait().unwrap();
    assert_eq!(
        killed.signal(),
        Some(9),
        "the kill landed mid-load: {killed:?}"
    );
    let (code, err) = run_to_end(&url, &["parse-queue-log", "--chunk-lines", "100", file]);
    assert_eq!(code, Some(0), "the run right after the kill: {err}");
    let lines: Option<i64> = scratch
        .admin()
        .query_first(format!("SELECT COUNT(*) FROM `{db}`.queue_log"))
        .unwrap();
    assert_eq!(lines, Some(20_000));

    // 2. A session that still holds the lock for a second after the next run starts.
    let mut lingering = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let got: Option<i64> = lingering
        .exec_first("SELECT GET_LOCK(?, 0)", (&lock,))
        .unwrap();
    assert_eq!(got, Some(1));
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        drop(lingering);
    });
    let (code, err) = run_to_end(&url, &["parse-queue-log", file]);
    release.join().unwrap();
    assert_eq!(
        code,
        Some(0),
        "the run while a lingering session held the lock: {err}"
    );
}
