//! queue_log throughput (SPEC §8): generates a 1 M-line queue_log of a large center, then
//! measures parsing + derivation in memory, and the full load into SQLite (and into MariaDB
//! when `APR_BENCH_MYSQL_URL` names an existing, disposable database).
//!
//! `cargo bench --bench queue_log` (release build). Prints lines per second per stage.
//! `APR_BENCH_STAGES` picks stages (comma-separated `parse,derive,sqlite,mysql`; default
//! all, `mysql` only with its URL), for profiling one; `APR_BENCH_KEEP=DIR` writes the
//! generated file to `DIR/queue_log` to time the real binary on it.

use std::fmt::Write as _;
use std::time::Instant;

use apr::hours::Zone;
use apr::source::queue_log::derive::AgentMap;
use apr::source::queue_log::load::{DEFAULT_CHUNK_LINES, LoadOptions, dry_run, load_files};
use apr::store::queue::QueueStore;

const LINES: usize = 1_000_000;
const AGENTS: usize = 2_000;
const QUEUES: usize = 20;

/// A deterministic day: agents join their queues and take breaks; calls enter, ring, connect
/// and complete, some abandon or ring unanswered first.
fn generate() -> String {
    let mut out = String::with_capacity(LINES * 70);
    let mut n = 0usize;
    let t0: i64 = 1_757_203_200;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for a in 0..AGENTS {
        let _ = writeln!(
            out,
            "{}|NONE|q{}|PJSIP/{}|ADDMEMBER|",
            t0 + (a as i64 % 600),
            a % QUEUES,
            1000 + a
        );
        n += 1;
    }
    let mut t = t0 + 600;
    let mut call = 0u64;
    while n < LINES {
        t += (rnd() % 2) as i64;
        call += 1;
        let q = rnd() as usize % QUEUES;
        let agent = 1000 + (rnd() as usize % (AGENTS / QUEUES)) * QUEUES + q;
        let id = format!("{t}.{call}");
        let _ = writeln!(out, "{t}|{id}|q{q}|NONE|ENTERQUEUE||97150{call:07}|1");
        n += 1;
        match rnd() % 10 {
            0 => {
                let _ = writeln!(out, "{}|{id}|q{q}|NONE|ABANDON|1|1|12", t + 12);
                n += 1;
            }
            1 => {
                let _ = writeln!(out, "{}|{id}|q{q}|NONE|PAUSE|Lunch", t + 1);
                let _ = writeln!(out, "{}|NONE|q{q}|PJSIP/{agent}|UNPAUSE|", t + 2);
                n += 2;
            }
            r => {
                if r < 4 {
                    let _ = writeln!(
                        out,
                        "{}|{id}|q{q}|PJSIP/{}|RINGNOANSWER|15000",
                        t + 15,
                        agent + QUEUES
                    );
                    n += 1;
                }
                let _ = writeln!(out, "{}|{id}|q{q}|PJSIP/{agent}|CONNECT|18|{id}1|3", t + 18);
                let _ = writeln!(
                    out,
                    "{}|{id}|q{q}|PJSIP/{agent}|COMPLETECALLER|18|95|1",
                    t + 113
                );
                n += 2;
            }
        }
    }
    out
}

fn rate(lines: u64, secs: f64) -> String {
    format!(
        "{:.2} M lines/s ({lines} lines in {secs:.2}s)",
        lines as f64 / secs / 1e6
    )
}

fn load_into(store: &mut dyn QueueStore, path: &str) -> (u64, f64) {
    let started = Instant::now();
    let summary = load_files(
        store,
        &[path.to_string()],
        &AgentMap::default(),
        LoadOptions {
            zone: Zone::UTC,
            max_call_secs: 4 * 3600,
            chunk_lines: DEFAULT_CHUNK_LINES as usize,
            bounds: apr::bounds::TimeBounds::new(chrono::Utc::now().timestamp(), None),
        },
        &mut |_| {},
    )
    .expect("load");
    (summary.lines_read, started.elapsed().as_secs_f64())
}

fn main() {
    let stages = std::env::var("APR_BENCH_STAGES").unwrap_or_default();
    let stage = |name: &str| stages.is_empty() || stages.split(',').any(|s| s.trim() == name);
    let text = generate();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue_log");
    std::fs::write(&path, &text).expect("write queue_log");
    if let Ok(keep) = std::env::var("APR_BENCH_KEEP") {
        std::fs::write(std::path::Path::new(&keep).join("queue_log"), &text)
            .expect("APR_BENCH_KEEP: write queue_log");
    }
    println!(
        "queue_log: {} lines, {:.1} MB",
        text.lines().count(),
        text.len() as f64 / 1e6
    );

    if stage("parse") {
        parse_only(&text);
    }
    if stage("derive") {
        derive_only(path.to_str().unwrap());
    }
    if stage("sqlite") {
        let url = apr::store::DatabaseUrl::Sqlite(dir.path().join("bench.db"));
        let mut sqlite = apr::store::queue::open(&url).expect("sqlite");
        let (lines, secs) = load_into(sqlite.as_mut(), path.to_str().unwrap());
        println!("load into SQLite: {}", rate(lines, secs));
    }
    if let Ok(url) = std::env::var("APR_BENCH_MYSQL_URL")
        && stage("mysql")
    {
        let url = apr::store::DatabaseUrl::parse(&url).expect("APR_BENCH_MYSQL_URL");
        let mut mysql = apr::store::queue::open(&url).expect("mysql");
        let (lines, secs) = load_into(mysql.as_mut(), path.to_str().unwrap());
        println!("load into MariaDB: {}", rate(lines, secs));
    }
}

fn parse_only(text: &str) {
    let started = Instant::now();
    let mut parsed = 0u64;
    for raw in text
        .as_bytes()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let line = String::from_utf8_lossy(raw);
        if apr::source::queue_log::parse_line(&line, Zone::UTC).is_ok() {
            parsed += 1;
        }
    }
    println!(
        "parse only: {}",
        rate(parsed, started.elapsed().as_secs_f64())
    );
}

/// What `apr parse-queue-log --dry-run` does: read, parse and derive the file, chunk by chunk.
fn derive_only(path: &str) {
    let started = Instant::now();
    let summary = dry_run(
        None,
        &[path.to_string()],
        &AgentMap::default(),
        LoadOptions {
            zone: Zone::UTC,
            max_call_secs: 4 * 3600,
            chunk_lines: DEFAULT_CHUNK_LINES as usize,
            bounds: apr::bounds::TimeBounds::new(chrono::Utc::now().timestamp(), None),
        },
        &mut |_| {},
    )
    .expect("dry run");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.rejected, 0);
    println!(
        "parse + derive (dry run, no database): {} -> {} calls, {} agent events",
        rate(summary.lines_read, secs),
        summary.calls,
        summary.events
    );
}
