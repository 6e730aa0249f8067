//! `Store::load` throughput at the reference scale of SPEC §8: one deterministic day of a
//! 2,000-agent center (500 events per agent, 1,000,000 events), delivered in timestamp order
//! in batches of 2,000 (one upstream page each), into SQLite (a temporary file) and into a
//! scratch MariaDB database (dropped afterwards). Each backend is loaded twice: the first
//! pass stores everything, the second is the idempotent re-load of the same pages.
//!
//! Run: `cargo bench --bench load`.
//! - `APR_BENCH_EVENTS` scales the day down (or up), e.g. `APR_BENCH_EVENTS=200000`.
//! - `APR_BENCH_BACKENDS=sqlite` (or `mysql`) runs one backend only.
//! - The MariaDB server is the tests' one: `APR_TEST_MYSQL_URL`, else root@127.0.0.1:3306.

#[allow(dead_code)]
#[path = "../tests/support/mysql.rs"]
mod scratch;

use std::time::Instant;

use apr::model::{AgentEvent, EventSource};
use apr::store::{DatabaseUrl, LoadBatch, Store, keys};

const EVENTS_PER_AGENT: usize = 500;
const BATCH: usize = 2000;
/// 2025-09-07 00:00 UTC.
const DAY_START: i64 = 1_757_203_200;

/// A small deterministic generator (SplitMix64), so every run loads the same day.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BREAKS: &[&str] = &[
    "lunch",
    "Tea Break",
    "Bio Break",
    "Team Meeting",
    "training",
    "ON Tickets",
    "Outbound",
    "Not Available",
];

/// One agent's shift: registration and login, then calls (idle → on call, sometimes on
/// hold → wrap-up) with the occasional break, and a logoff as the last event.
fn agent_day(agent: usize, rng: &mut Rng) -> Vec<AgentEvent> {
    let ext = format!("{}", 10_000 + agent);
    let username = format!("Agent {}", 10_000 + agent);
    let user_id = format!("user-{agent}");
    // Shifts start between 06:00 and 09:59, one minute apart per agent.
    let mut ts = DAY_START + 6 * 3600 + (agent as i64 % 240) * 60;
    let mut out = Vec::with_capacity(EVENTS_PER_AGENT);
    let push = |out: &mut Vec<AgentEvent>, ts: i64, event: &str, enabled: bool, state: &str| {
        out.push(AgentEvent {
            ext: ext.clone(),
            ts,
            event: event.to_string(),
            enabled,
            state: state.to_string(),
            user_id: user_id.clone(),
            username: username.clone(),
        })
    };
    push(&mut out, ts, "agent_reg", true, "none");
    ts += 5;
    push(&mut out, ts, "agent_not_avail_state", true, "Login");
    ts += 30;
    push(&mut out, ts, "agent_not_avail_state", false, "Login");
    while out.len() < EVENTS_PER_AGENT - 1 {
        let step = |rng: &mut Rng, lo: u64, hi: u64| (lo + rng.below(hi - lo)) as i64;
        if rng.below(20) == 0 {
            let reason = BREAKS[rng.below(BREAKS.len() as u64) as usize];
            ts += step(rng, 5, 60);
            push(&mut out, ts, "agent_not_avail_state", true, reason);
            ts += step(rng, 120, 1200);
            push(&mut out, ts, "agent_not_avail_state", false, reason);
            continue;
        }
        ts += step(rng, 1, 30);
        push(&mut out, ts, "agent_idle", true, "available");
        ts += step(rng, 5, 90);
        push(&mut out, ts, "agent_idle", false, "available");
        push(&mut out, ts, "agent_on_call", true, "none");
        if rng.below(8) == 0 {
            ts += step(rng, 10, 60);
            push(&mut out, ts, "agent_hold", true, "none");
            ts += step(rng, 10, 90);
            push(&mut out, ts, "agent_hold", false, "none");
        }
        ts += step(rng, 30, 300);
        push(&mut out, ts, "agent_on_call", false, "none");
        push(&mut out, ts, "agent_wrap_up", true, "none");
        ts += step(rng, 5, 45);
        push(&mut out, ts, "agent_wrap_up", false, "none");
    }
    out.truncate(EVENTS_PER_AGENT - 1);
    ts += 10;
    push(&mut out, ts, "agent_not_avail_state", true, "Logoff");
    out
}

/// The day's events in timestamp order (as upstream pages deliver them).
fn day(events: usize) -> Vec<AgentEvent> {
    let agents = events.div_ceil(EVENTS_PER_AGENT).max(1);
    let mut rng = Rng(0x00a9_2025_0907);
    let mut all: Vec<AgentEvent> = (0..agents).flat_map(|a| agent_day(a, &mut rng)).collect();
    all.sort_by(|a, b| (a.ts, &a.ext).cmp(&(b.ts, &b.ext)));
    all.truncate(events);
    all
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
                source: Some(EventSource::Api),
                data_until: Some(until),
                state: vec![(keys::COLLECT_EVENTS_UNTIL.to_string(), until.to_string())],
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
        events.len() as u64,
        "{label}: every generated event is distinct"
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
        "generated {} events ({} agents × {EVENTS_PER_AGENT}) in {:.2} s; batches of {BATCH}",
        events.len(),
        events.len().div_ceil(EVENTS_PER_AGENT),
        generated.elapsed().as_secs_f64()
    );

    if backends.split(',').any(|b| b.trim() == "sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::Sqlite(dir.path().join("bench.db"));
        let mut store = apr::store::open(&url).expect("open SQLite");
        run("sqlite", store.as_mut(), &events);
    }
    if backends.split(',').any(|b| b.trim() == "mysql") {
        let db = scratch::ScratchMysql::new();
        let mut store =
            apr::store::open(&DatabaseUrl::Mysql(db.url().to_string())).expect("open MariaDB");
        run("mariadb", store.as_mut(), &events);
        drop(store);
    }
}
