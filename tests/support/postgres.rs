//! A throwaway PostgreSQL database per test: [`ScratchPostgres`] creates a uniquely named
//! database on the local server and drops it (`WITH (FORCE)`, ending sessions a test left)
//! when it goes out of scope, also when the test panics. The server is
//! `postgres://postgres@127.0.0.1:5432/` unless `APR_TEST_POSTGRES_URL` names another (its
//! database part, if any, is ignored).
//!
//! Every test that needs the server runs in every `cargo test`; `scripts/test.sh` (and CI)
//! start PostgreSQL first. Without a server such a test fails: [`ScratchPostgres::new`]
//! panics naming the server and how to start it, never skips.

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};

/// The server tests talk to when `APR_TEST_POSTGRES_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether the benches load PostgreSQL too (`APR_TEST_POSTGRES=1`); the tests always run
/// and do not read it.
pub fn enabled() -> bool {
    std::env::var("APR_TEST_POSTGRES").is_ok_and(|v| v.trim() == "1")
}

/// The server URL for tests: `APR_TEST_POSTGRES_URL`, else [`DEFAULT_SERVER_URL`].
pub fn server_url() -> String {
    std::env::var("APR_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string())
}

/// `server` with its database replaced by `db`, keeping any `?query` options.
pub fn with_database(server: &str, db: &str) -> String {
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

/// A connection to database `db` of the test server, for direct statements in tests.
pub fn connect(db: &str) -> Client {
    let server = server_url();
    let url = with_database(&server, db);
    let url = url.split('?').next().unwrap_or(&url).to_string();
    Client::connect(&url, NoTls).unwrap_or_else(|e| {
        panic!(
            "cannot reach the test PostgreSQL server at {server}: {e} \
             (start it with: pg_ctlcluster 15 main start; scripts/test.sh does)"
        )
    })
}

/// A fresh, empty database that is dropped with this value.
pub struct ScratchPostgres {
    name: String,
    url: String,
}

impl ScratchPostgres {
    /// Creates `apr_t_<pid>_<counter>_<nanos>` on the test server. Panics, naming the server
    /// and how to start it, when it cannot connect.
    pub fn new() -> ScratchPostgres {
        let name = Self::fresh_name();
        connect("postgres")
            .batch_execute(&format!(
                "CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
            ))
            .unwrap_or_else(|e| panic!("cannot create scratch database {name}: {e}"));
        let url = with_database(&server_url(), &name);
        ScratchPostgres { name, url }
    }

    /// A new scratch database holding what database `source` holds (made with it as its
    /// template). The source must have no session open: a run that just ended may still be
    /// leaving, so this waits for it a few seconds.
    pub fn copy_of(source: &str) -> ScratchPostgres {
        let name = Self::fresh_name();
        let mut admin = connect("postgres");
        let sql = format!("CREATE DATABASE {name} TEMPLATE {source}");
        let mut tries = 0;
        while let Err(e) = admin.batch_execute(&sql) {
            tries += 1;
            assert!(tries < 50, "cannot copy {source} into {name}: {e}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let url = with_database(&server_url(), &name);
        ScratchPostgres { name, url }
    }

    fn fresh_name() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!(
            "apr_t_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// `postgres://.../<name>`, for `APR_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this database, for direct statements in tests.
    pub fn client(&self) -> Client {
        connect(&self.name)
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(
            with_database(&server_url(), "postgres")
                .split('?')
                .next()
                .unwrap_or_default(),
            NoTls,
        ) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn urls_get_the_scratch_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}
