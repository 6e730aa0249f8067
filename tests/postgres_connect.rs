//! A PostgreSQL connection that fails, or fails later, says why in one line naming the URL
//! without its password: refused, unknown host, unknown role, unknown database, a bad
//! `sslmode`, a session the server ended, a statement that ran past `statement_timeout`.

mod support;

use apr::store::DatabaseUrl;
use support::postgres::{ScratchPostgres, connect};
use support::refused::RefusedPort;

/// `apr status` against `url`: exit code and the stderr line.
fn status(url: &str) -> (Option<i32>, String) {
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", url)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("secret"), "{err}");
    (out.status.code(), err.trim_end().to_string())
}

#[test]
fn a_refused_connection_names_the_address() {
    let port = RefusedPort::new();
    let (code, err) = status(&format!(
        "postgres://apr:secret@127.0.0.1:{}/apr?sslmode=disable",
        port.port()
    ));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        format!(
            "error: cannot connect to PostgreSQL at postgres://apr:***@127.0.0.1:{0}/apr: \
             127.0.0.1:{0} refused the connection (nothing listens there); check that the \
             server is running and the host and port in APR_DATABASE_URL",
            port.port()
        )
    );
}

/// `.invalid` is reserved (RFC 6761): the resolver fails it without asking anyone.
#[test]
fn an_unknown_host_is_named() {
    let (code, err) = status("postgres://apr:secret@nosuchhost.invalid:5432/apr");
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "error: cannot connect to PostgreSQL at postgres://apr:***@nosuchhost.invalid:5432/apr: \
         unknown host 'nosuchhost.invalid'; check the host in APR_DATABASE_URL"
    );
}

#[test]
fn an_unknown_role_and_an_unknown_database_say_which() {
    let scratch = ScratchPostgres::new();
    let role = scratch
        .url()
        .replacen("postgres://postgres@", "postgres://apr_nobody:secret@", 1);
    let (code, err) = status(&role);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("error: PostgreSQL refused the login for postgres://apr_nobody:***@")
            && err.contains("apr_nobody")
            && err.ends_with("check the user and password in APR_DATABASE_URL"),
        "{err}"
    );
    let missing = format!("{}_gone", scratch.url());
    let (code, err) = status(&missing);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(&format!(
            "PostgreSQL database '{}_gone' does not exist",
            scratch.name()
        )) && err.contains("CREATE DATABASE"),
        "{err}"
    );
}

#[test]
fn a_bad_parameter_is_named_before_connecting() {
    let (code, err) = status("postgres://apr:secret@127.0.0.1:1/apr?sslmode=sometimes");
    assert_eq!(code, Some(2));
    assert!(
        err.contains(
            "sslmode=sometimes; expected disable, prefer, require, verify-ca or verify-full"
        ),
        "{err}"
    );
}

/// The server ends the session (an administrator's `pg_terminate_backend`, a restart): the
/// next statement is one line saying the connection was lost.
#[test]
fn a_session_the_server_ended_is_a_lost_connection() {
    let scratch = ScratchPostgres::new();
    let url = DatabaseUrl::parse(scratch.url(), "APR_DATABASE_URL").unwrap();
    let mut store = apr::store::open(&url).unwrap();
    store.ping().unwrap();
    connect("postgres")
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&scratch.name()],
        )
        .unwrap();
    let err = store.ping().unwrap_err().to_string();
    assert!(
        err.starts_with("lost the connection to PostgreSQL database postgres://")
            && err.contains(scratch.name())
            && err.lines().count() == 1,
        "{err}"
    );
}

/// A statement that runs past the URL's `statement_timeout` is cancelled by the server and
/// named with the setting; the connection stays usable.
#[test]
fn a_statement_past_its_timeout_names_the_setting() {
    let scratch = ScratchPostgres::new();
    let url = DatabaseUrl::parse(
        &format!("{}?statement_timeout=1", scratch.url()),
        "APR_DATABASE_URL",
    )
    .unwrap();
    let mut store = apr::store::open(&url).unwrap();
    let err = store
        .sql()
        .query("SELECT pg_sleep(3)", &[], &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("PostgreSQL database postgres://")
            && err.contains(
                "did not finish a statement within 1 s (statement_timeout in APR_DATABASE_URL)"
            ),
        "{err}"
    );
    store.ping().unwrap();
}

/// Whether the test server's sessions of `url` run over TLS (`pg_stat_ssl`).
fn over_tls(url: &str) -> bool {
    let db = DatabaseUrl::parse(url, "APR_DATABASE_URL").unwrap();
    let mut store = apr::store::open(&db).unwrap();
    let mut tls = None;
    store
        .sql()
        .query(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
            &mut |r| {
                tls = r.opt_int(0)?;
                Ok(())
            },
        )
        .unwrap();
    tls == Some(1)
}

/// The test server has TLS on (Debian's default, with its self-signed certificate):
/// `require` encrypts without checking the certificate, `disable` does not encrypt,
/// `verify-full` refuses a certificate no trusted CA signed, in one line naming the setting.
#[test]
fn sslmode_is_honoured_through_rustls() {
    let scratch = ScratchPostgres::new();
    assert!(over_tls(&format!("{}?sslmode=require", scratch.url())));
    assert!(!over_tls(&format!("{}?sslmode=disable", scratch.url())));
    let (code, err) = status(&format!("{}?sslmode=verify-full", scratch.url()));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("the TLS handshake failed") && err.contains("check sslmode and sslrootcert"),
        "{err}"
    );
    let (code, err) = status(&format!(
        "{}?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        scratch.url()
    ));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("sslrootcert '/nonexistent/ca.pem' cannot be read"),
        "{err}"
    );
}
