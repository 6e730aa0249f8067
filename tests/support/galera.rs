//! A three-node MariaDB Galera cluster of a test's own, on loopback (SPEC §15): each node a
//! `mariadbd` with the galera-4 provider, its own data directory (`mariadb-install-db`) and
//! ports (SQL, group communication, IST, SST), run as the `mysql` user (the rsync state
//! transfer refuses to run as root). Node 1 bootstraps the cluster (`--wsrep-new-cluster`),
//! nodes 2 and 3 join it; [`Galera::form`] returns once every node says `wsrep_ready = ON`
//! and the cluster has three members, with how long that took. Every node is killed when the
//! cluster is dropped, also when the test panics.
//!
//! The nodes refuse a table without a primary key and tables of engines Galera does not
//! replicate (`wsrep_mode`, `innodb_force_primary_key`): every Galera test checks apr's
//! schema and init-load's shadow tables against them.
//!
//! The tests run only with `APR_TEST_GALERA=1` (set by `scripts/test.sh`), and one cluster at
//! a time per test binary ([`Galera::form`] holds a lock for the cluster's life): three
//! servers per test on a two-core machine are enough.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

/// Whether the Galera tests run (`APR_TEST_GALERA=1`).
pub fn enabled() -> bool {
    std::env::var("APR_TEST_GALERA").is_ok_and(|v| v.trim() == "1")
}

/// The galera-4 provider library.
const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";

/// Ports are taken in blocks of [`BLOCK`] from this range, below Linux's ephemeral range.
const PORTS: std::ops::Range<u16> = 20_000..32_000;
const BLOCK: u16 = 16;

/// One cluster at a time in a test binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub struct Node {
    child: Option<Child>,
    datadir: PathBuf,
    tmpdir: PathBuf,
    /// SQL, group communication, IST and SST ports.
    pub port: u16,
    gcomm: u16,
    ist: u16,
    sst: u16,
}

pub struct Galera {
    /// Field order: the nodes are killed (in `Drop`) before the directory goes.
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
    /// How long the cluster took to form (install not included).
    pub formed_in: Duration,
    _turn: MutexGuard<'static, ()>,
}

impl Galera {
    /// Installs three nodes and forms the cluster; panics naming what failed.
    pub fn form() -> Galera {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        assert!(
            Path::new(PROVIDER).exists(),
            "the Galera tests need galera-4 ({PROVIDER}); install galera-4"
        );
        let dir = tempfile::tempdir().unwrap();
        // mysql must reach its data directories under the test's temporary directory.
        chmod(dir.path(), "755");
        let base = free_block();
        let nodes: Vec<Node> = (0..3u16)
            .map(|i| {
                let home = dir.path().join(format!("n{}", i + 1));
                Node {
                    child: None,
                    datadir: home.join("data"),
                    tmpdir: home.join("tmp"),
                    port: base + i,
                    gcomm: base + 4 + i,
                    ist: base + 8 + i,
                    sst: base + 12 + i,
                }
            })
            .collect();
        let installs: Vec<Child> = nodes.iter().map(Node::install).collect();
        for mut install in installs {
            assert!(
                install.wait().unwrap().success(),
                "mariadb-install-db failed"
            );
        }
        let mut cluster = Galera {
            nodes,
            dir,
            formed_in: Duration::ZERO,
            _turn: turn,
        };
        let started = Instant::now();
        let peers = cluster.peers();
        cluster.nodes[0].start(&peers, true);
        cluster.wait_ready(0);
        cluster.nodes[1].start(&peers, false);
        cluster.nodes[2].start(&peers, false);
        for i in 0..3 {
            cluster.wait_ready(i);
        }
        cluster.formed_in = started.elapsed();
        eprintln!(
            "galera: the 3-node cluster formed in {:?}",
            cluster.formed_in
        );
        cluster
    }

    fn peers(&self) -> String {
        let addrs: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.gcomm))
            .collect();
        format!("gcomm://{}", addrs.join(","))
    }

    /// `mysql://root@127.0.0.1:PORT/db` of node `i` (0-based).
    pub fn url(&self, i: usize, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.nodes[i].port)
    }

    /// A connection to node `i`.
    pub fn conn(&self, i: usize) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.url(i, "")).unwrap()).unwrap()
    }

    /// Creates database `name` (it replicates to every node).
    pub fn create_database(&self, name: &str) {
        self.conn(0)
            .query_drop(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .unwrap();
    }

    /// A `wsrep_*` status value of node `i`.
    pub fn status(&self, i: usize, name: &str) -> Option<String> {
        let row: Option<(String, String)> = self
            .conn(i)
            .query_first(format!("SHOW STATUS LIKE '{name}'"))
            .unwrap();
        row.map(|(_, v)| v)
    }

    /// Kills node `i` (SIGKILL): the others go on as a cluster of two.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Waits until node `i` says it is ready and sees every started node in the cluster.
    fn wait_ready(&self, i: usize) {
        let started = Instant::now();
        let url = self.url(i, "");
        loop {
            if let Ok(mut c) = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()) {
                let ready: Option<(String, String)> =
                    c.query_first("SHOW STATUS LIKE 'wsrep_ready'").unwrap();
                let size: Option<(String, String)> = c
                    .query_first("SHOW STATUS LIKE 'wsrep_cluster_size'")
                    .unwrap();
                let live = self.nodes.iter().filter(|n| n.child.is_some()).count();
                if ready.is_some_and(|r| r.1 == "ON")
                    && size.is_some_and(|s| s.1.parse::<usize>().ok() == Some(live))
                {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "galera node {} was not ready within 120 s (see {}/err.log)",
                i + 1,
                self.nodes[i].datadir.parent().unwrap().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster's directory (each node's `err.log` is in `nN/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

impl Node {
    fn install(&self) -> Child {
        std::fs::create_dir_all(&self.tmpdir).unwrap();
        chown_mysql(self.tmpdir.parent().unwrap());
        Command::new("/usr/bin/mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir.display()))
            .arg(format!("--tmpdir={}", self.tmpdir.display()))
            .args(["--auth-root-authentication-method=normal", "--user=mysql"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadb-install-db")
    }

    fn start(&mut self, peers: &str, bootstrap: bool) {
        let home = self.datadir.parent().unwrap();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=mysql", "--regid=mysql", "--init-groups"])
            .arg("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir.display()))
            .arg(format!("--tmpdir={}", self.tmpdir.display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}/mysqld.sock", home.display()))
            .arg(format!("--pid-file={}/mysqld.pid", home.display()))
            .arg(format!("--log-error={}/err.log", home.display()))
            .args([
                "--bind-address=127.0.0.1",
                "--binlog-format=ROW",
                "--default-storage-engine=InnoDB",
                "--innodb-autoinc-lock-mode=2",
                "--innodb-buffer-pool-size=64M",
                "--wsrep-on=ON",
                "--wsrep-cluster-name=apr-test",
                "--wsrep-sst-method=rsync",
                // What Galera needs of apr, enforced: a primary key on every table apr
                // creates (init-load's shadow tables too), InnoDB only.
                "--wsrep-mode=REQUIRED_PRIMARY_KEY,STRICT_REPLICATION",
                "--innodb-force-primary-key=ON",
            ])
            .arg(format!("--wsrep-provider={PROVIDER}"))
            .arg(format!("--wsrep-cluster-address={peers}"))
            .arg(format!("--wsrep-node-address=127.0.0.1:{}", self.gcomm))
            .arg(format!("--wsrep-node-name=node{}", self.port))
            .arg(format!("--wsrep-sst-receive-address=127.0.0.1:{}", self.sst))
            .arg(format!(
                "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{};ist.recv_addr=127.0.0.1:{};gcache.size=64M",
                self.gcomm, self.ist
            ));
        if bootstrap {
            cmd.arg("--wsrep-new-cluster");
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("setpriv mariadbd");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A block of [`BLOCK`] consecutive ports nothing listens on now.
fn free_block() -> u16 {
    let mut rng = fastrand::Rng::new();
    for _ in 0..50 {
        let base = PORTS.start + rng.u16(0..(PORTS.end - PORTS.start) / BLOCK) * BLOCK;
        if (base..base + BLOCK).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no block of {BLOCK} free loopback ports for the Galera cluster");
}

fn chmod(path: &Path, mode: &str) {
    let done = Command::new("chmod").arg(mode).arg(path).status().unwrap();
    assert!(done.success(), "chmod {mode} {}", path.display());
}

fn chown_mysql(path: &Path) {
    let done = Command::new("chown")
        .args(["-R", "mysql:mysql"])
        .arg(path)
        .status()
        .unwrap();
    assert!(done.success(), "chown mysql {}", path.display());
}
