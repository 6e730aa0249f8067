//! A MySQL connection that fails says why in one line naming the URL without its password
//! (issue 28: refused, unknown host and unknown user all read "lost the connection ... the
//! interrupted transaction was rolled back", and `:99999` printed `URL ParseError { .. }`).
//! A server that accepts but never answers (the timeout) is `tests/frozen_servers.rs`.

mod support;

use support::mysql::{ScratchMysql, server_url};
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
    let (code, err) = status(&format!("mysql://apr:secret@127.0.0.1:{}/apr", port.port()));
    assert_eq!(code, Some(1));
    let url = format!("mysql://apr:***@127.0.0.1:{}/apr", port.port());
    assert_eq!(
        err,
        format!(
            "error: cannot connect to MySQL at {url}: 127.0.0.1:{} refused the connection \
             (nothing listens there); check that the server is running and the host and port \
             in APR_DATABASE_URL",
            port.port()
        )
    );
}

/// `.invalid` is reserved (RFC 6761): the resolver fails it without asking anyone.
#[test]
fn an_unknown_host_is_a_setting_error() {
    let (code, err) = status("mysql://apr:secret@nosuchhost.invalid:3306/apr");
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "error: cannot connect to MySQL at mysql://apr:***@nosuchhost.invalid:3306/apr: \
         unknown host 'nosuchhost.invalid'; check the host in APR_DATABASE_URL"
    );
}

#[test]
fn a_malformed_url_says_what_is_wrong() {
    let (code, err) = status("mysql://apr:secret@127.0.0.1:99999/apr");
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "error: APR_DATABASE_URL 'mysql://apr:***@127.0.0.1:99999/apr' is not a valid MySQL \
         URL (invalid port number); expected mysql://user:pass@host:port/db"
    );
}

/// The test server's URL with `user:secret` as its login and `db` as its database.
fn login_url(user: &str, db: &str) -> String {
    let server = server_url();
    let (scheme, rest) = server.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{user}:secret@{host}/{db}")
}

#[test]
fn mysql_an_unknown_user_or_wrong_password_is_exit_2() {
    let scratch = ScratchMysql::new();
    for user in ["apr_no_such_user", "root"] {
        let url = login_url(user, scratch.name());
        let (code, err) = status(&url);
        assert_eq!(code, Some(2), "{err}");
        let shown = url.replace(":secret@", ":***@");
        assert!(
            err.starts_with(&format!(
                "error: MySQL refused the login for {shown}: unknown user or wrong password ("
            )) && err.ends_with("); check the user and password in APR_DATABASE_URL"),
            "{err}"
        );
    }
}

#[test]
fn mysql_an_unknown_database_says_how_to_create_it() {
    let scratch = ScratchMysql::new();
    let missing = format!("{}_missing", scratch.name());
    let url = scratch.url().replace(scratch.name(), &missing);
    let (code, err) = status(&url);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: MySQL database '{missing}' does not exist at "
        )) && err.contains(&format!("CREATE DATABASE `{missing}`")),
        "{err}"
    );
}
