//! Aggregation speed (SPEC §8): one day of a 2,000-agent center (~1 M events, 48,000
//! agent-hours) on SQLite, target under 3 s on one core. Run: `cargo bench --bench aggregate`
//! (`APR_BENCH_AGENTS` scales the center down).

use std::time::Instant;

use apr::aggregate::categories::StateMap;
use apr::aggregate::{AggregateOptions, DEFAULT_MAX_CARRY, Scope, aggregate};
use apr::hours::Zone;
use apr::model::HourStats;
use apr::store::sqlite::SqliteStore;
use apr::store::{LoadBatch, Store};

fn main() {
    let agents: usize = std::env::var("APR_BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let start = 1_755_648_000; // 2025-08-20 00:00 UTC
    let events = apr::synth::day_of_events(agents, 500, start, 42);
    let stats: Vec<HourStats> = apr::synth::hourly_stats(&events, start, 24, 42)
        .into_iter()
        .map(|(hour_start, records)| HourStats {
            hour_start,
            records,
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open(&dir.path().join("bench.db")).expect("open");
    let t = Instant::now();
    for (i, chunk) in events.chunks(20_000).enumerate() {
        let batch = LoadBatch {
            events: chunk,
            stats: if i == 0 { &stats } else { &[] },
            data_until: Some(start + 86_400),
            ..Default::default()
        };
        store.load(&batch).expect("load");
    }
    let load_secs = t.elapsed().as_secs_f64();
    println!(
        "load: {} events in {:.2}s ({:.0} events/s)",
        events.len(),
        load_secs,
        events.len() as f64 / load_secs
    );
    let opts = AggregateOptions {
        scope: Scope::All,
        max_carry: DEFAULT_MAX_CARRY,
        state_map: StateMap::default(),
    };
    for run in ["first", "again (idempotent rebuild)"] {
        let t = Instant::now();
        let s = aggregate(&mut store, Zone::UTC, &opts).expect("aggregate");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "aggregate {run}: {} agent-hours from {} events in {:.2}s ({:.0} agent-hours/s)",
            s.rows,
            events.len(),
            secs,
            s.rows as f64 / secs
        );
    }
}
