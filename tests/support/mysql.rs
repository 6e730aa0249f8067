//! A throwaway MariaDB/MySQL database per test: [`ScratchMysql`] creates a uniquely named
//! database on the local server and drops it when it goes out of scope, also when the test
//! panics. The server is `mysql://root@127.0.0.1:3306/` unless `APR_TEST_MYSQL_URL` names
//! another (its database part, if any, is ignored).
//!
//! Every test that needs the server runs in every `cargo test`; `scripts/test.sh` (and CI)
//! start MariaDB first. Without a server such a test fails: [`ScratchMysql::new`] panics
//! naming the server and how to start it, never skips, so no test passes untested.

use std::sync::atomic::{AtomicU64, Ordering};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

/// What schema version 4 made of `agent_events` and `agent_activity` on MySQL (keyed by id
/// and by (agent_ext, report_hour), each with a secondary time index), from version 5's
/// tables with their rows: an older database for the 4 → 5 step to upgrade.
pub const BACK_TO_SCHEMA_4: [&str; 2] = [
    "ALTER TABLE agent_events DROP PRIMARY KEY, ADD PRIMARY KEY (id), \
     ADD CONSTRAINT agent_events_ts UNIQUE (ts_epoch, id), DROP INDEX agent_events_id",
    "ALTER TABLE agent_activity DROP PRIMARY KEY, ADD PRIMARY KEY (agent_ext, report_hour), \
     ADD CONSTRAINT agent_activity_hour UNIQUE (report_hour, agent_ext)",
];

/// The server tests talk to when `APR_TEST_MYSQL_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "mysql://root@127.0.0.1:3306/";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether `benches/load.rs` loads MariaDB too (`APR_TEST_MYSQL=1`); the tests always run
/// and do not read it.
pub fn enabled() -> bool {
    std::env::var("APR_TEST_MYSQL").is_ok_and(|v| v.trim() == "1")
}

/// A fresh, empty database that is dropped with this value.
pub struct ScratchMysql {
    admin: Conn,
    name: String,
    url: String,
}

/// The server URL for tests: `APR_TEST_MYSQL_URL`, else [`DEFAULT_SERVER_URL`].
pub fn server_url() -> String {
    std::env::var("APR_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string())
}

/// `server` with its database replaced by `db`, keeping any `?query` options.
fn with_database(server: &str, db: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{db}{query}", &base[..authority_end])
}

impl ScratchMysql {
    /// Creates `apr_t_<pid>_<counter>_<nanos>` on the test server. Panics, naming the server
    /// and how to start it, when it cannot connect.
    pub fn new() -> ScratchMysql {
        let server = server_url();
        let admin_url = with_database(&server, "");
        let opts = Opts::from_url(&admin_url)
            .unwrap_or_else(|e| panic!("APR_TEST_MYSQL_URL '{server}' is not a MySQL URL: {e}"));
        let mut admin = Conn::new(opts).unwrap_or_else(|e| {
            panic!(
                "cannot reach the test MySQL/MariaDB server at {server}: {e} \
                 (start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)"
            )
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "apr_t_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .query_drop(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .unwrap_or_else(|e| panic!("cannot create scratch database {name}: {e}"));
        let url = with_database(&server, &name);
        ScratchMysql { admin, name, url }
    }

    /// `mysql://.../<name>`, for `APR_DATABASE_URL` or `MysqlStore::open`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to the server (no default database) for direct queries in tests;
    /// qualify tables with [`ScratchMysql::name`].
    pub fn admin(&mut self) -> &mut Conn {
        &mut self.admin
    }
}

impl Drop for ScratchMysql {
    fn drop(&mut self) {
        let drop_sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        if self.admin.query_drop(&drop_sql).is_err() {
            // The admin connection may have died with a panicking test; try a fresh one.
            if let Ok(mut conn) = Opts::from_url(&with_database(&server_url(), ""))
                .map_err(mysql::Error::from)
                .and_then(Conn::new)
            {
                let _ = conn.query_drop(&drop_sql);
            }
        }
    }
}

#[test]
fn urls_get_the_scratch_database() {
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306/", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
    assert_eq!(
        with_database("mysql://u:p@127.0.0.1:3306/test?prefer_socket=false", "x"),
        "mysql://u:p@127.0.0.1:3306/x?prefer_socket=false"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1", "x"),
        "mysql://root@127.0.0.1/x"
    );
}
