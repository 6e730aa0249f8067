//! `apr prune --before DATE` (SPEC §12) through the real binary, on SQLite and MariaDB:
//! the raw tables emptied before the boundary (agent events kept for the carry day before
//! it), the summaries and therefore the reports unchanged, the drill-downs emptied,
//! aggregation refusing pruned hours with the boundary named, re-runs changing nothing,
//! the YES prompt on a terminal and the refusals.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

mod support;
use support::mysql::ScratchMysql;
use support::rows::{apr, mysql_rows, sqlite_rows};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay")
}

/// Rows of a query, each as one `|`-joined string.
type Query = Box<dyn Fn(&str) -> Vec<String>>;

/// A database reached through `url`, with a way to query it.
struct Db {
    url: String,
    rows: Query,
}

impl Db {
    fn sqlite(path: &Path) -> Db {
        let p = path.to_path_buf();
        Db {
            url: format!("sqlite://{}", path.display()),
            rows: Box::new(move |sql| sqlite_rows(&p, sql)),
        }
    }

    fn mysql(scratch: &ScratchMysql) -> Db {
        let url = scratch.url().to_string();
        let u = url.clone();
        Db {
            url,
            rows: Box::new(move |sql| mysql_rows(&u, sql)),
        }
    }

    fn postgres(scratch: &support::postgres::ScratchPostgres) -> Db {
        let url = scratch.url().to_string();
        let u = url.clone();
        Db {
            url,
            rows: Box::new(move |sql| support::rows::postgres_rows(&u, sql)),
        }
    }

    fn one(&self, sql: &str) -> String {
        (self.rows)(sql).pop().unwrap_or_default()
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = apr();
        cmd.env("APR_DATABASE_URL", &self.url);
        cmd
    }

    /// The summary tables, which prune keeps.
    fn summaries(&self) -> Vec<String> {
        let mut out = (self.rows)(
            "SELECT agent_ext, report_hour, report_hour_local, agent_name, available_secs, \
             idle_secs, talk_secs, other_secs, logoff_secs, covered_secs, complete, total_calls \
             FROM agent_activity ORDER BY report_hour, agent_ext",
        );
        out.extend((self.rows)(
            "SELECT ext, hour_start, total_calls, answered_calls FROM users_calls ORDER BY ext, hour_start",
        ));
        out
    }

    fn report(&self) -> Vec<u8> {
        let a = self
            .cmd()
            .args(["report", "--start-date", "2025-08-20", "--extended"])
            .assert()
            .success();
        a.get_output().stdout.clone()
    }
}

fn init_load(db: &Db) {
    db.cmd()
        .args([
            "--timezone",
            "Asia/Kolkata",
            "-q",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(example())
        .assert()
        .success();
}

fn prune_scenario(db: &Db) {
    init_load(db);
    let events = db.one("SELECT COUNT(*) FROM agent_events");
    assert!(events.parse::<u64>().unwrap() > 1000, "{events}");
    let summaries = db.summaries();
    let report = db.report();

    // Without a terminal and without --yes: refused, nothing touched.
    let a = db
        .cmd()
        .args(["prune", "--before", "2025-08-22"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("--yes"));
    for bad in ["2025-08-22 10:00", "22/08/2025", "2999-01-01"] {
        db.cmd()
            .args(["prune", "--yes", "--before", bad])
            .assert()
            .code(2);
    }
    assert_eq!(db.one("SELECT COUNT(*) FROM agent_events"), events);
    assert_eq!(
        db.one("SELECT COUNT(*) FROM etl_state WHERE state_key = 'prune.before'"),
        "0"
    );

    // Before 2025-08-21: the data is all on 2025-08-20, inside the carry day, so every event
    // stays; the drill-downs go.
    let a = db
        .cmd()
        .args(["prune", "--yes", "--before", "2025-08-21"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.starts_with("pruned before 2025-08-21: agent_events rows 0,"),
        "{out}"
    );
    assert_eq!(db.one("SELECT COUNT(*) FROM agent_events"), events);
    assert_eq!(
        db.one("SELECT COUNT(*) FROM agent_activity WHERE event_details <> '[]'"),
        "0"
    );
    // Hours from the boundary on can still be aggregated: their carry day is there.
    db.cmd()
        .args(["aggregate", "--from", "2025-08-21"])
        .assert()
        .success();

    // Before 2025-08-22: the events go too.
    let a = db
        .cmd()
        .args(["prune", "--yes", "--before", "2025-08-22"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.starts_with(&format!(
            "pruned before 2025-08-22: agent_events rows {events},"
        )),
        "{out}"
    );
    assert_eq!(db.one("SELECT COUNT(*) FROM agent_events"), "0");
    // 2025-08-22 00:00 in Asia/Kolkata.
    assert_eq!(
        db.one("SELECT state_value FROM etl_state WHERE state_key = 'prune.before'"),
        "1755801000"
    );
    // Summaries and reports over the pruned days are unchanged.
    assert_eq!(db.summaries(), summaries);
    assert_eq!(db.report(), report);

    // Aggregation refuses the pruned hours, naming the boundary, and changes nothing.
    for args in [
        &["aggregate", "--rebuild"][..],
        &["aggregate", "--from", "2025-08-20"][..],
    ] {
        let a = db.cmd().args(args).assert().code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert!(
            err.contains("before 2025-08-22 00:00 (Asia/Kolkata) was pruned")
                && err.contains("--from '2025-08-22 00:00'"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(db.summaries(), summaries);
    // The state stints are walked from raw events: refused over the pruned days.
    let a = db
        .cmd()
        .args(["report", "--kind", "states", "--start-date", "2025-08-20"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("raw events before 2025-08-22 00:00 (Asia/Kolkata) were pruned")
            && err.contains("expected a range from 2025-08-22 00:00 on"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Again: nothing left to prune, nothing changes.
    let a = db
        .cmd()
        .args(["-q", "prune", "--yes", "--before", "2025-08-22"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    drop(a);
    assert_eq!(db.summaries(), summaries);
    assert_eq!(db.report(), report);
}

#[test]
fn prune_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    prune_scenario(&Db::sqlite(&dir.path().join("apr.db")));
}

#[test]
fn prune_on_mariadb() {
    let scratch = ScratchMysql::new();
    prune_scenario(&Db::mysql(&scratch));
}

#[test]
fn prune_on_postgres() {
    let scratch = support::postgres::ScratchPostgres::new();
    prune_scenario(&Db::postgres(&scratch));
}

#[test]
fn prune_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    apr()
        .env("APR_DATABASE_URL", &db)
        .args(["prune", "--yes", "--before", "2025-08-22"])
        .assert()
        .code(2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Runs `apr prune --before 2025-08-22` on a pseudo-terminal (util-linux `script`), typing
/// `answer`.
fn prune_typing(db: &Path, answer: &str) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("apr");
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} prune --before 2025-08-22", bin.display()),
            "/dev/null",
        ])
        .env("APR_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script`");
    use std::io::Write as _;
    std::thread::sleep(Duration::from_millis(300));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\r").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_prompt_names_what_goes_and_only_yes_proceeds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apr.db");
    let db = Db::sqlite(&path);
    init_load(&db);
    let events = db.one("SELECT COUNT(*) FROM agent_events");
    let out = prune_typing(&path, "yes");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("agent_events rows: {events}")) && text.contains("Type YES"),
        "{text}"
    );
    assert!(text.contains("aborted: nothing was changed"), "{text}");
    assert_eq!(db.one("SELECT COUNT(*) FROM agent_events"), events);
    let out = prune_typing(&path, "YES");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("pruned before 2025-08-22"), "{text}");
    assert_eq!(db.one("SELECT COUNT(*) FROM agent_events"), "0");
}
