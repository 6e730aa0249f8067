//! The connection and every wait on it, bounded (issue 26's bounds, as on MySQL): the sync
//! `postgres` crate offers no socket read or write timeout (its socket is tokio's, never
//! blocking), so a SIGSTOPped server hung apr until the kernel gave up, if ever. Here apr
//! drives `tokio-postgres` on a runtime of its own: the TCP connection, TLS, the startup
//! and the login run under the connect timeout as a whole, and every request after that
//! (sending it, then each answer) under the read and write timeouts. A wait that runs out
//! shuts the socket down at once, so that nothing after it (the rollback, the lock release,
//! the goodbye) waits on the server, and the server ends the session once it runs again.

use std::future::Future;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::Shutdown;
use rustix::net::sockopt;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_postgres::Client;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::Wait;

/// Idle seconds before the kernel probes a silent link (a dead peer, not a frozen one).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Why a request (or the connection) failed.
pub(super) enum Failed {
    /// The socket failed before the server answered (refused, unknown host, reset).
    Io(std::io::Error),
    /// The driver's error: the server's refusal, a closed connection, a TLS failure.
    Pg(tokio_postgres::Error),
    /// A wait outlasted its timeout; the socket is shut down.
    RanOut(Wait),
    /// An earlier wait ran out: the connection is gone and nothing more is sent.
    Cut,
}

impl From<tokio_postgres::Error> for Failed {
    fn from(e: tokio_postgres::Error) -> Failed {
        Failed::Pg(e)
    }
}

/// One connection: its runtime (a thread's own, driven only while apr waits on it), the
/// client, and the socket under it.
pub(super) struct Session {
    rt: Runtime,
    pub(super) client: Client,
    fd: RawFd,
    read: Duration,
    write: Duration,
    cut: AtomicBool,
}

/// The three waits of a connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub connect: Duration,
    pub read: Duration,
    pub write: Duration,
}

impl Session {
    /// Connects to `host:port` and logs in as `config` says, within `limits.connect` as a
    /// whole.
    pub(super) fn connect(
        config: &tokio_postgres::Config,
        host: &str,
        port: u16,
        mut tls: MakeRustlsConnect,
        limits: Limits,
    ) -> Result<Session, Failed> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Failed::Io)?;
        let dial = async {
            let stream = TcpStream::connect((host, port)).await.map_err(Failed::Io)?;
            let fd = stream.as_raw_fd();
            // Best effort: a link that died silently is then noticed by the kernel.
            let _ = stream.set_nodelay(true);
            let _ = sockopt::set_socket_keepalive(&stream, true);
            let _ = sockopt::set_tcp_keepidle(&stream, KEEPALIVE_IDLE);
            let connector = match MakeTlsConnect::<TcpStream>::make_tls_connect(&mut tls, host) {
                Ok(c) => c,
                Err(never) => match never {},
            };
            let (client, connection) = config.connect_raw(stream, connector).await?;
            Ok::<_, Failed>((client, connection, fd))
        };
        let (client, connection, fd) = rt
            .block_on(async { tokio::time::timeout(limits.connect, dial).await })
            .map_err(|_| Failed::RanOut(Wait::Connect))??;
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(Session {
            rt,
            client,
            fd,
            read: limits.read,
            write: limits.write,
            cut: AtomicBool::new(false),
        })
    }

    /// Whether an earlier wait ran out (the connection is shut down).
    pub(super) fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Relaxed)
    }

    /// Whether the connection can no longer be used.
    pub(super) fn is_closed(&self) -> bool {
        self.is_cut() || self.client.is_closed()
    }

    /// Runs `request` (one request to the server and its answer, or the next rows of one)
    /// to its end, or until a wait runs out: past the write timeout while the socket cannot
    /// take a byte (the server stopped reading), else past the read timeout.
    pub(super) fn wait<T, F>(&self, request: F) -> Result<T, Failed>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        if self.is_cut() {
            return Err(Failed::Cut);
        }
        let (fd, read, write) = (self.fd, self.read, self.write);
        let outcome = self.rt.block_on(async move {
            let mut request = pin!(request);
            let start = tokio::time::Instant::now();
            let mut marks = [(write, Wait::Write), (read, Wait::Read)];
            marks.sort_by_key(|m| m.0);
            for (at, wait) in marks {
                if let Ok(done) = tokio::time::timeout_at(start + at, &mut request).await {
                    return Ok(done);
                }
                if wait == Wait::Read || !writable(fd) {
                    return Err(if writable(fd) {
                        Wait::Read
                    } else {
                        Wait::Write
                    });
                }
            }
            Err(Wait::Read)
        });
        match outcome {
            Ok(done) => done.map_err(Failed::Pg),
            Err(wait) => {
                self.cut.store(true, Ordering::Relaxed);
                // SAFETY: the socket is the connection's, open while `self.rt` holds the
                // connection's task, which `self` owns.
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = rustix::net::shutdown(fd, Shutdown::Both);
                Err(Failed::RanOut(wait))
            }
        }
    }
}

/// Whether the socket can take a byte now.
fn writable(fd: RawFd) -> bool {
    // SAFETY: called only while the connection (and so its socket) is open; see `wait`.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::OUT)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    !matches!(poll(&mut fds, Some(&now)), Ok(0))
}
