//! queue_log throughput (SPEC §8): generates a 1 M-line queue_log of a large center, then
//! measures parsing + derivation in memory, and the full load into SQLite (and into MariaDB
//! when `APR_BENCH_MYSQL_URL` names an existing, disposable database).
//!
//! `cargo bench --bench queue_log` (release build). Prints lines per second per stage.

use std::fmt::Write as _;
use std::time::Instant;

use apr::hours::Zone;
use apr::source::queue_log::derive::{AgentMap, DeriveConfig};
use apr::source::queue_log::load::{
    DEFAULT_CHUNK_LINES, LoadOptions, load_files, parse_and_derive,
};
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
    let text = generate();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("queue_log");
    std::fs::write(&path, &text).expect("write queue_log");
    println!(
        "queue_log: {} lines, {:.1} MB",
        text.lines().count(),
        text.len() as f64 / 1e6
    );

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

    let config = DeriveConfig {
        zone: Zone::UTC,
        max_call_secs: 4 * 3600,
    };
    let started = Instant::now();
    let counts = parse_and_derive(
        text.as_bytes(),
        &AgentMap::default(),
        config,
        DEFAULT_CHUNK_LINES as usize,
    );
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(counts.rejected, 0);
    println!(
        "parse + derive (no database): {} -> {} stint rows, {} agent events",
        rate(counts.lines, secs),
        counts.stint_rows,
        counts.events
    );

    let url = apr::store::DatabaseUrl::Sqlite(dir.path().join("bench.db"));
    let mut sqlite = apr::store::queue::open(&url).expect("sqlite");
    let (lines, secs) = load_into(sqlite.as_mut(), path.to_str().unwrap());
    println!("load into SQLite: {}", rate(lines, secs));

    if let Ok(url) = std::env::var("APR_BENCH_MYSQL_URL") {
        let url = apr::store::DatabaseUrl::parse(&url).expect("APR_BENCH_MYSQL_URL");
        let mut mysql = apr::store::queue::open(&url).expect("mysql");
        let (lines, secs) = load_into(mysql.as_mut(), path.to_str().unwrap());
        println!("load into MariaDB: {}", rate(lines, secs));
    }
}
