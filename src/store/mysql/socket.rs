//! The connection's socket, so that every wait on the server is bounded by the setting that
//! names it (issue 26: a SIGSTOPped server outlasted them threefold and more). The driver
//! applies one read and one write timeout to every `recv`/`send` from the connection on,
//! handshake included, and after a wait runs out it would still send the rollback, the lock
//! release, each cached statement's close and the goodbye, each waiting as long again (a
//! write that stalled leaves its bytes queued, so every later command waits behind them).
//! Here the handshake runs under the connect timeout as a whole, the socket gets the read and
//! write timeouts only once it is connected, and a connection that failed is shut down at
//! once, so that nothing after the failure waits on the server.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::mpsc;

use mysql::{Conn, Opts, OptsBuilder};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::Shutdown;
use rustix::net::sockopt::{Timeout, set_socket_timeout};

use super::url::{Timeouts, Wait};

/// Why a connection could not be made.
pub(super) enum Dialed {
    /// The server answered with an error, or the socket failed, before the connect timeout.
    Failed(mysql::Error),
    /// The TCP connection, handshake and login together outlasted the connect timeout.
    TimedOut,
}

/// Connects with `opts` (TCP connect, handshake, login, the driver's set-up statements and
/// `init`) within `t.connect` as a whole, then gives the socket the read and write timeouts.
pub(super) fn dial(opts: &Opts, t: &Timeouts) -> Result<Conn, Dialed> {
    let limit = t.connect.limit;
    // Every single wait of the handshake is bounded by the connect timeout too, so that a
    // handshake given up on below ends on its own soon after (its thread then drops it).
    let opts: Opts = OptsBuilder::from_opts(opts.clone())
        .tcp_connect_timeout(Some(limit))
        .read_timeout(Some(limit))
        .write_timeout(Some(limit))
        .into();
    let (tx, rx) = mpsc::sync_channel(1);
    // The driver's handshake may take several waits (the greeting, the login, its own
    // queries, a second connection over the server's Unix socket): it runs beside this
    // thread, which waits for it at most the connect timeout.
    std::thread::Builder::new()
        .name("apr-mysql-connect".into())
        .spawn(move || {
            let _ = tx.send(Conn::new(opts));
        })
        .map_err(|e| Dialed::Failed(mysql::Error::IoError(e)))?;
    let conn = match rx.recv_timeout(limit) {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) if ran_out(&e) => return Err(Dialed::TimedOut),
        Ok(Err(e)) => return Err(Dialed::Failed(e)),
        Err(_) => return Err(Dialed::TimedOut),
    };
    let fd = fd(&conn);
    set_socket_timeout(fd, Timeout::Recv, Some(t.read.limit))
        .and_then(|()| set_socket_timeout(fd, Timeout::Send, Some(t.write.limit)))
        .map_err(|e| Dialed::Failed(mysql::Error::IoError(e.into())))?;
    Ok(conn)
}

/// The connection's socket, borrowed for as long as the connection lives.
fn fd(conn: &Conn) -> BorrowedFd<'_> {
    // SAFETY: the descriptor is the connection's open socket, which the connection closes
    // only when it is dropped; the borrow cannot outlive `conn`.
    unsafe { BorrowedFd::borrow_raw(conn.as_raw_fd()) }
}

/// Whether `e` is a wait on the socket that ran out (the driver wraps the socket's error in
/// its codec's, and a `LOAD DATA LOCAL` sender's in an `io::Error` of its own).
pub(super) fn ran_out(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::IoError(io) => io_ran_out(io),
        mysql::Error::CodecError(codec) => std::error::Error::source(codec)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(io_ran_out),
        _ => false,
    }
}

fn io_ran_out(io: &std::io::Error) -> bool {
    matches!(
        io.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || io.get_ref().is_some_and(|inner| {
        // The sender boxes the driver's error once more than `io::Error` needs.
        let driver = inner
            .downcast_ref::<mysql::Error>()
            .or_else(|| inner.downcast_ref::<Box<mysql::Error>>().map(|b| &**b));
        driver.is_some_and(ran_out)
    })
}

/// Which wait ran out on `conn`: the send, when the socket still cannot take a byte (the
/// server stopped reading what apr sends), else the answer.
pub(super) fn stalled_wait(conn: &Conn) -> Wait {
    let mut fds = [PollFd::from_borrowed_fd(fd(conn), PollFlags::OUT)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&now)) {
        Ok(0) => Wait::Write,
        _ => Wait::Read,
    }
}

/// Shuts the connection's socket down, both ways: whatever the driver still sends (the
/// goodbye, the closing of cached statements when it is dropped) fails at once instead of
/// waiting on the server, and the server, once it runs again, ends the session (rolling back
/// what it had not committed, freeing its locks).
pub(super) fn cut(conn: &Conn) {
    let _ = rustix::net::shutdown(fd(conn), Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(kind: std::io::ErrorKind) -> mysql::Error {
        // What the `LOAD DATA LOCAL` sender returns: the driver's error inside an io::Error.
        let inner = mysql::Error::IoError(std::io::Error::from(kind));
        mysql::Error::IoError(std::io::Error::other(Box::new(inner)))
    }

    #[test]
    fn a_wait_that_ran_out_is_found_however_deep_the_driver_wraps_it() {
        for kind in [std::io::ErrorKind::TimedOut, std::io::ErrorKind::WouldBlock] {
            assert!(ran_out(&mysql::Error::IoError(kind.into())), "{kind:?}");
            assert!(ran_out(&wrapped(kind)), "{kind:?}");
        }
        for kind in [
            std::io::ErrorKind::BrokenPipe,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::UnexpectedEof,
        ] {
            assert!(!ran_out(&mysql::Error::IoError(kind.into())), "{kind:?}");
            assert!(!ran_out(&wrapped(kind)), "{kind:?}");
        }
        assert!(!ran_out(&mysql::Error::DriverError(
            mysql::DriverError::SetupError
        )));
    }
}
