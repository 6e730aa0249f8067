//! A database on each backend for one test: a SQLite file and scratch MariaDB and
//! PostgreSQL databases, alive as long as the returned value.

use super::mysql::ScratchMysql;
use super::postgres::ScratchPostgres;
use super::rows::Db;

pub struct Backends {
    _dir: tempfile::TempDir,
    _mysql: ScratchMysql,
    _postgres: ScratchPostgres,
    /// SQLite, MariaDB, PostgreSQL.
    pub dbs: [Db; 3],
    /// Their `APR_DATABASE_URL`s, in the same order.
    pub urls: [String; 3],
}

/// A fresh database on each backend.
pub fn backends() -> Backends {
    let dir = tempfile::tempdir().unwrap();
    let mysql = ScratchMysql::new();
    let postgres = ScratchPostgres::new();
    let dbs = [
        Db::Sqlite(dir.path().join("apr.db")),
        Db::Mysql(mysql.url().to_string()),
        Db::Postgres(postgres.url().to_string()),
    ];
    let urls = dbs.each_ref().map(Db::url);
    Backends {
        _dir: dir,
        _mysql: mysql,
        _postgres: postgres,
        dbs,
        urls,
    }
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
/// The example center's zone.
const EXAMPLE_ZONE: &str = "Asia/Dubai";

/// The example day (`examples/queue_log`, its agents) loaded on every backend, in
/// Asia/Dubai.
pub fn example() -> Backends {
    let b = backends();
    for url in &b.urls {
        apr_ok(
            url,
            EXAMPLE_ZONE,
            &["parse-queue-log", "--agents", AGENTS, EXAMPLE],
        );
    }
    b
}

/// `apr report --start-date 2025-09-07 ARGS` over the example day on every backend, which
/// must give the same bytes; those bytes.
pub fn example_report(b: &Backends, args: &[&str]) -> String {
    let mut all = vec!["report", "--start-date", "2025-09-07"];
    all.extend_from_slice(args);
    let [sqlite, servers @ ..] = &b.urls;
    let got = apr_ok(sqlite, EXAMPLE_ZONE, &all);
    for url in servers {
        assert_eq!(got, apr_ok(url, EXAMPLE_ZONE, &all), "{url}: {args:?}");
    }
    got
}

/// `apr ARGS` on `url` in `zone`, which must succeed; its stdout.
pub fn apr_ok(url: &str, zone: &str, args: &[&str]) -> String {
    let out = super::rows::apr()
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", zone)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
