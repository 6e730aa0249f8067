//! A MariaDB server of a test's own (not the shared one at 127.0.0.1:3306): its own data
//! directory (initialised by `mariadb-install-db`), port and socket, started with the
//! options the test needs (a small `max_allowed_packet`), killed and restarted at will, and
//! killed when dropped.
//!
//! The port is one the server binds itself: `mariadbd --port=0` means its default, 3306, so
//! a port below the kernel's ephemeral range (where no `:0` bind and no outgoing connection
//! of another test lands) is tried, and another one when the server exits because it could
//! not bind it. Tests that use it need MariaDB's programs installed, as `scripts/test.sh`
//! makes sure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

/// `name` from the system directory it is installed in, else from `PATH`.
fn program(dir: &str, name: &str) -> PathBuf {
    let installed = Path::new(dir).join(name);
    if installed.exists() {
        installed
    } else {
        PathBuf::from(name)
    }
}

/// Ports tried for a server: below Linux's default ephemeral range (32768-60999).
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// How a start ended.
enum Started {
    Up(Child),
    /// The server exited before it answered: most likely its port was taken.
    Exited(std::process::ExitStatus),
}

pub struct Mariadb {
    /// Holds the data directory; removed after the server is killed (field order).
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    options: Vec<String>,
}

impl Mariadb {
    /// Initialises a data directory and starts a server on it with `options` added (e.g.
    /// `--max-allowed-packet=1M`).
    pub fn install(options: &[&str]) -> Mariadb {
        let dir = tempfile::tempdir().unwrap();
        let datadir = dir.path().join("data");
        let tmpdir = dir.path().join("tmp");
        std::fs::create_dir(&tmpdir).unwrap();
        // --no-defaults: the system's my.cnf (user, log paths) is not this server's.
        // --tmpdir: two installs at once in the shared /tmp clash on their temporary tables.
        let installed = Command::new(program("/usr/bin", "mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmpdir.display()))
            .args(["--auth-root-authentication-method=normal", "--user=root"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db");
        assert!(installed.success(), "mariadb-install-db failed");
        let mut server = Mariadb {
            child: None,
            dir,
            port: 0,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        let mut rng = fastrand::Rng::new();
        let mut tried = Vec::new();
        while tried.len() < 10 {
            server.port = rng.u16(PORTS);
            tried.push(server.port);
            if let Started::Up(child) = server.start() {
                server.child = Some(child);
                return server;
            }
        }
        panic!("the test's own MariaDB did not start on any of the ports {tried:?}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` as apr expects it (utf8mb4, binary collation).
    pub fn create_database(&self, name: &str) {
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&self.url("")).unwrap()).unwrap();
        c.query_drop(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        ))
        .unwrap();
    }

    /// Starts the server again on its data directory and port (after [`Mariadb::kill`]:
    /// InnoDB recovers), and waits until it accepts connections. The port stays: URLs of
    /// the test name it.
    pub fn restart(&mut self) {
        self.kill();
        match self.start() {
            Started::Up(child) => self.child = Some(child),
            Started::Exited(status) => panic!(
                "the test's own MariaDB did not start again on port {}: {status}",
                self.port
            ),
        }
    }

    /// Starts `mariadbd` on the data directory and [`Mariadb::port`] and waits until it
    /// accepts connections or exits.
    fn start(&self) -> Started {
        let datadir = self.dir.path().join("data");
        let mut child = Command::new(program("/usr/sbin", "mariadbd"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!(
                "--tmpdir={}",
                self.dir.path().join("tmp").display()
            ))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}/mysqld.sock", datadir.display()))
            .args([
                "--skip-networking=0",
                "--bind-address=127.0.0.1",
                "--user=root",
            ])
            .arg(format!("--pid-file={}/mysqld.pid", datadir.display()))
            .args(&self.options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd");
        let ours = datadir.canonicalize().unwrap();
        let started = Instant::now();
        let url = self.url("");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Started::Exited(status);
            }
            if let Ok(mut conn) = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()) {
                let answered: Option<String> = conn.query_first("SELECT @@datadir").unwrap();
                if answered.is_some_and(|d| Path::new(d.trim_end_matches('/')) == ours) {
                    return Started::Up(child);
                }
                // Another server (another test's) holds the port: this one cannot bind it.
                let _ = child.kill();
                return Started::Exited(child.wait().unwrap());
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the test's own MariaDB did not start within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server with SIGSTOP, as a frozen server: the kernel still accepts its
    /// connections and takes what is sent until the buffers fill, and nothing answers. It
    /// runs again (SIGCONT) when the guard is dropped, also when the test panics.
    pub fn freeze(&self) -> Frozen {
        let pid = self.child.as_ref().expect("the server is running").id();
        signal(pid, "-STOP");
        wait_stopped(pid);
        Frozen { pid }
    }

    /// Kills the server (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server stopped by [`Mariadb::freeze`]; continued when dropped.
pub struct Frozen {
    pid: u32,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.pid, "-CONT");
    }
}

/// Waits until every thread of `pid` is stopped (`T` in `/proc/PID/task/*/stat`): the
/// signal is delivered asynchronously, so a test that goes on at once could still be
/// answered by a thread of the server on a loaded machine.
fn wait_stopped(pid: u32) {
    let started = Instant::now();
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
        let running = tasks.flatten().any(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // `PID (COMM) STATE ...`: the state follows the last parenthesis.
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            // (A thread that is exiting, Z or X, runs no more either.)
            !state.is_some_and(|s| s.starts_with(['T', 't', 'Z', 'X']))
        });
        if !running {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the test's MariaDB (pid {pid}) did not stop within 10 s of SIGSTOP"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(pid: u32, sig: &str) {
    let sent = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {sig} {pid} failed");
}
