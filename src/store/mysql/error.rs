//! The mapping of the driver's errors to one-line messages that name the database and what
//! to do, never the password or the SQL; a wait that ran out names the setting that bounds it.

use super::url::Timeouts;
use crate::error::{Error, one_line};

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
                _ => "check the server's log",
            };
            Error::db(format!(
                "MySQL database {shown} refused the operation: {} (error {}); {hint}",
                one_line(msg),
                m.code
            ))
        }
        mysql::Error::UrlError(u) => Error::config(format!(
            "{named} '{shown}' is not a valid MySQL URL ({}); expected mysql://user:pass@host:port/db",
            one_line(&u.to_string())
        )),
        other => Error::db(format!(
            "MySQL database {shown}: unexpected data ({}); run again, and report it if it repeats",
            one_line(&other.to_string())
        )),
    }
}

/// The error of a wait that ran out (a frozen or unreachable server), naming the database
/// and the setting that bounds the wait; `None` for any other failure.
pub(super) fn timed_out(shown: &str, t: &Timeouts, e: &mysql::Error) -> Option<Error> {
    let io = match e {
        mysql::Error::IoError(io) => io,
        // The packet codec wraps the socket's error; its source is the io::Error.
        mysql::Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|s| s.downcast_ref::<std::io::Error>())?
        }
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => {
            return Some(Error::db(format!(
                "cannot connect to MySQL database {shown} within {} s ({}); \
                 check that the server is running and reachable",
                t.connect.limit.as_secs(),
                t.connect.named
            )));
        }
        _ => return None,
    };
    if !matches!(
        io.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        return None;
    }
    Some(Error::db(format!(
        "MySQL database {shown} did not answer within {} s ({}); \
         check that the server is running and not stalled, then run again (nothing \
         uncommitted was kept)",
        t.read.limit.as_secs(),
        t.read.named
    )))
}

/// One-line, password-free message for a failed connection.
pub(super) fn connect_error(
    shown: &str,
    named: &str,
    database: &str,
    t: &Timeouts,
    e: mysql::Error,
) -> Error {
    if let Some(err) = timed_out(shown, t, &e) {
        return err;
    }
    match &e {
        mysql::Error::MySqlError(m) if m.code == 1049 => Error::config(format!(
            "MySQL database '{database}' does not exist at {shown}; create it \
             (CREATE DATABASE `{database}` CHARACTER SET utf8mb4) or fix {named}"
        )),
        mysql::Error::MySqlError(m) if m.code == 1045 || m.code == 1044 => Error::config(format!(
            "MySQL refused the login for {shown}: {}; check the user and password in {named}",
            one_line(&m.message)
        )),
        mysql::Error::IoError(io) => Error::db(format!(
            "cannot connect to MySQL at {shown}: {}; check that the server is running and the \
             host and port in {named}",
            one_line(&io.to_string())
        )),
        _ => mysql_error(shown, named, e),
    }
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
        let io = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::TimedOut));
        let msg = timed_out("mysql://h/apr", &t, &io).unwrap().to_string();
        assert!(
            msg.starts_with(
                "MySQL database mysql://h/apr did not answer within 120 s (READ_SETTING);"
            ),
            "{msg}"
        );
        let refused =
            mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(timed_out("mysql://h/apr", &t, &refused).is_none());
        let msg = connect_error("mysql://h/apr", "URL", "apr", &t, refused).to_string();
        assert!(msg.ends_with("the host and port in URL"), "{msg}");
    }
}
