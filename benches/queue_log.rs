//! queue_log throughput (SPEC §8): generates a 1 M-line queue_log of a large center, then
//! measures parsing + derivation in memory, and the full load into SQLite (and into MariaDB
//! when `APR_BENCH_MYSQL_URL` names an existing, disposable database, into PostgreSQL when
//! `APR_BENCH_POSTGRES_URL` does).
//!
//! `cargo bench --bench queue_log` (release build). By default it runs the `compare` stage
//! (issue 27, `support/side_by_side.rs`): the real binary's dry run and loads against the
//! Python peer parser on the same file, interleaved over `APR_BENCH_ROUNDS` rounds (at least
//! 3), with medians, the ratios the issue targets and apr's peak RSS.
//! The in-process stages print lines per second, with the CPU seconds of the process (what
//! compares on a shared machine).
//! `APR_BENCH_STAGES` picks stages (comma-separated
//! `compare,read,parse,derive,sqlite,floor,mysql,postgres`; default `compare`, `mysql` and
//! `postgres` only with their URLs), for profiling one. `read`, `parse` and
//! `derive` are the dry run's layers (read and split lines; + parse fields; + admission and
//! derivation = the whole `--dry-run`), so their differences say where its time goes.
//! `floor` measures how fast SQLite accepts the same rows (raw lines, agent events, stints)
//! into tables without any index or key, in the same transactions: what no schema or code
//! change can beat. The `mysql` stage also prints the CPU of the local `mariadbd` over the
//! load (from `/proc`; `APR_BENCH_MYSQLD_PID` names another process). `APR_BENCH_KEEP=DIR`
//! writes the generated file to `DIR/queue_log` to time the real binary on it.

#[path = "support/clock.rs"]
mod clock;
#[path = "support/side_by_side.rs"]
mod side_by_side;

use std::fmt::Write as _;

use clock::{Clock, cpu_secs, proc_cpu_secs, server_pid};

use apr::hours::Zone;
use apr::source::queue_log::agent_map::AgentMap;
use apr::source::queue_log::load::{DEFAULT_CHUNK_LINES, LoadOptions, dry_run, load_files};
use apr::store::QueueStore;

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

fn rate(lines: u64, clock: &Clock) -> String {
    let wall = clock.wall.elapsed().as_secs_f64();
    let cpu = cpu_secs() - clock.cpu;
    format!(
        "{:.2} M lines/s ({lines} lines in {wall:.2}s; CPU {cpu:.2}s, {:.2} M lines per CPU-second)",
        lines as f64 / wall / 1e6,
        lines as f64 / cpu.max(0.01) / 1e6
    )
}

fn load_into(store: &mut dyn QueueStore, path: &str) -> (u64, Clock) {
    let started = Clock::start();
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
    (summary.lines_read, started)
}

fn main() {
    let stages = std::env::var("APR_BENCH_STAGES").unwrap_or_else(|_| "compare".into());
    let stage = |name: &str| stages.split(',').any(|s| s.trim() == name);
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

    if stage("compare") {
        side_by_side::compare(&path, dir.path());
    }
    if stage("read") {
        read_and_parse(path.to_str().unwrap(), false);
    }
    if stage("parse") {
        read_and_parse(path.to_str().unwrap(), true);
    }
    if stage("derive") {
        derive_only(path.to_str().unwrap());
    }
    if stage("sqlite") {
        let url = apr::store::DatabaseUrl::sqlite(dir.path().join("bench.db"));
        let mut sqlite = apr::store::open_queue(&url).expect("sqlite");
        let (lines, secs) = load_into(sqlite.as_mut(), path.to_str().unwrap());
        println!("load into SQLite: {}", rate(lines, &secs));
    }
    if stage("floor") {
        floor(&text, &dir.path().join("floor.db"));
    }
    if let Ok(url) = std::env::var("APR_BENCH_MYSQL_URL")
        && stage("mysql")
    {
        let url =
            apr::store::DatabaseUrl::parse(&url, "APR_DATABASE_URL").expect("APR_BENCH_MYSQL_URL");
        let mut mysql = apr::store::open_queue(&url).expect("mysql");
        let server = server_pid();
        let server_before = server.map(proc_cpu_secs);
        let (lines, secs) = load_into(mysql.as_mut(), path.to_str().unwrap());
        println!("load into MariaDB: {}", rate(lines, &secs));
        if let (Some(pid), Some(before)) = (server, server_before) {
            println!(
                "  mariadbd (pid {pid}) CPU over the load: {:.2}s (the whole server's: other clients count too)",
                proc_cpu_secs(pid) - before
            );
        }
    }
    if let Ok(url) = std::env::var("APR_BENCH_POSTGRES_URL")
        && stage("postgres")
    {
        let url = apr::store::DatabaseUrl::parse(&url, "APR_DATABASE_URL")
            .expect("APR_BENCH_POSTGRES_URL");
        let mut postgres = apr::store::open_queue(&url).expect("postgres");
        let before = postgres_cpu_secs();
        let (lines, secs) = load_into(postgres.as_mut(), path.to_str().unwrap());
        println!("load into PostgreSQL: {}", rate(lines, &secs));
        println!(
            "  postgres processes' CPU over the load: {:.2}s (the whole server's: other clients count too)",
            postgres_cpu_secs() - before
        );
    }
}

/// The CPU seconds of the PostgreSQL processes (the postmaster and its backends) so far.
fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(proc_cpu_secs)
        .sum()
}

/// The dry run's first layers alone, through the real reader and chunk size: with `parse`
/// false, reading the file and splitting it into lines; with `parse`, also validating each
/// chunk as UTF-8 and parsing every line's fields (no derivation). With the `derive` stage
/// (the whole dry run), they show where its time goes.
fn read_and_parse(path: &str, parse: bool) {
    use apr::source::queue_log::reader::{Chunk, SegmentReader};
    use apr::source::queue_log::rotation::plan;
    let started = Clock::start();
    let (mut lines, mut parsed) = (0u64, 0u64);
    let mut chunk = Chunk::default();
    for seg in plan(path, &mut |_| Ok(None)).expect("plan") {
        let mut reader = SegmentReader::open(&seg).expect("open");
        while reader
            .next_chunk(&mut chunk, DEFAULT_CHUNK_LINES as usize)
            .expect("read")
        {
            lines += chunk.lines.len() as u64;
            if !parse {
                continue;
            }
            let all = std::str::from_utf8(&chunk.bytes).expect("the bench's file is UTF-8");
            for l in &chunk.lines {
                if apr::source::queue_log::parse::parse_line(&all[l.start..l.end], Zone::UTC)
                    .is_ok()
                {
                    parsed += 1;
                }
            }
        }
    }
    if parse {
        assert_eq!(parsed, lines);
        println!(
            "read + split + parse (no derivation): {}",
            rate(lines, &started)
        );
    } else {
        println!("read + split into lines only: {}", rate(lines, &started));
    }
}

/// What `apr parse-queue-log --dry-run` does: read, parse and derive the file, chunk by chunk.
fn derive_only(path: &str) {
    let started = Clock::start();
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
    assert_eq!(summary.rejected, 0);
    println!(
        "parse + derive (dry run, no database): {} -> {} calls, {} agent events",
        rate(summary.lines_read, &started),
        summary.calls,
        summary.events
    );
}

/// SQLite's floor: the rows a load writes, inserted into key-less, index-less tables in
/// transactions of the default chunk (multi-row statements of 256 rows). Parsing and
/// derivation happen before the clock starts.
fn floor(text: &str, db: &std::path::Path) {
    use apr::source::queue_log::derive::{DeriveConfig, Derived, Deriver, DeriverState};
    let zone = Zone::UTC;
    let lines: Vec<apr::source::queue_log::parse::QueueLogLine<'_>> = text
        .lines()
        .filter_map(|l| apr::source::queue_log::parse::parse_line(l, zone).ok())
        .collect();
    let mut deriver = Deriver::new(
        DeriveConfig {
            zone,
            max_call_secs: 4 * 3600,
        },
        DeriverState::default(),
    );
    let agents = AgentMap::default();
    let chunk = DEFAULT_CHUNK_LINES as usize;
    let mut chunks = Vec::new();
    for part in lines.chunks(chunk) {
        let mut out = Derived::default();
        for l in part {
            deriver.feed(l, &agents, &mut out);
        }
        deriver.flush(&mut out);
        chunks.push((part, out));
    }
    let conn = rusqlite::Connection::open(db).expect("floor db");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE raw (time INTEGER, line_hash INTEGER, callid TEXT, queuename TEXT, agent TEXT, event TEXT, data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT, data5 TEXT, loaded_at INTEGER);
         CREATE TABLE events (ext TEXT, ts INTEGER, event TEXT, enabled INTEGER, state TEXT, user_id TEXT, username TEXT, source TEXT, loaded_at INTEGER);
         CREATE TABLE stints (callid TEXT, queuename TEXT, enter_time INTEGER, enter_hour INTEGER, enter_hour_local TEXT, caller_number TEXT, caller_name TEXT, entry_position INTEGER, outcome TEXT, agent TEXT, wait_secs INTEGER, talk_secs INTEGER, ring_attempts INTEGER, end_time INTEGER);",
    )
    .expect("floor schema");
    fn insert(
        conn: &rusqlite::Connection,
        table: &str,
        cols: usize,
        rows: &[Vec<rusqlite::types::Value>],
    ) {
        let one = format!("({})", vec!["?"; cols].join(", "));
        for part in rows.chunks(256) {
            let sql = format!(
                "INSERT INTO {table} VALUES {}",
                vec![one.as_str(); part.len()].join(", ")
            );
            conn.prepare_cached(&sql)
                .expect("floor insert")
                .execute(rusqlite::params_from_iter(part.iter().flatten()))
                .expect("floor insert");
        }
    }
    use rusqlite::types::Value as V;
    let t = |s: &str| V::Text(s.to_string());
    let started = Clock::start();
    let mut total = 0u64;
    for (part, out) in &chunks {
        let raws: Vec<Vec<V>> = part
            .iter()
            .map(|l| {
                let mut r = vec![
                    V::Integer(l.time),
                    V::Integer(0),
                    t(l.callid),
                    t(l.queuename),
                    t(l.agent),
                    t(l.event),
                ];
                r.extend(l.data.iter().map(|d| t(d)));
                r.push(V::Integer(0));
                r
            })
            .collect();
        let events: Vec<Vec<V>> = out
            .events
            .iter()
            .map(|e| {
                vec![
                    t(&e.ext),
                    V::Integer(e.ts),
                    t(e.event),
                    V::Integer(e.enabled as i64),
                    t(&e.state),
                    t(""),
                    t(&e.name),
                    t("queue_log"),
                    V::Integer(0),
                ]
            })
            .collect();
        let stints: Vec<Vec<V>> = out
            .stints
            .iter()
            .map(|s| {
                vec![
                    t(&s.callid),
                    t(&s.queue),
                    V::Integer(s.enter_time),
                    V::Integer(s.enter_hour),
                    t(&s.enter_hour_local),
                    t(&s.caller_number),
                    t(&s.caller_name),
                    V::Null,
                    t("ANSWERED"),
                    t(&s.agent),
                    V::Null,
                    V::Null,
                    V::Integer(s.ring_attempts),
                    V::Null,
                ]
            })
            .collect();
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        insert(&conn, "raw", 12, &raws);
        insert(&conn, "events", 9, &events);
        insert(&conn, "stints", 14, &stints);
        conn.execute_batch("COMMIT").expect("commit");
        total += part.len() as u64;
    }
    println!(
        "SQLite floor (same rows, no keys or indexes): {}",
        rate(total, &started)
    );
}
