//! A PostgreSQL server of the test's own ([`PgServer::install`]): `initdb` into a tempdir as
//! the `postgres` user (PostgreSQL refuses to run as root), started on a free loopback port
//! so that [`PgServer::freeze`] stops the postmaster and every backend (SIGSTOP), as a frozen
//! server. Stopped (SIGQUIT: the postmaster ends its backends) when dropped.

use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the server's programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct PgServer {
    child: Option<Child>,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The `postgres` system user's ids.
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        assert!(out.status.success(), "no postgres system user");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    /// A new cluster (trust authentication, user `postgres`), running.
    pub fn install() -> PgServer {
        let (uid, gid) = postgres_ids();
        let dir = tempfile::tempdir().unwrap();
        chown(dir.path(), Some(uid), Some(gid)).unwrap();
        let data = dir.path().join("data");
        let made = Command::new(format!("{BIN}/initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .uid(uid)
            .gid(gid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "initdb failed");
        let port = free_port();
        let child = Command::new(format!("{BIN}/postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "fsync=off", "-c", "max_connections=20"])
            .uid(uid)
            .gid(gid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = PgServer {
            child: Some(child),
            port,
            _dir: dir,
        };
        let start = Instant::now();
        while server.client("postgres").is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the test's PostgreSQL server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn client(&self, db: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(
            &format!("postgres://postgres@127.0.0.1:{}/{db}", self.port),
            postgres::NoTls,
        )
    }

    /// Creates database `db`.
    pub fn create_database(&self, db: &str) {
        self.client("postgres")
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .unwrap();
    }

    /// The URL of database `db` (no TLS: the test's server has none).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    fn postmaster(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Stops the postmaster and every process it started (SIGSTOP; the backends are each
    /// in a session of their own, so the postmaster first, then its children): the kernel
    /// still accepts connections and takes what is sent until the buffers fill, and nothing
    /// answers. It runs again (SIGCONT) when the guard is dropped, also when the test panics.
    pub fn freeze(&self) -> Frozen {
        let postmaster = self.postmaster();
        signal(postmaster, "-STOP");
        let children =
            std::fs::read_to_string(format!("/proc/{postmaster}/task/{postmaster}/children"))
                .unwrap_or_default();
        let mut pids: Vec<u32> = children
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        for &pid in &pids {
            signal(pid, "-STOP");
        }
        pids.push(postmaster);
        Frozen { pids }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            // Frozen backends (a failed test's) run again and end with their postmaster.
            drop(self.freeze());
        }
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "-QUIT");
            let _ = child.wait();
        }
    }
}

/// A server stopped by [`PgServer::freeze`]; continued when dropped (the postmaster last).
pub struct Frozen {
    pids: Vec<u32>,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.pids {
            signal(pid, "-CONT");
        }
    }
}

/// Sends `sig` to process `pid` (one the test's server started).
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}
