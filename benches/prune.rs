//! What `apr prune` frees (SPEC §12): a month of a 2,000-agent center (~1 M events a day) is
//! loaded and aggregated day by day into SQLite, the size of one day is reported per table
//! (indexes included, from SQLite's dbstat), then everything before the last day is pruned
//! the way `apr prune --before` does it, and the rows, bytes and time are reported.
//! Run: `cargo bench --bench prune` (`APR_BENCH_AGENTS`, `APR_BENCH_DAYS` scale it down;
//! `APR_BENCH_DIR` keeps the database in that directory instead of a temporary one).

use std::path::Path;
use std::time::Instant;

use apr::aggregate::categories::StateMap;
use apr::aggregate::{AggregateOptions, DEFAULT_MAX_CARRY, Scope, aggregate};
use apr::hours::Zone;
use apr::model::{HourStats, LoadBatch};
use apr::ops::prune::{PrunePlan, prune};
use apr::store::Store;
use apr::store::maintenance::Conn;
use apr::store::sqlite::SqliteStore;

const DAY: i64 = 86_400;
const MIB: f64 = 1_048_576.0;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Bytes per table, indexes included (dbstat), in name order.
fn table_sizes(db: &Path) -> Vec<(String, u64)> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
             GROUP BY m.tbl_name ORDER BY m.tbl_name",
        )
        .expect("dbstat (SQLITE_ENABLE_DBSTAT_VTAB)");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .expect("query")
        .map(Result::unwrap)
        .collect()
}

fn file_size(db: &Path) -> u64 {
    std::fs::metadata(db).map(|m| m.len()).unwrap_or(0)
}

fn load_day(store: &mut SqliteStore, agents: usize, start: i64, seed: u64) -> usize {
    let events = apr::synth::day_of_events(agents, 500, start, seed);
    let stats: Vec<HourStats> = apr::synth::hourly_stats(&events, start, 24, seed)
        .into_iter()
        .map(|(hour_start, records)| HourStats {
            hour_start,
            records,
        })
        .collect();
    for (i, chunk) in events.chunks(20_000).enumerate() {
        store
            .load(&LoadBatch {
                events: chunk,
                stats: if i == 0 { &stats } else { &[] },
                data_until: Some(start + DAY),
                ..Default::default()
            })
            .expect("load");
    }
    let opts = AggregateOptions {
        scope: Scope::Dirty,
        max_carry: DEFAULT_MAX_CARRY,
        state_map: StateMap::default(),
    };
    aggregate(store, Zone::UTC, &opts).expect("aggregate");
    events.len()
}

fn main() {
    let agents = env_num("APR_BENCH_AGENTS", 2000);
    let days = env_num("APR_BENCH_DAYS", 32).max(3) as i64;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("APR_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    let db = dir.join("prune-bench.db");
    let _ = std::fs::remove_file(&db);
    let start = 1_755_648_000; // 2025-08-20 00:00 UTC
    let mut store = SqliteStore::open(&db).expect("open");
    store.set_meta("timezone", "UTC").expect("zone");

    let t = Instant::now();
    let n = load_day(&mut store, agents, start, 42);
    println!(
        "day 1: {n} events loaded and aggregated in {:.1}s; file {:.1} MiB",
        t.elapsed().as_secs_f64(),
        file_size(&db) as f64 / MIB
    );
    println!("one day per table (data + indexes):");
    for (table, bytes) in table_sizes(&db) {
        println!("  {table:<20} {:>8.1} MiB", bytes as f64 / MIB);
    }

    let t = Instant::now();
    let mut total = n;
    for d in 1..days {
        total += load_day(&mut store, agents, start + d * DAY, 42 + d as u64);
    }
    let before_prune = file_size(&db);
    println!(
        "{days} days: {total} events loaded and aggregated in {:.0}s; file {:.1} MiB",
        t.elapsed().as_secs_f64(),
        before_prune as f64 / MIB
    );

    // apr prune --before <the last day>: every day but the last two loses its events (the
    // day before the boundary stays as the carry day), every day but the last its details.
    let boundary = start + (days - 1) * DAY;
    let mut conn = Conn::new(store.sql());
    let plan = PrunePlan::new(boundary, boundary + DAY, None, Zone::UTC).expect("plan");
    let free0 = conn.sqlite_free_bytes().expect("free").unwrap_or(0);
    let t = Instant::now();
    let freed = prune(&mut conn, &plan, &mut |_, _| {}).expect("prune");
    let secs = t.elapsed().as_secs_f64();
    let free1 = conn.sqlite_free_bytes().expect("free").unwrap_or(0);
    println!(
        "prune --before day {days}: {} in {} transactions, {secs:.0}s; event_details {:.1} MiB",
        freed
            .rows
            .iter()
            .map(|(w, n)| format!("{w} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        freed.batches,
        freed.details_bytes as f64 / MIB
    );
    println!(
        "freed inside the file: {:.1} MiB of {:.1} MiB ({:.0}%)",
        (free1 - free0) as f64 / MIB,
        before_prune as f64 / MIB,
        (free1 - free0) as f64 * 100.0 / before_prune as f64
    );
    println!("after prune per table (data + indexes):");
    for (table, bytes) in table_sizes(&db) {
        println!("  {table:<20} {:>8.1} MiB", bytes as f64 / MIB);
    }
    let t = Instant::now();
    drop(store);
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute_batch("VACUUM")
        .expect("vacuum");
    println!(
        "VACUUM: file {:.1} MiB -> {:.1} MiB in {:.0}s",
        before_prune as f64 / MIB,
        file_size(&db) as f64 / MIB,
        t.elapsed().as_secs_f64()
    );
}
