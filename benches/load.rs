//! `Store::load` throughput at the reference scale of SPEC §8: one deterministic day of a
//! 2,000-agent center (1,000,000 events, 500 per agent on average, from `apr::synth`),
//! delivered in timestamp order in batches of 2,000 (one upstream page each), into SQLite (a
//! temporary file) and into a scratch MariaDB database (dropped afterwards). Each backend is
//! loaded twice: the first pass stores everything, the second is the idempotent re-load of
//! the same pages.
//!
//! Run: `cargo bench --bench load`.
//! - `APR_BENCH_EVENTS` scales the day (agents = events / 500), e.g. `APR_BENCH_EVENTS=200000`.
//! - `APR_BENCH_BACKENDS=sqlite` (or `mysql`, or `postgres`) runs those backends only
//!   (default sqlite,mysql; PostgreSQL with `APR_TEST_POSTGRES=1`).
//! - The MariaDB server is the tests' one: `APR_TEST_MYSQL_URL`, else root@127.0.0.1:3306.

#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod scratch_pg;

#[allow(dead_code)]
#[path = "../tests/support/mysql.rs"]
mod scratch;

use std::collections::HashSet;
use std::time::Instant;

use apr::model::LoadBatch;
use apr::model::state;
use apr::model::{AgentEvent, EventSource};
use apr::store::{DatabaseUrl, Store};

const EVENTS_PER_AGENT: usize = 500;
const BATCH: usize = 2000;
/// 2025-09-07 00:00 UTC.
const DAY_START: i64 = 1_757_203_200;
const SEED: u64 = 42;

/// Exactly `events` events of `events / EVENTS_PER_AGENT` agents in timestamp order (as
/// upstream pages list them), from the shared synthetic generator. It makes somewhat fewer
/// events per agent than asked, so the request is scaled up once and the day cut at `events`.
fn day(events: usize) -> Vec<AgentEvent> {
    let agents = events.div_ceil(EVENTS_PER_AGENT).max(1);
    let mut per_agent = EVENTS_PER_AGENT;
    let mut all = apr::synth::day_of_events(agents, per_agent, DAY_START, SEED);
    if all.len() < events {
        per_agent = per_agent * events * 11 / 10 / all.len().max(1);
        all = apr::synth::day_of_events(agents, per_agent, DAY_START, SEED);
    }
    all.truncate(events);
    all
}

fn distinct(events: &[AgentEvent]) -> u64 {
    let keys: HashSet<_> = events
        .iter()
        .map(|e| (&e.ext, e.ts, &e.event, e.enabled, &e.state))
        .collect();
    keys.len() as u64
}

/// Loads every page; returns (events stored, seconds).
fn load_day(store: &mut dyn Store, events: &[AgentEvent]) -> (u64, f64) {
    let started = Instant::now();
    let mut stored = 0;
    for page in events.chunks(BATCH) {
        let until = page.last().map_or(DAY_START, |e| e.ts);
        let outcome = store
            .load(&LoadBatch {
                events: page,
                source: EventSource::Api,
                data_until: Some(until),
                state: vec![(
                    state::COLLECT_EVENTS_UNTIL.name().to_string(),
                    until.to_string(),
                )],
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("load failed: {e}"));
        stored += outcome.events_new;
    }
    (stored, started.elapsed().as_secs_f64())
}

fn run(label: &str, store: &mut dyn Store, events: &[AgentEvent]) {
    let n = events.len() as f64;
    let (first_new, first) = load_day(store, events);
    println!(
        "{label:<8} first load: {:>9} events in {first:>7.2} s = {:>9.0} events/s ({first_new} new)",
        events.len(),
        n / first
    );
    let (again_new, again) = load_day(store, events);
    println!(
        "{label:<8} re-load:    {:>9} events in {again:>7.2} s = {:>9.0} events/s ({again_new} new)",
        events.len(),
        n / again
    );
    assert_eq!(
        first_new,
        distinct(events),
        "{label}: the first load stores each distinct event once"
    );
    assert_eq!(again_new, 0, "{label}: a re-load stores nothing");
}

fn main() {
    // `cargo bench` passes `--bench`; no other arguments are understood.
    let events: usize = match std::env::var("APR_BENCH_EVENTS") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("APR_BENCH_EVENTS '{v}' is not a count of events")),
        Err(_) => 1_000_000,
    };
    let backends = std::env::var("APR_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,mysql".into());
    let generated = Instant::now();
    let events = day(events);
    println!(
        "generated {} events ({} distinct, {} agents) in {:.2} s; batches of {BATCH}",
        events.len(),
        distinct(&events),
        events.iter().map(|e| &e.ext).collect::<HashSet<_>>().len(),
        generated.elapsed().as_secs_f64()
    );

    if backends.split(',').any(|b| b.trim() == "sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::sqlite(dir.path().join("bench.db"));
        let mut store = apr::store::open(&url).expect("open SQLite");
        run("sqlite", store.as_mut(), &events);
    }
    if backends.split(',').any(|b| b.trim() == "mysql") {
        if scratch::enabled() {
            let db = scratch::ScratchMysql::new();
            let mut store =
                apr::store::open(&DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap())
                    .expect("open MariaDB");
            run("mariadb", store.as_mut(), &events);
            drop(store);
        } else {
            println!("mariadb: skipped (set APR_TEST_MYSQL=1 with MariaDB running)");
        }
    }
    if backends.split(',').any(|b| b.trim() == "postgres") {
        if scratch_pg::enabled() {
            let db = scratch_pg::ScratchPostgres::new();
            let mut store =
                apr::store::open(&DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap())
                    .expect("open PostgreSQL");
            run("postgres", store.as_mut(), &events);
            drop(store);
        } else {
            println!("postgres: skipped (set APR_TEST_POSTGRES=1 with PostgreSQL running)");
        }
    }
}
