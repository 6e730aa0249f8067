//! The mapping of the driver's errors to one-line messages that name the database and what
//! to do, never the password, the SQL or the driver's dump: refused, unknown host, login
//! refused, unknown database, a wait that ran out, a lost connection, the server's refusal.

use std::error::Error as _;
use std::net::ToSocketAddrs;

use tokio_postgres::error::SqlState;

use super::url::{PostgresUrl, Wait};
use crate::error::{Error, one_line};

/// What a failure to connect says.
pub(super) fn connect_error(url: &PostgresUrl, e: tokio_postgres::Error) -> Error {
    let (shown, named) = (url.shown(), url.named);
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_CATALOG_NAME {
            return Error::config(format!(
                "PostgreSQL database '{}' does not exist at {shown}; create it \
                 (CREATE DATABASE \"{}\" ENCODING 'UTF8') or fix {named}",
                url.database, url.database
            ));
        }
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return Error::config(format!(
                "PostgreSQL refused the login for {shown}: {}; check the user and password in \
                 {named}",
                one_line(db.message())
            ));
        }
        return server_error(&shown, db);
    }
    if let Some(io) = io_source(&e) {
        return connect_io_error(url, io);
    }
    let why = one_line(&e.to_string());
    if why.contains("TLS") || why.contains("tls") || why.contains("certificate") {
        return tls_error(url, &why);
    }
    Error::db(format!(
        "cannot connect to PostgreSQL at {shown}: {why}; check that the server is running and \
         the host and port in {named}"
    ))
}

/// What a failure of the socket while connecting says.
pub(super) fn connect_io_error(url: &PostgresUrl, io: &std::io::Error) -> Error {
    let (shown, named) = (url.shown(), url.named);
    // rustls reports a refused certificate as the I/O error of the handshake.
    if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_error(url, &tls.to_string());
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            return Error::db(format!(
                "cannot connect to PostgreSQL at {shown}: {}:{} refused the connection \
                 (nothing listens there); check that the server is running and the host \
                 and port in {named}",
                url.host, url.port
            ));
        }
        std::io::ErrorKind::TimedOut => return ran_out_error(url, Wait::Connect),
        _ => {}
    }
    if (url.host.as_str(), url.port).to_socket_addrs().is_err() {
        return Error::config(format!(
            "cannot connect to PostgreSQL at {shown}: unknown host '{}'; check the host in \
             {named}",
            url.host
        ));
    }
    Error::db(format!(
        "cannot connect to PostgreSQL at {shown}: {}; check that the server is running and \
         the host and port in {named}",
        one_line(&io.to_string())
    ))
}

/// A TLS handshake that failed (a server without TLS under `require`, a certificate no
/// trusted CA signed under `verify-ca`, another host's under `verify-full`).
fn tls_error(url: &PostgresUrl, why: &str) -> Error {
    Error::config(format!(
        "cannot connect to PostgreSQL at {}: the TLS handshake failed ({}); check sslmode and \
         sslrootcert in {}",
        url.shown(),
        one_line(why),
        url.named
    ))
}

/// A wait on the server that ran out (a frozen or unreachable server), naming the database,
/// what was waited for and the setting that bounds it.
pub(super) fn ran_out_error(url: &PostgresUrl, wait: Wait) -> Error {
    let shown = url.shown();
    let (limit, named) = url.limit(wait);
    let secs = limit.as_secs();
    let waited = match wait {
        Wait::Connect => {
            return Error::db(format!(
                "cannot connect to PostgreSQL database {shown} within {secs} s ({named}); \
                 check that the server is running and reachable"
            ));
        }
        Wait::Read => "did not answer",
        Wait::Write => "did not take what apr sent",
    };
    Error::db(format!(
        "PostgreSQL database {shown} {waited} within {secs} s ({named}); check that the server \
         is running and not stalled, then run again (nothing uncommitted was kept)"
    ))
}

/// What a request on a connection a wait already cut says.
pub(super) fn cut_error(url: &PostgresUrl) -> Error {
    Error::db(format!(
        "lost the connection to PostgreSQL database {} (an earlier wait ran out); run again",
        url.shown()
    ))
}

/// What a failure on an open connection says.
pub(super) fn query_error(
    url: &PostgresUrl,
    statement_secs: u64,
    e: &tokio_postgres::Error,
) -> Error {
    let shown = url.shown();
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::QUERY_CANCELED {
            return Error::db(format!(
                "PostgreSQL database {shown} did not finish a statement within {statement_secs} s \
                 (statement_timeout in {}); check that the server is not stalled or overloaded, \
                 then run again (nothing uncommitted was kept)",
                url.named
            ));
        }
        if !is_lost(db.code()) {
            return server_error(&shown, db);
        }
    }
    let what = io_source(e).map_or_else(
        || "the server closed it".to_string(),
        |io| one_line(&io.to_string()),
    );
    Error::db(format!(
        "lost the connection to PostgreSQL database {shown} ({what}); check that the server is \
         running and reachable, then run again (the interrupted transaction was rolled back)"
    ))
}

/// Whether the server's answer says the connection is going away (a shutdown, a terminated
/// backend).
fn is_lost(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
}

/// The server's refusal, without the statement it quotes.
fn server_error(shown: &str, db: &tokio_postgres::error::DbError) -> Error {
    let code = db.code();
    let hint = if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        "another process holds the rows; run again"
    } else if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY {
        "the server's disk or memory is full; free space and run again"
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
    {
        "grant the user the needed privileges"
    } else {
        "check the server's log"
    };
    Error::db(format!(
        "PostgreSQL database {shown} refused the operation: {} (SQLSTATE {}); {hint}",
        one_line(db.message()),
        code.code()
    ))
}

/// The I/O failure underneath a driver error, if that is what it is.
fn io_source(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}
