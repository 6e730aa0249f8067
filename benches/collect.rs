//! SPEC §8: a `collect` steady-state tick — 10 minutes of a 2,000-agent center (~7k events)
//! plus the 15-minute overlap, from the local fake platform — must take under 1 s. Times the
//! library path (plan, fetch, load, aggregate) over several consecutive ticks, then one tick
//! of the real binary (process start, lock, schema check included).
//!
//! Run: `cargo bench --bench collect`

#[path = "../tests/support/fake_platform.rs"]
mod fake_platform;

use std::time::{Duration, Instant};

use apr::hours::Zone;
use apr::model::state;
use apr::ops::collect::plan;
use apr::ops::ingest::ingest;
use apr::source::platform::{PlatformConfig, PlatformSource, RetryPolicy};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use fake_platform::*;

const AGENTS: usize = 2000;
/// 2025-09-07 16:00 UTC, mid-hour in Asia/Kolkata.
const T0: i64 = 1_757_260_800;
const TICK: i64 = 600;
const TICKS: i64 = 5;

fn config(base: &str) -> PlatformConfig {
    PlatformConfig {
        base: base.to_string(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        tenant: TENANT.into(),
        account_id: ACCOUNT_ID.into(),
        page_size: 2000,
        timeout: Duration::from_secs(30),
        retry: RetryPolicy::new(5, Duration::from_millis(500)),
        ca_cert: None,
        names: apr::cli::settings::PLATFORM_NAMES,
    }
}

fn main() {
    let zone = Zone::parse("Asia/Kolkata").unwrap();
    let events = generate(AGENTS, T0 - 3 * 3600, T0 + (TICKS + 2) * TICK);
    let in_tick = events
        .iter()
        .filter(|e| T0 <= e.ts && e.ts < T0 + TICK)
        .count();
    let fake = FakePlatform::start(events);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut store = SqliteStore::open(&db).unwrap();
    store.set_meta("timezone", zone.name()).unwrap();

    // Steady state: the last two hours already collected and aggregated.
    let mut src = PlatformSource::new(config(&fake.base), None).unwrap();
    ingest(
        &mut store,
        &mut src,
        zone,
        T0 - 2 * 3600,
        T0,
        &apr::model::Silent,
    )
    .unwrap();
    apr::ops::aggregate::after_load(&mut store, zone, &Default::default()).unwrap();
    let token = src.take_new_token();
    println!("collect tick: {AGENTS} agents, {in_tick} events per 10 minutes, overlap 15m, SQLite");

    let mut times = Vec::new();
    for i in 0..TICKS {
        let now = T0 + (i + 1) * TICK;
        let started = Instant::now();
        let watermark = store
            .state(state::COLLECT_EVENTS_UNTIL.name())
            .unwrap()
            .and_then(|v| v.parse().ok());
        let p = plan(zone, watermark, now, 900, None, None).unwrap();
        let mut src = PlatformSource::new(config(&fake.base), token.clone()).unwrap();
        let loaded = ingest(
            &mut store,
            &mut src,
            zone,
            p.from,
            p.to,
            &apr::model::Silent,
        )
        .unwrap();
        let agg = apr::ops::aggregate::after_load(&mut store, zone, &Default::default()).unwrap();
        let took = started.elapsed();
        println!(
            "  tick {}: {} events fetched ({} new), {} stats rows, {} agent-hours aggregated: {:.3} s",
            i + 1,
            loaded.events_seen,
            loaded.events_new,
            loaded.stats_rows,
            agg.rows,
            took.as_secs_f64()
        );
        times.push(took);
    }
    times.sort();
    println!(
        "  median {:.3} s, max {:.3} s (target < 1 s)",
        times[times.len() / 2].as_secs_f64(),
        times[times.len() - 1].as_secs_f64()
    );
    drop(store);

    // One more tick through the real binary, as cron runs it.
    let until = T0 + (TICKS + 1) * TICK;
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apr"))
        .env_clear()
        .current_dir(dir.path())
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_TIMEZONE", zone.name())
        .env("APR_API_BASE", &fake.base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", PASSWORD)
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .args(["collect", "-v", "--until", &until.to_string()])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("  binary: {}", String::from_utf8_lossy(&out.stderr));
    println!(
        "  binary wall time (process start to exit): {:.3} s",
        took.as_secs_f64()
    );
}
