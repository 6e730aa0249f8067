//! The mapping of the driver's errors to one-line messages that name the database and what
//! to do, never the password or the SQL; a wait that ran out names the setting that bounds it.
//! A failed connection says which of refused, unknown host, timeout, login refused, unknown
//! database or malformed URL it was.

use std::net::ToSocketAddrs;

use super::url::{Timeouts, Wait};
use crate::error::{Error, one_line};

/// The server's answers of a transaction that lost to a concurrent one, which a retry of
/// the whole transaction may win: 1213, a deadlock or (Galera) a certification conflict
/// or a brute-force abort by a replicated write; 1205, a lock wait that ran out (on Galera,
/// waiting for rows a replicated write holds).
const CONTENDED: [u16; 2] = [1213, 1205];

/// One-line message for a failure on the database `shown`, given as `named`: what happened
/// and what to do.
/// Driver errors (a dead connection) are not shown as the driver's debug text.
pub(super) fn mysql_error(shown: &str, named: &str, e: mysql::Error) -> Error {
    let lost = |what: &str| {
        Error::db(format!(
            "lost the connection to MySQL database {shown} ({what}); check that the server is \
             running and reachable, then run again (the interrupted transaction was rolled back)"
        ))
    };
    match e {
        mysql::Error::IoError(io) => lost(&one_line(&io.to_string())),
        mysql::Error::CodecError(_) => lost("the connection broke"),
        mysql::Error::DriverError(d) => match d {
            mysql::DriverError::ConnectTimeout
            | mysql::DriverError::CouldNotConnect(_)
            | mysql::DriverError::PacketOutOfSync
            | mysql::DriverError::UnexpectedPacket
            | mysql::DriverError::Timeout => lost("the server closed it"),
            other => Error::db(format!(
                "MySQL database {shown}: {}; run again, and report it if it repeats",
                one_line(&other.to_string())
            )),
        },
        mysql::Error::MySqlError(m) => {
            // The server's message without any statement text it quotes.
            let msg = m.message.split(" near '").next().unwrap_or(&m.message);
            let hint = match m.code {
                1205 | 1213 => "another process holds the rows; run again",
                1114 | 1021 => "the server's disk is full; free space and run again",
                1142 | 1044 | 1045 | 1227 => "grant the user the needed privileges",
                2006 | 2013 => "check that the server is running, then run again",
                // WSREP has not yet prepared node for application use.
                1047 => {
                    "the Galera node is not ready (not in the cluster's primary component); \
                     point apr at a ready node or wait until this one rejoins"
                }
                _ => "check the server's log",
            };
            let text = format!(
                "MySQL database {shown} refused the operation: {} (error {}); {hint}",
                one_line(msg),
                m.code
            );
            if CONTENDED.contains(&m.code) {
                Error::Contended(text)
            } else {
                Error::db(text)
            }
        }
        mysql::Error::UrlError(u) => url_error(shown, named, &u),
        other => Error::db(format!(
            "MySQL database {shown}: unexpected data ({}); run again, and report it if it repeats",
            one_line(&other.to_string())
        )),
    }
}

/// A URL the driver cannot read, with what is wrong in the user's words (the driver's
/// display of a parse error is `URL ParseError { invalid port number }`).
pub(super) fn url_error(shown: &str, named: &str, e: &mysql::UrlError) -> Error {
    let problem = match e {
        mysql::UrlError::ParseError(p) => p.to_string(),
        other => other.to_string(),
    };
    Error::config(format!(
        "{named} '{shown}' is not a valid MySQL URL ({}); expected mysql://user:pass@host:port/db",
        one_line(&problem)
    ))
}

/// The error of a wait on the server that ran out (a frozen or unreachable server), naming
/// the database, what was waited for and the setting that bounds it.
pub(super) fn ran_out_error(shown: &str, t: &Timeouts, wait: Wait) -> Error {
    let limit = t.get(wait);
    let (secs, named) = (limit.limit.as_secs(), limit.named);
    let waited = match wait {
        Wait::Connect => {
            return Error::db(format!(
                "cannot connect to MySQL database {shown} within {secs} s ({named}); \
                 check that the server is running and reachable"
            ));
        }
        Wait::Read => "did not answer",
        Wait::Write => "did not take what apr sent",
    };
    Error::db(format!(
        "MySQL database {shown} {waited} within {secs} s ({named}); check that the server is \
         running and not stalled, then run again (nothing uncommitted was kept)"
    ))
}

/// One-line, password-free message for a failed connection.
pub(super) fn connect_error(
    shown: &str,
    named: &str,
    database: &str,
    t: &Timeouts,
    e: mysql::Error,
) -> Error {
    match &e {
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => {
            ran_out_error(shown, t, Wait::Connect)
        }
        mysql::Error::MySqlError(m) if m.code == 1049 => Error::config(format!(
            "MySQL database '{database}' does not exist at {shown}; create it \
             (CREATE DATABASE `{database}` CHARACTER SET utf8mb4) or fix {named}"
        )),
        // The server answers an unknown user as it answers a wrong password.
        mysql::Error::MySqlError(m) if m.code == 1045 => Error::config(format!(
            "MySQL refused the login for {shown}: unknown user or wrong password ({}); \
             check the user and password in {named}",
            one_line(&m.message)
        )),
        mysql::Error::MySqlError(m) if m.code == 1044 => Error::config(format!(
            "MySQL refused the login for {shown}: {}; grant the user access to the database \
             or fix {named}",
            one_line(&m.message)
        )),
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((
            addr,
            desc,
            kind,
        )))) => could_not_connect(shown, named, addr, desc, *kind),
        mysql::Error::IoError(io) => Error::db(format!(
            "cannot connect to MySQL at {shown}: {}; check that the server is running and the \
             host and port in {named}",
            one_line(&io.to_string())
        )),
        _ => mysql_error(shown, named, e),
    }
}

/// A TCP connection to `addr` (`host:port`, as the driver names it) that failed before
/// the server said anything: refused, a host that does not resolve, or another reason.
fn could_not_connect(
    shown: &str,
    named: &str,
    addr: &str,
    desc: &str,
    kind: std::io::ErrorKind,
) -> Error {
    if kind == std::io::ErrorKind::ConnectionRefused {
        return Error::db(format!(
            "cannot connect to MySQL at {shown}: {addr} refused the connection (nothing \
             listens there); check that the server is running and the host and port in {named}"
        ));
    }
    // The driver does not say whether the name failed to resolve: ask the resolver again.
    let resolves = addr
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .is_some_and(|(host, port)| (host, port).to_socket_addrs().is_ok());
    if !resolves {
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        return Error::config(format!(
            "cannot connect to MySQL at {shown}: unknown host '{host}'; check the host in {named}"
        ));
    }
    Error::db(format!(
        "cannot connect to MySQL at {shown}: {}; check that the server is running and the \
         host and port in {named}",
        one_line(desc)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_one_line_naming_the_database() {
        let io = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let msg = mysql_error("mysql://u:***@h:3306/apr", "URL", io).to_string();
        assert!(
            msg.starts_with("lost the connection to MySQL database mysql://u:***@h:3306/apr"),
            "{msg}"
        );
        assert!(!msg.contains("IoError") && !msg.contains('{'), "{msg}");
    }

    #[test]
    fn a_wait_that_ran_out_names_its_setting() {
        let mut t = Timeouts::default();
        t.read.named = "READ_SETTING";
        t.write.named = "WRITE_SETTING";
        let msg = ran_out_error("mysql://h/apr", &t, Wait::Read).to_string();
        assert!(
            msg.starts_with(
                "MySQL database mysql://h/apr did not answer within 60 s (READ_SETTING);"
            ),
            "{msg}"
        );
        let msg = ran_out_error("mysql://h/apr", &t, Wait::Write).to_string();
        assert!(
            msg.starts_with(
                "MySQL database mysql://h/apr did not take what apr sent within 60 s \
                 (WRITE_SETTING);"
            ),
            "{msg}"
        );
        let msg = ran_out_error("mysql://h/apr", &t, Wait::Connect).to_string();
        assert_eq!(
            msg,
            "cannot connect to MySQL database mysql://h/apr within 10 s (connect_timeout); \
             check that the server is running and reachable"
        );
        let refused =
            mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let msg = connect_error("mysql://h/apr", "URL", "apr", &t, refused).to_string();
        assert!(msg.ends_with("the host and port in URL"), "{msg}");
    }

    fn could_not(addr: &str, kind: std::io::ErrorKind) -> mysql::Error {
        let desc = "the driver's words".to_string();
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((
            addr.to_string(),
            desc,
            kind,
        ))))
    }

    /// Issue 28: refused, unknown host and a bad URL all read "lost the connection ...".
    #[test]
    fn a_failed_connection_says_why() {
        let t = Timeouts::default();
        let connect = |addr: &str, kind| {
            connect_error(
                "mysql://u:***@h/apr",
                "URL",
                "apr",
                &t,
                could_not(addr, kind),
            )
        };
        let e = connect("127.0.0.1:3307", std::io::ErrorKind::ConnectionRefused);
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "cannot connect to MySQL at mysql://u:***@h/apr: 127.0.0.1:3307 refused the \
             connection (nothing listens there); check that the server is running and the \
             host and port in URL"
        );
        // `.invalid` never resolves (RFC 6761).
        let e = connect("nosuchhost.invalid:3306", std::io::ErrorKind::Other);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "cannot connect to MySQL at mysql://u:***@h/apr: unknown host \
             'nosuchhost.invalid'; check the host in URL"
        );
        let e = connect_error(
            "mysql://u:***@h/apr",
            "URL",
            "apr",
            &t,
            mysql::Error::DriverError(mysql::DriverError::ConnectTimeout),
        );
        assert_eq!(
            e.to_string(),
            "cannot connect to MySQL database mysql://u:***@h/apr within 10 s \
             (connect_timeout); check that the server is running and reachable"
        );
        let e = connect("127.0.0.1:3306", std::io::ErrorKind::Other);
        assert!(e.to_string().contains(": the driver's words; check"), "{e}");
        let bad = mysql::Opts::from_url("mysql://u:p@h:99999/apr").unwrap_err();
        assert_eq!(
            url_error("mysql://u:***@h:99999/apr", "URL", &bad).to_string(),
            "URL 'mysql://u:***@h:99999/apr' is not a valid MySQL URL (invalid port number); \
             expected mysql://user:pass@host:port/db"
        );
    }
}
