//! A small `agent_activity` database for report and server tests, written straight through
//! `Store::replace_activity` (no aggregation involved), in Europe/London so that it holds
//! a DST fall-back day. Also [`server`], a server process for HTTP tests. Each test binary
//! uses only part of this, hence the dead-code allowance.
#![allow(dead_code)]

pub mod server;

use std::path::{Path, PathBuf};

use apr::hours::Zone;
use apr::model::{ActivityRow, Buckets, HourFigures};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;

pub const ZONE: &str = "Europe/London";

/// One agent-hour: `start` is a local `YYYY-MM-DD HH:MM` resolved to its first occurrence,
/// plus `shift` seconds (3600 picks the second of a repeated fall-back hour).
pub fn row(
    zone: Zone,
    start: i64,
    ext: &str,
    name: &str,
    b: Buckets,
    calls: (i64, i64),
) -> ActivityRow {
    ActivityRow {
        agent_ext: ext.into(),
        report_hour: start,
        report_hour_local: zone.hour_label(start),
        agent_name: name.into(),
        figures: HourFigures {
            buckets: b,
            idle_count: 2,
            notavail_count: 1,
            total_calls: calls.0,
            answered_calls: calls.1,
            failed_calls: (calls.0 - calls.1).max(0),
            covered_secs: b.total(),
        },
        complete: b.total() == 3600,
        event_details: "[]".into(),
    }
}

pub fn at(zone: Zone, local: &str) -> i64 {
    apr::hours::parse_instant(zone, local, "t").unwrap()
}

fn full_hour(idle: i64, talk: i64, hold: i64, wrap: i64, lunch: i64, meeting: i64) -> Buckets {
    let used = idle + talk + hold + wrap + lunch + meeting;
    Buckets {
        idle,
        talk,
        hold,
        wrap_up: wrap,
        lunch,
        meeting,
        logoff: 3600 - used,
        ..Default::default()
    }
}

/// The rows of the fixture.
pub fn rows(zone: Zone) -> Vec<ActivityRow> {
    let h18 = at(zone, "2025-09-07 18:00");
    let h19 = at(zone, "2025-09-07 19:00");
    let fall = at(zone, "2025-10-26 01:00");
    vec![
        // Inserted out of extension order: the report orders them.
        row(
            zone,
            h18,
            "3032",
            "Zoë \"Z\" Smith",
            full_hour(1200, 900, 60, 120, 0, 0),
            (8, 1),
        ),
        row(
            zone,
            h18,
            "agent7",
            "Text, Ext",
            full_hour(0, 0, 0, 0, 1800, 600),
            (0, 0),
        ),
        row(
            zone,
            h18,
            "999",
            "Nine",
            full_hour(600, 1000, 0, 0, 0, 0),
            (3, 2),
        ),
        row(
            zone,
            h18,
            "3012",
            "Jo Doe",
            full_hour(300, 2400, 30, 300, 0, 0),
            (6, 1),
        ),
        row(
            zone,
            h19,
            "3012",
            "Jo Doe",
            Buckets {
                idle: 100,
                talk: 200,
                dnd: 60,
                unaccounted: 40,
                short: 5,
                bio: 7,
                tea: 11,
                other: 13,
                training: 17,
                chat: 19,
                tickets: 23,
                outbound: 29,
                login: 31,
                ..Default::default()
            },
            (3, 2),
        ),
        row(
            zone,
            fall,
            "3012",
            "Jo Doe",
            full_hour(3600, 0, 0, 0, 0, 0),
            (0, 0),
        ),
        row(
            zone,
            fall + 3600,
            "3012",
            "Jo Doe",
            full_hour(0, 3000, 0, 600, 0, 0),
            (1, 1),
        ),
    ]
}

/// Writes [`rows`], the recorded zone and a last collect into `store`.
pub fn fill(store: &mut dyn Store) {
    store.set_meta("timezone", ZONE).unwrap();
    let zone = Zone::parse(ZONE).unwrap();
    let rows = rows(zone);
    let from = rows.iter().map(|r| r.report_hour).min().unwrap();
    let to = rows.iter().map(|r| r.report_hour).max().unwrap() + 3600;
    store
        .replace_activity(
            from,
            to,
            &rows,
            &[("collect.last_run".into(), "2025-10-26T02:10:00Z".into())],
        )
        .unwrap();
}

/// A temporary directory holding the fixture database (kept while the directory lives), and
/// the database's path.
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = create(dir.path());
    (dir, db)
}

/// Creates `dir/apr.db` holding the fixture; returns its path.
pub fn create(dir: &Path) -> PathBuf {
    let path = dir.join("apr.db");
    fill(&mut SqliteStore::open(&path).unwrap());
    path
}
pub mod periods;

/// The README's example day (`examples/replay`, Asia/Kolkata) loaded by `apr init-load` into
/// `dir/example.db`, which is returned.
pub fn example_db(dir: &Path) -> PathBuf {
    let db = dir.join("example.db");
    let out = std::process::Command::new(server::APR)
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args([
            "--timezone",
            "Asia/Kolkata",
            "init-load",
            "--yes",
            "--source",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    db
}
