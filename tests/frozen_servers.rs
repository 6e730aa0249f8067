//! A frozen database server (issues 15.4, 24 and 26), MariaDB and PostgreSQL alike: a server
//! of the test's own ([`Mariadb`], [`PgServer`]), stopped with SIGSTOP (PostgreSQL: the
//! postmaster and its backends) before apr starts, during a `parse-queue-log` load, during a
//! `report`, and between two requests of `apr serve`. Every command ends with one line naming
//! the database, what it waited for and the setting that bounds that wait, within the bound
//! the README states: the wait's own timeout plus a second (a send that stalls part-way:
//! twice the write timeout). The tests allow [`SLACK`] over that: a bound that a hang, or a
//! second wait after the first (the rollback, the lock release: three read timeouts in all
//! before issue 26), breaks, not a speed claim; the timeouts differ so that a wait bounded by
//! the wrong one shows. The server always runs again (SIGCONT) when a test ends, also when it
//! fails.

mod report_fixture;
mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report_fixture::server::{APR, Server};
use reqwest::StatusCode;
use support::mariadb::Mariadb;
use support::pg_server::PgServer;
use support::rows::Db;

/// The timeouts the tests give apr, in seconds.
const CONNECT: u64 = 2;
const READ: u64 = 4;
const WRITE: u64 = 2;
/// The read timeout while the server is frozen before apr starts: the connect timeout, far
/// shorter, must end the handshake (PostgreSQL: the startup and login).
const LONG_READ: u64 = 30;

/// What the tests allow over the README's bound (process start and exit on a busy machine).
const SLACK: Duration = Duration::from_secs(3);

/// How long the server may take to end the dropped sessions once it runs again.
const RECOVERY: Duration = Duration::from_secs(30);

/// The most a command may take after a freeze while it runs: the read timeout, or a send
/// stalled part-way (twice the write timeout), plus [`SLACK`].
fn bound() -> Duration {
    Duration::from_secs(READ.max(2 * WRITE)) + SLACK
}

/// The server engines under test: what differs between them is how they are started and
/// frozen, the names of their settings, and how their sessions are counted.
#[derive(Clone, Copy)]
enum Engine {
    Mariadb,
    Postgres,
}

/// A running server of the test's own, of either engine.
enum Running {
    Mariadb(Mariadb),
    Postgres(PgServer),
}

/// A frozen server; it runs again when dropped.
#[allow(dead_code)]
enum Frozen {
    Mariadb(support::mariadb::Frozen),
    Postgres(support::pg_server::Frozen),
}

impl Running {
    fn freeze(&self) -> Frozen {
        match self {
            Running::Mariadb(s) => Frozen::Mariadb(s.freeze()),
            Running::Postgres(s) => Frozen::Postgres(s.freeze()),
        }
    }
}

impl Engine {
    /// A server of the test's own with an empty database `apr`; its URL.
    fn server(self) -> (Running, String) {
        match self {
            Engine::Mariadb => {
                let server = Mariadb::install(&[]);
                server.create_database("apr");
                let url = server.url("apr");
                (Running::Mariadb(server), url)
            }
            Engine::Postgres => {
                let server = PgServer::install();
                server.create_database("apr");
                let url = server.url("apr");
                (Running::Postgres(server), url)
            }
        }
    }

    /// The infix of the engine's timeout settings (`APR_<infix>_READ_TIMEOUT_SECS`).
    fn settings(self) -> &'static str {
        match self {
            Engine::Mariadb => "MYSQL",
            Engine::Postgres => "POSTGRES",
        }
    }

    fn setting(self, wait: &str) -> String {
        format!("APR_{}_{wait}_TIMEOUT_SECS", self.settings())
    }

    fn db(self, url: &str) -> Db {
        match self {
            Engine::Mariadb => Db::Mysql(url.to_string()),
            Engine::Postgres => Db::Postgres(url.to_string()),
        }
    }

    /// apr's sessions on the server, the asking connection aside.
    fn sessions_query(self) -> &'static str {
        match self {
            Engine::Mariadb => {
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                 WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'"
            }
            Engine::Postgres => {
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE pid <> pg_backend_pid() AND datname = 'apr' \
                 AND backend_type = 'client backend'"
            }
        }
    }

    /// `apr ARGS` on `url` with the test's timeouts (stdout and stderr piped).
    fn apr(self, url: &str, dir: &std::path::Path, args: &[&str]) -> Command {
        self.apr_reading(url, dir, args, READ)
    }

    /// [`Engine::apr`] with the read timeout `read`.
    fn apr_reading(self, url: &str, dir: &std::path::Path, args: &[&str], read: u64) -> Command {
        let mut cmd = Command::new(APR);
        cmd.current_dir(dir)
            .env_remove("APR_TIMEZONE")
            .env("APR_DATABASE_URL", url)
            .env("APR_TIMEZONE", "UTC")
            .env(self.setting("CONNECT"), CONNECT.to_string())
            .env(self.setting("READ"), read.to_string())
            .env(self.setting("WRITE"), WRITE.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn read_wait(self) -> String {
        format!("did not answer within {READ} s ({})", self.setting("READ"))
    }

    fn write_wait(self) -> String {
        format!(
            "did not take what apr sent within {WRITE} s ({})",
            self.setting("WRITE")
        )
    }

    fn connect_wait(self) -> String {
        format!("within {CONNECT} s ({})", self.setting("CONNECT"))
    }
}

/// Waits for `child` at most `bound` after `since`; its exit code and stderr. A child
/// still running then is killed and the test fails.
fn finish(
    mut child: std::process::Child,
    since: Instant,
    bound: Duration,
    what: &str,
) -> (Option<i32>, String) {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
            return (status.code(), err);
        }
        if since.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran {:?} after the freeze", since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One line naming the database (without a password) and one of `waits` with its setting.
fn assert_one_line(err: &str, url: &str, waits: &[&str], what: &str) {
    assert_eq!(err.lines().count(), 1, "{what}: {err}");
    // The URL as apr names it: no password, no query.
    let shown = url.split('?').next().unwrap().to_string();
    assert!(err.contains(&shown), "{what} names the database: {err}");
    assert!(
        waits.iter().any(|w| err.contains(w)),
        "{what}: expected one of {waits:?} in {err}"
    );
}

/// A queue_log of `calls` answered calls (three lines each), an hour of them every 500.
fn queue_log(calls: usize) -> String {
    let mut out = String::with_capacity(calls * 200);
    for i in 0..calls {
        let t = 1_757_250_000 + 7 * i as i64;
        let (call, agent, queue) = (format!("{t}.{i}"), 200 + i % 50, i % 5);
        out += &format!("{t}|{call}|q{queue}|NONE|ENTERQUEUE||5551{i:05}|1\n");
        out += &format!(
            "{}|{call}|q{queue}|PJSIP/{agent}|CONNECT|5|{call}9|1\n",
            t + 5
        );
        out += &format!(
            "{}|{call}|q{queue}|PJSIP/{agent}|COMPLETEAGENT|5|60|1\n",
            t + 65
        );
    }
    out
}

/// Frozen before apr starts: the TCP connection is made (the kernel accepts it) and the
/// startup never answers; the connect timeout bounds it, whatever the read timeout.
/// Then frozen during a load (once its first chunks are committed) and during a report
/// (while it streams rows): the load's statement or the report's next rows wait at most
/// the read (or write) timeout, and nothing waits after that (no rollback, no lock
/// release, no goodbye). Once the server runs again, the load runs to its end.
#[test]
fn a_frozen_mariadb_ends_every_command_within_its_timeout() {
    a_frozen_server_ends_every_command_within_its_timeout(Engine::Mariadb);
}

#[test]
fn a_frozen_postgres_ends_every_command_within_its_timeout() {
    a_frozen_server_ends_every_command_within_its_timeout(Engine::Postgres);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_serve_answers_503_within_the_timeouts_and_drops_the_stalled_connection() {
    serve_answers_503_within_the_timeouts_and_drops_the_stalled_connection(Engine::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_answers_503_within_the_timeouts_and_drops_the_stalled_connection() {
    serve_answers_503_within_the_timeouts_and_drops_the_stalled_connection(Engine::Postgres).await;
}

fn a_frozen_server_ends_every_command_within_its_timeout(engine: Engine) {
    let (server, url) = engine.server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    std::fs::write(&file, queue_log(10_000)).unwrap();
    let file = file.to_str().unwrap();
    let replay = dir.path().join("replay/events");
    std::fs::create_dir_all(&replay).unwrap();
    std::fs::write(
        replay.join("a.json"),
        r#"[{"event":"agent_idle","enabled":true,"ext":"201","Timestamp":1757250100}]"#,
    )
    .unwrap();
    let replay = dir.path().join("replay");

    {
        let _frozen = server.freeze();
        for args in [
            vec!["parse-queue-log", file],
            vec!["collect", "--source", replay.to_str().unwrap()],
            vec!["report", "--start-date", "2025-09-07"],
        ] {
            let start = Instant::now();
            let child = engine
                .apr_reading(&url, dir.path(), &args, LONG_READ)
                .spawn()
                .unwrap();
            let bound = Duration::from_secs(CONNECT) + SLACK;
            let (code, err) = finish(child, start, bound, args[0]);
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert_one_line(&err, &url, &[&engine.connect_wait()], args[0]);
            assert!(err.contains("cannot connect"), "{err}");
        }
    }

    // During a load: frozen once its first chunk is committed.
    let mut load = engine
        .apr(
            &url,
            dir.path(),
            &["parse-queue-log", "--chunk-lines", "500", file],
        )
        .spawn()
        .unwrap();
    let mut poller = engine.db(&url).poller();
    let started = Instant::now();
    while poller
        .count("SELECT COUNT(*) FROM queue_log")
        .is_none_or(|n| n == 0)
    {
        assert!(
            load.try_wait().unwrap().is_none(),
            "the load ended before it committed a chunk"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no chunk in 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(poller);
    {
        let _frozen = server.freeze();
        let since = Instant::now();
        assert!(load.try_wait().unwrap().is_none(), "the load ended already");
        let (code, err) = finish(load, since, bound(), "parse-queue-log");
        assert_eq!(code, Some(1), "{err}");
        assert_one_line(
            &err,
            &url,
            &[&engine.read_wait(), &engine.write_wait()],
            "the load",
        );
    }
    // The server ends the dropped session (rolling back, freeing the lock) once it runs.
    let rerun = engine
        .apr(&url, dir.path(), &["parse-queue-log", file])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "the load after the thaw: {err}"
    );
    assert_eq!(
        engine.db(&url).rows("SELECT COUNT(*) FROM queue_log"),
        ["30000"]
    );

    // During a report: its rows fill the pipe the test does not read, so that apr is
    // mid-stream when the server freezes; the test then reads on. Had PostgreSQL already
    // sent the whole result into the sockets' buffers (the report is under a megabyte),
    // the report may end well (MariaDB streams row by row and cannot); it never waits
    // longer than the bound.
    let mut report = engine
        .apr(
            &url,
            dir.path(),
            &[
                "report",
                "--kind",
                "calls",
                "--start-date",
                "2025-09-07",
                "--end-date",
                "2025-09-09",
            ],
        )
        .spawn()
        .unwrap();
    let mut stdout = report.stdout.take().unwrap();
    let mut head = [0u8; 1];
    stdout.read_exact(&mut head).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _frozen = server.freeze();
    let since = Instant::now();
    assert!(
        report.try_wait().unwrap().is_none(),
        "the report ended already"
    );
    let drain = std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        rest.len()
    });
    let (code, err) = finish(report, since, bound(), "report");
    let streamed = drain.join().unwrap();
    match (engine, code) {
        (Engine::Postgres, Some(0)) => assert_eq!(err, "", "{streamed} bytes streamed"),
        _ => {
            assert_eq!(code, Some(1), "{err} ({streamed} bytes streamed)");
            assert_one_line(&err, &url, &[&engine.read_wait()], "the report");
        }
    }
}

/// `serve` between two requests: the pooled connection's check waits at most the read
/// timeout, a new connection at most the connect timeout (README: 503 within the two plus
/// a second), and the report answers 503; the
/// connection that stalled is dropped (its session ends once the server runs again), not
/// returned to the pool, and the next report after the thaw is served.
async fn serve_answers_503_within_the_timeouts_and_drops_the_stalled_connection(engine: Engine) {
    // The blocking clients (the test's and apr's store) run on threads of their own, off
    // the test's runtime.
    let (server, url) = blocking(move || {
        let (server, url) = engine.server();
        apr::store::open(&apr::store::DatabaseUrl::parse(&url, "APR_DATABASE_URL").unwrap())
            .unwrap();
        (server, url)
    });
    // A connect timeout shorter than the read timeout: a new connection's handshake that
    // waited on the read timeout (as before issue 26) would break the bound.
    let (connect, read) = (1, 6);
    let (connect_s, read_s) = (connect.to_string(), read.to_string());
    let (connect_name, read_name) = (engine.setting("CONNECT"), engine.setting("READ"));
    let env = [
        ("APR_TIMEZONE", "UTC"),
        (connect_name.as_str(), connect_s.as_str()),
        (read_name.as_str(), read_s.as_str()),
    ];
    let serve = Server::start_url(&url, &["serve"], &env);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let report = serve.url("/api/report?startDate=2025-09-07");
    let ok = client.get(&report).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "before the freeze");
    drop(ok.bytes().await.unwrap());
    // apr's sessions on the server (the tests' own connection aside).
    let sessions = || {
        let url = url.clone();
        blocking(move || engine.db(&url).rows(engine.sessions_query()))[0]
            .parse::<u32>()
            .unwrap()
    };
    let one_session = |what: &str| {
        let start = Instant::now();
        while sessions() != 1 {
            assert!(
                start.elapsed() < RECOVERY,
                "{} sessions of apr {what}",
                sessions()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    one_session("before the freeze (one pooled connection)");
    {
        let _frozen = server.freeze();
        for path in ["/api/report?startDate=2025-09-07", "/health"] {
            let start = Instant::now();
            let resp = client.get(serve.url(path)).send().await.unwrap();
            let took = start.elapsed();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            let body: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{path} ({status}): {e}: {text}"));
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
            assert!(
                took < Duration::from_secs(read + connect) + SLACK,
                "{path} took {took:?}"
            );
            let error = body["error"].as_str().unwrap();
            assert!(
                error.contains("127.0.0.1") && error.contains(" within "),
                "{path}: {error}"
            );
        }
    }
    // Thawed: the stalled connections end; the next report opens one and is served.
    let start = Instant::now();
    let ok = loop {
        let resp = client.get(&report).send().await.unwrap();
        if resp.status() == StatusCode::OK {
            break resp;
        }
        assert!(start.elapsed() < RECOVERY, "no report after the thaw");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(ok.bytes().await.unwrap());
    one_session("after the thaw: a stalled connection was kept");
}

/// `f`'s result, run on a thread of its own (a blocking client may not run on the test's
/// runtime).
fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}
