//! The queue_log bench's side-by-side stage (issue 27): the real release binary against the
//! Python peer parser (`../shared/baselines/py_queue_log_parser.py`, or `APR_BENCH_PEER`) on
//! the same generated file, in the same run, interleaved round by round so that a change of
//! the machine's load hits both; medians of `APR_BENCH_ROUNDS` rounds (default 3, at least 3).
//!
//! Every run is a whole process timed by `/usr/bin/time` (wall, user + system CPU, peak RSS).
//! A MariaDB load (with `APR_BENCH_MYSQL_URL`, a disposable database that each round drops
//! and creates again) also counts the local server's CPU over the run: apr's time there is
//! mostly the server's.

use std::path::Path;
use std::process::Command;

use crate::clock::{proc_cpu_secs, server_pid};

/// One whole-process run.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    wall: f64,
    cpu: f64,
    rss_mib: f64,
    /// The database server's CPU over the run (MariaDB only).
    server_cpu: f64,
}

/// Runs `cmd` under `/usr/bin/time`, panicking (with its stderr) when it fails.
fn timed(cmd: &mut Command, dir: &Path, server: Option<u32>) -> Run {
    let report = dir.join("time.txt");
    let program = cmd.get_program().to_os_string();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_os_string()).collect();
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(dir);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    let before = server.map(proc_cpu_secs);
    let out = wrapped.output().expect("run /usr/bin/time");
    let server_cpu = match (server, before) {
        (Some(pid), Some(b)) => proc_cpu_secs(pid) - b,
        _ => 0.0,
    };
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).expect("/usr/bin/time's report");
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(|x| x.parse().expect("a figure of /usr/bin/time"))
        .collect();
    Run {
        wall: f[0],
        cpu: f[1] + f[2],
        rss_mib: f[3] / 1024.0,
        server_cpu,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The medians of a kind of run, printed with every round's figures.
fn summarize(name: &str, runs: &[Run]) -> Run {
    let m = Run {
        wall: median(runs.iter().map(|r| r.wall).collect()),
        cpu: median(runs.iter().map(|r| r.cpu).collect()),
        rss_mib: median(runs.iter().map(|r| r.rss_mib).collect()),
        server_cpu: median(runs.iter().map(|r| r.server_cpu).collect()),
    };
    let each: Vec<String> = runs
        .iter()
        .map(|r| {
            let server = if r.server_cpu > 0.0 {
                format!(" + server {:.2}", r.server_cpu)
            } else {
                String::new()
            };
            format!("{:.2}s wall / {:.2} CPU-s{server}", r.wall, r.cpu)
        })
        .collect();
    println!(
        "  {name}: median {:.2}s wall, {:.2} CPU-s{}, peak RSS {:.1} MiB (rounds: {})",
        m.wall,
        m.cpu,
        if m.server_cpu > 0.0 {
            format!(" + server {:.2} CPU-s", m.server_cpu)
        } else {
            String::new()
        },
        m.rss_mib,
        each.join("; ")
    );
    m
}

/// Drops and creates the database `url` names, so that each round loads into an empty one.
fn fresh_mysql(url: &str) {
    use mysql::prelude::Queryable;
    let opts = mysql::Opts::from_url(url).expect("APR_BENCH_MYSQL_URL");
    let db = opts
        .get_db_name()
        .expect("APR_BENCH_MYSQL_URL names a database")
        .to_string();
    let server = mysql::OptsBuilder::from_opts(opts).db_name(None::<String>);
    let mut conn = mysql::Conn::new(server).expect("connect to APR_BENCH_MYSQL_URL");
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
        .expect("drop the bench database");
    conn.query_drop(format!("CREATE DATABASE `{db}`"))
        .expect("create the bench database");
}

/// The side-by-side rounds on the generated file `file`, in `dir`.
pub fn compare(file: &Path, dir: &Path) {
    let rounds: usize = std::env::var("APR_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(3);
    let peer = std::env::var("APR_BENCH_PEER").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/baselines/py_queue_log_parser.py"
        )
        .to_string()
    });
    let apr = env!("CARGO_BIN_EXE_apr");
    let mysql_url = std::env::var("APR_BENCH_MYSQL_URL").ok();
    let server = mysql_url.as_ref().and_then(|_| server_pid());
    let have_peer = Path::new(&peer).exists();
    if !have_peer {
        println!("side by side: no peer parser at {peer} (APR_BENCH_PEER); apr runs only");
    }
    let (mut python, mut dry, mut sqlite, mut maria) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        if have_peer {
            python.push(timed(
                Command::new("python3").arg(&peer).arg(file),
                dir,
                None,
            ));
        }
        dry.push(timed(
            Command::new(apr)
                .args(["parse-queue-log", "--dry-run"])
                .arg(file)
                .env("APR_TIMEZONE", "UTC")
                .env("APR_DATABASE_URL", "sqlite://none.db"),
            dir,
            None,
        ));
        let db = dir.join(format!("round{round}.db"));
        sqlite.push(timed(
            Command::new(apr)
                .arg("parse-queue-log")
                .arg(file)
                .env("APR_TIMEZONE", "UTC")
                .env("APR_DATABASE_URL", format!("sqlite://{}", db.display())),
            dir,
            None,
        ));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        if let Some(url) = &mysql_url {
            fresh_mysql(url);
            maria.push(timed(
                Command::new(apr)
                    .arg("parse-queue-log")
                    .arg(file)
                    .env("APR_TIMEZONE", "UTC")
                    .env("APR_DATABASE_URL", url),
                dir,
                server,
            ));
        }
    }
    println!("side by side, {rounds} rounds, whole processes (release binary {apr}):");
    let py = have_peer.then(|| summarize("python3 peer parser", &python));
    let dry = summarize("apr parse-queue-log --dry-run", &dry);
    let sqlite = summarize("apr parse-queue-log into SQLite", &sqlite);
    let maria = (!maria.is_empty()).then(|| summarize("apr parse-queue-log into MariaDB", &maria));
    let Some(py) = py else { return };
    let ratio = |name: &str, wall: f64, cpu: f64, target: f64| {
        let by_wall = py.wall / wall;
        let by_cpu = py.cpu / cpu;
        println!(
            "  {name}: {by_wall:.2}x the peer by wall time, {by_cpu:.2}x by CPU time \
             (target >= {target}x: {})",
            if by_wall >= target && by_cpu >= target {
                "met"
            } else {
                "MISSED"
            }
        );
    };
    println!("ratios (the peer's median over apr's median):");
    ratio("dry run", dry.wall, dry.cpu, 15.0);
    ratio("SQLite load", sqlite.wall, sqlite.cpu, 3.0);
    if let Some(m) = maria {
        ratio(
            "MariaDB load (apr + mariadbd CPU)",
            m.wall,
            m.cpu + m.server_cpu,
            1.0,
        );
    }
    let peak = [Some(dry), Some(sqlite), maria]
        .iter()
        .flatten()
        .map(|r| r.rss_mib)
        .fold(0.0, f64::max);
    println!(
        "  apr's peak RSS over these runs: {peak:.1} MiB (target < 64 MiB: {})",
        if peak < 64.0 { "met" } else { "MISSED" }
    );
}
