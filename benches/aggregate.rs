//! Aggregation speed (SPEC §8): one day of a 2,000-agent center (~1 M events, 48,000
//! agent-hours), on SQLite (target under 3 s on one core) and on MariaDB (`aggregate
//! --rebuild` under 2.5 s). Beside the aggregation itself it measures the floor: the ordered
//! read of the day's events alone, and the write of the day's rows alone.
//!
//! Run: `cargo bench --bench aggregate`.
//! - `APR_BENCH_AGENTS` scales the center down (default 2,000).
//! - `APR_BENCH_BACKENDS=sqlite` (or `mysql`) runs one backend only (default both).
//! - The MariaDB server is the tests' one (`APR_TEST_MYSQL=1`; `APR_TEST_MYSQL_URL`, else
//!   root@127.0.0.1:3306); the bench works in a scratch database dropped afterwards.

#[allow(dead_code)]
#[path = "../tests/support/mysql.rs"]
mod scratch;

use std::time::Instant;

use apr::aggregate::categories::StateMap;
use apr::aggregate::{AggregateOptions, DEFAULT_MAX_CARRY, Scope, aggregate};
use apr::hours::Zone;
use apr::model::{ActivityFilter, ActivityRow, AgentEvent, HourStats};
use apr::store::{DatabaseUrl, LoadBatch, Store};

/// 2025-08-20 00:00 UTC.
const START: i64 = 1_755_648_000;

fn run(backend: &str, store: &mut dyn Store, events: &[AgentEvent], stats: &[HourStats]) {
    let t = Instant::now();
    for (i, chunk) in events.chunks(20_000).enumerate() {
        let batch = LoadBatch {
            events: chunk,
            stats: if i == 0 { stats } else { &[] },
            data_until: Some(START + 86_400),
            ..Default::default()
        };
        store.load(&batch).expect("load");
    }
    let load_secs = t.elapsed().as_secs_f64();
    println!(
        "{backend} load: {} events in {load_secs:.2}s ({:.0} events/s)",
        events.len(),
        events.len() as f64 / load_secs
    );

    // The floor, read: the day's events in (ts, id) order, nothing done with them.
    let t = Instant::now();
    let mut read = 0u64;
    store
        .scan_events(START - 1, START + 86_400 + 3600, &mut |_| read += 1)
        .expect("scan");
    println!(
        "{backend} floor read: {read} events in {:.2}s",
        t.elapsed().as_secs_f64()
    );

    let opts = AggregateOptions {
        scope: Scope::All,
        max_carry: DEFAULT_MAX_CARRY,
        state_map: StateMap::default(),
    };
    for run in ["first", "again (idempotent rebuild)"] {
        let t = Instant::now();
        let s = aggregate(store, Zone::UTC, &opts).expect("aggregate");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{backend} aggregate {run}: {} agent-hours from {} events in {secs:.2}s ({:.0} agent-hours/s)",
            s.rows,
            events.len(),
            s.rows as f64 / secs
        );
    }

    // The floor, write: the day's rows written again in one transaction, nothing computed.
    let mut rows: Vec<ActivityRow> = Vec::new();
    let filter = ActivityFilter {
        from_local: "0000".into(),
        to_local: "9999".into(),
        exts: vec![],
    };
    store
        .scan_activity(&filter, &mut |r| {
            rows.push(r);
            Ok(())
        })
        .expect("rows");
    let t = Instant::now();
    store
        .replace_activity(START, START + 86_400 + 3600, &rows, &[])
        .expect("write");
    println!(
        "{backend} floor write: {} rows in {:.2}s",
        rows.len(),
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let agents: usize = std::env::var("APR_BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let backends = std::env::var("APR_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,mysql".into());
    let events = apr::synth::day_of_events(agents, 500, START, 42);
    let stats: Vec<HourStats> = apr::synth::hourly_stats(&events, START, 24, 42)
        .into_iter()
        .map(|(hour_start, records)| HourStats {
            hour_start,
            records,
        })
        .collect();
    if backends.split(',').any(|b| b.trim() == "sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::Sqlite(dir.path().join("bench.db"));
        let mut store = apr::store::open(&url).expect("open SQLite");
        run("sqlite", store.as_mut(), &events, &stats);
    }
    if backends.split(',').any(|b| b.trim() == "mysql") {
        let db = scratch::ScratchMysql::new()
            .expect("the MariaDB bench needs APR_TEST_MYSQL=1 and a running server");
        let mut store =
            apr::store::open(&DatabaseUrl::Mysql(db.url().to_string())).expect("open MariaDB");
        run("mariadb", store.as_mut(), &events, &stats);
        drop(store);
    }
}
