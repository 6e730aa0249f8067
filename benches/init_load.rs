//! SPEC §9 / issue 8: what the all-or-nothing `init-load` costs. A 48-hour backfill of the
//! reference center (2,000 agents, from the local fake platform) loaded the way init-load
//! did before (straight into the database), against the way it does now (into a staging
//! SQLite file, aggregated there, then swapped into a database that already holds a
//! backfill, in one transaction). Target: the swap adds at most 20 %.
//!
//! Run: `cargo bench --bench init_load` (`APR_BENCH_AGENTS` changes the center's size).

#[path = "support/clock.rs"]
mod clock;
#[path = "../tests/support/fake_platform.rs"]
mod fake_platform;

use std::path::Path;
use std::time::Duration;

use clock::Clock;

use apr::hours::Zone;
use apr::ops::ingest::ingest;
use apr::source::platform::{PlatformConfig, PlatformSource, RetryPolicy};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use fake_platform::*;

/// 2025-09-07 16:00 UTC.
const END: i64 = 1_757_260_800;
const HOURS: i64 = 48;

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

/// Fetches the backfill into `store` and aggregates it; returns the events stored.
fn backfill(store: &mut SqliteStore, base: &str, zone: Zone) -> u64 {
    store.record_zone(zone.name(), true);
    let mut src = PlatformSource::new(config(base), None).unwrap();
    let loaded = ingest(
        store,
        &mut src,
        zone,
        END - HOURS * 3600,
        END,
        &apr::model::Silent,
    )
    .unwrap();
    apr::ops::aggregate::after_load(store, zone, &Default::default()).unwrap();
    loaded.events_new
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn main() {
    let agents: usize = std::env::var("APR_BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let zone = Zone::parse("Asia/Kolkata").unwrap();
    let fake = FakePlatform::start(generate(agents, END - HOURS * 3600 - 600, END));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("apr.db");
    let staging = dir.path().join("apr.db.init-load-staging");

    // (wall, CPU) seconds per round: CPU is what compares on a shared machine.
    let mut direct = Vec::new();
    let mut staged = Vec::new();
    let mut swaps = Vec::new();
    let mut events = 0;
    for round in 0..2 {
        // Before: straight into the database (what init-load did after wiping it).
        remove_db(&target);
        let started = Clock::start();
        let mut store = SqliteStore::open(&target).unwrap();
        events = backfill(&mut store, &fake.base, zone);
        drop(store);
        direct.push(started.elapsed());

        // Now: into a scratch staging file, then one swap into the database holding a
        // backfill.
        remove_db(&staging);
        let started = Clock::start();
        let mut stage = SqliteStore::open_scratch(&staging).unwrap();
        backfill(&mut stage, &fake.base, zone);
        drop(stage);
        let swap_started = Clock::start();
        let mut store = SqliteStore::open(&target).unwrap();
        store.replace_with(&staging).unwrap();
        drop(store);
        remove_db(&staging);
        swaps.push(swap_started.elapsed());
        staged.push(started.elapsed());
        let (d, s, w) = (direct[round], staged[round], swaps[round]);
        println!(
            "round {}: direct {:.2} s (CPU {:.2} s), staged + swap {:.2} s (CPU {:.2} s), \
             of which the swap {:.2} s (CPU {:.2} s)",
            round + 1,
            d.0,
            d.1,
            s.0,
            s.1,
            w.0,
            w.1
        );
    }
    let best = |v: &[(f64, f64)], cpu: bool| {
        v.iter()
            .map(|x| if cpu { x.1 } else { x.0 })
            .fold(f64::INFINITY, f64::min)
    };
    let (d, s) = (best(&direct, false), best(&staged, false));
    let (dc, sc) = (best(&direct, true), best(&staged, true));
    println!(
        "init-load 48 h, {agents} agents, {events} events, SQLite, best of 2: \
         direct {d:.2} s, staged + swap {s:.2} s (swap {:.2} s): {:+.1} % wall; \
         CPU {dc:.2} s against {sc:.2} s: {:+.1} % (target <= +20 %)",
        best(&swaps, false),
        (s - d) / d * 100.0,
        (sc - dc) / dc * 100.0
    );
}
