//! SPEC §9, the database contract, bullet by bullet, run as the real binary: on SQLite, and
//! on MariaDB and PostgreSQL where the backend differs (ownership, schema versions, the
//! all-or-nothing swap of init-load, read-only access).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use support::fake_platform::*;
use support::mysql::ScratchMysql;
use support::postgres::ScratchPostgres;
use support::rows::{mysql_rows, postgres_rows, sqlite_rows};

const HOUR: i64 = 3600;

fn apr_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("apr")
}

/// A working directory, a fake platform with the last few hours of 6 agents, and the
/// database URL the commands use.
struct Env {
    dir: tempfile::TempDir,
    fake: FakePlatform,
    url: String,
}

impl Env {
    fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("apr.db").display());
        Env::with(dir, url)
    }

    fn with(dir: tempfile::TempDir, url: String) -> Env {
        let now = chrono::Utc::now().timestamp();
        let fake = FakePlatform::start(generate(6, now - 30 * HOUR, now + 60));
        fake.set_align_offset(None);
        Env { dir, fake, url }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("apr.db")
    }

    /// The environment of every command: the fake platform's login, the database, a zone.
    fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(apr_bin());
        cmd.env_clear()
            .current_dir(self.dir.path())
            .env("APR_DATABASE_URL", &self.url)
            .env("APR_TIMEZONE", "Asia/Kolkata")
            .env("APR_API_BASE", &self.fake.base)
            .env("APR_API_USERNAME", USERNAME)
            .env("APR_API_PASSWORD", PASSWORD)
            .env("APR_TENANT", TENANT)
            .env("APR_ACCOUNT_ID", ACCOUNT_ID)
            .env("APR_API_PAGE_SIZE", "20")
            .env("APR_API_TIMEOUT_SECS", "2")
            .env("APR_API_MAX_RETRIES", "1")
            .env("APR_API_RETRY_BASE_MS", "1");
        cmd
    }

    fn apr(&self, args: &[&str], env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
        let mut cmd = Command::from_std(self.command());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).timeout(Duration::from_secs(120)).assert()
    }

    fn init_load(&self, hours: &str) -> assert_cmd::assert::Assert {
        self.apr(&["init-load", "--yes", "--hours", hours], &[])
    }

    fn rows(&self, sql: &str) -> Vec<String> {
        if self.url.starts_with("mysql://") {
            mysql_rows(&self.url, sql)
        } else if self.url.starts_with("postgres://") {
            postgres_rows(&self.url, sql)
        } else {
            sqlite_rows(&self.db(), sql)
        }
    }

    /// Every table's content that a run may change (without load and fetch times).
    fn dump(&self) -> Vec<Vec<String>> {
        [
            "SELECT id, ext, ts_epoch, event, enabled, state, user_id, username, source FROM agent_events ORDER BY id",
            "SELECT ext, hour_start, name, total_calls, answered_calls, source FROM users_calls ORDER BY ext, hour_start",
            "SELECT * FROM agent_activity ORDER BY agent_ext, report_hour",
            "SELECT * FROM agents ORDER BY ext",
            "SELECT state_key, state_value FROM etl_state ORDER BY state_key",
            // Without the MySQL write lease, which a killed run leaves until it expires
            // (the lock, as SQLite's lock file beside the database; not data).
            "SELECT meta_key, meta_value FROM apr_meta WHERE meta_key NOT LIKE 'lease.%' ORDER BY meta_key",
            "SELECT COUNT(*) FROM queue_log",
        ]
        .iter()
        .map(|sql| self.rows(sql))
        .collect()
    }

    fn tables(&self) -> Vec<String> {
        if self.url.starts_with("mysql://") {
            mysql_rows(
                &self.url,
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
            )
        } else if self.url.starts_with("postgres://") {
            postgres_rows(
                &self.url,
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY table_name",
            )
        } else if self.db().exists() {
            sqlite_rows(
                &self.db(),
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
        } else {
            Vec::new()
        }
    }

    fn exec(&self, sql: &str) {
        if self.url.starts_with("mysql://") {
            use mysql::prelude::Queryable;
            let mut conn = mysql::Conn::new(mysql::Opts::from_url(&self.url).unwrap()).unwrap();
            conn.query_drop(sql).unwrap();
        } else if self.url.starts_with("postgres://") {
            postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap();
        } else {
            rusqlite::Connection::open(self.db())
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }
    }

    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn mysql_env() -> (ScratchMysql, Env) {
    let scratch = ScratchMysql::new();
    let env = Env::with(tempfile::tempdir().unwrap(), scratch.url().to_string());
    (scratch, env)
}

fn postgres_env() -> (ScratchPostgres, Env) {
    let scratch = ScratchPostgres::new();
    let env = Env::with(tempfile::tempdir().unwrap(), scratch.url().to_string());
    (scratch, env)
}

// ---------------------------------------------------------------------------------------
// Ownership: a database holding one of apr's table names without apr's marker is refused
// before any write, naming the table.

fn foreign_tables_are_refused(env: &Env) {
    env.exec("CREATE TABLE agents (id INTEGER, note VARCHAR(20))");
    env.exec("INSERT INTO agents VALUES (1, 'theirs')");
    let tables = env.tables();
    let rows = env.rows("SELECT id, note FROM agents");
    for args in [
        vec!["init-load", "--yes", "--hours", "2"],
        vec!["collect"],
        vec!["aggregate"],
        vec!["report", "--start-date", "2025-09-07"],
    ] {
        let a = env.apr(&args, &[]).code(2);
        let err = stderr(&a);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("'agents'") && err.contains("apr did not create"),
            "{args:?}: {err}"
        );
        assert_eq!(env.tables(), tables, "{args:?} added or removed tables");
        assert_eq!(env.rows("SELECT id, note FROM agents"), rows);
    }
    assert_eq!(
        env.fake.count(Endpoint::Events),
        0,
        "refused before fetching"
    );
}

#[test]
fn sqlite_foreign_tables_are_refused() {
    let env = Env::sqlite();
    foreign_tables_are_refused(&env);
    // Not even switched to WAL.
    assert_eq!(env.rows("PRAGMA journal_mode"), ["delete"]);
}

#[test]
fn mysql_foreign_tables_are_refused() {
    let (_s, env) = mysql_env();
    foreign_tables_are_refused(&env);
}

#[test]
fn postgres_foreign_tables_are_refused() {
    let (_s, env) = postgres_env();
    foreign_tables_are_refused(&env);
}

// ---------------------------------------------------------------------------------------
// Schema versions: newer refused naming both; older upgraded step by step.

fn newer_schema_is_refused(env: &Env) {
    env.init_load("2").success();
    env.exec("UPDATE apr_meta SET meta_value = '99' WHERE meta_key = 'schema_version'");
    let before = env.dump();
    for args in [
        vec!["collect"],
        vec!["report", "--start-date", "2025-09-07"],
    ] {
        let a = env.apr(&args, &[]).code(2);
        let err = stderr(&a);
        assert!(
            err.contains("schema version 99")
                && err.contains(&format!("this apr's {}", apr::store::SCHEMA_VERSION)),
            "{err}"
        );
    }
    assert_eq!(env.dump(), before);
}

#[test]
fn sqlite_newer_schema_is_refused_naming_both_versions() {
    newer_schema_is_refused(&Env::sqlite());
}

#[test]
fn mysql_newer_schema_is_refused_naming_both_versions() {
    let (_s, env) = mysql_env();
    newer_schema_is_refused(&env);
}

#[test]
fn postgres_newer_schema_is_refused_naming_both_versions() {
    let (_s, env) = postgres_env();
    newer_schema_is_refused(&env);
}

/// The local day (the tests' zone, Asia/Kolkata) that the init-load of the last hours
/// filled: the day of the middle of the hours it loaded, read from the database (not the
/// clock, which moves on between two reports, and not the UTC date: from 18:30 UTC the two
/// differ, and a report of the UTC date would find no rows).
fn loaded_day(env: &Env) -> String {
    let hour = |sql: &str| -> i64 { env.rows(sql)[0].parse().unwrap() };
    let first = hour("SELECT MIN(report_hour) FROM agent_activity");
    let last = hour("SELECT MAX(report_hour) FROM agent_activity");
    chrono::DateTime::from_timestamp((first + last) / 2, 0)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Kolkata)
        .format("%Y-%m-%d")
        .to_string()
}

fn version_1_is_upgraded(env: &Env) {
    env.init_load("3").success();
    let day = loaded_day(env);
    let report = |env: &Env| stdout(&env.apr(&["report", "--start-date", &day], &[]).success());
    let before = report(env);
    let until = env.rows("SELECT state_value FROM etl_state WHERE state_key = 'data_until.api'");
    assert_eq!(until.len(), 1);
    // What schema version 1 looked like: no marker, one data until for every source.
    env.exec("DELETE FROM apr_meta WHERE meta_key = 'owner'");
    env.exec("UPDATE apr_meta SET meta_value = '1' WHERE meta_key = 'schema_version'");
    env.exec("UPDATE etl_state SET state_key = 'data_until' WHERE state_key = 'data_until.api'");
    // A reader reads version 1 as it is.
    assert_eq!(report(env), before);
    env.apr(&["aggregate"], &[]).success();
    assert_eq!(
        env.rows("SELECT meta_key, meta_value FROM apr_meta WHERE meta_key IN ('owner', 'schema_version') ORDER BY meta_key"),
        env.rows(&format!(
            "SELECT 'owner', 'apr' UNION ALL SELECT 'schema_version', '{}'",
            apr::store::SCHEMA_VERSION
        ))
    );
    assert_eq!(
        env.rows("SELECT state_value FROM etl_state WHERE state_key = 'data_until.api'"),
        until
    );
    assert!(
        env.rows("SELECT state_value FROM etl_state WHERE state_key = 'data_until'")
            .is_empty()
    );
    assert_eq!(report(env), before);
}

#[test]
fn sqlite_version_1_is_upgraded_in_place() {
    version_1_is_upgraded(&Env::sqlite());
}

#[test]
fn mysql_version_1_is_upgraded_in_place() {
    let (_s, env) = mysql_env();
    version_1_is_upgraded(&env);
}

// ---------------------------------------------------------------------------------------
// Read-only commands stay read-only.

#[test]
fn read_only_commands_never_create_a_database() {
    let env = Env::sqlite();
    let shown = format!("sqlite://{}", env.db().display());
    for args in [
        vec!["report", "--start-date", "2025-09-07"],
        vec!["serve-once", "--listen", "127.0.0.1:0", "--timeout", "1"],
    ] {
        let a = env.apr(&args, &[]).code(2);
        let err = stderr(&a);
        assert!(
            err.contains(&format!(
                "database {shown} does not exist; load data first with apr init-load, apr collect or apr parse-queue-log"
            )),
            "{err}"
        );
    }
    let queue_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queue_log");
    env.apr(
        &["parse-queue-log", "--dry-run", queue_log.to_str().unwrap()],
        &[],
    )
    .success();
    assert!(env.files().is_empty(), "{:?}", env.files());
}

fn server_read_only_commands_create_no_table(env: &Env) {
    for args in [vec!["report", "--start-date", "2025-09-07"], vec!["status"]] {
        let a = env.apr(&args, &[]).code(2);
        assert!(stderr(&a).contains("holds no apr data"), "{}", stderr(&a));
    }
    assert!(env.tables().is_empty());
}

#[test]
fn mysql_read_only_commands_create_no_table() {
    let (_s, env) = mysql_env();
    server_read_only_commands_create_no_table(&env);
}

#[test]
fn postgres_read_only_commands_create_no_table() {
    let (_s, env) = postgres_env();
    server_read_only_commands_create_no_table(&env);
}

/// Runs `apr ARGS` as user 65534 (nobody), who cannot write the database's directory.
fn as_nobody(env: &Env, args: &[&str]) -> std::process::Command {
    let mut inner = env.command();
    inner.args(args);
    let mut cmd = std::process::Command::new("/usr/bin/setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(inner.get_program());
    cmd.args(inner.get_args());
    cmd.env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.current_dir("/");
    cmd
}

#[test]
fn report_and_serve_once_work_for_a_user_who_cannot_write_the_database() {
    let env = Env::sqlite();
    env.init_load("3").success();
    let day = loaded_day(&env);
    let expected = stdout(&env.apr(&["report", "--start-date", &day], &[]).success());
    // Root owns the directory and the files; nobody may read them, not write them.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in env.files() {
        std::fs::set_permissions(
            env.dir.path().join(f),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let denied = as_nobody(&env, &["aggregate"]).output().unwrap();
    assert!(
        !denied.status.success(),
        "nobody cannot write: the test means something"
    );
    for wal_files in [true, false] {
        if !wal_files {
            // A database without its -wal/-shm files (copied, or never opened by a writer
            // of this apr): still readable.
            for f in ["apr.db-wal", "apr.db-shm"] {
                let _ = std::fs::remove_file(env.dir.path().join(f));
            }
        }
        let before = env.files();
        let out = as_nobody(&env, &["report", "--start-date", &day])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
        let (status, body) = support::serve_once::get(
            as_nobody(&env, &[]),
            &format!("/api/report?startDate={day}"),
        );
        assert!(status.contains("200"), "{status}");
        assert!(body.contains(expected.lines().nth(1).unwrap()), "{body}");
        assert_eq!(env.files(), before, "nothing created");
    }
}

#[test]
fn mysql_report_works_for_a_user_who_may_only_select() {
    let (scratch, env) = mysql_env();
    env.init_load("3").success();
    let day = loaded_day(&env);
    let expected = stdout(&env.apr(&["report", "--start-date", &day], &[]).success());
    let user = format!("ro_{}", std::process::id());
    let admin = |sql: &str| env.exec(sql);
    admin(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    admin(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'ro-pw'"));
    admin(&format!(
        "GRANT SELECT ON `{}`.* TO '{user}'@'%'",
        scratch.name()
    ));
    let ro_url = env
        .url
        .replacen("mysql://root@", &format!("mysql://{user}:ro-pw@"), 1);
    assert_ne!(ro_url, env.url, "the test server URL is root@...");
    let a = env.apr(
        &["report", "--start-date", &day],
        &[("APR_DATABASE_URL", ro_url.as_str())],
    );
    let out = stdout(&a.success());
    admin(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    assert_eq!(out, expected);
}

/// A role a test made on the shared server, dropped with its grants when the test ends,
/// also when it fails (roles are per server: a failed run must not leave one behind).
struct RoleGuard {
    role: String,
    database: String,
}

impl Drop for RoleGuard {
    fn drop(&mut self) {
        let role = &self.role;
        let mut admin = support::postgres::connect(&self.database);
        let dropped = admin.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
        if let Err(e) = dropped
            && !std::thread::panicking()
        {
            panic!("cannot drop role {role}: {e}");
        }
    }
}

/// A PostgreSQL role that may connect and `SELECT`, nothing else, reads the report, the
/// status and the page as the owner does; its sessions are read-only besides.
#[test]
fn postgres_report_status_and_serve_work_for_a_role_that_may_only_select() {
    let (scratch, env) = postgres_env();
    env.init_load("3").success();
    let day = loaded_day(&env);
    let report = ["report", "--start-date", day.as_str()];
    let expected = stdout(&env.apr(&report, &[]).success());
    let role = format!("apr_ro_{}", std::process::id());
    // Dropped when the test ends, however it ends (before the scratch database).
    let _role = RoleGuard {
        role: role.clone(),
        database: scratch.name().to_string(),
    };
    let mut admin = support::postgres::connect(scratch.name());
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'ro-pw'; \
             GRANT CONNECT ON DATABASE {db} TO {role}; GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
            db = scratch.name()
        ))
        .unwrap();
    let ro_url = env.url.replacen(
        "postgres://postgres@",
        &format!("postgres://{role}:ro-pw@"),
        1,
    );
    assert_ne!(ro_url, env.url, "the test server URL is postgres@...");
    let ro = [("APR_DATABASE_URL", ro_url.as_str())];
    let before = env.dump();
    let out = stdout(&env.apr(&report, &ro).success());
    let status = stdout(&env.apr(&["status"], &ro).success());
    let mut serve = env.command();
    serve.env("APR_DATABASE_URL", &ro_url);
    let page = support::serve_once::get(serve, &format!("/api/report?startDate={day}"));
    // A write is refused to the role, and nothing it ran wrote anything.
    let a = env.apr(&["aggregate", "--rebuild"], &ro).failure();
    let err = stderr(&a);
    drop(admin);
    assert_eq!(out, expected);
    assert!(status.contains("postgres"), "{status}");
    assert!(page.0.contains("200"), "{page:?}");
    assert!(
        page.1.contains(expected.lines().nth(1).unwrap()),
        "{page:?}"
    );
    assert!(
        err.contains("PostgreSQL database") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(env.dump(), before);
}

// ---------------------------------------------------------------------------------------
// Validate before touching: a run that fails validation creates nothing and records
// nothing; the zone is recorded by the first run that commits data.

#[test]
fn a_run_that_fails_validation_creates_no_file_and_records_nothing() {
    let env = Env::sqlite();
    let bad_map = env.dir.path().join("map.toml");
    std::fs::write(&bad_map, "this is [not toml").unwrap();
    let bad_map = bad_map.to_str().unwrap().to_string();
    let refused = support::refused::RefusedPort::new();
    let unreachable = format!("http://127.0.0.1:{}", refused.port());
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["collect"],
            vec![("APR_API_BASE", "")],
            "APR_API_BASE is not set",
        ),
        (
            vec!["collect"],
            vec![("APR_STATE_MAP", "/nonexistent/map.toml")],
            "APR_STATE_MAP",
        ),
        (
            vec!["collect"],
            vec![("APR_STATE_MAP", bad_map.as_str())],
            "map.toml",
        ),
        (
            vec!["collect"],
            vec![("APR_TIMEZONE", "Nowhere/Land")],
            "Nowhere/Land",
        ),
        (vec!["collect", "--overlap", "soon"], vec![], "--overlap"),
        (vec!["collect"], vec![("APR_API_PASSWORD", "wrong")], ""),
        (
            vec!["collect"],
            vec![("APR_API_BASE", unreachable.as_str())],
            "",
        ),
        (
            vec!["init-load", "--yes"],
            vec![("APR_API_PASSWORD", "wrong")],
            "",
        ),
        (
            vec!["aggregate"],
            vec![("APR_STATE_MAP", "/nonexistent/map.toml")],
            "APR_STATE_MAP",
        ),
        (
            vec!["parse-queue-log", "/nonexistent/queue_log"],
            vec![],
            "/nonexistent/queue_log",
        ),
        (
            vec![
                "parse-queue-log",
                "--agents",
                "/nonexistent/agents.toml",
                "-",
            ],
            vec![],
            "agents.toml",
        ),
    ];
    for (args, vars, says) in cases {
        let a = env.apr(&args, &vars).failure();
        let err = stderr(&a);
        assert!(err.contains(says), "{args:?} {vars:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?} {vars:?}: {err}");
        assert_eq!(
            env.files(),
            ["map.toml"],
            "{args:?} {vars:?} left files behind"
        );
    }
    // Missing or unreadable input files are usage errors (exit 2).
    env.apr(&["parse-queue-log", "/nonexistent/queue_log"], &[])
        .code(2);
    env.apr(&["collect"], &[("APR_STATE_MAP", "/nonexistent/map.toml")])
        .code(2);
}

#[test]
fn the_time_zone_is_recorded_by_the_first_run_that_commits_data() {
    let env = Env::sqlite();
    env.apr(
        &["collect"],
        &[("APR_TIMEZONE", "Asia/Dubai"), ("APR_API_BASE", "")],
    )
    .code(2);
    assert!(!env.db().exists());
    // Past validation, then the platform fails: the schema exists, no data, no zone.
    env.fake.set_faults(vec![Fault::new(
        Endpoint::Events,
        1,
        FaultKind::Status(400),
    )]);
    env.apr(&["collect"], &[("APR_TIMEZONE", "Asia/Dubai")])
        .failure();
    assert!(env.db().exists());
    assert!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'timezone'")
            .is_empty()
    );
    env.fake.set_faults(Vec::new());
    env.apr(&["collect"], &[]).success();
    assert_eq!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'timezone'"),
        ["Asia/Kolkata"]
    );
}

// ---------------------------------------------------------------------------------------
// init-load is all or nothing.

/// The staging file beside an SQLite database.
fn staging(env: &Env) -> PathBuf {
    env.dir.path().join("apr.db.init-load-staging")
}

/// Starts `init-load` over many small pages and sends it `signal` once the fake has served
/// `pages` event pages, while it waits for the next one (held until the signal is sent);
/// asserts the signal landed mid-run.
fn kill_mid_run(env: &Env, pages: usize, signal: i32) {
    env.fake.clear_seen();
    env.fake.hold(&[Endpoint::Events], pages + 1);
    let mut cmd = env.command();
    cmd.env("APR_API_PAGE_SIZE", "5")
        .args(["init-load", "--yes", "--hours", "24"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // A suite started as a background job of a non-interactive shell inherits SIGINT
    // ignored, and so would init-load: it would run to the end and exit 0. Ctrl-C at a
    // terminal reaches a process whose SIGINT is at its default, which is what this models.
    // SAFETY: `signal` is async-signal-safe, as required between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !env.fake.holding() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "init-load ended before {pages} pages"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(env.fake.count(Endpoint::Events), pages);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running at the kill"
    );
    let killed = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // An interrupted run stops at its next check, after the page it waits for.
    env.fake.release();
    let status = child.wait().unwrap();
    if signal == 9 {
        assert_eq!(status.signal(), Some(9), "killed, not finished: {status:?}");
    } else {
        assert!(!status.success(), "interrupted, not finished: {status:?}");
    }
}

fn init_load_is_all_or_nothing(env: &Env, kill_points: &[usize]) {
    env.fake.set_max_page(5);
    env.init_load("6").success();
    // No cached token: a wrong password has to show at login.
    env.exec("DELETE FROM api_token");
    let before = env.dump();
    assert!(!before[0].is_empty() && !before[2].is_empty());
    let bad_map = env.dir.path().join("map.toml");
    std::fs::write(&bad_map, "this is [not toml").unwrap();
    let refused = support::refused::RefusedPort::new();
    let unreachable = format!("http://127.0.0.1:{}", refused.port());
    let failures: Vec<Vec<(&str, &str)>> = vec![
        vec![("APR_API_PASSWORD", "wrong")],
        vec![("APR_API_BASE", unreachable.as_str())],
        vec![("APR_STATE_MAP", bad_map.to_str().unwrap())],
    ];
    for vars in failures {
        env.apr(&["init-load", "--yes", "--hours", "12"], &vars)
            .failure();
        assert_eq!(env.dump(), before, "{vars:?}");
    }
    // The platform fails mid-run, after pages were fetched.
    env.fake.clear_seen();
    env.fake.set_faults(vec![Fault::new(
        Endpoint::Events,
        6,
        FaultKind::Status(400),
    )]);
    env.apr(&["init-load", "--yes", "--hours", "12"], &[])
        .failure();
    assert!(env.fake.count(Endpoint::Events) >= 6);
    assert_eq!(env.dump(), before, "failure mid-run");
    env.fake.set_faults(Vec::new());
    for &pages in kill_points {
        for signal in [9, 2] {
            kill_mid_run(env, pages, signal);
            assert_eq!(env.dump(), before, "signal {signal} after {pages} pages");
        }
    }
    // A run that completes replaces the data, and leaves no staging file.
    env.apr(&["init-load", "--yes", "--hours", "12"], &[])
        .success();
    let after = env.dump();
    assert_ne!(after[0], before[0]);
    assert!(!staging(env).exists());
    let tables = env.tables();
    assert!(
        tables.iter().all(|t| !t.contains("__apr_")),
        "no shadow tables left: {tables:?}"
    );
}

#[test]
fn sqlite_init_load_is_all_or_nothing() {
    // Kill points: a seeded spread over the run's event pages.
    let mut rng = fastrand::Rng::with_seed(8);
    let mut points: Vec<usize> = (0..4).map(|_| rng.usize(1..60)).collect();
    points.sort();
    init_load_is_all_or_nothing(&Env::sqlite(), &points);
}

#[test]
fn mysql_init_load_is_all_or_nothing() {
    let (_s, env) = mysql_env();
    let mut rng = fastrand::Rng::with_seed(13);
    let points: Vec<usize> = (0..2).map(|_| rng.usize(1..60)).collect();
    init_load_is_all_or_nothing(&env, &points);
}

#[test]
fn postgres_init_load_is_all_or_nothing() {
    let (_s, env) = postgres_env();
    let mut rng = fastrand::Rng::with_seed(17);
    let points: Vec<usize> = (0..2).map(|_| rng.usize(1..60)).collect();
    init_load_is_all_or_nothing(&env, &points);
}

#[test]
fn the_prompt_names_the_database_its_tables_and_what_will_not_come_back() {
    let env = Env::sqlite();
    env.init_load("3").success();
    let a = env.apr(&["init-load", "--hours", "3"], &[]).code(2);
    let err = stderr(&a);
    let events = env.rows("SELECT COUNT(*) FROM agent_events")[0].clone();
    assert!(
        err.contains(&format!("sqlite://{}", env.db().display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("agent_events: {events} rows, ")) && err.contains("(Asia/Kolkata)"),
        "{err}"
    );
    for table in ["users_calls", "agent_activity", "queue_log: 0 rows"] {
        assert!(err.contains(table), "{table}: {err}");
    }
    assert!(
        err.contains("What will not come back")
            && err.contains("older than the last 3")
            && err.contains("queue_log history"),
        "{err}"
    );
}

#[test]
fn ctrl_d_at_the_prompt_aborts_like_an_empty_answer() {
    let env = Env::sqlite();
    env.init_load("2").success();
    let before = env.dump();
    let inner = env.command();
    let mut line = format!("{} init-load --hours 2", apr_bin().display());
    line = format!(
        "{} {line}",
        inner
            .get_envs()
            .filter_map(|(k, v)| Some(format!(
                "{}='{}'",
                k.to_string_lossy(),
                v?.to_string_lossy()
            )))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("env -i {line}"), "/dev/null"])
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    std::thread::sleep(Duration::from_millis(500));
    child.stdin.take().unwrap().write_all(b"\x04").unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("init-load still waits after Ctrl-D");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Type YES to continue"), "{text}");
    assert!(text.contains("aborted: nothing was changed"), "{text}");
    assert_eq!(env.dump(), before);
}

// ---------------------------------------------------------------------------------------
// Errors speak the user's language.

#[test]
fn a_damaged_database_is_one_line_naming_it_without_sql() {
    let env = Env::sqlite();
    std::fs::write(env.db(), vec![b'x'; 4096]).unwrap();
    for args in [
        vec!["collect"],
        vec!["report", "--start-date", "2025-09-07"],
    ] {
        let a = env.apr(&args, &[]).code(2);
        let err = stderr(&a);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("sqlite://{}", env.db().display()))
                && err.contains("not an SQLite database"),
            "{err}"
        );
        assert!(!err.contains("SELECT") && !err.contains("Error {"), "{err}");
    }
}

#[test]
fn mysql_errors_hide_the_password_and_name_the_database() {
    let (scratch, env) = mysql_env();
    let bad = scratch
        .url()
        .replacen("mysql://root@", "mysql://root:hunter2@", 1);
    let a = env
        .apr(
            &["report", "--start-date", "2025-09-07"],
            &[("APR_DATABASE_URL", bad.as_str())],
        )
        .failure();
    let err = stderr(&a);
    assert!(
        !err.contains("hunter2") && err.contains("root:***@"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn postgres_errors_hide_the_password_and_name_the_database() {
    let (scratch, env) = postgres_env();
    let missing = format!("{}_missing", scratch.name());
    let bad = scratch
        .url()
        .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1)
        .replacen(scratch.name(), &missing, 1);
    let a = env
        .apr(
            &["report", "--start-date", "2025-09-07"],
            &[("APR_DATABASE_URL", bad.as_str())],
        )
        .code(2);
    let err = stderr(&a);
    assert!(
        !err.contains("hunter2")
            && err.contains("postgres:***@")
            && err.contains(&format!("PostgreSQL database '{missing}' does not exist")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

// ---------------------------------------------------------------------------------------
// Version 2 → 3: queue_log keyed by (time, line_hash) without a surrogate id.

/// What schema version 2 made of the two queue_log tables, with their rows kept.
fn queue_tables_as_version_2(env: &Env) {
    let log_cols = "time, line_hash, callid, queuename, agent, event, data1, data2, data3, data4, data5, loaded_at";
    if env.url.starts_with("mysql://") {
        env.exec(
            "ALTER TABLE queue_log DROP PRIMARY KEY, \
             ADD COLUMN id INTEGER UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST, \
             ADD CONSTRAINT queue_log_line UNIQUE (time, line_hash)",
        );
    } else {
        env.exec(&format!(
            "BEGIN;
             CREATE TABLE v2 (id INTEGER PRIMARY KEY, time BIGINT NOT NULL, line_hash BIGINT NOT NULL,
               callid VARCHAR(128) NOT NULL, queuename VARCHAR(128) NOT NULL, agent VARCHAR(255) NOT NULL,
               event VARCHAR(64) NOT NULL, data1 TEXT NOT NULL, data2 TEXT NOT NULL, data3 TEXT NOT NULL,
               data4 TEXT NOT NULL, data5 TEXT NOT NULL, loaded_at BIGINT NOT NULL,
               CONSTRAINT queue_log_line UNIQUE (time, line_hash));
             INSERT INTO v2 ({log_cols}) SELECT {log_cols} FROM queue_log;
             DROP TABLE queue_log;
             ALTER TABLE v2 RENAME TO queue_log;
             CREATE TABLE v2 AS SELECT callid, queuename, enter_time, enter_hour, enter_hour_local,
               caller_number, caller_name, entry_position, outcome, agent, wait_secs, talk_secs,
               ring_attempts, end_time FROM queue_calls;
             DROP TABLE queue_calls;
             CREATE TABLE queue_calls (callid VARCHAR(128) NOT NULL, queuename VARCHAR(128) NOT NULL,
               enter_time BIGINT NOT NULL, enter_hour BIGINT NOT NULL, enter_hour_local VARCHAR(16) NOT NULL,
               caller_number VARCHAR(128) NOT NULL, caller_name VARCHAR(255) NOT NULL,
               entry_position BIGINT NULL, outcome VARCHAR(16) NOT NULL, agent VARCHAR(64) NOT NULL,
               wait_secs BIGINT NULL, talk_secs BIGINT NULL, ring_attempts BIGINT NOT NULL, end_time BIGINT NULL,
               PRIMARY KEY (callid, queuename, enter_time),
               CONSTRAINT queue_calls_hour UNIQUE (enter_hour_local, queuename, callid, enter_time));
             INSERT INTO queue_calls SELECT * FROM v2;
             DROP TABLE v2;
             COMMIT;"
        ));
    }
    env.exec("UPDATE apr_meta SET meta_value = '2' WHERE meta_key = 'schema_version'");
}

fn version_2_queue_log_is_upgraded(env: &Env) {
    let lines = [
        "1757203200|NONE|q1|PJSIP/1001|ADDMEMBER|",
        "1757203800|1757203800.1|q1|NONE|ENTERQUEUE||9715000001|1",
        "1757203818|1757203800.1|q1|PJSIP/1001|CONNECT|18|1757203800.11|3",
        "1757203913|1757203800.1|q1|PJSIP/1001|COMPLETECALLER|18|95|1",
        "1757204000|1757204000.2|q1|NONE|ENTERQUEUE||9715000002|1",
        "1757204012|1757204000.2|q1|NONE|ABANDON|1|1|12",
    ];
    let file = env.dir.path().join("queue_log");
    let write = |n: usize| std::fs::write(&file, lines[..n].join("\n") + "\n").unwrap();
    let path = file.to_str().unwrap();
    let log = "SELECT time, line_hash, callid, queuename, agent, event, data1, data2, data3, data4, data5 FROM queue_log ORDER BY time, line_hash";
    let calls = "SELECT * FROM queue_calls ORDER BY callid, queuename, enter_time";
    write(lines.len());
    env.apr(&["parse-queue-log", path], &[]).success();
    let (all_log, all_calls) = (env.rows(log), env.rows(calls));
    assert_eq!(all_log.len(), lines.len());

    // The same file loaded in two runs, the first on schema version 2.
    for t in [
        "queue_log",
        "queue_calls",
        "queue_log_state",
        "agent_events",
        "etl_state",
    ] {
        env.exec(&format!("DELETE FROM {t}"));
    }
    write(4);
    env.apr(&["parse-queue-log", path], &[]).success();
    queue_tables_as_version_2(env);
    let id_columns = if env.url.starts_with("mysql://") {
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'queue_log' AND column_name = 'id'"
    } else {
        "SELECT COUNT(*) FROM pragma_table_info('queue_log') WHERE name = 'id'"
    };
    assert_eq!(env.rows(id_columns), ["1"]);
    write(lines.len());
    env.apr(&["parse-queue-log", path], &[]).success();
    assert_eq!(env.rows(id_columns), ["0"]);
    assert_eq!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
        [apr::store::SCHEMA_VERSION.to_string()]
    );
    if !env.url.starts_with("mysql://") {
        assert_eq!(
            env.rows("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('queue_log', 'queue_calls') AND sql LIKE '%WITHOUT ROWID%'"),
            ["2"]
        );
    }
    assert_eq!(env.rows(log), all_log);
    assert_eq!(env.rows(calls), all_calls);
    // Re-reading changes nothing on the upgraded tables.
    env.exec("DELETE FROM etl_state WHERE state_key LIKE 'queue_log%'");
    env.apr(&["parse-queue-log", path], &[]).success();
    assert_eq!(env.rows(log), all_log);
}

#[test]
fn sqlite_version_2_queue_log_is_upgraded_in_place() {
    version_2_queue_log_is_upgraded(&Env::sqlite());
}

#[test]
fn mysql_version_2_queue_log_is_upgraded_in_place() {
    let (_s, env) = mysql_env();
    version_2_queue_log_is_upgraded(&env);
}

// ---------------------------------------------------------------------------------------
// collect decides its whole plan before any write: every refusal leaves the database as it
// was (the SQLite file byte for byte; on MariaDB the canonical dump and every column) and
// no lock or staging file, including on an older schema that a run would upgrade.

/// What a refused run must not change.
#[derive(Debug, PartialEq, Eq)]
struct Untouched {
    files: Vec<String>,
    sqlite_bytes: Option<Vec<u8>>,
    dump: Vec<(String, Vec<String>)>,
    columns: Vec<String>,
}

fn untouched(env: &Env) -> Untouched {
    let mysql = env.url.starts_with("mysql://");
    let postgres = env.url.starts_with("postgres://");
    let db = if mysql {
        support::rows::Db::Mysql(env.url.clone())
    } else if postgres {
        support::rows::Db::Postgres(env.url.clone())
    } else {
        support::rows::Db::Sqlite(env.db())
    };
    // SQLite's -shm index and an empty -wal hold no data; a read-only connection (the
    // validating look at the database) may leave them, as any reader may.
    let dir = env.dir.path();
    let files = env
        .files()
        .into_iter()
        .filter(|f| {
            !(f.ends_with("-shm")
                || f.ends_with("-wal") && std::fs::metadata(dir.join(f)).unwrap().len() == 0)
        })
        .collect();
    Untouched {
        files,
        sqlite_bytes: (!mysql && !postgres).then(|| std::fs::read(env.db()).unwrap()),
        dump: support::rows::canonical_dump(&db),
        columns: if postgres {
            env.rows(
                "SELECT table_name || ' ' || column_name || ' ' || data_type || ' ' || \
                 COALESCE(collation_name, '') FROM information_schema.columns \
                 WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            )
        } else if mysql {
            env.rows(
                "SELECT CONCAT_WS(' ', TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COLUMN_KEY) \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION",
            )
        } else {
            env.rows("SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY name")
        },
    }
}

/// Names what changed, without printing whole databases.
fn assert_untouched(got: &Untouched, want: &Untouched, what: &str) {
    assert_eq!(got.files, want.files, "{what}: files left behind");
    assert!(
        got.sqlite_bytes == want.sqlite_bytes,
        "{what}: the SQLite file changed"
    );
    assert_eq!(got.columns, want.columns, "{what}: the schema changed");
    support::rows::assert_same_dump(&got.dump, &want.dump, what);
}

/// A loaded database at schema `version` (1, 2 or the current one), with a watermark an
/// hour old and no lock file (as a database copied from elsewhere, or whose lock file an
/// operator removed).
fn database_at_version(env: &Env, version: u32) {
    env.init_load("2").success();
    let now = chrono::Utc::now().timestamp();
    env.exec("DELETE FROM etl_state WHERE state_key = 'collect.events_until'");
    env.exec(&format!(
        "INSERT INTO etl_state (state_key, state_value, updated_at) VALUES ('collect.events_until', '{}', 0)",
        now - HOUR
    ));
    if version <= 4 {
        tables_as_version_4(env);
    }
    if version <= 2 {
        queue_tables_as_version_2(env);
    }
    if version == 1 {
        env.exec("DELETE FROM apr_meta WHERE meta_key = 'owner'");
        env.exec("UPDATE apr_meta SET meta_value = '1' WHERE meta_key = 'schema_version'");
        env.exec(
            "UPDATE etl_state SET state_key = 'data_until' WHERE state_key = 'data_until.api'",
        );
    }
    let lock = env.dir.path().join("apr.db.write.lock");
    if lock.exists() {
        std::fs::remove_file(lock).unwrap();
    }
}

/// `make_env` gives a database and what keeps it (a scratch server database) alive.
fn collect_refusals_write_nothing(
    make_env: &dyn Fn() -> (Option<Box<dyn std::any::Any>>, Env),
    versions: &[u32],
) {
    let now = chrono::Utc::now().timestamp();
    let old = (now - 8 * 24 * HOUR).to_string();
    let late = (now - 2 * HOUR).to_string();
    let early = (now - 3 * HOUR).to_string();
    type Refusal<'a> = (
        &'a str,
        Vec<&'a str>,
        Vec<(&'a str, &'a str)>,
        Option<&'a str>,
        &'a str,
    );
    let refusals: Vec<Refusal> = vec![
        // (what, args, env, watermark to store first, what stderr says)
        (
            "gap",
            vec!["collect"],
            vec![],
            Some(old.as_str()),
            "--since",
        ),
        (
            "zone",
            vec!["collect"],
            vec![("APR_TIMEZONE", "Europe/Paris")],
            None,
            "Europe/Paris",
        ),
        (
            "order",
            vec!["collect", "--since", &late, "--until", &early],
            vec![],
            None,
            "--since",
        ),
        (
            "flag",
            vec!["collect", "--overlap", "soon"],
            vec![],
            None,
            "--overlap",
        ),
        (
            "future",
            vec!["collect", "--until", "2999-01-01"],
            vec![],
            None,
            "--until",
        ),
    ];
    for &version in versions {
        for (what, args, vars, watermark, says) in &refusals {
            let (_scratch, env) = make_env();
            database_at_version(&env, version);
            if let Some(w) = watermark {
                env.exec(&format!(
                    "UPDATE etl_state SET state_value = '{w}' WHERE state_key = 'collect.events_until'"
                ));
            }
            let before = untouched(&env);
            let a = env.apr(args, vars).code(2);
            let err = stderr(&a);
            assert!(err.contains(says), "v{version} {what}: {err}");
            assert_eq!(err.lines().count(), 1, "v{version} {what}: {err}");
            assert_untouched(&untouched(&env), &before, &format!("v{version} {what}"));
        }
    }
}

#[test]
fn sqlite_collect_refusals_leave_every_schema_version_untouched() {
    collect_refusals_write_nothing(&|| (None, Env::sqlite()), EVERY_VERSION);
}

#[test]
fn mysql_collect_refusals_leave_every_schema_version_untouched() {
    collect_refusals_write_nothing(
        &|| {
            let (scratch, env) = mysql_env();
            (Some(Box::new(scratch)), env)
        },
        EVERY_VERSION,
    );
}

/// On PostgreSQL at the current schema only: no PostgreSQL database older than schema 5
/// can exist (the backend came with it).
#[test]
fn postgres_collect_refusals_leave_the_database_untouched() {
    collect_refusals_write_nothing(
        &|| {
            let (scratch, env) = postgres_env();
            (Some(Box::new(scratch)), env)
        },
        &[apr::store::SCHEMA_VERSION],
    );
}

/// The schema versions a refusal is tried at on SQLite and MySQL.
const EVERY_VERSION: &[u32] = &[1, 2, apr::store::SCHEMA_VERSION];

/// Every writing command that finds another writer holding the lock exits 75 before it
/// creates or upgrades anything: an older schema is the lock holder's to upgrade.
fn a_locked_writer_upgrades_nothing(env: &Env, hold: &dyn Fn() -> Box<dyn std::any::Any>) {
    a_locked_writer_writes_nothing_at(env, hold, &[1, 2]);
}

/// [`a_locked_writer_upgrades_nothing`] with the database at each of `versions`.
fn a_locked_writer_writes_nothing_at(
    env: &Env,
    hold: &dyn Fn() -> Box<dyn std::any::Any>,
    versions: &[u32],
) {
    // The queue_log file lives outside the database's directory, whose files are compared.
    let elsewhere = tempfile::tempdir().unwrap();
    let queue_log = elsewhere.path().join("queue_log");
    std::fs::write(
        &queue_log,
        "1757260800|1757260800.1|q1|NONE|ENTERQUEUE||100|1\n",
    )
    .unwrap();
    let queue_log = queue_log.to_str().unwrap();
    let writers: [&[&str]; 5] = [
        &["collect"],
        &["aggregate", "--rebuild"],
        &["init-load", "--yes", "--hours", "2"],
        &["prune", "--before", "2020-01-01", "--yes"],
        &["parse-queue-log", queue_log],
    ];
    for &version in versions {
        database_at_version(env, version);
        let _held = hold();
        for args in writers {
            let before = untouched(env);
            let a = env.apr(args, &[]).code(75);
            assert!(
                stderr(&a).contains("another apr collect is running"),
                "{args:?}: {}",
                stderr(&a)
            );
            assert_untouched(
                &untouched(env),
                &before,
                &format!("v{version} locked, {args:?}"),
            );
        }
        drop(_held);
        // Once the lock is free, the same run upgrades and loads.
        env.apr(&["collect"], &[]).success();
        assert_eq!(
            env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
            [apr::store::SCHEMA_VERSION.to_string()]
        );
    }
}

#[test]
fn sqlite_a_locked_writer_upgrades_nothing() {
    let env = Env::sqlite();
    let lock = env.dir.path().join("apr.db.write.lock");
    a_locked_writer_upgrades_nothing(&env, &|| {
        let f = std::fs::File::create(&lock).unwrap();
        f.try_lock().unwrap();
        Box::new(f)
    });
}

/// On PostgreSQL at the current schema (no older one can exist there): the lock is the
/// session advisory lock apr takes, keyed by the database's and the lock's names.
#[test]
fn postgres_a_locked_writer_writes_nothing() {
    let (scratch, env) = postgres_env();
    let key =
        twox_hash::XxHash3_64::oneshot(format!("apr\0{}\0write", scratch.name()).as_bytes()) as i64;
    let name = scratch.name().to_string();
    a_locked_writer_writes_nothing_at(
        &env,
        &|| {
            let mut conn = support::postgres::connect(&name);
            let got: bool = conn
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .unwrap()
                .get(0);
            assert!(got, "the test could not take apr's write lock");
            Box::new(conn)
        },
        &[apr::store::SCHEMA_VERSION],
    );
}

#[test]
fn mysql_a_locked_writer_upgrades_nothing() {
    let (scratch, env) = mysql_env();
    let name = format!("apr.{}.write", scratch.name());
    let url = env.url.clone();
    a_locked_writer_upgrades_nothing(&env, &|| {
        use mysql::prelude::Queryable;
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
        let got: Option<i64> = conn.exec_first("SELECT GET_LOCK(?, 0)", (&name,)).unwrap();
        assert_eq!(got, Some(1), "the test could not take {name}");
        Box::new(conn)
    });
}

// ---------------------------------------------------------------------------------------
// A reader who cannot write the directory reads the file as immutable (no shared index can
// be made); a writer that starts meanwhile must not get it to serve torn or stale pages.

fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn an_immutable_reader_never_serves_pages_of_a_file_a_writer_changed() {
    let env = Env::sqlite();
    env.init_load("3").success();
    let day = loaded_day(&env);
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // No writer has the database open: no -wal or -shm, so nobody's reads are immutable.
    for f in ["apr.db-wal", "apr.db-shm"] {
        let _ = std::fs::remove_file(env.dir.path().join(f));
    }
    for f in env.files() {
        std::fs::set_permissions(
            env.dir.path().join(f),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let mut serve = as_nobody(&env, &["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _serve = Kill(&mut serve);
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let path = format!("/api/report?startDate={day}");
    let (status, before) = get(&addr, &path);
    assert!(status.contains("200"), "{status}");
    assert!(before.contains("Agent 0"), "{before}");
    assert!(
        !env.dir.path().join("apr.db-shm").exists(),
        "the reader made no shared index: its reads are immutable"
    );

    // A writer starts, renames an agent and stays open with the change in its -wal.
    let writer = rusqlite::Connection::open(env.db()).unwrap();
    writer
        .execute_batch(
            "PRAGMA wal_autocheckpoint = 0;
             UPDATE agent_activity SET agent_name = 'Renamed Zero' WHERE agent_name = 'Agent 0';",
        )
        .unwrap();
    for round in 0..2 {
        // The same pooled connection is asked again: it must notice the change, and the
        // answer is the new data or an error, never the old pages.
        let (status, body) = get(&addr, &path);
        if status.contains("200") {
            assert!(
                body.contains("Renamed Zero"),
                "round {round}: stale data: {body}"
            );
        } else {
            assert!(status.contains("503"), "round {round}: {status} {body}");
            assert!(
                body.contains("run again") || body.contains("unavailable"),
                "{body}"
            );
        }
    }
    drop(writer);
    // The writer is gone: a fresh immutable read sees its change.
    let (status, body) = get(&addr, &path);
    assert!(status.contains("200"), "{status} {body}");
    assert!(
        body.contains("Renamed Zero") && !body.contains("Agent 0"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// Version 3 → 4: `event_details` from JSON objects to the compact encoding.

/// A compact drill-down as schema version 3 wrote it: JSON objects with absolute times.
fn as_version_3_details(hour: i64, compact: &str) -> String {
    let events = apr::model::details::decode(hour, compact).expect("a compact drill-down");
    let objects: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::json!({"ts": e.ts, "event": e.event, "enabled": e.enabled, "state": e.state}))
        .collect();
    serde_json::to_string(&objects).unwrap()
}

fn version_3_event_details_are_compacted(env: &Env) {
    env.init_load("30").success();
    let all = "SELECT * FROM agent_activity ORDER BY agent_ext, report_hour";
    let keyed = "SELECT agent_ext, report_hour, event_details FROM agent_activity ORDER BY agent_ext, report_hour";
    let written = env.rows(all);
    let details: Vec<(String, i64, String)> = env
        .rows(keyed)
        .iter()
        .map(|row| {
            let cols: Vec<&str> = row.splitn(3, '|').collect();
            (cols[0].into(), cols[1].parse().unwrap(), cols[2].into())
        })
        .collect();
    assert!(details.len() > 50, "{} rows", details.len());
    let is_mysql = env.url.starts_with("mysql://");
    let quote = |s: &str| {
        let s = s.replace('\'', "''");
        if is_mysql { s.replace('\\', "\\\\") } else { s }
    };
    // One row gets an event type apr does not know and a state that needs escaping, under a
    // key of its own; it is put back afterwards.
    let odd = details.iter().position(|(_, _, d)| d != "[]").unwrap();
    let odd_hour = 3600;
    // Rows as schema 3 stored them, but every third one left compact: the step must leave
    // those as they are (a rewrite cut short and run again meets both kinds).
    let mut stmts = Vec::new();
    let (mut legacy, mut events) = (0, 0);
    for (i, (ext, hour, compact)) in details.iter().enumerate() {
        events += apr::model::details::decode(*hour, compact).unwrap().len();
        if i % 3 == 0 || compact == "[]" || i == odd {
            continue;
        }
        let old = as_version_3_details(*hour, compact);
        assert!(old.len() > compact.len() * 2, "{old} vs {compact}");
        stmts.push(format!(
            "UPDATE agent_activity SET event_details = '{}' WHERE agent_ext = '{}' AND report_hour = {hour}",
            quote(&old),
            quote(ext)
        ));
        legacy += 1;
    }
    assert!(
        legacy > 30 && events > 200,
        "{legacy} rows, {events} events"
    );
    let (odd_ext, hour, compact) = &details[odd];
    stmts.push(format!(
        "UPDATE agent_activity SET report_hour = {odd_hour}, event_details = '{}' \
         WHERE agent_ext = '{}' AND report_hour = {hour}",
        quote(r#"[{"ts":3605,"event":"queue_pause","enabled":true,"state":"it's \"x\""},{"ts":3900,"event":"agent_idle","enabled":false,"state":"none"}]"#),
        quote(odd_ext),
    ));
    stmts.push("UPDATE apr_meta SET meta_value = '3' WHERE meta_key = 'schema_version'".into());
    env.exec(&stmts.join(";\n"));
    assert_eq!(
        env.rows("SELECT COUNT(*) FROM agent_activity WHERE event_details LIKE '[{%'"),
        [(legacy + 1).to_string()]
    );

    // Any writing command upgrades; the dirty range is empty, so aggregate rewrites nothing.
    env.apr(&["aggregate"], &[]).success();
    assert_eq!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
        [apr::store::SCHEMA_VERSION.to_string()]
    );
    let got = env.rows(&format!(
        "SELECT event_details FROM agent_activity WHERE report_hour = {odd_hour}"
    ));
    assert_eq!(
        got,
        [r#"[[5,"=queue_pause",1,"it's \"x\""],[300,"idle",0,"none"]]"#]
    );
    let decoded = apr::model::details::decode(odd_hour, &got[0]).unwrap();
    assert_eq!(
        (
            decoded[0].event.as_str(),
            decoded[0].ts,
            decoded[1].event.as_str()
        ),
        ("queue_pause", 3605, "agent_idle")
    );
    env.exec(&format!(
        "UPDATE agent_activity SET report_hour = {hour}, event_details = '{}' \
         WHERE report_hour = {odd_hour}",
        quote(compact)
    ));
    // Every rewritten row holds exactly what aggregation writes: the same events, compact.
    assert_eq!(env.rows(all), written);
    // A second open finds nothing to rewrite and changes nothing.
    env.apr(&["aggregate"], &[]).success();
    assert_eq!(env.rows(all), written);
}

#[test]
fn sqlite_version_3_event_details_are_compacted_in_place() {
    version_3_event_details_are_compacted(&Env::sqlite());
}

#[test]
fn mysql_version_3_event_details_are_compacted_in_place() {
    let (_s, env) = mysql_env();
    version_3_event_details_are_compacted(&env);
}

// ---------------------------------------------------------------------------------------
// Version 4 → 5: MySQL's `agent_events` and `agent_activity` stored in time order.

/// What schema version 4 made of `agent_events` and `agent_activity`, rows kept (SQLite's
/// tables are the same in both versions).
fn tables_as_version_4(env: &Env) {
    if env.url.starts_with("mysql://") {
        for alter in support::mysql::BACK_TO_SCHEMA_4 {
            env.exec(alter);
        }
    }
}

fn version_4_tables_are_keyed_by_time(env: &Env) {
    let mysql = env.url.starts_with("mysql://");
    env.init_load("30").success();
    let events = "SELECT * FROM agent_events ORDER BY id";
    let activity = "SELECT * FROM agent_activity ORDER BY agent_ext, report_hour";
    let (want_events, want_activity) = (env.rows(events), env.rows(activity));
    assert!(want_events.len() > 100, "{} events", want_events.len());
    let keys = if mysql {
        "SELECT CONCAT(table_name, ' ', index_name, ' ', GROUP_CONCAT(column_name ORDER BY seq_in_index)) \
         FROM information_schema.statistics WHERE table_schema = DATABASE() \
         AND table_name IN ('agent_events', 'agent_activity') GROUP BY table_name, index_name"
    } else {
        "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master \
         WHERE tbl_name IN ('agent_events', 'agent_activity') ORDER BY name"
    };
    let next_id = "SELECT AUTO_INCREMENT FROM information_schema.tables \
                   WHERE table_schema = DATABASE() AND table_name = 'agent_events'";
    // Sorted here: information_schema compares names without case.
    let keys_now = || {
        let mut k = env.rows(keys);
        k.sort();
        k
    };
    let current = keys_now();
    if mysql {
        assert_eq!(
            current,
            [
                "agent_activity PRIMARY report_hour,agent_ext",
                "agent_activity agent_activity_local report_hour_local,report_hour,agent_ext",
                "agent_events PRIMARY ts_epoch,id",
                "agent_events agent_events_id id",
                "agent_events agent_events_natural ts_epoch,ext,event,enabled,state",
            ]
        );
    }
    let ids = mysql.then(|| env.rows(next_id));
    tables_as_version_4(env);
    env.exec("UPDATE apr_meta SET meta_value = '4' WHERE meta_key = 'schema_version'");
    if mysql {
        assert_eq!(
            keys_now(),
            [
                "agent_activity PRIMARY agent_ext,report_hour",
                "agent_activity agent_activity_hour report_hour,agent_ext",
                "agent_activity agent_activity_local report_hour_local,report_hour,agent_ext",
                "agent_events PRIMARY id",
                "agent_events agent_events_natural ts_epoch,ext,event,enabled,state",
                "agent_events agent_events_ts ts_epoch,id",
            ]
        );
    }

    // Any writing command upgrades; the rebuild reads the events in their new order.
    env.apr(&["aggregate", "--rebuild"], &[]).success();
    assert_eq!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
        [apr::store::SCHEMA_VERSION.to_string()]
    );
    assert_eq!(keys_now(), current);
    assert_eq!(env.rows(events), want_events);
    assert_eq!(env.rows(activity), want_activity);
    if let Some(ids) = ids {
        // New events go on taking ids after the old ones.
        assert_eq!(env.rows(next_id), ids);
    }
    // A second run finds the step done and changes nothing.
    env.apr(&["aggregate", "--rebuild"], &[]).success();
    assert_eq!(keys_now(), current);
    assert_eq!(env.rows(activity), want_activity);
}

#[test]
fn sqlite_version_4_tables_are_upgraded_in_place() {
    version_4_tables_are_keyed_by_time(&Env::sqlite());
}

#[test]
fn mysql_version_4_tables_are_keyed_by_time_in_place() {
    let (_s, env) = mysql_env();
    version_4_tables_are_keyed_by_time(&env);
}

// ---------------------------------------------------------------------------------------
// Version 6 → 7: who hung up and the DID of each stint.

/// Loads the example queue_log on schema 7, takes `queue_calls` back to schema 6 and runs a
/// load again: the step adds the columns, reads who hung up back from the stored completion
/// lines, and leaves the DID of the stints stored before empty (the README says so).
fn version_6_stints_gain_hangup_by_and_did(env: &Env) {
    let queue_log = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queue_log");
    let path = queue_log.to_str().unwrap();
    env.apr(&["parse-queue-log", path], &[]).success();
    let stints = "SELECT callid, queuename, enter_time, outcome, hangup_by, did FROM queue_calls \
                  ORDER BY callid, queuename, enter_time";
    let fresh = env.rows(stints);
    let count = |what: &str| {
        fresh
            .iter()
            .filter(|r| r.split('|').nth(4) == Some(what))
            .count()
    };
    assert!(count("agent") > 5 && count("caller") > 5, "{fresh:?}");
    let with_did = fresh.iter().filter(|r| !r.ends_with('|')).count();
    assert!(with_did > 5, "{fresh:?}");

    env.exec("ALTER TABLE queue_calls DROP COLUMN hangup_by");
    env.exec("ALTER TABLE queue_calls DROP COLUMN did");
    env.exec("UPDATE apr_meta SET meta_value = '6' WHERE meta_key = 'schema_version'");
    env.apr(&["parse-queue-log", path], &[]).success();
    assert_eq!(
        env.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
        [apr::store::SCHEMA_VERSION.to_string()]
    );
    // Who hung up is back on every stint; the DIDs are empty.
    let want: Vec<String> = fresh
        .iter()
        .map(|r| format!("{}|", r.rsplit_once('|').unwrap().0))
        .collect();
    assert_eq!(env.rows(stints), want);
    // A second run finds the step done and changes nothing.
    env.apr(&["parse-queue-log", path], &[]).success();
    assert_eq!(env.rows(stints), want);
}

#[test]
fn sqlite_version_6_stints_gain_hangup_by_and_did() {
    version_6_stints_gain_hangup_by_and_did(&Env::sqlite());
}

#[test]
fn mysql_version_6_stints_gain_hangup_by_and_did() {
    let (_s, env) = mysql_env();
    version_6_stints_gain_hangup_by_and_did(&env);
}

#[test]
fn postgres_version_6_stints_gain_hangup_by_and_did() {
    let (_s, env) = postgres_env();
    version_6_stints_gain_hangup_by_and_did(&env);
}

// ---------------------------------------------------------------------------------------
// A rebuild writes only the rows that changed.

fn a_rebuild_writes_only_what_changed(env: &Env) {
    let mysql = env.url.starts_with("mysql://");
    let postgres = env.url.starts_with("postgres://");
    env.init_load("30").success();
    let all = "SELECT * FROM agent_activity ORDER BY agent_ext, report_hour";
    let want = env.rows(all);
    let keys = env
        .rows("SELECT agent_ext, report_hour FROM agent_activity ORDER BY agent_ext, report_hour");
    assert!(keys.len() > 50, "{} rows", keys.len());
    let key = |i: usize| {
        let (ext, hour) = keys[i].split_once('|').unwrap();
        format!("agent_ext = '{ext}' AND report_hour = {hour}")
    };
    // Every row a rebuild attempts to write counts once (an upsert fires BEFORE INSERT too).
    if mysql {
        env.exec(
            "CREATE TABLE written (n BIGINT NOT NULL); INSERT INTO written VALUES (0);
             CREATE TRIGGER count_writes BEFORE INSERT ON agent_activity FOR EACH ROW UPDATE written SET n = n + 1",
        );
    } else if postgres {
        // PostgreSQL writes activity rows by COPY then INSERT ... SELECT ... ON CONFLICT:
        // the trigger still sees each row that statement proposes.
        env.exec(
            "CREATE TABLE written (n BIGINT NOT NULL); INSERT INTO written VALUES (0);
             CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN UPDATE written SET n = n + 1; RETURN NEW; END $$;
             CREATE TRIGGER count_writes BEFORE INSERT ON agent_activity
               FOR EACH ROW EXECUTE FUNCTION count_write()",
        );
    } else {
        env.exec(
            "CREATE TABLE written (n BIGINT NOT NULL); INSERT INTO written VALUES (0);
             CREATE TRIGGER count_writes BEFORE INSERT ON agent_activity BEGIN UPDATE written SET n = n + 1; END;",
        );
    }
    // Three rows each with one column that is not what aggregation writes: a column derived
    // from others (which a decoded row would not show), the drill-down, the name. And a
    // row that no longer qualifies.
    let cols = apr::store::table::AGENT_ACTIVITY.column_list();
    let ghost = cols.replacen("agent_ext", "'ghost'", 1);
    env.exec(&format!(
        "UPDATE agent_activity SET productive_secs = productive_secs + 1 WHERE {};
         UPDATE agent_activity SET event_details = '[]' WHERE {};
         UPDATE agent_activity SET agent_name = 'Someone Else' WHERE {};
         INSERT INTO agent_activity ({cols}) SELECT {ghost} FROM agent_activity WHERE {}",
        key(1),
        key(keys.len() / 2),
        key(keys.len() - 1),
        key(2)
    ));
    assert_ne!(env.rows(all), want);
    env.exec("UPDATE written SET n = 0");
    env.apr(&["aggregate", "--rebuild"], &[]).success();
    assert_eq!(env.rows(all), want);
    assert_eq!(env.rows("SELECT n FROM written"), ["3"]);
    env.apr(&["aggregate", "--rebuild"], &[]).success();
    assert_eq!(env.rows(all), want);
    assert_eq!(
        env.rows("SELECT n FROM written"),
        ["3"],
        "a second rebuild writes nothing"
    );
    if postgres {
        env.exec(
            "DROP TRIGGER count_writes ON agent_activity; DROP FUNCTION count_write(); \
             DROP TABLE written",
        );
    } else {
        env.exec("DROP TRIGGER count_writes; DROP TABLE written");
    }
}

#[test]
fn sqlite_a_rebuild_writes_only_the_rows_that_changed() {
    a_rebuild_writes_only_what_changed(&Env::sqlite());
}

#[test]
fn postgres_a_rebuild_writes_only_the_rows_that_changed() {
    let (_s, env) = postgres_env();
    a_rebuild_writes_only_what_changed(&env);
}

#[test]
fn mysql_a_rebuild_writes_only_the_rows_that_changed() {
    let (_s, env) = mysql_env();
    a_rebuild_writes_only_what_changed(&env);
}
